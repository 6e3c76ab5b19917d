/**
 * Tar split: keeping a layer's exact tar without storing it twice. While a layer is unpacked,
 * a `TarSplitRecorder` keeps every byte of the tar that is not a regular file's body (headers,
 * pax and GNU long-name records, padding, the end-of-archive blocks, bodies the extractor
 * skipped), and for each file body only where the extractor wrote it (root-relative path and
 * size). `rebuildTar` streams the original bytes again from that record and the unpacked
 * files, checking their sha256 as they pass (the digest the record names, the layer's diff
 * ID): a layer changed on disk fails instead of giving other bytes.
 *
 * Exactness rests on one fact about the extractor (extract-tar.ts): a file's content never
 * changes after it was written, except by removing it (a later member of the same path, a
 * whiteout of it, a parent replaced by a non-directory...). The extractor calls
 * `beforeRemove()` before any removal; from then on the recorder gives up the record and
 * "spills": it writes the whole tar into a file (the prefix rebuilt from the record and the
 * files, still intact at that moment, then every further byte as it passes), which the
 * caller stores as a plain blob. Anything the recorder does not expect also ends recording.
 *
 * Record file: `pier-tar-split 1\n`, a JSON line `{"digest","size"}`, then segments: `R` +
 * 6-byte length + raw bytes, or `F` + 6-byte path length + path (UTF-8) + 6-byte size.
 */
import { closeSync, constants as fsc, openSync, readSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { BackgroundHash } from '../hashing/index.js';

/** What readTar and extractTar report to a recorder (see ReadTarOptions.split, ExtractOptions.split). */
export interface TarSplitSink {
  /** The extraction root (absolute, real path); file paths are relative to it. */
  attach(root: string): void;
  /** Bytes the reader consumed from the source, in order; `body`: part of a member's body. */
  bytes(chunk: Buffer, body: boolean): void;
  /** The next `size` body bytes are written to the file `rel` (relative to the root). */
  file(rel: string, size: number): void;
  /** Something already extracted is about to be removed or replaced. */
  beforeRemove(): void;
}

type Segment = { raw: Buffer } | { path: string; size: number };

export interface TarSplitRecord { digest: string; size: number; segments: Segment[] }

const MAGIC = 'pier-tar-split 1\n';
const READ_CHUNK = 1 << 20;

export class TarSplitRecorder implements TarSplitSink {
  private readonly segments: Segment[] = [];
  private raw: Buffer[] = [];
  /** body bytes still to come for the last file segment */
  private pending = 0;
  private total = 0;
  private root?: string;
  private spill?: { fd: number; open: boolean };
  private failed?: Error;

  /**
   * `digest`: the tar's expected sha256 (the diff ID, checked by the caller while it
   * streams); `spillPath`: where the whole tar goes if exact rebuilding is not guaranteed.
   */
  constructor(readonly digest: string, readonly spillPath: string) {}

  /** The spill file, once recording was given up (it then holds the tar as far as it was read). */
  get spilled(): string | undefined {
    return this.spill ? this.spillPath : undefined;
  }

  /** Bytes seen so far. */
  get size(): number {
    return this.total;
  }

  attach(root: string): void {
    this.root = root;
  }

  bytes(chunk: Buffer, body: boolean): void {
    if (this.failed) throw this.failed;
    this.total += chunk.length;
    if (this.spill) {
      if (!this.spill.open) throw this.fail('bytes after the end');
      writeAll(this.spill.fd, chunk);
      return;
    }
    if (this.pending > 0) {
      if (!body || chunk.length > this.pending) throw this.fail('body bytes out of step with the extractor');
      this.pending -= chunk.length;
      return;
    }
    this.raw.push(Buffer.from(chunk)); // a copy: the chunk's memory belongs to the stream
  }

  file(rel: string, size: number): void {
    if (this.failed) throw this.failed;
    if (this.spill || size === 0) return;
    if (this.pending > 0) throw this.fail('a file started before the previous body ended');
    this.flushRaw();
    this.segments.push({ path: rel, size });
    this.pending = size;
  }

  beforeRemove(): void {
    if (this.failed) throw this.failed;
    if (this.spill) return;
    if (this.pending > 0) throw this.fail('a removal in the middle of a body');
    if (this.root === undefined) throw this.fail('no extraction root');
    this.flushRaw();
    const fd = openSync(this.spillPath, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, 0o600);
    this.spill = { fd, open: true };
    // the prefix, rebuilt now while every file it names is still as written
    for (const s of this.segments) {
      if ('raw' in s) { writeAll(fd, s.raw); continue; }
      const src = openSync(join(this.root, s.path), fsc.O_RDONLY | fsc.O_NOFOLLOW);
      try {
        const buf = Buffer.allocUnsafe(Math.min(READ_CHUNK, s.size));
        for (let left = s.size; left > 0;) {
          const n = readSync(src, buf, 0, Math.min(buf.length, left), null);
          if (n === 0) throw this.fail(`${s.path} is shorter than its tar member`);
          writeAll(fd, buf.subarray(0, n));
          left -= n;
        }
      } finally {
        closeSync(src);
      }
    }
    this.segments.length = 0;
  }

  /**
   * After a complete extraction: the record (`spill` undefined), or the spill file holding
   * the whole tar. Closes the spill file.
   */
  finish(): { record?: Buffer; spill?: string } {
    if (this.failed) throw this.failed;
    if (this.spill) {
      this.closeSpill();
      return { spill: this.spillPath };
    }
    if (this.pending > 0) throw this.fail('the archive ended inside a body');
    this.flushRaw();
    return { record: encodeTarSplit({ digest: this.digest, size: this.total, segments: this.segments }) };
  }

  /** Closes the spill file if still open (the caller removes it). */
  dispose(): void {
    this.closeSpill();
  }

  private closeSpill(): void {
    if (!this.spill?.open) return;
    this.spill.open = false;
    closeSync(this.spill.fd);
  }

  private flushRaw(): void {
    if (this.raw.length === 0) return;
    this.segments.push({ raw: Buffer.concat(this.raw) });
    this.raw = [];
  }

  private fail(why: string): Error {
    this.failed = new Error(`tar split: ${why}`);
    return this.failed;
  }
}

function writeAll(fd: number, b: Buffer): void {
  for (let off = 0; off < b.length;) off += writeSync(fd, b, off, b.length - off);
}

export function encodeTarSplit(r: TarSplitRecord): Buffer {
  const parts: Buffer[] = [Buffer.from(MAGIC), Buffer.from(JSON.stringify({ digest: r.digest, size: r.size }) + '\n')];
  const num = (n: number): Buffer => { const b = Buffer.alloc(6); b.writeUIntBE(n, 0, 6); return b; };
  for (const s of r.segments) {
    if ('raw' in s) parts.push(Buffer.from('R'), num(s.raw.length), s.raw);
    else {
      const p = Buffer.from(s.path, 'utf8');
      parts.push(Buffer.from('F'), num(p.length), p, num(s.size));
    }
  }
  return Buffer.concat(parts);
}

/** Parses a record; throws on anything malformed (including paths that leave the root). */
export function decodeTarSplit(buf: Buffer): TarSplitRecord {
  const bad = (why: string): Error => new Error(`invalid tar split record: ${why}`);
  if (buf.subarray(0, MAGIC.length).toString('latin1') !== MAGIC) throw bad('no magic');
  const nl = buf.indexOf(10, MAGIC.length);
  if (nl < 0) throw bad('no header');
  const head = JSON.parse(buf.subarray(MAGIC.length, nl).toString('utf8')) as { digest?: unknown; size?: unknown };
  if (typeof head.digest !== 'string' || !/^sha256:[a-f0-9]{64}$/.test(head.digest) || typeof head.size !== 'number') throw bad('bad header');
  const segments: Segment[] = [];
  let total = 0;
  let pos = nl + 1;
  const num = (): number => {
    if (pos + 6 > buf.length) throw bad('truncated');
    const n = buf.readUIntBE(pos, 6);
    pos += 6;
    return n;
  };
  const take = (n: number): Buffer => {
    if (pos + n > buf.length) throw bad('truncated');
    const b = buf.subarray(pos, pos + n);
    pos += n;
    return b;
  };
  while (pos < buf.length) {
    const kind = buf[pos++];
    if (kind === 0x52) { // R
      const raw = take(num());
      segments.push({ raw });
      total += raw.length;
    } else if (kind === 0x46) { // F
      const path = take(num()).toString('utf8');
      const size = num();
      if (path === '' || path.startsWith('/') || path.split('/').some((c) => c === '' || c === '.' || c === '..')) throw bad(`bad path ${JSON.stringify(path)}`);
      segments.push({ path, size });
      total += size;
    } else throw bad('unknown segment');
  }
  if (total !== head.size) throw bad(`segments add up to ${total} bytes, not ${head.size}`);
  return { digest: head.digest, size: head.size, segments };
}

/**
 * The tar again, from a record and the directory the layer was unpacked to. The sha256 of
 * what passes is checked against the record's digest; the last chunk is held back until it
 * matched, so a reader never gets a complete stream of wrong bytes.
 */
export async function* rebuildTar(record: TarSplitRecord, root: string): AsyncGenerator<Buffer> {
  const hash = new BackgroundHash();
  let held: Buffer | undefined;
  let size = 0;
  try {
    for await (const chunk of segmentBytes(record, root)) {
      hash.update(chunk);
      size += chunk.length;
      if (held) yield held;
      held = chunk;
    }
  } catch (e) {
    hash.dispose();
    throw e;
  }
  const got = 'sha256:' + (await hash.digest());
  if (got !== record.digest || size !== record.size) {
    throw new Error(`layer ${record.digest} cannot be rebuilt from its unpacked files: they changed on disk (got ${got}, ${size} bytes)`);
  }
  if (held) yield held;
}

async function* segmentBytes(record: TarSplitRecord, root: string): AsyncGenerator<Buffer> {
  for (const s of record.segments) {
    if ('raw' in s) { yield s.raw; continue; }
    const fh = await open(join(root, s.path), fsc.O_RDONLY | fsc.O_NOFOLLOW).catch((e: Error) => {
      throw new Error(`layer ${record.digest} cannot be rebuilt from its unpacked files: ${s.path}: ${e.message}`);
    });
    try {
      for (let left = s.size; left > 0;) {
        const buf = Buffer.allocUnsafe(Math.min(READ_CHUNK, left));
        const { bytesRead } = await fh.read(buf, 0, buf.length, null);
        if (bytesRead === 0) throw new Error(`layer ${record.digest} cannot be rebuilt from its unpacked files: ${s.path} is shorter than it was`);
        left -= bytesRead;
        yield bytesRead === buf.length ? buf : buf.subarray(0, bytesRead);
      }
    } finally {
      await fh.close();
    }
  }
}
