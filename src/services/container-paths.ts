/**
 * Paths inside a container's root filesystem, for `docker cp` and `docker diff`.
 *
 * Every path a client names is resolved with chroot semantics against the container's root
 * on the host: a symlink met on the way is followed *inside* the root (an absolute target
 * restarts at the root, `..` stops at the root), so no request can name a host file. The
 * result's components are real directories (or absent), checked with lstat only; the last
 * component is followed only when Docker follows it (a trailing `/` or `/.`). Like the safe
 * extractor, this is resolution by path: it assumes the container's own processes do not
 * swap a directory for a symlink between the check and the use.
 */
import { lstatSync, readlinkSync, type BigIntStats, type Stats } from 'node:fs';
import { join, posix } from 'node:path';
import { errnoCode } from '../lib/errdefs.js';

/** Linux follows at most 40 symlinks in one lookup. */
const MAX_LINKS = 40;

export interface ContainerPath {
  /** The absolute path in the container as Docker shows it (trailing `/` or `/.` kept). */
  abs: string;
  /** The host path: the resolved parent directory joined with the base (`''` or `.` when trailing). */
  host: string;
  /** Components below the root of `host` (a trailing `.` dropped). */
  comps: string[];
}

function lstatQuiet(p: string): Stats | undefined {
  try {
    return lstatSync(p);
  } catch (e) {
    const code = errnoCode(e);
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw e;
  }
}

/**
 * Resolves `comps` below `root`, following every symlink (the last one too when `followLast`)
 * inside the root. Returns the resolved components; missing components are kept as given.
 */
export function resolveComponents(root: string, comps: readonly string[], followLast: boolean): string[] {
  const queue = [...comps];
  const out: string[] = [];
  let links = 0;
  while (queue.length > 0) {
    const c = queue.shift()!;
    if (c === '' || c === '.') continue;
    if (c === '..') {
      out.pop();
      continue;
    }
    if (queue.length === 0 && !followLast) {
      out.push(c);
      break;
    }
    const st = lstatQuiet(join(root, ...out, c));
    if (st?.isSymbolicLink()) {
      if (++links > MAX_LINKS) throw Object.assign(new Error(`too many levels of symbolic links: ${comps.join('/')}`), { code: 'ELOOP' });
      const target = readlinkSync(join(root, ...out, c));
      if (target.startsWith('/')) out.length = 0;
      queue.unshift(...target.split('/'));
      continue;
    }
    out.push(c);
  }
  return out;
}

/** The container path `/` + `path` cleaned (`..` clamped at the root), keeping a trailing `/` or `/.`. */
export function cleanContainerPath(path: string): string {
  let abs = posix.normalize(`/${path}`);
  if (abs.startsWith('//')) abs = abs.replace(/^\/+/, '/');
  if (abs !== '/' && (path.endsWith('/') || path.endsWith('/.') || path === '.')) {
    abs = abs.replace(/\/+$/, '');
    abs += path.endsWith('/.') || path === '.' ? '/.' : '/';
  }
  return abs;
}

/**
 * Docker's container.ResolvePath: the parent is resolved in the container's scope, the base is
 * appended unresolved (so a symlink there is the symlink itself).
 */
export function resolveContainerPath(root: string, path: string): ContainerPath {
  const abs = cleanContainerPath(path);
  const i = abs.lastIndexOf('/');
  const dir = abs.slice(0, i + 1);
  const base = abs.slice(i + 1);
  const dirComps = resolveComponents(root, dir.split('/'), true);
  const comps = base === '' || base === '.' ? dirComps : [...dirComps, base];
  return { abs, host: join(root, ...comps), comps };
}

/** Where a symlink at `abs` finally points inside the container (`/etc` for `lnk -> /etc`). */
export function linkTargetOf(root: string, abs: string): string {
  return '/' + resolveComponents(root, abs.split('/'), true).join('/');
}

/** Go's filepath.Base: trailing slashes removed; `/` for the root. */
export function goBase(abs: string): string {
  const t = abs.replace(/\/+$/, '');
  if (t === '') return '/';
  return t.slice(t.lastIndexOf('/') + 1);
}

// ---- X-Docker-Container-Path-Stat ----

const MODE_DIR = 2 ** 31;
const MODE_SYMLINK = 2 ** 27;
const MODE_DEVICE = 2 ** 26;
const MODE_NAMED_PIPE = 2 ** 25;
const MODE_SOCKET = 2 ** 24;
const MODE_SETUID = 2 ** 23;
const MODE_SETGID = 2 ** 22;
const MODE_CHAR_DEVICE = 2 ** 21;
const MODE_STICKY = 2 ** 20;

/** A POSIX st_mode as Go's os.FileMode (what Docker puts on the wire). */
export function goFileMode(stMode: number): number {
  let m = stMode & 0o777;
  switch (stMode & 0o170000) {
    case 0o040000: m += MODE_DIR; break;
    case 0o120000: m += MODE_SYMLINK; break;
    case 0o060000: m += MODE_DEVICE; break;
    case 0o020000: m += MODE_DEVICE + MODE_CHAR_DEVICE; break;
    case 0o010000: m += MODE_NAMED_PIPE; break;
    case 0o140000: m += MODE_SOCKET; break;
  }
  if (stMode & 0o4000) m += MODE_SETUID;
  if (stMode & 0o2000) m += MODE_SETGID;
  if (stMode & 0o1000) m += MODE_STICKY;
  return m;
}

/** Go's time.RFC3339Nano in UTC: fraction without trailing zeros, none when zero. */
export function rfc3339NanoUtc(ns: bigint): string {
  const sec = ns / 1_000_000_000n;
  const frac = ns % 1_000_000_000n;
  const base = new Date(Number(sec) * 1000).toISOString().slice(0, 19);
  const f = frac === 0n ? '' : `.${frac.toString().padStart(9, '0').replace(/0+$/, '')}`;
  return `${base}${f}Z`;
}

export interface PathStat {
  name: string;
  size: number;
  mode: number;
  mtime: string;
  linkTarget: string;
}

export function pathStatOf(name: string, st: BigIntStats, linkTarget: string): PathStat {
  return { name, size: Number(st.size), mode: goFileMode(Number(st.mode)), mtime: rfc3339NanoUtc(st.mtimeNs), linkTarget };
}

/** The X-Docker-Container-Path-Stat header value: base64 of the JSON, keys in Docker's order. */
export function encodePathStat(s: PathStat): string {
  return Buffer.from(JSON.stringify({ name: s.name, size: s.size, mode: s.mode, mtime: s.mtime, linkTarget: s.linkTarget })).toString('base64');
}
