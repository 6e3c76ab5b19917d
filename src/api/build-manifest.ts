/**
 * pier's incremental build context (a pier-only extension of the Engine API, offered when
 * `_ping` answers `Pier-Build-Context: 1`). Instead of a tar of the whole context the client
 * sends a manifest of its members; the daemon's content-addressed context store answers which
 * contents it lacks (`POST /pier/build/context/missing`), and the build (`POST /pier/build`,
 * the query of `/build`) carries the manifest plus only those contents:
 *
 *   u32 big-endian length of the JSON header | JSON header | the blobs' bytes, in header order
 *
 * The header is `{ Entries: ManifestEntry[], Blobs: [sha256, size][] }`. A client refers to
 * content only by its sha256: each file's digest must be in the store or among the blobs, and
 * each blob is hashed on arrival and refused unless it matches. Both sides use this file.
 */

export const BUILD_CONTEXT_PROTOCOL = '1';
export const BUILD_CONTEXT_HEADER = 'Pier-Build-Context';
export const BUILD_CONTEXT_MEDIA_TYPE = 'application/vnd.pier.build-context.v1';
/** Longest JSON header a daemon reads. */
export const MAX_MANIFEST_HEADER = 256 << 20;

export interface ManifestEntry {
  /** context-relative slash path, clean (no `.`/`..` elements, no leading or trailing slash) */
  Path: string;
  Type: 'file' | 'dir' | 'symlink';
  /** permission bits (& 0o7777) */
  Mode: number;
  /** the docker CLI sends 0:0 for every member; so does pier, and the daemon ignores them like a tar's */
  Uid: number;
  Gid: number;
  /** whole seconds since the epoch (a tar header's precision) */
  Mtime: number;
  /** files: bytes */
  Size?: number;
  /** files: sha256 hex of the content */
  Digest?: string;
  /** symlinks: the target, as readlink gives it */
  Link?: string;
}

export interface ManifestHeader {
  Entries: ManifestEntry[];
  /** contents that follow the header: [sha256 hex, size] in order */
  Blobs: Array<[string, number]>;
}

const HEX64 = /^[0-9a-f]{64}$/;
const MAX_PATH = 4096;

export function isDigest(s: unknown): s is string {
  return typeof s === 'string' && HEX64.test(s);
}

/** Why a context path is refused, or undefined when it is a clean relative path. */
export function contextPathProblem(p: unknown): string | undefined {
  if (typeof p !== 'string' || p === '') return 'empty path';
  if (p.length > MAX_PATH) return 'path too long';
  if (p.includes('\0')) return 'NUL in path';
  if (p.startsWith('/')) return 'absolute path';
  for (const seg of p.split('/')) {
    if (seg === '..') return 'path escapes the context';
    if (seg === '' || seg === '.') return 'path not clean';
  }
  return undefined;
}

const isInt = (n: unknown, min: number, max: number): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= min && n <= max;

/**
 * Checks a decoded header (types, paths, digests, sizes, no duplicates, every blob used by a
 * file of that digest and size, every parent of an entry a directory of the manifest or
 * absent); throws an Error naming the first problem.
 */
export function validateManifest(h: unknown): ManifestHeader {
  const fail = (why: string): never => { throw new Error(`invalid build context manifest: ${why}`); };
  if (typeof h !== 'object' || h === null) fail('not an object');
  const { Entries, Blobs } = h as Record<string, unknown>;
  if (!Array.isArray(Entries)) return fail('Entries is not a list');
  if (!Array.isArray(Blobs)) return fail('Blobs is not a list');
  const types = new Map<string, string>();
  const fileSizes = new Map<string, number>();
  for (const e of Entries as unknown[]) {
    if (typeof e !== 'object' || e === null) fail('entry is not an object');
    const x = e as Record<string, unknown>;
    const problem = contextPathProblem(x.Path);
    if (problem) fail(`${problem}: ${JSON.stringify(x.Path)}`);
    const path = x.Path as string;
    if (types.has(path)) fail(`duplicate path ${path}`);
    if (x.Type !== 'file' && x.Type !== 'dir' && x.Type !== 'symlink') fail(`${path}: unknown type ${JSON.stringify(x.Type)}`);
    if (!isInt(x.Mode, 0, 0o7777)) fail(`${path}: bad mode`);
    if (!isInt(x.Uid, 0, 0xffffffff) || !isInt(x.Gid, 0, 0xffffffff)) fail(`${path}: bad owner`);
    if (!isInt(x.Mtime, -(2 ** 40), 2 ** 40)) fail(`${path}: bad mtime`);
    if (x.Type === 'file') {
      if (!isDigest(x.Digest)) fail(`${path}: bad digest`);
      if (!isInt(x.Size, 0, Number.MAX_SAFE_INTEGER)) fail(`${path}: bad size`);
      const known = fileSizes.get(x.Digest as string);
      if (known !== undefined && known !== x.Size) fail(`${path}: size differs from another file of the same digest`);
      fileSizes.set(x.Digest as string, x.Size as number);
    } else if (x.Digest !== undefined || x.Size !== undefined && x.Size !== 0) {
      fail(`${path}: only files have content`);
    }
    if (x.Type === 'symlink') {
      if (typeof x.Link !== 'string' || x.Link === '' || x.Link.length > MAX_PATH || x.Link.includes('\0')) fail(`${path}: bad link target`);
    } else if (x.Link !== undefined) fail(`${path}: only symlinks have a target`);
    types.set(path, x.Type as string);
  }
  // nothing below a file or a symlink: the daemon never follows a context symlink
  for (const path of types.keys()) {
    for (let i = path.lastIndexOf('/'); i > 0; i = path.lastIndexOf('/', i - 1)) {
      const t = types.get(path.slice(0, i));
      if (t !== undefined && t !== 'dir') fail(`${path}: parent ${path.slice(0, i)} is a ${t}`);
    }
  }
  const sent = new Set<string>();
  for (const b of Blobs as unknown[]) {
    if (!Array.isArray(b) || b.length !== 2 || !isDigest(b[0]) || !isInt(b[1], 0, Number.MAX_SAFE_INTEGER)) fail('bad blob');
    const [sum, size] = b as [string, number];
    if (sent.has(sum)) fail(`blob ${sum} sent twice`);
    if (fileSizes.get(sum) !== size) fail(`blob ${sum} is not the content of a file of that size`);
    sent.add(sum);
  }
  return h as ManifestHeader;
}

/** The header's frame: 4-byte big-endian length, then the JSON. */
export function encodeManifestHeader(h: ManifestHeader): Buffer {
  const json = Buffer.from(JSON.stringify(h));
  const out = Buffer.allocUnsafe(4 + json.length);
  out.writeUInt32BE(json.length, 0);
  json.copy(out, 4);
  return out;
}
