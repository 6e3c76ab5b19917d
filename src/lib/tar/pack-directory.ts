/**
 * Directory → tar entries, for `docker export`, `docker cp` (GET archive), `docker save` and
 * `commit` (an overlay upper dir becomes a layer: its whiteouts become `.wh.` members).
 * Walks with lstat and never follows a symlink; files are opened with O_NOFOLLOW.
 */
import { constants as fsc, type Stats } from 'node:fs';
import { lstat, open, readFile, readdir, readlink } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Readable } from 'node:stream';
import { errnoCode } from '../errdefs.js';
import { lgetxattr, llistxattr } from '../sys/index.js';
import { isAllowedXattr } from './extract-tar.js';
import { packTar, type TarWriterEntry } from './tar-writer.js';

export interface PackDirectoryOptions {
  /**
   * Prepended to every name (`prefix/a/b`); the directory itself is then emitted as `prefix/`,
   * as `docker cp` does for a directory. Without it the root is not emitted (layers, export).
   */
  prefix?: string;
  /** Return false to leave a path out (a directory: with everything below it). Sees names before `rename`. */
  filter?(name: string, stat: Stats): boolean;
  /** Rewrites an archive name (after the prefix), e.g. `docker cp`'s rebase. */
  rename?(name: string, stat: Stats): string;
  /** Turn overlayfs whiteouts into `.wh.<name>` / `.wh..wh..opq` members (commit of an upper dir). */
  overlayWhiteouts?: boolean;
  /** Include `user.*` and `security.capability` xattrs (default true). */
  xattrs?: boolean;
  /** A regular file's bytes when the caller has them already (must be `stat.size` long), else undefined. */
  knownBody?(path: string, stat: Stats): Buffer | undefined;
  /** Rewrites every member's owner (a tree written through a user namespace, shifted back). */
  owner?(uid: number, gid: number): { uid: number; gid: number };
}

const READ_CHUNK = 64 * 1024;
/** Reads of big files (fewer round trips through the thread pool). */
const BIG_READ_CHUNK = 1024 * 1024;
/** Names of a directory looked at together: their lstats and small files' bytes fetched in parallel. */
const WINDOW = 64;
/** Files up to this size are read whole, ahead of their turn. */
const PREFETCH_MAX = 64 * 1024;

async function* bytes(data: Buffer): AsyncGenerator<Buffer> {
  if (data.length) yield data;
}

/** A small file's bytes read at once (exactly `size`, as fileBody gives them), or undefined to stream it. */
async function prefetch(path: string, size: number): Promise<Buffer | undefined> {
  let data: Buffer;
  try {
    data = await readFile(path, { flag: fsc.O_RDONLY | fsc.O_NOFOLLOW });
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return Buffer.alloc(size);
    return undefined; // let the streaming path report it
  }
  if (data.length === size) return data;
  return data.length > size ? data.subarray(0, size) : Buffer.concat([data, Buffer.alloc(size - data.length)]);
}

function devNumbers(rdev: number): { devmajor: number; devminor: number } {
  const dev = BigInt(rdev);
  const devmajor = Number(((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn));
  const devminor = Number((dev & 0xffn) | ((dev >> 12n) & ~0xffn & 0xfffffn));
  return { devmajor, devminor };
}

/** Exactly `size` bytes of a file: truncated if it grew, zero-padded if it shrank (live containers). */
async function* fileBody(path: string, size: number): AsyncGenerator<Buffer> {
  let fh;
  try {
    fh = await open(path, fsc.O_RDONLY | fsc.O_NOFOLLOW);
  } catch (e) {
    if (errnoCode(e) !== 'ENOENT') throw e;
    if (size > 0) yield Buffer.alloc(size); // removed since it was listed
    return;
  }
  try {
    let left = size;
    while (left > 0) {
      const buf = Buffer.allocUnsafe(Math.min(size > BIG_READ_CHUNK ? BIG_READ_CHUNK : READ_CHUNK, left));
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) {
        yield Buffer.alloc(left);
        return;
      }
      left -= bytesRead;
      yield buf.subarray(0, bytesRead);
    }
  } finally {
    await fh.close();
  }
}

function readXattrs(path: string): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  for (const name of llistxattr(path)) {
    if (!isAllowedXattr(name)) continue;
    const v = lgetxattr(path, name);
    if (v !== undefined) out[name] = v;
  }
  return out;
}

async function lstatQuiet(path: string): Promise<Stats | undefined> {
  try {
    return await lstat(path);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return undefined; // removed meanwhile (a running container)
    throw e;
  }
}

/**
 * The entries of a directory tree, depth first in name order. Hard-linked files become
 * 'hardlink' members pointing at the first name seen; sockets are left out. If `dir` is not
 * a directory, the one member is named `prefix` (or the path's basename).
 */
export async function* walkDirectory(dir: string, opts: PackDirectoryOptions = {}): AsyncGenerator<TarWriterEntry, void, undefined> {
  const prefix = (opts.prefix ?? '').replace(/^\/+|\/+$/g, '');
  const withXattrs = opts.xattrs ?? true;
  const seen = new Map<string, string>();

  const entryFor = async (path: string, name: string, st: Stats, data?: Buffer): Promise<TarWriterEntry | undefined> => {
    const base = { name, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: st.mtime };
    const xattrs = withXattrs && !st.isSymbolicLink() ? readXattrs(path) : {};
    if (st.isDirectory()) return { ...base, type: 'dir', xattrs };
    if (st.isSymbolicLink()) return { ...base, type: 'symlink', linkname: await readlink(path) };
    if (st.isFile()) {
      if (st.nlink > 1) {
        const id = `${st.dev}:${st.ino}`;
        const first = seen.get(id);
        if (first !== undefined) return { ...base, type: 'hardlink', linkname: first };
        seen.set(id, name);
      }
      return { ...base, type: 'file', size: st.size, xattrs, body: data ? bytes(data) : fileBody(path, st.size) };
    }
    if (st.isCharacterDevice() || st.isBlockDevice()) {
      return { ...base, type: st.isCharacterDevice() ? 'char' : 'block', ...devNumbers(st.rdev), xattrs };
    }
    if (st.isFIFO()) return { ...base, type: 'fifo', xattrs };
    return undefined; // sockets: tar cannot hold them
  };

  const fullName = (rel: string): string => (prefix && rel ? `${prefix}/${rel}` : prefix || rel);
  /** The archive name, or undefined when filtered out. */
  const nameOf = (rel: string, st: Stats, fallback = ''): string | undefined => {
    const full = fullName(rel) || fallback;
    if (opts.filter && !opts.filter(full, st)) return undefined;
    return opts.rename ? opts.rename(full, st) : full;
  };

  const rootStat = await lstat(dir);
  if (!rootStat.isDirectory()) {
    const name = nameOf('', rootStat, basename(dir));
    if (name === undefined) return;
    const e = await entryFor(dir, name, rootStat);
    if (e) yield e;
    return;
  }

  async function* walk(path: string, rel: string): AsyncGenerator<TarWriterEntry> {
    let names: string[];
    try {
      names = (await readdir(path)).sort();
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') return;
      throw e;
    }
    for (let w = 0; w < names.length; w += WINDOW) {
      const window = names.slice(w, w + WINDOW);
      const stats = await Promise.all(window.map((n) => lstatQuiet(join(path, n))));
      const bodies = await Promise.all(window.map((n, i) => {
        const st = stats[i];
        if (!st?.isFile() || st.size > PREFETCH_MAX || (st.nlink > 1 && seen.has(`${st.dev}:${st.ino}`))) return undefined;
        const known = opts.knownBody?.(join(path, n), st);
        return known?.length === st.size ? known : prefetch(join(path, n), st.size);
      }));
      for (let i = 0; i < window.length; i++) {
        const n = window[i]!;
        const childPath = join(path, n);
        const childRel = rel ? `${rel}/${n}` : n;
        const st = stats[i];
        if (!st) continue;
        if (opts.overlayWhiteouts && st.isCharacterDevice() && st.rdev === 0) {
          const name = nameOf(rel ? `${rel}/.wh.${n}` : `.wh.${n}`, st);
          if (name === undefined) continue;
          yield { name, type: 'file', mode: 0o600, uid: st.uid, gid: st.gid, mtime: st.mtime, body: Buffer.alloc(0) };
          continue;
        }
        const name = nameOf(childRel, st);
        if (name === undefined) continue;
        const e = await entryFor(childPath, name, st, bodies[i]);
        if (!e) continue;
        yield e;
        if (st.isDirectory()) {
          if (opts.overlayWhiteouts && lgetxattr(childPath, 'trusted.overlay.opaque')?.toString() === 'y') {
            yield { name: `${name}/.wh..wh..opq`, type: 'file', mode: st.mode & 0o777, uid: st.uid, gid: st.gid, mtime: st.mtime, body: Buffer.alloc(0) };
          }
          yield* walk(childPath, childRel);
        }
      }
    }
  }

  if (prefix) {
    const name = nameOf('', rootStat);
    if (name === undefined) return;
    const e = await entryFor(dir, name, rootStat);
    if (e) yield e;
  }
  if (opts.overlayWhiteouts && !prefix && lgetxattr(dir, 'trusted.overlay.opaque')?.toString() === 'y') {
    yield { name: '.wh..wh..opq', type: 'file', mode: rootStat.mode & 0o777, uid: rootStat.uid, gid: rootStat.gid, mtime: rootStat.mtime, body: Buffer.alloc(0) };
  }
  yield* walk(dir, '');
}

/** A tar stream of a directory tree (see walkDirectory). */
export function packDirectory(dir: string, opts: PackDirectoryOptions = {}): Readable {
  const owner = opts.owner;
  if (!owner) return packTar(walkDirectory(dir, opts));
  return packTar((async function* () {
    for await (const e of walkDirectory(dir, opts)) yield { ...e, ...owner(e.uid ?? 0, e.gid ?? 0) };
  })());
}
