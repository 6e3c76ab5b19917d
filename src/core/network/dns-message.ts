/** The few bits of DNS (RFC 1035) the embedded resolver needs: read a query, write an answer. Pure. */

export interface DnsQuestion { id: number; name: string; type: number; cls: number; rd: boolean; questionEnd: number }

export const DNS_A = 1;
export const DNS_AAAA = 28;
export const RCODE_NXDOMAIN = 3;
export const RCODE_SERVFAIL = 2;

/** The first question of a query, or undefined for anything that is not a plain query. */
export function parseQuery(buf: Buffer): DnsQuestion | undefined {
  if (buf.length < 12) return undefined;
  const flags = buf.readUInt16BE(2);
  if (flags & 0x8000) return undefined; // a response
  if (buf.readUInt16BE(4) < 1) return undefined;
  const labels: string[] = [];
  let off = 12;
  for (;;) {
    if (off >= buf.length) return undefined;
    const len = buf[off]!;
    if (len === 0) { off++; break; }
    if (len & 0xc0) return undefined;
    labels.push(buf.subarray(off + 1, off + 1 + len).toString('latin1'));
    off += 1 + len;
  }
  if (off + 4 > buf.length) return undefined;
  return { id: buf.readUInt16BE(0), name: labels.join('.').toLowerCase(), type: buf.readUInt16BE(off), cls: buf.readUInt16BE(off + 2), rd: !!(flags & 0x0100), questionEnd: off + 4 };
}

/** An answer to `query` with A records (or an empty answer / an error code). */
export function buildAnswer(query: Buffer, q: DnsQuestion, addrs: string[], rcode = 0, ttl = 600): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(q.id, 0);
  header.writeUInt16BE(0x8000 | 0x0400 | (q.rd ? 0x0100 : 0) | 0x0080 | (rcode & 0xf), 2); // QR AA RD RA
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(addrs.length, 6);
  const question = query.subarray(12, q.questionEnd);
  const answers = addrs.map((ip) => {
    const rr = Buffer.alloc(16);
    rr.writeUInt16BE(0xc00c, 0); // pointer to the question's name
    rr.writeUInt16BE(DNS_A, 2);
    rr.writeUInt16BE(1, 4);
    rr.writeUInt32BE(ttl, 6);
    rr.writeUInt16BE(4, 10);
    ip.split('.').forEach((b, i) => { rr[12 + i] = Number(b); });
    return rr;
  });
  return Buffer.concat([header, question, ...answers]);
}
