/**
 * The client half of pier's incremental build context (api/build-manifest.ts): walks the
 * context directory with exactly the tar path's filter (`.dockerignore`, the Dockerfile and
 * .dockerignore always kept, an excluded directory entered only when `!` patterns exist),
 * hashes each file unless the stat cache says it is unchanged, and produces the manifest plus
 * where each content can be read from. No tar code, no native modules: `pier build` starts fast.
 *
 * Stat cache: `$XDG_CACHE_HOME/pier/build-context/<sha256 of the context dir>.json` (or
 * ~/.cache/…), path → size, mtime, ctime (ms as doubles: sub-µs; BigInt stats cost more than
 * the walk's lstats), inode, mode → sha256. A file whose mtime or ctime is within RACY_MS of
 * the walk is not cached (it could change again within the
 * timestamp's granularity without its stat changing).
 */
import { createHash } from 'node:crypto';
import { createReadStream, lstatSync, readdirSync, readlinkSync, type Stats } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { IgnoreMatcher, ManifestEntry } from '../../../api/index.js';

/** Files up to this size are read whole (and kept for the upload if the daemon lacks them). */
const SMALL = 1 << 20;
const RACY_MS = 2000;
const CACHE_VERSION = 3;

/** path → [size, mtime ms, ctime ms (doubles: sub-µs), inode, mode, sha256] */
type CacheRow = [number, number, number, number, number, string];
interface CacheFile { v: number; files: Record<string, CacheRow> }

/** Where one content can be read for the upload. */
export interface ContentSource {
  /** absolute path of a file holding it, unless `data` */
  path?: string;
  size: number;
  /** the bytes, when already read (small files hashed in this run, a Dockerfile from stdin) */
  data?: Buffer;
}

export interface ContextManifest {
  entries: ManifestEntry[];
  /** content sha256 → a source of its bytes */
  contents: Map<string, ContentSource>;
  /** files hashed in this walk (not answered by the stat cache) */
  hashed: number;
}

export interface ManifestOptions {
  ignore: IgnoreMatcher;
  /** context-relative names sent even when ignored (.dockerignore, the Dockerfile) */
  keepAlways: ReadonlySet<string>;
  /** the stat cache's file; none: every file is hashed */
  cacheFile?: string;
  /** a file added under a name of its own (a Dockerfile from outside the context or stdin) */
  extra?: { name: string; data: Buffer; mtime: number };
  /** awaited after the walk, before any file is read: false gives up (the daemon will not take a manifest) */
  proceed?: Promise<boolean>;
  /** files changed less than this long before the walk are not cached (default 2000 ms) */
  racyWindowMs?: number;
}

/** The stat cache file for a context directory. */
export function statCachePath(dir: string, env: NodeJS.ProcessEnv = process.env): string {
  const base = env['XDG_CACHE_HOME'] || join(homedir(), '.cache');
  return join(base, 'pier', 'build-context', `${createHash('sha256').update(dir).digest('hex').slice(0, 32)}.json`);
}

/** The tar path's filter (cli/commands/image/build-tar.ts): what a context sends. */
export function contextFilter(ignore: IgnoreMatcher, keepAlways: ReadonlySet<string>): (name: string, isDir: boolean) => boolean {
  if (ignore.patterns.length === 0) return () => true;
  const exclusions = ignore.hasExclusions;
  return (name, isDir) => keepAlways.has(name) || !ignore.matches(name) || (isDir && exclusions);
}

async function loadCache(file: string | undefined): Promise<Map<string, CacheRow>> {
  if (!file) return new Map();
  try {
    const c = JSON.parse(await readFile(file, 'utf8')) as CacheFile;
    return c.v === CACHE_VERSION && c.files && typeof c.files === 'object' ? new Map(Object.entries(c.files)) : new Map();
  } catch {
    return new Map();
  }
}

async function saveCache(file: string, files: Record<string, CacheRow>): Promise<void> {
  try {
    await mkdir(join(file, '..'), { recursive: true, mode: 0o700 });
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify({ v: CACHE_VERSION, files } satisfies CacheFile), { mode: 0o600 });
    await rename(tmp, file);
  } catch { /* a cache that cannot be written only costs hashing next time */ }
}

async function hashFile(path: string, expected: number): Promise<{ sum: string; size: number; data?: Buffer }> {
  if (expected <= SMALL) {
    const data = await readFile(path, { flag: 'r' });
    return { sum: createHash('sha256').update(data).digest('hex'), size: data.length, data: data.length <= SMALL ? data : undefined };
  }
  const h = createHash('sha256');
  let size = 0;
  for await (const c of createReadStream(path, { highWaterMark: 1 << 20 })) {
    h.update(c as Buffer);
    size += (c as Buffer).length;
  }
  return { sum: h.digest('hex'), size };
}

/** Walks `dir` into a manifest (entries in the order the tar path would send them). */
export async function contextManifest(dir: string, opts: ManifestOptions): Promise<ContextManifest | undefined> {
  const racyAfter = Date.now() - (opts.racyWindowMs ?? RACY_MS);
  const keep = contextFilter(opts.ignore, opts.keepAlways);
  const cache = await loadCache(opts.cacheFile);
  const next: Record<string, CacheRow> = {};
  let cacheChanged = false;
  const entries: ManifestEntry[] = [];
  const contents = new Map<string, ContentSource>();
  const toHash: Array<{ entry: ManifestEntry; path: string; st: Stats }> = [];

  // synchronous: one lstat costs a few µs this way, ~50 through the thread pool
  const walk = (abs: string, rel: string): void => {
    for (const n of readdirSync(abs).sort()) {
      const path = `${abs}/${n}`;
      const st = lstatSync(path, { throwIfNoEntry: false });
      if (!st) continue; // removed meanwhile
      {
        const name = rel ? `${rel}/${n}` : n;
        const isDir = st.isDirectory();
        if (!keep(name, isDir)) continue;
        // whole seconds as the tar path has them (its Date comes from mtimeMs too)
        const mtime = Math.floor(Math.trunc(st.mtimeMs) / 1000);
        if (isDir) {
          entries.push({ Path: name, Type: 'dir', Mode: st.mode & 0o7777, Uid: 0, Gid: 0, Mtime: mtime });
          walk(path, name);
        } else if (st.isSymbolicLink()) {
          entries.push({ Path: name, Type: 'symlink', Mode: 0o777, Uid: 0, Gid: 0, Mtime: mtime, Link: readlinkSync(path) });
        } else if (st.isFile()) {
          const entry: ManifestEntry = { Path: name, Type: 'file', Mode: st.mode & 0o7777, Uid: 0, Gid: 0, Mtime: mtime, Size: st.size };
          entries.push(entry);
          const c = cache.get(name);
          if (c && c[0] === st.size && c[1] === st.mtimeMs && c[2] === st.ctimeMs && c[3] === st.ino && c[4] === st.mode) {
            entry.Digest = c[5];
            next[name] = c;
            if (!contents.has(c[5])) contents.set(c[5], { path, size: c[0] });
          } else {
            toHash.push({ entry, path, st });
          }
        }
        // fifos, sockets, devices: the daemon keeps none of them from a tar either
      }
    }
  };
  walk(dir.replace(/\/+$/, '') || '/', '');
  if (opts.proceed && !(await opts.proceed)) return undefined;

  for (let i = 0; i < toHash.length; i += 16) {
    await Promise.all(toHash.slice(i, i + 16).map(async ({ entry, path, st }) => {
      const { sum, size, data } = await hashFile(path, Number(st.size));
      entry.Digest = sum;
      entry.Size = size;
      const have = contents.get(sum);
      if (!have || (!have.data && data)) contents.set(sum, { path, size, data });
      cacheChanged = true;
      if (size === st.size && Math.max(st.mtimeMs, st.ctimeMs) < racyAfter) next[entry.Path] = [size, st.mtimeMs, st.ctimeMs, st.ino, st.mode, sum];
    }));
  }
  // sizes of one content agree (a file hashed while it changed could disagree with the cache)
  for (const e of entries) if (e.Type === 'file') e.Size = contents.get(e.Digest!)?.size ?? e.Size;

  if (opts.extra) {
    const sum = createHash('sha256').update(opts.extra.data).digest('hex');
    entries.push({ Path: opts.extra.name, Type: 'file', Mode: 0o600, Uid: 0, Gid: 0, Mtime: opts.extra.mtime, Size: opts.extra.data.length, Digest: sum });
    if (!contents.get(sum)?.data) contents.set(sum, { size: opts.extra.data.length, data: opts.extra.data });
  }
  if (opts.cacheFile && (cacheChanged || cache.size !== Object.keys(next).length)) await saveCache(opts.cacheFile, next);
  return { entries, contents, hashed: toHash.length };
}

/** The body of `POST /pier/build` after its header: the missing contents, each exactly its size. */
export async function* missingContents(contents: ReadonlyMap<string, ContentSource>, missing: readonly string[]): AsyncGenerator<Buffer> {
  for (const sum of missing) {
    const src = contents.get(sum);
    if (!src) throw new Error(`unable to prepare context: the daemon asked for content sha256:${sum} the context does not hold`);
    if (src.data) {
      if (src.data.length) yield src.data;
      continue;
    }
    let left = src.size;
    for await (const c of createReadStream(src.path!, { highWaterMark: 1 << 20 })) {
      const b = c as Buffer;
      if (b.length > left) break;
      left -= b.length;
      yield b;
    }
    if (left !== 0) throw new Error(`unable to prepare context: ${src.path} changed while it was sent`);
  }
}
