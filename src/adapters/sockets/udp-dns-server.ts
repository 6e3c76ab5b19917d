/**
 * The embedded DNS server: a UDP socket on each user network's gateway address, port 53.
 * Names pier knows are answered from `resolve`; names it does not know are relayed (UDP, one
 * try each with a 2 s timeout) when the name has a dot, to the asking container's `--dns`
 * servers if it has any, else to the host's resolvers; single labels pier does not know get
 * NXDOMAIN and never leave the host.
 */
import { createSocket, type Socket } from 'node:dgram';
import type { DnsAnswer, DnsServer } from '../../core/ports/index.js';
import { buildAnswer, parseQuery, RCODE_NXDOMAIN, RCODE_SERVFAIL, DNS_A } from '../../core/network/index.js';

export class UdpDnsServer implements DnsServer {
  private sockets = new Map<string, Socket>();

  constructor(private readonly upstreams: string[], private readonly log: (msg: string) => void = () => {}) {}

  async listen(ip: string, resolve: (client: string, name: string, type: number) => DnsAnswer): Promise<void> {
    if (this.sockets.has(ip)) return;
    const s = createSocket({ type: 'udp4' });
    await new Promise<void>((res, rej) => {
      s.once('error', rej);
      s.bind({ address: ip, port: 53, exclusive: true }, () => { s.off('error', rej); res(); });
    });
    s.on('error', (e) => this.log(`dns ${ip}: ${e.message}`));
    s.on('message', (msg, rinfo) => {
      const q = parseQuery(msg);
      if (!q) return;
      const send = (b: Buffer): void => { s.send(b, rinfo.port, rinfo.address); };
      let a: DnsAnswer;
      try { a = resolve(rinfo.address, q.name, q.type); } catch { a = 'nxdomain'; }
      if (a === 'nxdomain') return send(buildAnswer(msg, q, [], RCODE_NXDOMAIN));
      if (a !== 'forward' && 'addrs' in a) return send(buildAnswer(msg, q, q.type === DNS_A ? a.addrs : []));
      const upstreams = a === 'forward' ? this.upstreams : a.forward;
      if (!q.name.includes('.') || upstreams.length === 0) return send(buildAnswer(msg, q, [], RCODE_NXDOMAIN));
      void this.forward(msg, upstreams).then((r) => send(r ?? buildAnswer(msg, q, [], RCODE_SERVFAIL)));
    });
    s.unref();
    this.sockets.set(ip, s);
  }

  private async forward(msg: Buffer, upstreams: string[]): Promise<Buffer | undefined> {
    for (const up of upstreams) {
      const r = await new Promise<Buffer | undefined>((resolve) => {
        const c = createSocket(up.includes(':') ? 'udp6' : 'udp4');
        const t = setTimeout(() => { c.close(); resolve(undefined); }, 2000);
        c.on('error', () => { clearTimeout(t); c.close(); resolve(undefined); });
        c.on('message', (m) => { clearTimeout(t); c.close(); resolve(m); });
        c.send(msg, 53, up);
      });
      if (r) return r;
    }
    return undefined;
  }

  async close(ip: string): Promise<void> {
    const s = this.sockets.get(ip);
    if (!s) return;
    this.sockets.delete(ip);
    await new Promise<void>((r) => s.close(() => r()));
  }
}
