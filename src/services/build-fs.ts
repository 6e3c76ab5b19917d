/**
 * File operations of COPY/ADD/WORKDIR inside a mounted image rootfs. Paths inside the
 * rootfs are resolved component by component with symlinks interpreted relative to the
 * rootfs, so a link in the image can never send a write to the host.
 */
import { chmod, copyFile, lchown, lstat, mkdir, readdir, readlink, symlink, rm, constants as fsc } from 'node:fs/promises';
import { join } from 'node:path';
import { errnoCode } from '../lib/errdefs.js';

/** Host path of `path` (absolute, in container terms) inside `root`, symlinks followed in the root. */
export async function resolveIn(root: string, path: string, followLast = true): Promise<string> {
  const todo = path.split('/').filter((c) => c && c !== '.');
  const done: string[] = [];
  let hops = 0;
  while (todo.length) {
    const c = todo.shift()!;
    if (c === '..') { done.pop(); continue; }
    const host = join(root, ...done, c);
    if (todo.length === 0 && !followLast) { done.push(c); break; }
    let st;
    try { st = await lstat(host); } catch { done.push(c); continue; }
    if (st.isSymbolicLink()) {
      if (++hops > 40) throw new Error(`too many levels of symbolic links: ${path}`);
      const t = await readlink(host);
      if (t.startsWith('/')) done.length = 0;
      todo.unshift(...t.split('/').filter((x) => x && x !== '.'));
      continue;
    }
    done.push(c);
  }
  return join(root, ...done);
}

export async function isDirIn(root: string, path: string): Promise<boolean> {
  try { return (await lstat(await resolveIn(root, path))).isDirectory(); } catch { return false; }
}

/** mkdir -p inside the rootfs; directories it creates get `owner` and mode 0755. */
export async function mkdirpIn(root: string, path: string, owner: { uid: number; gid: number } = { uid: 0, gid: 0 }): Promise<string> {
  const comps = path.split('/').filter((c) => c && c !== '.');
  let cur = '/';
  for (const c of comps) {
    cur = cur === '/' ? `/${c}` : `${cur}/${c}`;
    const host = await resolveIn(root, cur);
    try {
      const st = await lstat(host);
      if (!st.isDirectory()) throw new Error(`mkdir ${cur}: not a directory`);
    } catch (e) {
      if (errnoCode(e) !== 'ENOENT') throw e;
      await mkdir(host, { mode: 0o755 });
      await chmod(host, 0o755);
      await lchown(host, owner.uid, owner.gid);
    }
  }
  return resolveIn(root, path);
}

export interface CopyOpts {
  /** Owner for everything copied (default 0:0). */
  owner?: { uid: number; gid: number };
  /** Mode for everything copied (`--chmod`). */
  mode?: number;
  /** Leave out source-relative paths (.dockerignore). */
  skip?: (rel: string, isDir: boolean) => boolean;
}

/** Copies a file, symlink or directory tree to a host path inside the rootfs (dest already resolved). */
export async function copyTree(src: string, dest: string, opts: CopyOpts, rel = ''): Promise<void> {
  const st = await lstat(src);
  const owner = opts.owner ?? { uid: 0, gid: 0 };
  if (st.isDirectory()) {
    let existing;
    try { existing = await lstat(dest); } catch { existing = undefined; }
    if (existing && !existing.isDirectory()) await rm(dest, { force: true });
    if (!existing || !existing.isDirectory()) await mkdir(dest);
    await chmod(dest, opts.mode ?? st.mode & 0o7777);
    await lchown(dest, owner.uid, owner.gid);
    for (const ent of await readdir(src, { withFileTypes: true })) {
      const name = ent.name;
      const r = rel ? `${rel}/${name}` : name;
      if (opts.skip?.(r, ent.isDirectory())) continue;
      await copyTree(join(src, name), join(dest, name), opts, r);
    }
    return;
  }
  await rm(dest, { force: true, recursive: false }).catch(() => {});
  if (st.isSymbolicLink()) {
    await symlink(await readlink(src), dest);
    await lchown(dest, owner.uid, owner.gid);
    return;
  }
  if (st.isFile()) {
    await copyFile(src, dest, fsc.COPYFILE_FICLONE);
    await chmod(dest, opts.mode ?? st.mode & 0o7777);
    await lchown(dest, owner.uid, owner.gid);
  }
}
