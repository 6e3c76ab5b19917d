/**
 * Decoding of compressed deflate blocks (RFC 1951, fixed and dynamic Huffman codes) in
 * JavaScript, for gunzip.ts: a layer's tar headers make gzip start with a small compressed
 * block, and the incompressible file data after it comes as stored blocks. zlib cannot
 * stop after a block and say at which bit it ended, so this decoder takes the compressed
 * blocks and hands the stream back at the next stored block. It is a plain canonical-code
 * decoder, fast enough for such blocks; a long run of compressed blocks goes to zlib as
 * soon as a block starts on a byte boundary (gunzip.ts decides).
 *
 * Every input is hostile: code sets are checked as zlib checks them (zlib's error words),
 * distances never reach before the output the member has produced, and output leaves in
 * pieces of at most OUT_PIECE bytes however much a block expands.
 */
import { badArchive } from './header.js';

const bad = (why: string): Error => badArchive(`invalid gzip stream: ${why}`);

const HISTORY = 32 * 1024;
const OUT_PIECE = 256 * 1024;
const MAX_BITS = 15;

const LBASE = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258];
const LEXT = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
const DBASE = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577];
const DEXT = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13];
const CL_ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];

/**
 * A canonical Huffman code. `fast` is indexed by the next FAST_BITS input bits (deflate
 * sends codes most significant bit first into a least-significant-first bit stream, so the
 * index is the code reversed); an entry is `symbol << 4 | length`, or 0 where the code is
 * longer (then `counts`/`symbols` decode it bit by bit) or does not exist.
 */
interface Code { fast: Int32Array; counts: Uint16Array; symbols: Uint16Array }
const FAST_BITS = 10;

/** Builds a code from symbol lengths; `left`: codes left unused (<0: over-subscribed); `used`: symbols with a code. */
function build(lengths: Uint8Array): { code: Code; left: number; used: number } {
  const counts = new Uint16Array(MAX_BITS + 1);
  for (const l of lengths) counts[l]!++;
  counts[0] = 0;
  let left = 1;
  for (let len = 1; len <= MAX_BITS; len++) {
    left = left * 2 - counts[len]!;
    if (left < 0) return { code: { fast: new Int32Array(0), counts, symbols: new Uint16Array(0) }, left, used: 0 };
  }
  const offs = new Uint16Array(MAX_BITS + 2);
  for (let len = 1; len <= MAX_BITS; len++) offs[len + 1] = offs[len]! + counts[len]!;
  const symbols = new Uint16Array(lengths.length);
  const fast = new Int32Array(1 << FAST_BITS);
  const next = new Uint16Array(MAX_BITS + 1); // the first code of each length (RFC 1951 3.2.2)
  for (let len = 1, code = 0; len <= MAX_BITS; len++) {
    code = (code + (len > 1 ? counts[len - 1]! : 0)) << 1;
    next[len] = code;
  }
  let used = 0;
  for (let sym = 0; sym < lengths.length; sym++) {
    const len = lengths[sym]!;
    if (len === 0) continue;
    used++;
    symbols[offs[len]!++] = sym;
    const code = next[len]!++;
    if (len > FAST_BITS) continue;
    let rev = 0;
    for (let i = 0; i < len; i++) rev |= ((code >> i) & 1) << (len - 1 - i);
    for (let k = rev; k < fast.length; k += 1 << len) fast[k] = (sym << 4) | len;
  }
  return { code: { fast, counts, symbols }, left, used };
}

const FIXED = ((): { lit: Code; dist: Code } => {
  const l = new Uint8Array(288);
  l.fill(8, 0, 144); l.fill(9, 144, 256); l.fill(7, 256, 280); l.fill(8, 280, 288);
  return { lit: build(l).code, dist: build(new Uint8Array(30).fill(5)).code };
})();

/** Where a block's decoding stopped. */
export type Step = 'block-end' | 'need-input' | 'output';

/**
 * One member's compressed blocks. Feed input with `add`; `startBlock` reads a block header
 * (its 3 bits already known to say "compressed"), `run` decodes until the block ends, the
 * input runs low or output is ready (`take`). At a byte boundary between blocks, `rest()`
 * gives back the unread input.
 */
export class BlockInflater {
  private buf: Buffer = Buffer.alloc(0);
  private p = 0;
  private bitbuf = 0;
  private bitcnt = 0;
  private readonly win = Buffer.allocUnsafe(HISTORY + OUT_PIECE + 258);
  private wpos = 0;
  private flushed = 0;
  private lit?: Code;
  private dist?: Code;
  /** The input has ended: running out of bits is an error, not a wait. */
  inputDone = false;

  /**
   * Starts over at a block boundary (after rest()); `history`: the member's last output (up
   * to 32 KiB) that distances may reach back into.
   */
  reset(history: Buffer): this {
    const h = history.subarray(Math.max(0, history.length - HISTORY));
    h.copy(this.win, 0);
    this.wpos = this.flushed = h.length;
    this.buf = Buffer.alloc(0);
    this.p = this.bitbuf = this.bitcnt = 0;
    this.lit = this.dist = undefined;
    this.inputDone = false;
    return this;
  }

  /** Unread input bytes (beyond the bits held). */
  get available(): number {
    return this.buf.length - this.p;
  }

  /** True between whole bytes (no bits of a partly read byte held). */
  get aligned(): boolean {
    return (this.bitcnt & 7) === 0;
  }

  add(b: Buffer): void {
    // the whole bytes held as bits stay in front: rest() may have to give them back
    const held = this.buf.subarray(this.p - (this.bitcnt >> 3));
    this.buf = held.length > 0 ? Buffer.concat([held, b]) : b;
    this.p = this.bitcnt >> 3;
  }

  private need(n: number): void {
    while (this.bitcnt < n) {
      if (this.p >= this.buf.length) throw bad('unexpected end of file');
      this.bitbuf |= this.buf[this.p++]! << this.bitcnt;
      this.bitcnt += 8;
    }
  }

  bits(n: number): number {
    this.need(n);
    const v = this.bitbuf & ((1 << n) - 1);
    this.bitbuf >>>= n;
    this.bitcnt -= n;
    return v;
  }

  /** Drops the bits left in the current byte (before a stored block's LEN) and gives back the unread bytes. */
  rest(): Buffer {
    const r = this.buf.subarray(this.p - (this.bitcnt >> 3));
    this.bitbuf = 0;
    this.bitcnt = 0;
    this.buf = Buffer.alloc(0);
    this.p = 0;
    return r;
  }

  private decode(c: Code, what: string): number {
    if (this.bitcnt < FAST_BITS) {
      // load what is there; near the end of the input fewer bits may remain
      while (this.bitcnt < 24 && this.p < this.buf.length) {
        this.bitbuf |= this.buf[this.p++]! << this.bitcnt;
        this.bitcnt += 8;
      }
    }
    const e = c.fast[this.bitbuf & ((1 << FAST_BITS) - 1)]!;
    const len = e & 15;
    if (len !== 0 && len <= this.bitcnt) {
      this.bitbuf >>>= len;
      this.bitcnt -= len;
      return e >> 4;
    }
    // a long code (or the end of the input): one bit at a time
    let code = 0;
    let first = 0;
    let index = 0;
    for (let l = 1; l <= MAX_BITS; l++) {
      code |= this.bits(1);
      const count = c.counts[l]!;
      if (code - count < first) return c.symbols[index + (code - first)]!;
      index += count;
      first = (first + count) << 1;
      code <<= 1;
    }
    throw bad(`invalid ${what} code`);
  }

  /** Reads the header of a compressed block: `type` 1 (fixed codes) or 2 (dynamic codes, needs ~1 KiB of input). */
  startBlock(type: 1 | 2): void {
    if (type === 1) {
      this.lit = FIXED.lit;
      this.dist = FIXED.dist;
      return;
    }
    const nlen = this.bits(5) + 257;
    const ndist = this.bits(5) + 1;
    const ncode = this.bits(4) + 4;
    if (nlen > 286 || ndist > 30) throw bad('too many length or distance symbols');
    const cl = new Uint8Array(19);
    for (let i = 0; i < ncode; i++) cl[CL_ORDER[i]!] = this.bits(3);
    const lencode = build(cl);
    if (lencode.left !== 0) throw bad('invalid code lengths set');
    const lengths = new Uint8Array(nlen + ndist);
    for (let i = 0; i < nlen + ndist;) {
      const sym = this.decode(lencode.code, 'code lengths');
      if (sym < 16) { lengths[i++] = sym; continue; }
      let value = 0;
      let times: number;
      if (sym === 16) {
        if (i === 0) throw bad('invalid bit length repeat');
        value = lengths[i - 1]!;
        times = 3 + this.bits(2);
      } else if (sym === 17) times = 3 + this.bits(3);
      else times = 11 + this.bits(7);
      if (i + times > nlen + ndist) throw bad('invalid bit length repeat');
      lengths.fill(value, i, i + times);
      i += times;
    }
    if (lengths[256] === 0) throw bad('invalid code -- missing end-of-block');
    const lit = build(lengths.subarray(0, nlen));
    // an incomplete code is allowed only when it has a single code (RFC 1951 3.2.7)
    if (lit.left < 0 || (lit.left > 0 && lit.used !== 1)) throw bad('invalid literal/lengths set');
    const dist = build(lengths.subarray(nlen));
    if (dist.left < 0 || (dist.left > 0 && dist.used !== 1)) throw bad('invalid distances set');
    this.lit = lit.code;
    this.dist = dist.code;
  }

  /** Decodes symbols until the block ends, fewer than 8 input bytes remain (unless the input ended), or output is ready. */
  run(): Step {
    const lit = this.lit!;
    const dist = this.dist!;
    const win = this.win;
    for (;;) {
      if (!this.inputDone && this.available < 8) return 'need-input';
      if (this.wpos + 258 > win.length) return 'output';
      const sym = this.decode(lit, 'literal/length');
      if (sym < 256) { win[this.wpos++] = sym; continue; }
      if (sym === 256) { this.lit = this.dist = undefined; return 'block-end'; }
      const li = sym - 257;
      if (li >= 29) throw bad('invalid literal/length code');
      const len = LBASE[li]! + this.bits(LEXT[li]!);
      const ds = this.decode(dist, 'distance');
      if (ds >= 30) throw bad('invalid distance code');
      const d = DBASE[ds]! + this.bits(DEXT[ds]!);
      if (d > this.wpos) throw bad('invalid distance too far back');
      for (let i = 0; i < len; i++, this.wpos++) win[this.wpos] = win[this.wpos - d]!;
    }
  }

  /** Output decoded since the last take (a copy), keeping 32 KiB of history. */
  take(): Buffer {
    const out = Buffer.from(this.win.subarray(this.flushed, this.wpos));
    if (this.wpos + 258 > this.win.length) {
      this.win.copy(this.win, 0, this.wpos - HISTORY, this.wpos);
      this.wpos = HISTORY;
    }
    this.flushed = this.wpos;
    return out;
  }
}
