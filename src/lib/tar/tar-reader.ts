/**
 * Streaming tar reader. Pulls chunks from the source on demand and hands each member's body
 * out as an async iterable of slices of those chunks: a body is never buffered whole.
 */
import {
  BLOCK, MAX_META_SIZE, badArchive, decodeHeader, entryTypeOf, isZeroBlock, padding, parsePax,
  type TarHeader, type TarEntryType,
} from './header.js';
import type { TarSplitSink } from './tar-split.js';

/** One archive member. `body` is readable once, and only until the iteration moves on. */
export interface TarEntry extends TarHeader {
  readonly body: AsyncIterable<Buffer>;
  /** Reads the whole body into memory (small files only: it is the caller's choice). */
  buffer(): Promise<Buffer>;
}

export type TarSource = AsyncIterable<Buffer | Uint8Array | string> | NodeJS.ReadableStream;

export interface ReadTarOptions {
  /** Largest pax or GNU long-name payload accepted (default 1 MiB). */
  maxMetaSize?: number;
  /** Hears every byte consumed from the source, in order (tar-split.ts). */
  split?: TarSplitSink;
}

const EMPTY = Buffer.alloc(0);
export const truncated = (): Error => badArchive('unexpected end of archive');

function toBuffer(chunk: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  if (typeof chunk === 'string') return Buffer.from(chunk, 'latin1');
  throw new TypeError('tar source yielded a chunk that is not bytes');
}

/** Pull-based byte cursor over an async iterable of chunks. */
export class ByteSource {
  private readonly it: AsyncIterator<unknown>;
  private chunk: Buffer = EMPTY;
  private pos = 0;
  private ended = false;

  constructor(source: TarSource, private readonly tap?: (chunk: Buffer, body: boolean) => void) {
    this.it = (source as AsyncIterable<unknown>)[Symbol.asyncIterator]();
  }

  private available(): number {
    return this.chunk.length - this.pos;
  }

  private async pull(): Promise<boolean> {
    while (!this.ended) {
      const r = await this.it.next();
      if (r.done) {
        this.ended = true;
        break;
      }
      const c = toBuffer(r.value);
      if (c.length > 0) {
        this.chunk = c;
        this.pos = 0;
        return true;
      }
    }
    this.chunk = EMPTY;
    this.pos = 0;
    return false;
  }

  /** Exactly n bytes; null when the source ends before the first byte; throws when it ends midway. */
  async read(n: number): Promise<Buffer | null> {
    if (this.available() >= n) {
      const b = this.chunk.subarray(this.pos, this.pos + n);
      this.pos += n;
      this.tap?.(b, false);
      return b;
    }
    const parts: Buffer[] = [];
    let got = 0;
    while (got < n) {
      if (this.available() === 0 && !(await this.pull())) {
        if (got === 0) return null;
        throw truncated();
      }
      const take = Math.min(n - got, this.available());
      const part = this.chunk.subarray(this.pos, this.pos + take);
      parts.push(part);
      this.tap?.(part, false);
      this.pos += take;
      got += take;
    }
    return Buffer.concat(parts, n);
  }

  /** Between 1 and max bytes, whatever is at hand; throws at the end of the source. `body`: told to the tap. */
  async next(max: number, body = false): Promise<Buffer> {
    if (this.available() === 0 && !(await this.pull())) throw truncated();
    const take = Math.min(max, this.available());
    const b = this.chunk.subarray(this.pos, this.pos + take);
    this.pos += take;
    this.tap?.(b, body);
    return b;
  }

  async skip(n: number): Promise<void> {
    let left = n;
    while (left > 0) left -= (await this.next(left)).length;
  }

  /** Reads and drops the rest of the source (trailing record padding), so upstream digests complete. */
  async drain(): Promise<void> {
    if (this.tap && this.available() > 0) this.tap(this.chunk.subarray(this.pos), false);
    while (await this.pull()) this.tap?.(this.chunk, false);
  }

  async close(): Promise<void> {
    await this.it.return?.();
  }
}

interface BodyState {
  remaining: number;
  pad: number;
  active: boolean;
  claimed: boolean;
}

const HEADER_ONLY: ReadonlySet<TarEntryType> = new Set(['hardlink', 'symlink', 'char', 'block', 'dir', 'fifo']);

function paxInt(records: Map<string, Buffer>, key: string): number | undefined {
  const v = records.get(key);
  if (v === undefined) return undefined;
  const text = v.toString('latin1');
  if (!/^[0-9]+$/.test(text)) throw badArchive(`invalid pax header: ${key} is not a number (${JSON.stringify(text)})`);
  const n = parseInt(text, 10);
  if (!Number.isSafeInteger(n)) throw badArchive(`invalid pax header: ${key} is too large`);
  return n;
}

function paxTime(records: Map<string, Buffer>, key: string): number | undefined {
  const v = records.get(key);
  if (v === undefined) return undefined;
  const text = v.toString('latin1');
  if (!/^-?[0-9]+(\.[0-9]*)?$/.test(text)) throw badArchive(`invalid pax header: ${key} is not a time (${JSON.stringify(text)})`);
  return parseFloat(text);
}

function xattrsOf(records: Map<string, Buffer>): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  for (const [key, value] of records) {
    if (key.startsWith('SCHILY.xattr.')) out[key.slice('SCHILY.xattr.'.length)] = value;
    else if (key.startsWith('LIBARCHIVE.xattr.')) {
      // libarchive: URL-encoded name, base64 value
      out[decodeURIComponent(key.slice('LIBARCHIVE.xattr.'.length))] = Buffer.from(value.toString('latin1'), 'base64');
    }
  }
  return out;
}

/**
 * Reads a tar stream member by member.
 *
 * Checksums are verified; pax extended ('x') and global ('g') headers, GNU long names and
 * links ('L'/'K') and base-256 numbers are applied to the member they describe. An unread (or
 * half-read) body is skipped when the iteration moves on. Typeflags that are not members of
 * a filesystem tree (volume labels, GNU dump dirs...) are skipped; GNU sparse files are
 * refused. A stream that ends before the end-of-archive marker (one or two zero blocks)
 * throws `invalid-argument` "unexpected end of archive"; an entirely empty stream is an empty
 * archive. Breaking out of the loop closes the source.
 *
 * Names are reported as stored, except that a directory's trailing '/' is removed: the
 * extractor, not the reader, decides what a name means on disk.
 */
export async function* readTar(source: TarSource, opts: ReadTarOptions = {}): AsyncGenerator<TarEntry, void, undefined> {
  const split = opts.split;
  const src = new ByteSource(source, split ? (b, body) => split.bytes(b, body) : undefined);
  const maxMeta = opts.maxMetaSize ?? MAX_META_SIZE;
  const global = new Map<string, Buffer>();
  let pax: Map<string, Buffer> | undefined;
  let longName: string | undefined;
  let longLink: string | undefined;
  let current: BodyState | undefined;
  let sawBlock = false;

  const readMeta = async (size: number, what: string): Promise<Buffer> => {
    if (size > maxMeta) throw badArchive(`invalid tar archive: ${what} of ${size} bytes exceeds the ${maxMeta} byte limit`);
    const data = (await src.read(size)) ?? (size === 0 ? Buffer.alloc(0) : null);
    if (data === null) throw truncated();
    await src.skip(padding(size));
    return Buffer.from(data); // a copy: it outlives the chunk it came from
  };

  try {
    for (;;) {
      if (current) {
        await src.skip(current.remaining + current.pad);
        current.active = false;
        current = undefined;
      }
      const block = await src.read(BLOCK);
      if (block === null) {
        if (!sawBlock) return;
        throw truncated();
      }
      sawBlock = true;
      if (isZeroBlock(block)) {
        // end of archive: a second zero block normally follows, then record padding; some
        // writers stop after one block. Drained, not parsed, so that upstream digests complete.
        await src.drain();
        return;
      }
      const raw = decodeHeader(block);
      if (raw.size < 0) throw badArchive('invalid tar header: negative size');
      switch (raw.typeflag) {
        case 'x': {
          const records = parsePax(await readMeta(raw.size, 'pax header'));
          pax ??= new Map();
          for (const [k, v] of records) pax.set(k, v);
          continue;
        }
        case 'g': {
          for (const [k, v] of parsePax(await readMeta(raw.size, 'pax global header'))) {
            if (v.length === 0) global.delete(k);
            else global.set(k, v);
          }
          continue;
        }
        case 'L':
          longName = (await readMeta(raw.size, 'GNU long name')).toString('utf8').replace(/\0.*$/s, '');
          continue;
        case 'K':
          longLink = (await readMeta(raw.size, 'GNU long link')).toString('utf8').replace(/\0.*$/s, '');
          continue;
        case 'S':
          throw badArchive(`unsupported tar entry: "${longName ?? raw.name}" is a GNU sparse file`);
        default:
          break;
      }

      // global values first, then this member's own records; an empty value unsets
      const records = new Map(global);
      for (const [k, v] of pax ?? []) {
        if (v.length === 0) records.delete(k);
        else records.set(k, v);
      }
      const nameOverride = longName;
      const linkOverride = longLink;
      pax = undefined;
      longName = undefined;
      longLink = undefined;

      let type = entryTypeOf(raw.typeflag);
      if (type === undefined) {
        // not a filesystem member ('V' label, 'D' dump dir, 'M' continuation...): skip its data
        current = { remaining: raw.size, pad: padding(raw.size), active: true, claimed: true };
        continue;
      }
      for (const key of records.keys()) {
        if (key.startsWith('GNU.sparse.')) throw badArchive(`unsupported tar entry: "${raw.name}" is a GNU sparse file`);
      }

      let name = records.get('path')?.toString('utf8') ?? nameOverride ?? raw.name;
      const linkname = records.get('linkpath')?.toString('utf8') ?? linkOverride ?? raw.linkname;
      if (name.includes('\0') || linkname.includes('\0')) throw badArchive('invalid tar header: name contains a NUL byte');
      if (name === '') throw badArchive('invalid tar header: empty name');
      // pre-POSIX archives mark directories only with a trailing slash
      if (type === 'file' && raw.typeflag !== '7' && name.endsWith('/')) type = 'dir';
      if (type === 'dir' && name.length > 1) name = name.replace(/\/+$/, '') || '/';
      let size = paxInt(records, 'size') ?? raw.size;
      // header-only types carry no data whatever their size field says (as Go's archive/tar)
      if (HEADER_ONLY.has(type)) size = 0;
      const mtime = paxTime(records, 'mtime') ?? raw.mtime;

      const state: BodyState = { remaining: size, pad: padding(size), active: true, claimed: false };
      current = state;
      const body: AsyncIterable<Buffer> = {
        [Symbol.asyncIterator]: async function* (): AsyncGenerator<Buffer> {
          if (state.claimed) throw new Error(`tar entry "${name}": body can be read only once`);
          state.claimed = true;
          while (state.remaining > 0) {
            if (!state.active) throw new Error(`tar entry "${name}": body read after the archive moved on`);
            const chunk = await src.next(state.remaining, true);
            state.remaining -= chunk.length;
            yield chunk;
          }
        },
      };
      const entry: TarEntry = {
        name,
        type,
        mode: raw.mode & 0o7777,
        uid: paxInt(records, 'uid') ?? raw.uid,
        gid: paxInt(records, 'gid') ?? raw.gid,
        size,
        mtime: new Date(Math.round(mtime * 1000)),
        linkname: type === 'hardlink' || type === 'symlink' ? linkname : '',
        devmajor: raw.devmajor,
        devminor: raw.devminor,
        xattrs: xattrsOf(records),
        uname: records.get('uname')?.toString('utf8') ?? raw.uname,
        gname: records.get('gname')?.toString('utf8') ?? raw.gname,
        body,
        buffer: async () => {
          const parts: Buffer[] = [];
          for await (const c of body) parts.push(c);
          return Buffer.concat(parts);
        },
      };
      yield entry;
    }
  } finally {
    if (current) current.active = false;
    await src.close();
  }
}
