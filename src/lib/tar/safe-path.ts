/**
 * Path confinement for extraction. Two steps, both pure path arithmetic plus lstat/readlink:
 *
 * 1. `cleanMemberName` turns an archive name into components below the root: absolute names
 *    are taken relative to the root (`/a` is `a`, as Docker does) and a name whose `..`
 *    climbs above the root is rejected (Docker's "breakout" error).
 * 2. `resolveInRoot` resolves components against the target with chroot semantics (what
 *    Docker's chrootarchive and containerd's fs.RootPath give): a symlink met in a parent
 *    position is followed, but its target is interpreted inside the root: an absolute target
 *    restarts at the root and `..` stops at the root. The result names only real
 *    directories (or components that do not exist yet), so nothing built from it can leave
 *    the root. The final component is never followed.
 */
import { lstatSync, readlinkSync, type Stats } from 'node:fs';
import { join, posix } from 'node:path';
import { errnoCode } from '../errdefs.js';
import { badArchive } from './header.js';

/** Linux's limit on symlinks followed in one lookup (MAXSYMLINKS is 40; we allow more, not fewer). */
const MAX_LINKS = 255;

/** Components of `name` below the root; [] for the root itself. Throws when `..` climbs above it. */
export function cleanMemberName(name: string): string[] {
  if (name.includes('\0')) throw badArchive(`invalid tar entry ${JSON.stringify(name)}: name contains a NUL byte`);
  const absolute = name.startsWith('/');
  let rel = posix.normalize(name);
  if (absolute) rel = rel.replace(/^\/+/, '');
  rel = rel.replace(/\/+$/, '');
  if (rel === '' || rel === '.') return [];
  if (rel === '..' || rel.startsWith('../')) {
    throw badArchive(`invalid tar entry ${JSON.stringify(name)}: path climbs above the extraction root`);
  }
  return rel.split('/');
}

export function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (e) {
    const code = errnoCode(e);
    if (code === 'ENOENT') return undefined;
    if (code === 'ENOTDIR') throw badArchive(`cannot use ${JSON.stringify(path)}: a parent is not a directory`);
    throw e;
  }
}

export interface Resolved {
  /** Components below the root, none of them a symlink. */
  comps: string[];
  /** Whether a symlink was followed on the way. */
  viaSymlink: boolean;
}

/**
 * Resolves `comps` below `root`, following symlinks in every position (the last one too,
 * when `followLast`) with the root as '/'. Components that do not exist are kept as they are.
 */
export function resolveInRoot(root: string, comps: readonly string[], followLast: boolean): Resolved {
  const queue = [...comps];
  const out: string[] = [];
  let links = 0;
  let viaSymlink = false;
  while (queue.length > 0) {
    const c = queue.shift()!;
    if (c === '' || c === '.') continue;
    if (c === '..') {
      out.pop(); // stops at the root
      continue;
    }
    if (queue.length === 0 && !followLast) {
      out.push(c);
      break;
    }
    const candidate = join(root, ...out, c);
    const st = lstatOrUndefined(candidate);
    if (st?.isSymbolicLink()) {
      if (++links > MAX_LINKS) throw badArchive(`cannot resolve ${JSON.stringify(comps.join('/'))}: too many levels of symbolic links`);
      const target = readlinkSync(candidate);
      viaSymlink = true;
      if (target.startsWith('/')) out.length = 0;
      queue.unshift(...target.split('/'));
      continue;
    }
    out.push(c);
  }
  return { comps: out, viaSymlink };
}

/**
 * Checks, without following anything, that every component of `comps` below `root` exists
 * and is a real directory (for all but the last; the last must satisfy `last`).
 */
export function isRealPath(root: string, comps: readonly string[], last: (st: Stats) => boolean): boolean {
  for (let i = 0; i < comps.length; i++) {
    const st = lstatQuiet(join(root, ...comps.slice(0, i + 1)));
    if (!st) return false;
    if (i === comps.length - 1) return last(st);
    if (!st.isDirectory()) return false;
  }
  return true;
}

function lstatQuiet(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}
