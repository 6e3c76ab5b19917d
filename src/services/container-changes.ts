/**
 * `docker diff`: a container's changes from its overlay upper dir, with moby's rules
 * (pkg/archive changes() with overlayDeletedFile):
 * - walk the upper dir depth first in name order; the root itself is skipped;
 * - a whiteout (char device 0/0) is D; an opaque directory is D too (and its children are
 *   then listed as A or C);
 * - anything else is A, or C when some lower layer has the path; a directory present in a
 *   lower layer with the same size, mode and mtime is not listed;
 * - the parent of an A or D is listed as C (once) unless it is `/` or was listed already.
 * pier adds one omission: Docker keeps the mount points runc needs (`/etc/hosts`,
 * `/etc/hostname`, `/etc/resolv.conf`, `/proc`, `/sys`, `/dev`) in a hidden init layer; we
 * let runc create them in the upper dir, so those placeholders (and a directory listed only
 * because one was created in it) are left out.
 */
import type { BigIntStats } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { errnoCode } from '../lib/errdefs.js';
import { lgetxattr } from '../lib/sys/index.js';

export type ChangeKind = 0 | 1 | 2;
export const CHANGE_MODIFY: ChangeKind = 0;
export const CHANGE_ADD: ChangeKind = 1;
export const CHANGE_DELETE: ChangeKind = 2;

export interface Change { Path: string; Kind: ChangeKind }

/** Mount points the runtime creates when an image lacks them (Docker's init layer holds them). */
export const MOUNT_POINT_FILES = new Set(['/etc/hosts', '/etc/hostname', '/etc/resolv.conf']);
export const MOUNT_POINT_DIRS = new Set(['/proc', '/sys', '/dev']);

async function lstatQuiet(p: string): Promise<BigIntStats | undefined> {
  try {
    return await lstat(p, { bigint: true });
  } catch (e) {
    const code = errnoCode(e);
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw e;
  }
}

/**
 * The path's stat in the top-most lower layer that has it. Parents must be real directories
 * in that layer: a symlink in a lower layer is never followed (it could point at the host).
 */
export async function statInLowers(lowers: readonly string[], comps: readonly string[]): Promise<BigIntStats | undefined> {
  next: for (const layer of lowers) {
    for (let i = 0; i < comps.length - 1; i++) {
      const st = await lstatQuiet(join(layer, ...comps.slice(0, i + 1)));
      if (!st?.isDirectory()) continue next;
    }
    const st = await lstatQuiet(join(layer, ...comps));
    if (st) return st;
  }
  return undefined;
}

/** moby's sameFsTime: equal, or the same second with either side lacking nanoseconds. */
export function sameFsTime(a: bigint, b: bigint): boolean {
  const s = 1_000_000_000n;
  return a === b || (a / s === b / s && (a % s === 0n || b % s === 0n));
}

/** Whether an upper-dir entry is an overlay whiteout (char device 0/0). */
export const isWhiteout = (st: BigIntStats): boolean => st.isCharacterDevice() && st.rdev === 0n;

export function isOpaque(path: string): boolean {
  try {
    return lgetxattr(path, 'trusted.overlay.opaque')?.toString() === 'y';
  } catch {
    return false;
  }
}

/** A mount-point placeholder the runtime made (not in any lower layer). */
export function isPlaceholder(path: string, st: BigIntStats, inLower: boolean): boolean {
  if (inLower) return false;
  if (MOUNT_POINT_FILES.has(path)) return st.isFile() && st.size === 0n;
  return MOUNT_POINT_DIRS.has(path) && st.isDirectory();
}

/**
 * The changes in `upper` against `lowers` (top-most first). `placeholders` collects the
 * mount-point placeholders skipped (root-relative, no leading slash), for commit.
 */
export async function containerChanges(upper: string, lowers: readonly string[], placeholders?: Set<string>): Promise<Change[]> {
  const changes: Change[] = [];
  const changedDirs = new Set<string>();
  /** Directories listed as C that got a placeholder: index in `changes`. */
  const placeholderParents = new Map<string, number>();

  async function visit(path: string, comps: string[], st: BigIntStats): Promise<void> {
    const host = join(upper, ...comps);
    let kind: ChangeKind;
    if (isWhiteout(st) || (st.isDirectory() && isOpaque(host))) {
      kind = CHANGE_DELETE;
    } else {
      const lower = await statInLowers(lowers, comps);
      if (isPlaceholder(path, st, lower !== undefined)) {
        placeholders?.add(comps.join('/'));
        const parent = path.slice(0, path.lastIndexOf('/')) || '/';
        const idx = changes.findIndex((c) => c.Path === parent);
        if (idx >= 0 && changes[idx]!.Kind === CHANGE_MODIFY) placeholderParents.set(parent, idx);
        return;
      }
      kind = CHANGE_ADD;
      if (lower) {
        if (lower.isDirectory() && st.isDirectory() && lower.size === st.size && lower.mode === st.mode && sameFsTime(lower.mtimeNs, st.mtimeNs)) {
          return; // an unchanged directory (not even added to changedDirs, as in moby)
        }
        kind = CHANGE_MODIFY;
      }
    }
    if (st.isDirectory()) changedDirs.add(path);
    if (kind !== CHANGE_MODIFY) {
      const parent = path.slice(0, path.lastIndexOf('/')) || '/';
      if (!changedDirs.has(parent) && parent !== '/') {
        changes.push({ Path: parent, Kind: CHANGE_MODIFY });
        changedDirs.add(parent);
      }
    }
    changes.push({ Path: path, Kind: kind });
  }

  async function walk(dir: string, comps: string[]): Promise<void> {
    let names: string[];
    try {
      names = (await readdir(dir)).sort();
    } catch (e) {
      if (errnoCode(e) === 'ENOENT' || errnoCode(e) === 'ENOTDIR') return;
      throw e;
    }
    for (const n of names) {
      const child = [...comps, n];
      const st = await lstatQuiet(join(dir, n));
      if (!st) continue;
      await visit(`/${child.join('/')}`, child, st);
      if (st.isDirectory()) await walk(join(dir, n), child);
    }
  }

  await walk(upper, []);
  if (placeholderParents.size === 0) return changes;
  // A directory listed as C whose only change below is a placeholder is left out.
  const drop = new Set<number>();
  for (const [dir, idx] of placeholderParents) {
    const below = changes.some((c, i) => i !== idx && c.Path.startsWith(`${dir}/`));
    if (!below) drop.add(idx);
  }
  return changes.filter((_, i) => !drop.has(i));
}

/** `C /etc` lines as `docker diff` prints them. */
export function changeLetter(kind: number): string {
  return kind === CHANGE_MODIFY ? 'C' : kind === CHANGE_ADD ? 'A' : kind === CHANGE_DELETE ? 'D' : '?';
}
