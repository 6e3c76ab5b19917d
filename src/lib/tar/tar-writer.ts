/**
 * Streaming tar writer producing POSIX pax archives: ustar blocks, plus a pax extended header
 * for whatever ustar cannot hold (long or non-ASCII names and link targets, sizes of 8 GiB
 * and more, large ids, out-of-range times, long user/group names, xattrs).
 */
import { Readable } from 'node:stream';
import {
  BLOCK, encodeBlock, encodePax, octalMax, padding, splitUstarName, typeflagOf, type TarEntryType,
} from './header.js';

/** An entry to write. Only `name` is required; a body given as an iterable needs `size`. */
export interface TarWriterEntry {
  name: string;
  type?: TarEntryType;
  mode?: number;
  uid?: number;
  gid?: number;
  size?: number;
  /** A Date or seconds since the epoch; default: now. */
  mtime?: Date | number;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  xattrs?: Record<string, Buffer | string>;
  uname?: string;
  gname?: string;
  body?: Buffer | string | AsyncIterable<Buffer | Uint8Array> | Iterable<Buffer | Uint8Array>;
}

const ZERO_BLOCKS = Buffer.alloc(BLOCK * 2);
// eslint-disable-next-line no-control-regex
const isPortable = (s: string): boolean => /^[\x20-\x7e]*$/.test(s);

function seconds(mtime: Date | number | undefined): number {
  if (mtime === undefined) return Math.floor(Date.now() / 1000);
  if (typeof mtime === 'number') return mtime;
  return mtime.getTime() / 1000;
}

/** Encodes the header block(s) of one entry: an optional pax header, then the ustar block. */
export function encodeEntryHeader(entry: TarWriterEntry, size: number): Buffer[] {
  const type = entry.type ?? 'file';
  let name = entry.name;
  if (name === '') throw new TypeError('tar entry needs a name');
  if (type === 'dir' && !name.endsWith('/')) name += '/';
  const linkname = entry.linkname ?? '';
  const pax = new Map<string, Buffer | string>();

  let ustarName = name;
  let prefix = '';
  const split = isPortable(name) ? splitUstarName(name) : undefined;
  if (split) ({ prefix, name: ustarName } = split);
  else {
    pax.set('path', name);
    ustarName = Buffer.from(name.replace(/[^\x20-\x7e]/g, '_')).subarray(0, 100).toString('latin1');
  }
  let ustarLink = linkname;
  if (!isPortable(linkname) || Buffer.byteLength(linkname) > 100) {
    pax.set('linkpath', linkname);
    ustarLink = linkname.replace(/[^\x20-\x7e]/g, '_').slice(0, 100);
  }
  const numeric = (key: string, value: number, len: number): number => {
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`tar entry "${name}": invalid ${key} ${value}`);
    if (value <= octalMax(len)) return value;
    pax.set(key, String(value));
    return 0;
  };
  const uid = numeric('uid', entry.uid ?? 0, 8);
  const gid = numeric('gid', entry.gid ?? 0, 8);
  const sizeField = numeric('size', size, 12);
  const mtimeSeconds = seconds(entry.mtime);
  let mtimeField = Math.floor(mtimeSeconds);
  if (!Number.isFinite(mtimeSeconds)) throw new RangeError(`tar entry "${name}": invalid mtime`);
  if (mtimeField < 0 || mtimeField > octalMax(12)) {
    pax.set('mtime', String(mtimeField));
    mtimeField = 0;
  }
  const textField = (key: string, value: string): string => {
    if (isPortable(value) && value.length <= 31) return value;
    pax.set(key, value);
    return '';
  };
  const uname = textField('uname', entry.uname ?? '');
  const gname = textField('gname', entry.gname ?? '');
  for (const [k, v] of Object.entries(entry.xattrs ?? {})) pax.set(`SCHILY.xattr.${k}`, typeof v === 'string' ? Buffer.from(v) : v);

  const out: Buffer[] = [];
  if (pax.size > 0) {
    const data = encodePax(pax);
    const base = name.replace(/\/+$/, '').split('/').pop() ?? 'entry';
    out.push(encodeBlock({
      name: Buffer.from(`PaxHeaders/${base.replace(/[^\x20-\x7e]/g, '_')}`).subarray(0, 100).toString('latin1'),
      typeflag: 'x', mode: 0o644, uid: 0, gid: 0, size: data.length, mtime: Math.max(0, Math.min(mtimeField, octalMax(12))),
      linkname: '', devmajor: 0, devminor: 0, uname: '', gname: '',
    }));
    out.push(data, Buffer.alloc(padding(data.length)));
  }
  out.push(encodeBlock({
    name: ustarName, prefix, typeflag: typeflagOf(type), mode: (entry.mode ?? (type === 'dir' ? 0o755 : 0o644)) & 0o7777,
    uid, gid, size: sizeField, mtime: mtimeField, linkname: ustarLink,
    devmajor: entry.devmajor ?? 0, devminor: entry.devminor ?? 0, uname, gname,
  }));
  return out;
}

async function* entryChunks(entry: TarWriterEntry): AsyncGenerator<Buffer> {
  const type = entry.type ?? 'file';
  const body = typeof entry.body === 'string' ? Buffer.from(entry.body) : entry.body;
  if (type !== 'file') {
    if (body !== undefined && (!Buffer.isBuffer(body) || body.length > 0)) throw new TypeError(`tar entry "${entry.name}": a ${type} has no body`);
    yield* encodeEntryHeader(entry, 0);
    return;
  }
  if (Buffer.isBuffer(body) || body === undefined) {
    const data = body ?? Buffer.alloc(0);
    if (entry.size !== undefined && entry.size !== data.length) {
      throw new RangeError(`tar entry "${entry.name}": body is ${data.length} bytes but size says ${entry.size}`);
    }
    yield* encodeEntryHeader(entry, data.length);
    if (data.length > 0) yield data;
    yield Buffer.alloc(padding(data.length));
    return;
  }
  const size = entry.size;
  if (size === undefined) throw new TypeError(`tar entry "${entry.name}": a streamed body needs a size`);
  yield* encodeEntryHeader(entry, size);
  let written = 0;
  for await (const raw of body as AsyncIterable<Buffer | Uint8Array>) {
    const chunk = Buffer.isBuffer(raw) ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
    written += chunk.length;
    if (written > size) throw new RangeError(`tar entry "${entry.name}": body is longer than its size ${size}`);
    if (chunk.length > 0) yield chunk;
  }
  if (written !== size) throw new RangeError(`tar entry "${entry.name}": body is ${written} bytes but size says ${size}`);
  yield Buffer.alloc(padding(size));
}

/** The bytes of a whole archive, as an async iterable (ends with the two zero blocks). */
export async function* tarChunks(entries: Iterable<TarWriterEntry> | AsyncIterable<TarWriterEntry>): AsyncGenerator<Buffer, void, undefined> {
  // Headers, padding and small bodies are gathered into chunks of at least COALESCE bytes:
  // a stream of many small files would otherwise cost one stream round trip per block.
  let held: Buffer[] = [];
  let heldBytes = 0;
  const take = (): Buffer => { const b = held.length === 1 ? held[0]! : Buffer.concat(held, heldBytes); held = []; heldBytes = 0; return b; };
  for await (const entry of entries) {
    for await (const chunk of entryChunks(entry)) {
      if (chunk.length >= COALESCE) {
        if (heldBytes) yield take();
        yield chunk;
        continue;
      }
      held.push(chunk);
      heldBytes += chunk.length;
      if (heldBytes >= COALESCE) yield take();
    }
  }
  held.push(ZERO_BLOCKS);
  heldBytes += ZERO_BLOCKS.length;
  yield take();
}

const COALESCE = 64 * 1024;

/** A readable byte stream of the archive of `entries`; backpressure reaches the entry source. */
export function packTar(entries: Iterable<TarWriterEntry> | AsyncIterable<TarWriterEntry>): Readable {
  return Readable.from(tarChunks(entries), { objectMode: false });
}

interface Pending {
  entry: TarWriterEntry;
  resolve: () => void;
  reject: (e: unknown) => void;
}

/**
 * Push-style writer: `add()` entries as they come, `finish()` to end the archive; read the
 * archive from `stream`. `add()` resolves once the entry (and its body) has been read by the
 * consumer, so awaiting it applies backpressure.
 *
 * ```ts
 * const w = new TarWriter();
 * pipeline(w.stream, res);
 * await w.add({ name: 'hello.txt', body: 'hi\n' });
 * await w.finish();
 * ```
 */
export class TarWriter {
  readonly stream: Readable;
  private readonly queue: (Pending | 'end')[] = [];
  private wake: (() => void) | undefined;
  private closed: Error | undefined;
  private finished = false;

  constructor() {
    this.stream = packTar(this.pending());
    this.stream.once('close', () => {
      if (!this.stream.readableEnded) this.closed ??= new Error('tar stream closed');
      // the generator may never have started (nobody read): reject what it will never take
      for (const p of this.queue) if (p !== 'end' && this.closed) p.reject(this.closed);
      this.queue.length = 0;
      this.wakeUp();
    });
  }

  private wakeUp(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  private async *pending(): AsyncGenerator<TarWriterEntry> {
    let current: Pending | undefined;
    try {
      for (;;) {
        while (this.queue.length === 0) {
          if (this.closed) throw this.closed;
          await new Promise<void>((r) => (this.wake = r));
        }
        const next = this.queue.shift()!;
        if (next === 'end') return;
        current = next;
        yield next.entry;
        // asked for the next entry: the previous one has been written out whole
        current = undefined;
        next.resolve();
      }
    } finally {
      this.closed ??= new Error('tar stream closed');
      current?.reject(this.closed);
      for (const p of this.queue) if (p !== 'end') p.reject(this.closed);
      this.queue.length = 0;
    }
  }

  private push(item: Pending | 'end'): void {
    this.queue.push(item);
    this.wakeUp();
  }

  add(entry: TarWriterEntry): Promise<void> {
    if (this.closed) return Promise.reject(this.closed);
    if (this.finished) return Promise.reject(new Error('tar writer already finished'));
    return new Promise((resolve, reject) => this.push({ entry, resolve, reject }));
  }

  /** Ends the archive; resolves when the consumer has read all of it. */
  finish(): Promise<void> {
    if (this.finished) return Promise.resolve();
    this.finished = true;
    this.push('end');
    return new Promise((resolve, reject) => {
      if (this.stream.readableEnded) return resolve();
      this.stream.once('end', resolve);
      this.stream.once('error', reject);
      this.stream.once('close', () => (this.stream.readableEnded ? resolve() : reject(new Error('tar stream closed'))));
    });
  }

  /** Aborts the archive: pending adds reject, the stream errors. */
  destroy(err?: Error): void {
    this.closed = err ?? new Error('tar writer destroyed');
    this.stream.destroy(err);
    this.wakeUp();
  }
}
