/**
 * The safe layer extractor. Archives are hostile input: this is a security boundary.
 *
 * Confinement (see safe-path.ts): names are cleaned (`/a` is `a`; `..` above the root is an
 * error), and parent directories are resolved with chroot semantics: symlinks in parent
 * positions are followed *inside* the root, as Docker's chrootarchive and containerd's
 * fs.RootPath do, so `lib -> /usr/lib` plus `lib/x` writes `<root>/usr/lib/x` and
 * `evil -> ../../..` plus `evil/x` writes `<root>/x`. The last component is never followed:
 * whatever is there (a symlink included) is removed and replaced, and files are opened with
 * O_CREAT|O_EXCL|O_NOFOLLOW. Node has no openat(2), so resolution is by path: it relies on
 * nobody but this extractor changing the target meanwhile, which holds for layer unpacking
 * (a fresh snapshot) and for `docker cp` into a container's rootfs only as far as the
 * container's own processes stay out of the way; deferred directory metadata is re-checked
 * with lstat and applied through an O_NOFOLLOW|O_DIRECTORY descriptor.
 */
import { constants as fsc, chmodSync, lchownSync, linkSync, lutimesSync, mkdirSync, openSync, closeSync, fchmodSync, fchownSync, futimesSync, writeSync, readdirSync, rmSync, symlinkSync, realpathSync, lstatSync } from 'node:fs';
import { join } from 'node:path';
import { EngineError, errnoCode } from '../errdefs.js';
import { lsetxattr, makedev, mknod } from '../sys/index.js';
import { badArchive, type TarHeader } from './header.js';
import { cleanMemberName, isRealPath, lstatOrUndefined, resolveInRoot } from './safe-path.js';
import type { TarEntry } from './tar-reader.js';
import type { TarSplitSink } from './tar-split.js';

export interface ExtractOptions {
  /**
   * What `.wh.<name>` and `.wh..wh..opq` members mean. 'overlay': turn them into overlayfs
   * whiteouts (char device 0/0, xattr trusted.overlay.opaque=y) for an upper dir; 'delete':
   * apply them to the target (remove `<name>`, empty the directory of what this archive did
   * not create), for a flattened rootfs; 'none' (default): plain files.
   */
  whiteouts?: 'overlay' | 'delete' | 'none';
  /** chown members as the archive says (default true). */
  ownership?: boolean;
  /** Called with the running total of body bytes written. */
  onProgress?(bytes: number): void;
  /** Refuse to replace a directory by a non-directory or the reverse (Docker's NoOverwriteDirNonDir). */
  noOverwriteDirNonDir?: boolean;
  /** Create char/block devices (default: when running as root); otherwise they are skipped with a warning. */
  allowDevices?: boolean;
  /** Limit on the total of body bytes (decompression bombs): exceeding it throws `invalid-argument`. */
  maxBytes?: number;
  /** Things skipped on purpose (trusted.* xattrs, devices without permission...). */
  onWarning?(message: string): void;
  /**
   * Told where each file body goes and before anything extracted is removed (tar-split.ts);
   * the same sink must be given to readTar.
   */
  split?: TarSplitSink;
}

export interface ExtractStats {
  /** Archive members processed (whiteouts and skipped members included). */
  entries: number;
  /** Body bytes written. */
  bytes: number;
}

const S_IFCHR = 0o020000;
const S_IFBLK = 0o060000;
const S_IFIFO = 0o010000;
const WH_PREFIX = '.wh.';
const WH_OPAQUE = '.wh..wh..opq';
const OPEN_NEW = fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW;
const OPEN_DIR = fsc.O_RDONLY | fsc.O_DIRECTORY | fsc.O_NOFOLLOW;

/** xattrs an image may set. trusted.* (overlay metadata) and security.selinux never come from an image. */
export const isAllowedXattr = (name: string): boolean => name.startsWith('user.') || name === 'security.capability';

const key = (comps: readonly string[]): string => comps.join('/');

interface DirMeta {
  comps: string[];
  mode: number;
  mtime: Date;
}

class Extractor {
  readonly stats: ExtractStats = { entries: 0, bytes: 0 };
  /** Paths (root-relative, resolved) this archive created: 'delete' opaque whiteouts keep them. */
  private readonly created = new Set<string>();
  private readonly dirs = new Map<string, DirMeta>();
  private readonly whiteouts: 'overlay' | 'delete' | 'none';
  private readonly ownership: boolean;
  private readonly allowDevices: boolean;

  constructor(private readonly root: string, private readonly opts: ExtractOptions) {
    this.whiteouts = opts.whiteouts ?? 'none';
    this.ownership = opts.ownership ?? true;
    this.allowDevices = opts.allowDevices ?? process.getuid?.() === 0;
  }

  private warn(message: string): void {
    this.opts.onWarning?.(message);
  }

  private abs(comps: readonly string[]): string {
    return join(this.root, ...comps);
  }

  /** Resolves the parent components in-root and creates the missing ones as real directories. */
  private ensureParent(name: string, comps: readonly string[]): string[] {
    const { comps: resolved } = resolveInRoot(this.root, comps, true);
    for (let i = 0; i < resolved.length; i++) {
      const sub = resolved.slice(0, i + 1);
      const p = this.abs(sub);
      const st = lstatOrUndefined(p);
      if (!st) {
        mkdirSync(p, 0o755);
        chmodSync(p, 0o755); // just made by us: not a symlink; umask must not apply
        this.markCreated(sub);
        continue;
      }
      if (st.isSymbolicLink()) throw new EngineError('conflict', `cannot extract ${JSON.stringify(name)}: the target changed during extraction`);
      if (!st.isDirectory()) throw badArchive(`cannot extract ${JSON.stringify(name)}: ${JSON.stringify(key(sub))} is not a directory`);
    }
    return resolved;
  }

  async add(entry: TarEntry): Promise<void> {
    this.stats.entries++;
    const comps = cleanMemberName(entry.name);
    const base = comps[comps.length - 1];
    if (base !== undefined && this.whiteouts !== 'none' && base.startsWith(WH_PREFIX)) {
      this.whiteout(entry, comps.slice(0, -1), base);
      return;
    }
    if (base === undefined) {
      // the root itself: Docker leaves its metadata alone
      if (entry.type === 'dir') return;
      throw badArchive(`invalid tar entry ${JSON.stringify(entry.name)}: cannot replace the extraction root with a ${entry.type}`);
    }
    if (this.opts.maxBytes !== undefined && this.stats.bytes + entry.size > this.opts.maxBytes) {
      throw new EngineError('invalid-argument', `archive exceeds the limit of ${this.opts.maxBytes} uncompressed bytes`, { code: 'ERR_TAR_TOO_LARGE' });
    }
    if ((entry.type === 'char' || entry.type === 'block') && !this.allowDevices) {
      this.warn(`skipped device ${JSON.stringify(entry.name)}: device creation is not allowed`);
      return;
    }

    // a hard link's target is checked before anything at the destination is touched
    let linkSource: string | undefined;
    if (entry.type === 'hardlink') linkSource = this.hardlinkSource(entry);

    const parent = this.ensureParent(entry.name, comps.slice(0, -1));
    const rel = [...parent, base];
    const path = this.abs(rel);
    const existing = lstatOrUndefined(path);
    if (existing) {
      const isDir = existing.isDirectory();
      if (this.opts.noOverwriteDirNonDir && isDir && entry.type !== 'dir') {
        throw badArchive(`cannot overwrite directory ${JSON.stringify(key(rel))} with non-directory ${JSON.stringify(entry.name)}`);
      }
      if (this.opts.noOverwriteDirNonDir && !isDir && entry.type === 'dir') {
        throw badArchive(`cannot overwrite non-directory ${JSON.stringify(key(rel))} with directory ${JSON.stringify(entry.name)}`);
      }
      if (!(isDir && entry.type === 'dir')) {
        if (linkSource === path) return; // a hard link to itself: nothing to do
        this.opts.split?.beforeRemove();
        rmSync(path, { recursive: true, force: true }); // lstat-based: never follows symlinks
      }
    }

    switch (entry.type) {
      case 'file':
        this.opts.split?.file(key(rel), entry.size);
        await this.writeFile(entry, path);
        break;
      case 'dir':
        if (!existing?.isDirectory()) mkdirSync(path, 0o700);
        this.chown(path, entry);
        this.setXattrs(path, entry);
        this.dirs.delete(key(rel)); // re-insert: later entries win and order stays creation order
        this.dirs.set(key(rel), { comps: rel, mode: entry.mode, mtime: entry.mtime });
        break;
      case 'symlink':
        symlinkSync(entry.linkname, path);
        this.chown(path, entry);
        this.setTimes(path, entry.mtime);
        break;
      case 'hardlink':
        linkSync(linkSource!, path); // link(2) does not follow a symlink source on Linux
        break;
      case 'char':
      case 'block':
      case 'fifo': {
        const kind = entry.type === 'char' ? S_IFCHR : entry.type === 'block' ? S_IFBLK : S_IFIFO;
        const dev = entry.type === 'fifo' ? 0 : makedev(entry.devmajor, entry.devminor);
        mknod(path, kind | (entry.mode & 0o7777), dev);
        this.chown(path, entry);
        chmodSync(path, entry.mode & 0o7777); // just made by mknod: not a symlink
        this.setXattrs(path, entry);
        this.setTimes(path, entry.mtime);
        break;
      }
    }
    this.markCreated(rel);
  }

  /** Records a path and its ancestors (which must survive an opaque whiteout to hold it). */
  private markCreated(comps: readonly string[]): void {
    for (let i = comps.length; i > 0; i--) {
      const k = key(comps.slice(0, i));
      if (this.created.has(k) && i < comps.length) break;
      this.created.add(k);
    }
  }

  private hardlinkSource(entry: TarEntry): string {
    let comps: string[];
    try {
      comps = cleanMemberName(entry.linkname);
    } catch {
      throw badArchive(`invalid hard link ${JSON.stringify(entry.name)}: target ${JSON.stringify(entry.linkname)} is outside the extraction root`);
    }
    const last = comps[comps.length - 1];
    if (last === undefined) throw badArchive(`invalid hard link ${JSON.stringify(entry.name)}: target is the extraction root`);
    const parent = resolveInRoot(this.root, comps.slice(0, -1), true).comps;
    const source = this.abs([...parent, last]);
    const st = lstatOrUndefined(source);
    if (!st) throw badArchive(`invalid hard link ${JSON.stringify(entry.name)}: target ${JSON.stringify(entry.linkname)} does not exist`);
    if (st.isDirectory()) throw badArchive(`invalid hard link ${JSON.stringify(entry.name)}: target ${JSON.stringify(entry.linkname)} is a directory`);
    return source;
  }

  /**
   * Synchronous fd calls on purpose: each is one short page-cache syscall, and going through
   * the thread pool six times per file made layers with many small files 5x slower.
   */
  private async writeFile(entry: TarEntry, path: string): Promise<void> {
    const fd = openSync(path, OPEN_NEW, 0o600);
    try {
      for await (const chunk of entry.body) {
        let off = 0;
        while (off < chunk.length) off += writeSync(fd, chunk, off, chunk.length - off);
        this.stats.bytes += chunk.length;
        this.opts.onProgress?.(this.stats.bytes);
      }
      // owner first: chown clears setuid/setgid and file capabilities
      if (this.ownership) fchownSync(fd, entry.uid, entry.gid);
      fchmodSync(fd, entry.mode & 0o7777);
      this.setXattrs(path, entry);
      futimesSync(fd, entry.mtime, entry.mtime);
    } finally {
      closeSync(fd);
    }
  }

  private chown(path: string, h: TarHeader): void {
    if (this.ownership) lchownSync(path, h.uid, h.gid);
  }

  private setTimes(path: string, mtime: Date): void {
    try {
      lutimesSync(path, mtime, mtime);
    } catch (e) {
      this.warn(`could not set the times of ${JSON.stringify(path)}: ${(e as Error).message}`);
    }
  }

  private setXattrs(path: string, h: TarHeader): void {
    for (const [name, value] of Object.entries(h.xattrs)) {
      if (!isAllowedXattr(name)) {
        this.warn(`ignored xattr ${JSON.stringify(name)} on ${JSON.stringify(h.name)}: not allowed from an archive`);
        continue;
      }
      try {
        lsetxattr(path, name, value);
      } catch (e) {
        const code = errnoCode(e);
        if (code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'EPERM') throw e;
        this.warn(`could not set xattr ${JSON.stringify(name)} on ${JSON.stringify(h.name)}: ${code}`);
      }
    }
  }

  /**
   * Whiteouts name something in their parent; the parent is looked up without following any
   * symlink: one through a symlink is ignored (it cannot name anything in this layer's view).
   */
  private whiteout(entry: TarEntry, parentComps: string[], base: string): void {
    const opaque = base === WH_OPAQUE;
    if (!opaque && base.startsWith(`${WH_PREFIX}${WH_PREFIX}`)) {
      this.warn(`ignored whiteout metadata ${JSON.stringify(entry.name)}`); // aufs .wh..wh.plnk and the like
      return;
    }
    const target = base.slice(WH_PREFIX.length);
    if (!opaque && (target === '' || target === '.' || target === '..')) {
      throw badArchive(`invalid whiteout ${JSON.stringify(entry.name)}: it names no file`);
    }
    for (let i = 0; i < parentComps.length; i++) {
      const st = lstatOrUndefined(this.abs(parentComps.slice(0, i + 1)));
      if (st === undefined) {
        if (this.whiteouts === 'delete') return; // nothing there to delete
        break; // overlay: created below
      }
      if (!st.isDirectory()) {
        this.warn(`ignored whiteout ${JSON.stringify(entry.name)}: its parent is not a directory`);
        return;
      }
    }
    if (this.whiteouts === 'overlay') {
      const parent = this.ensureParent(entry.name, parentComps);
      if (opaque) {
        lsetxattr(this.abs(parent), 'trusted.overlay.opaque', Buffer.from('y'));
        return;
      }
      const path = this.abs([...parent, target]);
      if (lstatOrUndefined(path)) {
        this.opts.split?.beforeRemove();
        rmSync(path, { recursive: true, force: true });
      }
      mknod(path, S_IFCHR, makedev(0, 0));
      this.chown(path, entry);
      this.markCreated([...parent, target]);
      return;
    }
    this.opts.split?.beforeRemove();
    if (opaque) this.removeLower(parentComps);
    else rmSync(this.abs([...parentComps, target]), { recursive: true, force: true });
  }

  /** Empties a directory of everything this archive did not create (an opaque whiteout, flattened). */
  private removeLower(dir: string[]): void {
    for (const name of readdirSync(this.abs(dir))) {
      const child = [...dir, name];
      const path = this.abs(child);
      if (!this.created.has(key(child))) {
        rmSync(path, { recursive: true, force: true });
        continue;
      }
      if (lstatSync(path).isDirectory()) this.removeLower(child);
    }
  }

  /** Directory modes and times last, deepest first, so writes into read-only dirs worked. */
  finish(): void {
    const metas = [...this.dirs.values()].sort((a, b) => b.comps.length - a.comps.length);
    for (const m of metas) {
      // a later member may have replaced the directory (by a symlink, say): then skip it
      if (!isRealPath(this.root, m.comps, (st) => st.isDirectory())) continue;
      let fd: number;
      try {
        fd = openSync(this.abs(m.comps), OPEN_DIR);
      } catch (e) {
        if (errnoCode(e) === 'ELOOP' || errnoCode(e) === 'ENOTDIR' || errnoCode(e) === 'ENOENT') continue;
        throw e;
      }
      try {
        fchmodSync(fd, m.mode & 0o7777);
        futimesSync(fd, m.mtime, m.mtime);
      } finally {
        closeSync(fd);
      }
    }
  }
}

/**
 * Extracts `entries` (from `readTar`) below `targetDir`, which must exist. Archive members
 * can never create, change or delete anything outside it (see the module comment).
 * Errors: `invalid-argument` for bad or hostile archives (names climbing above the root,
 * hard links to outside or missing targets, bad whiteouts, the `maxBytes` limit...).
 */
export async function extractTar(entries: AsyncIterable<TarEntry>, targetDir: string, opts: ExtractOptions = {}): Promise<ExtractStats> {
  const root = realpathSync(targetDir);
  if (!lstatSync(root).isDirectory()) throw new EngineError('invalid-argument', `extraction target ${JSON.stringify(targetDir)} is not a directory`);
  opts.split?.attach(root);
  const x = new Extractor(root, opts);
  for await (const entry of entries) await x.add(entry);
  x.finish();
  return x.stats;
}
