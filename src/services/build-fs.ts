/**
 * File operations of COPY/ADD/WORKDIR inside a mounted image rootfs. Paths inside the
 * rootfs are resolved component by component with symlinks interpreted relative to the
 * rootfs, so a link in the image can never send a write to the host.
 */
import type { Stats } from 'node:fs';
import { chmod, copyFile, lchown, link, lstat, mkdir, readdir, readlink, symlink, rm, utimes, constants as fsc } from 'node:fs/promises';
import { join } from 'node:path';
import { errnoCode } from '../lib/errdefs.js';

/**
 * `path`'s components with symlinks followed inside a root: `linkAt` gives the target of the
 * symlink at some components, or undefined for anything else (missing included). An absolute
 * target restarts at the root, `..` never climbs above it.
 */
async function followIn(path: string, followLast: boolean, linkAt: (comps: string[]) => Promise<string | undefined>): Promise<string[]> {
  const todo = path.split('/').filter((c) => c && c !== '.');
  const done: string[] = [];
  let hops = 0;
  while (todo.length) {
    const c = todo.shift()!;
    if (c === '..') { done.pop(); continue; }
    if (todo.length === 0 && !followLast) { done.push(c); break; }
    const t = await linkAt([...done, c]);
    if (t !== undefined) {
      if (++hops > 40) throw new Error(`too many levels of symbolic links: ${path}`);
      if (t.startsWith('/')) done.length = 0;
      todo.unshift(...t.split('/').filter((x) => x && x !== '.'));
      continue;
    }
    done.push(c);
  }
  return done;
}

/** Host path of `path` (absolute, in container terms) inside `root`, symlinks followed in the root. */
export async function resolveIn(root: string, path: string, followLast = true): Promise<string> {
  return join(root, ...(await followIn(path, followLast, async (comps) => {
    const host = join(root, ...comps);
    let link: boolean;
    try { link = (await lstat(host)).isSymbolicLink(); } catch { return undefined; }
    return link ? readlink(host) : undefined;
  })));
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

/** Ownership, mode and mtime of a file to place. */
export interface PlaceMeta { uid: number; gid: number; mode: number; mtime: number }

/**
 * A new layer written into a plain directory (`stage`) beside a read-only view of the image
 * below it (`view`, the parent's rootfs mounted). Lookups see the stage over the view, as the
 * overlay would; a directory of the view that gets new children is first made in the stage
 * with the view's mode and owner (overlay's copy-up). The stage ends up exactly as the upper
 * dir of an overlay mount would after the same changes, so it becomes the layer as it is.
 *
 * Files come in by hard link where they can (store objects, which are never changed once
 * made, and layers are read-only lowers); an object already linked into this image is copied
 * instead, so no two paths of one image share an inode.
 */
export class LayerStage {
  /** objects linked by this stage */
  readonly linked = new Set<string>();
  /**
   * stage host path → bytes of the object placed there, when the caller has them (packing then
   * reads no file); undefined when something else also writes into the stage.
   */
  bodies: Map<string, Buffer> | undefined = new Map();

  /**
   * `view`: where paths are looked up (the parent's rootfs, or an empty directory for COPY
   * --link); `image`: the parent's rootfs (for /etc/passwd and such).
   */
  constructor(readonly view: string, readonly stage: string, private readonly objectsInView: ReadonlySet<string>, readonly image = view) {}

  private async find(rel: string[]): Promise<{ st: Stats; host: string } | undefined> {
    for (const base of [this.stage, this.view]) {
      const host = join(base, ...rel);
      try { return { st: await lstat(host), host }; } catch (e) { if (errnoCode(e) !== 'ENOENT' && errnoCode(e) !== 'ENOTDIR') throw e; }
    }
    return undefined;
  }

  /** `path`'s components with symlinks followed inside the root (stage over view). */
  async resolve(path: string, followLast = true): Promise<string[]> {
    return followIn(path, followLast, async (comps) => {
      const f = await this.find(comps);
      return f?.st.isSymbolicLink() ? readlink(f.host) : undefined;
    });
  }

  async isDir(path: string): Promise<boolean> {
    return (await this.find(await this.resolve(path)))?.st.isDirectory() ?? false;
  }

  async stat(path: string): Promise<Stats | undefined> {
    return (await this.find(await this.resolve(path)))?.st;
  }

  /** The stage's host path of resolved directory components, copying up the view's directories. */
  private async stageDirs(rel: string[]): Promise<string> {
    for (let i = 1; i <= rel.length; i++) {
      const part = rel.slice(0, i);
      const host = join(this.stage, ...part);
      try {
        if ((await lstat(host)).isDirectory()) continue;
        throw new Error(`mkdir /${part.join('/')}: not a directory`);
      } catch (e) {
        if (errnoCode(e) !== 'ENOENT') throw e;
      }
      let vst: Stats | undefined;
      try { vst = await lstat(join(this.view, ...part)); } catch { vst = undefined; }
      if (vst && !vst.isDirectory()) throw new Error(`mkdir /${part.join('/')}: not a directory`);
      await mkdir(host, { mode: 0o755 });
      await chmod(host, vst ? vst.mode & 0o7777 : 0o755);
      if (vst && (vst.uid !== 0 || vst.gid !== 0)) await lchown(host, vst.uid, vst.gid);
    }
    return join(this.stage, ...rel);
  }

  /** mkdir -p; directories it creates get `owner` and mode 0755. Returns the stage's host path. */
  async mkdirp(path: string, owner: { uid: number; gid: number } = { uid: 0, gid: 0 }): Promise<string> {
    const comps = path.split('/').filter((c) => c && c !== '.');
    let cur = '/';
    for (const c of comps) {
      cur = cur === '/' ? `/${c}` : `${cur}/${c}`;
      const rel = await this.resolve(cur);
      const f = await this.find(rel);
      if (f) {
        if (!f.st.isDirectory()) throw new Error(`mkdir ${cur}: not a directory`);
        continue;
      }
      await this.stageDirs(rel.slice(0, -1));
      const host = join(this.stage, ...rel);
      await mkdir(host, { mode: 0o755 });
      await chmod(host, 0o755);
      await lchown(host, owner.uid, owner.gid);
    }
    return this.stageDirs(await this.resolve(path));
  }

  /** The stage's host path for a file at `path` (its parent directories staged). */
  async fileTarget(path: string): Promise<string> {
    const rel = await this.resolve(path);
    await this.stageDirs(rel.slice(0, -1));
    return join(this.stage, ...rel);
  }

  /** A directory at a stage host path, with this mode and owner (replacing a non-directory). */
  async placeDir(dest: string, mode: number, owner: { uid: number; gid: number }): Promise<void> {
    let st: Stats | undefined;
    try { st = await lstat(dest); } catch { st = undefined; }
    if (st && !st.isDirectory()) await rm(dest, { force: true });
    if (!st || !st.isDirectory()) await mkdir(dest);
    await chmod(dest, mode);
    await lchown(dest, owner.uid, owner.gid);
  }

  async placeSymlink(dest: string, target: string, owner: { uid: number; gid: number }): Promise<void> {
    await rm(dest, { force: true, recursive: true });
    await symlink(target, dest);
    await lchown(dest, owner.uid, owner.gid);
  }

  /**
   * Puts the object (`name` at `src`, whose inode already has `meta`) at a stage host path: a
   * hard link, or a copy given `meta` when the object is in this image already.
   */
  async placeObject(name: string, src: string, dest: string, meta: PlaceMeta, body?: Buffer): Promise<void> {
    if (body) this.bodies?.set(dest, body);
    await rm(dest, { force: true, recursive: true });
    if (!this.objectsInView.has(name) && !this.linked.has(name)) {
      try {
        await link(src, dest);
        this.linked.add(name);
        return;
      } catch (e) {
        if (errnoCode(e) !== 'EXDEV' && errnoCode(e) !== 'EMLINK' && errnoCode(e) !== 'EPERM') throw e;
      }
    }
    await copyFile(src, dest);
    await chmod(dest, meta.mode);
    await lchown(dest, meta.uid, meta.gid);
    await utimes(dest, meta.mtime, meta.mtime);
  }
}
