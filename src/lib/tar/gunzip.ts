/**
 * gunzip for layer streams, with a pass-through for stored deflate blocks.
 *
 * gzip keeps incompressible data (already-compressed files, media, random bytes) in
 * "stored" blocks: the bytes as they are, 64 KiB at a time behind a 5-byte header. zlib
 * copies them through its window at ~1 GB/s here, which made inflating a third of a
 * pull's CPU time; this reader hands them on as slices of the input, checked by CRC-32
 * (zlib.crc32, several GB/s). Compressed blocks (a layer starts with one: the tar headers)
 * are decoded by inflate-blocks.ts, which knows at which bit a block ends, so the stream
 * returns to the pass-through at the next stored block. After JS_BUDGET bytes of compressed
 * output in a row, the rest of the member goes to zlib's raw inflate at the next block that
 * starts on a byte, primed with the last 32 KiB of output as its dictionary (the window a
 * compressed block may refer back into); where the deflate data ended is learnt from
 * zlib's count of consumed input, and the member's trailer (CRC-32, length) is checked
 * here. Several members follow each other as in zlib's gunzip; zero bytes after a member
 * are padding and ignored. Errors: `invalid-argument` "invalid gzip stream: <zlib's words>".
 */
import { crc32, createInflateRaw } from 'node:zlib';
import { badArchive } from './header.js';
import { BlockInflater } from './inflate-blocks.js';

const WINDOW = 32 * 1024;
/** Output of compressed blocks in a row decoded here before zlib takes over (at a byte boundary). */
const JS_BUDGET = 256 * 1024;
/** Input handed to zlib at once (fewer thread-pool round trips than socket-sized pieces). */
const INFLATE_PIECE = 1 << 20;

const bad = (why: string): Error => badArchive(`invalid gzip stream: ${why}`);

/** The input as a queue of chunks, read as far as needed. */
class Input {
  /** Queued chunks from `head` on (an index, not shift(): a stream of tiny chunks stays linear). */
  private chunks: Buffer[] = [];
  private head = 0;
  private length = 0;
  private done = false;

  constructor(private readonly it: AsyncIterator<Buffer>) {}

  private async more(): Promise<void> {
    const r = await this.it.next();
    if (r.done) this.done = true;
    else if (r.value.length > 0) { this.chunks.push(r.value); this.length += r.value.length; }
  }

  /** True when at least `n` bytes are queued (reading more as needed). */
  async fill(n: number): Promise<boolean> {
    while (this.length < n && !this.done) await this.more();
    return this.length >= n;
  }

  byte(i: number): number {
    for (let k = this.head; k < this.chunks.length; k++) {
      const c = this.chunks[k]!;
      if (i < c.length) return c[i]!;
      i -= c.length;
    }
    throw new RangeError('Input.byte: not filled');
  }

  /** Up to `n` queued bytes from the first chunk, without a copy. */
  takeSome(n: number): Buffer {
    const c = this.chunks[this.head]!;
    if (c.length > n) {
      this.chunks[this.head] = c.subarray(n);
      this.length -= n;
      return c.subarray(0, n);
    }
    this.head++;
    this.length -= c.length;
    if (this.head === this.chunks.length) { this.chunks = []; this.head = 0; }
    else if (this.head > 1024 && this.head * 2 > this.chunks.length) { this.chunks = this.chunks.slice(this.head); this.head = 0; }
    return c;
  }

  /** Exactly `n` queued bytes (copied only when they span chunks). */
  take(n: number): Buffer {
    const first = this.takeSome(n);
    if (first.length === n) return first;
    const parts = [first];
    let got = first.length;
    while (got < n) { const p = this.takeSome(n - got); parts.push(p); got += p.length; }
    return Buffer.concat(parts, n);
  }

  /** Up to `max` bytes: what is queued, else the next chunk; empty at the end. */
  async takeUpTo(max: number): Promise<Buffer> {
    while (this.length < max && !this.done) await this.more();
    return this.length === 0 ? Buffer.alloc(0) : this.take(Math.min(max, this.length));
  }

  unshift(b: Buffer): void {
    if (b.length === 0) return;
    if (this.head > 0) this.chunks[--this.head] = b;
    else this.chunks.unshift(b);
    this.length += b.length;
  }

  async return(): Promise<void> {
    await this.it.return?.();
  }
}

/** The last 32 KiB of output, kept as references until a compressed block needs them. */
class Window {
  private parts: Buffer[] = [];
  private length = 0;

  add(b: Buffer): void {
    this.parts.push(b);
    this.length += b.length;
    while (this.parts.length > 1 && this.length - this.parts[0]!.length >= WINDOW) this.length -= this.parts.shift()!.length;
    if (this.parts.length > 64) { // many tiny pieces: one copy of the window instead
      const w = this.bytes();
      this.parts = [w];
      this.length = w.length;
    }
  }

  bytes(): Buffer {
    const all = Buffer.concat(this.parts, this.length);
    return all.subarray(Math.max(0, all.length - WINDOW));
  }
}

/** One member's running check values. */
interface Check { crc: number; size: number; window: Window }

export interface GunzipOptions {
  /**
   * Check each member's CRC-32 (default true). A caller that checks a sha256 of the whole
   * output against a digest it trusts (a layer's diff ID) learns nothing more from it.
   */
  crc?: boolean;
}

export async function* gunzip(source: AsyncIterable<Buffer>, opts: GunzipOptions = {}): AsyncGenerator<Buffer, void, undefined> {
  const withCrc = opts.crc ?? true;
  const input = new Input(source[Symbol.asyncIterator]());
  let inflater: BlockInflater | undefined; // made at the first compressed block, then reused
  try {
    for (let member = 0; ; member++) {
      if (member > 0) {
        // after a member: the end, zero padding, or another member
        if (!(await input.fill(1))) return;
        if (input.byte(0) === 0) {
          while ((await input.takeUpTo(INFLATE_PIECE)).length > 0) { /* padding, ignored */ }
          return;
        }
      }
      await header(input);
      const check: Check = { crc: 0, size: 0, window: new Window() };
      const pass = (b: Buffer): Buffer => {
        if (withCrc) check.crc = crc32(b, check.crc);
        check.size += b.length;
        check.window.add(b);
        return b;
      };
      // Stored blocks are read from `input` a whole byte at a time; compressed ones by a
      // BlockInflater (`js`), which holds the input while a block ends inside a byte.
      let js: BlockInflater | undefined;
      let run = 0; // output of compressed blocks since the last stored block
      const feed = async (need: number): Promise<void> => {
        while (js!.available < need && !js!.inputDone) {
          const b = await input.takeUpTo(64 * 1024);
          if (b.length === 0) js!.inputDone = true;
          else js!.add(b);
        }
      };
      for (;;) {
        let final: boolean;
        let type: number;
        if (js && !js.aligned) {
          await feed(1);
          final = js.bits(1) === 1;
          type = js.bits(2);
          if (type === 0) { // the stored block's LEN starts at the next byte
            input.unshift(js.rest());
            js = undefined;
          }
        } else {
          if (js) { input.unshift(js.rest()); js = undefined; }
          if (!(await input.fill(1))) throw bad('unexpected end of file');
          const first = input.byte(0);
          final = (first & 1) === 1;
          type = (first >> 1) & 3;
          if (type === 0) input.take(1);
          else if (type !== 3 && run >= JS_BUDGET) {
            // a long run of compressed blocks, starting on a byte: zlib takes the member's rest
            yield* inflateRest(input, check.window.bytes(), pass);
            break;
          } else {
            js = (inflater ??= new BlockInflater()).reset(check.window.bytes());
            await feed(1);
            js.bits(3);
          }
        }
        if (type === 3) throw bad('invalid block type');
        if (type === 0) {
          // a stored block: LEN, NLEN, then LEN bytes as they are
          if (!(await input.fill(4))) throw bad('unexpected end of file');
          const h = input.take(4);
          const len = h.readUInt16LE(0);
          if ((len ^ 0xffff) !== h.readUInt16LE(2)) throw bad('invalid stored block lengths');
          for (let left = len; left > 0;) {
            if (!(await input.fill(1))) throw bad('unexpected end of file');
            const piece = input.takeSome(left);
            left -= piece.length;
            yield pass(piece);
          }
          run = 0;
        } else {
          await feed(1024); // a dynamic header's code lengths
          js!.startBlock(type as 1 | 2);
          for (;;) {
            const step = js!.run();
            if (step === 'need-input') { await feed(64 * 1024); continue; }
            const out = js!.take();
            run += out.length;
            if (out.length > 0) yield pass(out);
            if (step === 'block-end') break;
          }
        }
        if (final) break;
      }
      if (js) input.unshift(js.rest());
      if (!(await input.fill(8))) throw bad('unexpected end of file');
      const t = input.take(8);
      if (withCrc && t.readUInt32LE(0) !== check.crc >>> 0) throw bad('incorrect data check');
      if (t.readUInt32LE(4) !== check.size % 2 ** 32) throw bad('incorrect length check');
    }
  } finally {
    await input.return();
  }
}

/** Checks and skips a gzip member header (RFC 1952), with zlib's words for what is wrong. */
async function header(input: Input): Promise<void> {
  if (!(await input.fill(10))) throw bad('unexpected end of file');
  if (input.byte(0) !== 0x1f || input.byte(1) !== 0x8b) throw bad('incorrect header check');
  if (input.byte(2) !== 8) throw bad('unknown compression method');
  const flags = input.byte(3);
  if (flags & 0xe0) throw bad('unknown header flags set');
  let crc = crc32(input.take(10));
  const skip = async (n: number): Promise<void> => {
    for (let left = n; left > 0;) {
      if (!(await input.fill(1))) throw bad('unexpected end of file');
      const p = input.takeSome(left);
      crc = crc32(p, crc);
      left -= p.length;
    }
  };
  if (flags & 4) { // FEXTRA
    if (!(await input.fill(2))) throw bad('unexpected end of file');
    const x = input.take(2);
    crc = crc32(x, crc);
    await skip(x.readUInt16LE(0));
  }
  for (const bit of [8, 16]) { // FNAME, FCOMMENT: zero-terminated
    if (!(flags & bit)) continue;
    for (;;) {
      if (!(await input.fill(1))) throw bad('unexpected end of file');
      const end = input.byte(0) === 0;
      await skip(1);
      if (end) break;
    }
  }
  if (flags & 2) { // FHCRC
    if (!(await input.fill(2))) throw bad('unexpected end of file');
    if (input.take(2).readUInt16LE(0) !== (crc & 0xffff)) throw bad('header crc mismatch');
  }
}

/**
 * The rest of a member's deflate data through zlib's raw inflate (its output passed through
 * `pass`); the input after the deflate data goes back to `input`.
 */
async function* inflateRest(input: Input, dictionary: Buffer, pass: (b: Buffer) => Buffer): AsyncGenerator<Buffer> {
  const raw = createInflateRaw({ chunkSize: INFLATE_PIECE, ...(dictionary.length > 0 ? { dictionary } : {}) });
  const out: Buffer[] = [];
  const st: { failed?: Error; ended: boolean } = { ended: false };
  // read through a call: TypeScript would narrow the field across the awaits
  const failure = (): Error | undefined => st.failed;
  let wake: (() => void) | undefined;
  const poke = (): void => { const w = wake; wake = undefined; w?.(); };
  raw.on('data', (c: Buffer) => { out.push(c); poke(); });
  raw.on('end', () => { st.ended = true; poke(); });
  let writing: (() => void) | undefined;
  raw.on('error', (e: Error) => { st.failed = e; poke(); writing?.(); });
  let fed = 0;
  let last: Buffer = Buffer.alloc(0);
  try {
    for (;;) {
      while (out.length > 0) yield pass(out.shift()!);
      if (st.failed) throw bad(st.failed.message);
      // zlib took less than it was given: the deflate data ended inside the last piece
      if (raw.bytesWritten < fed) break;
      if (st.ended) break;
      const piece = await input.takeUpTo(INFLATE_PIECE);
      if (piece.length === 0) {
        // the input ended inside the deflate data: zlib says so when asked to finish
        raw.end();
        while (!st.failed && !st.ended) await new Promise<void>((r) => { wake = r; });
        while (out.length > 0) yield pass(out.shift()!);
        throw bad(failure()?.message ?? 'unexpected end of file');
      }
      last = piece;
      fed += piece.length;
      // (zlib destroys the stream on bad data without calling back: the error wakes us)
      await new Promise<void>((resolve) => {
        writing = resolve;
        raw.write(piece, () => resolve());
      });
      writing = undefined;
      // 'data' may come after the write callback: let queued events run
      await new Promise<void>((r) => setImmediate(r));
    }
    while (!st.ended && !st.failed) await new Promise<void>((r) => { wake = r; });
    while (out.length > 0) yield pass(out.shift()!);
    const f = failure();
    if (f) throw bad(f.message);
    const unused = fed - raw.bytesWritten;
    input.unshift(last.subarray(last.length - unused));
  } finally {
    raw.destroy();
  }
}
