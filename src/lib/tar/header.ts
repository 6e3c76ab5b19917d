/**
 * The tar header codec: 512-byte ustar blocks, numeric fields (octal and GNU base-256), pax
 * extended header records. Pure functions over Buffers; the reader and writer stream around
 * them. Formats: POSIX.1-1988 ustar, POSIX.1-2001 pax ("x"/"g" headers), the GNU extensions
 * GNU tar and Docker layers use ("L"/"K" long names, base-256 numbers, old GNU magic).
 */
import { EngineError } from '../errdefs.js';

export const BLOCK = 512;
/** pax and GNU long-name payloads larger than this are refused (Go's archive/tar uses 1 MiB too). */
export const MAX_META_SIZE = 1024 * 1024;

export type TarEntryType = 'file' | 'hardlink' | 'symlink' | 'char' | 'block' | 'dir' | 'fifo';

/** What an archive says about one member. Names use '/' and have no trailing slash except a dir's. */
export interface TarHeader {
  name: string;
  type: TarEntryType;
  /** Permission bits including setuid/setgid/sticky (`& 0o7777`). */
  mode: number;
  uid: number;
  gid: number;
  /** Body length in bytes; always 0 for every type but 'file'. */
  size: number;
  mtime: Date;
  /** Target of a symlink or hard link, '' otherwise. */
  linkname: string;
  devmajor: number;
  devminor: number;
  /** Extended attributes from `SCHILY.xattr.*` (and `LIBARCHIVE.xattr.*`) pax records. */
  xattrs: Record<string, Buffer>;
  uname: string;
  gname: string;
}

export const badArchive = (msg: string): EngineError => new EngineError('invalid-argument', msg, { code: 'ERR_TAR_INVALID' });

const TYPEFLAGS: Record<TarEntryType, string> = {
  file: '0', hardlink: '1', symlink: '2', char: '3', block: '4', dir: '5', fifo: '6',
};

/** Raw view of a header block, before pax/GNU overrides. */
export interface RawHeader {
  typeflag: string;
  name: string;
  linkname: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  devmajor: number;
  devminor: number;
  uname: string;
  gname: string;
}

export function isZeroBlock(block: Buffer): boolean {
  for (let i = 0; i < BLOCK; i++) if (block[i] !== 0) return false;
  return true;
}

function cstring(block: Buffer, off: number, len: number): Buffer {
  const end = block.indexOf(0, off);
  return block.subarray(off, end < 0 || end > off + len ? off + len : end);
}

/** Octal (space/NUL padded) or GNU base-256 (high bit of the first byte set). */
export function parseNumeric(block: Buffer, off: number, len: number, field: string): number {
  const first = block[off] ?? 0;
  if (first & 0x80) {
    // base-256, two's complement; 0xff marks a negative number
    const negative = first === 0xff;
    let value = 0;
    for (let i = 0; i < len; i++) {
      let byte = block[off + i]!;
      if (i === 0 && !negative) byte &= 0x7f;
      if (negative) byte = ~byte & 0xff;
      value = value * 256 + byte;
      if (value > Number.MAX_SAFE_INTEGER) throw badArchive(`invalid tar header: ${field} is too large`);
    }
    return negative ? -(value + 1) : value;
  }
  const text = block.toString('latin1', off, off + len).replace(/\0.*$/s, '').trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) throw badArchive(`invalid tar header: ${field} is not an octal number (${JSON.stringify(text)})`);
  const value = parseInt(text, 8);
  if (!Number.isSafeInteger(value)) throw badArchive(`invalid tar header: ${field} is too large`);
  return value;
}

/** Verifies a header block's checksum; accepts the unsigned sum (POSIX) and the signed one (old Sun tar). */
export function verifyChecksum(block: Buffer): boolean {
  const stored = parseNumeric(block, 148, 8, 'checksum');
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : block[i]!;
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  return stored === unsigned || stored === signed;
}

/** Whether bytes start like a tar archive: a header block with a valid checksum, or the end marker (an empty archive). */
export function looksLikeTar(head: Buffer): boolean {
  if (head.length < BLOCK) return false;
  const block = head.subarray(0, BLOCK);
  if (isZeroBlock(block)) return true;
  try {
    return verifyChecksum(block);
  } catch {
    return false;
  }
}

export function decodeHeader(block: Buffer): RawHeader {
  if (!verifyChecksum(block)) throw badArchive('invalid tar header: checksum mismatch');
  const magic = block.toString('latin1', 257, 263);
  let name = cstring(block, 0, 100).toString('utf8');
  // only POSIX ustar has a prefix field; old GNU format keeps atime/ctime there
  if (magic === 'ustar\0') {
    const prefix = cstring(block, 345, 155).toString('utf8');
    if (prefix) name = `${prefix}/${name}`;
  }
  return {
    typeflag: String.fromCharCode(block[156] ?? 0),
    name,
    linkname: cstring(block, 157, 100).toString('utf8'),
    mode: parseNumeric(block, 100, 8, 'mode'),
    uid: parseNumeric(block, 108, 8, 'uid'),
    gid: parseNumeric(block, 116, 8, 'gid'),
    size: parseNumeric(block, 124, 12, 'size'),
    mtime: parseNumeric(block, 136, 12, 'mtime'),
    devmajor: parseNumeric(block, 329, 8, 'devmajor'),
    devminor: parseNumeric(block, 337, 8, 'devminor'),
    uname: cstring(block, 265, 32).toString('utf8'),
    gname: cstring(block, 297, 32).toString('utf8'),
  };
}

/** Maps a typeflag to an entry type; undefined for flags the reader skips ('V', 'D', ...). */
export function entryTypeOf(typeflag: string): TarEntryType | undefined {
  switch (typeflag) {
    case '0': case '\0': case '7': return 'file';
    case '1': return 'hardlink';
    case '2': return 'symlink';
    case '3': return 'char';
    case '4': return 'block';
    case '5': return 'dir';
    case '6': return 'fifo';
    default: return undefined;
  }
}

/** Parses pax records `"<len> <key>=<value>\n"`; values stay bytes (xattr values are binary). */
export function parsePax(data: Buffer): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let pos = 0;
  while (pos < data.length) {
    if (data[pos] === 0) break; // some writers pad the record block with NULs
    const space = data.indexOf(0x20, pos);
    if (space < 0 || space - pos > 20) throw badArchive('invalid pax header: malformed record length');
    const lenText = data.toString('latin1', pos, space);
    if (!/^[1-9][0-9]*$/.test(lenText)) throw badArchive('invalid pax header: malformed record length');
    const len = parseInt(lenText, 10);
    const end = pos + len;
    if (end > data.length || data[end - 1] !== 0x0a) throw badArchive('invalid pax header: record overruns its block');
    const record = data.subarray(space + 1, end - 1);
    const eq = record.indexOf(0x3d);
    if (eq <= 0) throw badArchive('invalid pax header: record without a key');
    out.set(record.toString('utf8', 0, eq), record.subarray(eq + 1));
    pos = end;
  }
  return out;
}

function paxRecord(key: string, value: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`, 'utf8'), value, Buffer.from('\n')]);
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return Buffer.concat([Buffer.from(String(len), 'latin1'), body]);
}

export function encodePax(records: Map<string, Buffer | string>): Buffer {
  const parts: Buffer[] = [];
  for (const [k, v] of records) parts.push(paxRecord(k, typeof v === 'string' ? Buffer.from(v, 'utf8') : v));
  return Buffer.concat(parts);
}

/** Fields the writer puts in one ustar block (already fitted: callers move what doesn't fit to pax). */
export interface BlockFields {
  name: string;
  prefix?: string;
  typeflag: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  linkname: string;
  devmajor: number;
  devminor: number;
  uname: string;
  gname: string;
}

function writeString(block: Buffer, off: number, len: number, value: string): void {
  const bytes = Buffer.from(value, 'utf8');
  if (bytes.length > len) throw new RangeError(`tar field overflow: ${JSON.stringify(value)} exceeds ${len} bytes`);
  bytes.copy(block, off);
}

function writeOctal(block: Buffer, off: number, len: number, value: number): void {
  // len-1 digits then NUL, zero padded (the form GNU tar and Go emit)
  const digits = Math.max(0, Math.floor(value)).toString(8);
  if (digits.length > len - 1) throw new RangeError(`tar numeric field overflow: ${value}`);
  block.write(digits.padStart(len - 1, '0'), off, 'latin1');
}

/** Largest value an octal field of `len` bytes can hold. */
export const octalMax = (len: number): number => 8 ** (len - 1) - 1;

export function encodeBlock(f: BlockFields): Buffer {
  const block = Buffer.alloc(BLOCK);
  writeString(block, 0, 100, f.name);
  writeOctal(block, 100, 8, f.mode);
  writeOctal(block, 108, 8, f.uid);
  writeOctal(block, 116, 8, f.gid);
  writeOctal(block, 124, 12, f.size);
  writeOctal(block, 136, 12, f.mtime);
  block.write('        ', 148, 'latin1');
  block.write(f.typeflag, 156, 'latin1');
  writeString(block, 157, 100, f.linkname);
  block.write('ustar\u000000', 257, 'latin1');
  writeString(block, 265, 32, f.uname);
  writeString(block, 297, 32, f.gname);
  writeOctal(block, 329, 8, f.devmajor);
  writeOctal(block, 337, 8, f.devminor);
  if (f.prefix) writeString(block, 345, 155, f.prefix);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += block[i]!;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return block;
}

export const typeflagOf = (type: TarEntryType): string => TYPEFLAGS[type];

/** Splits a long name into ustar prefix + name at a '/', or undefined if it cannot be split. */
export function splitUstarName(name: string): { prefix: string; name: string } | undefined {
  const bytes = Buffer.byteLength(name);
  if (bytes <= 100) return { prefix: '', name };
  if (bytes > 256) return undefined;
  // start before a directory's trailing slash, which stays with the name part
  for (let i = name.length - 2; i > 0; i--) {
    if (name[i] !== '/') continue;
    const prefix = name.slice(0, i);
    const rest = name.slice(i + 1);
    if (rest === '' || Buffer.byteLength(rest) > 100) return undefined;
    if (Buffer.byteLength(prefix) <= 155) return { prefix, name: rest };
  }
  return undefined;
}

export const padding = (size: number): number => (BLOCK - (size % BLOCK)) % BLOCK;
