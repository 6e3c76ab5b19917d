/**
 * The copy-based fallback snapshotter (`--storage-driver vfs`), for hosts where overlayfs
 * cannot be mounted (nested in another overlay, some rootless setups, odd kernels). Like
 * Docker's vfs driver: every layer is a full flattened copy of its parent with its own
 * archive applied on top, whiteouts deleting what they name (extractTar's 'delete' mode); a
 * container gets its own copy of its image's top layer, bind-mounted at the rootfs. Costs
 * disk and time per layer and per container, needs no special filesystem.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { Snapshotter } from '../../core/ports/index.js';
import { errnoCode, internal, notFound } from '../../lib/errdefs.js';
import { mount, unmountIfMounted, MS_BIND } from '../../lib/sys/index.js';

/** Unpacks a layer onto a directory, applying whiteouts as deletions. */
export type FlatLayerUnpacker = (tar: AsyncIterable<Buffer>, dir: string) => Promise<{ size: number }>;

const run = promisify(execFile);
const hex = (chainId: string): string => chainId.replace(/^sha256:/, '');

/** Copies a tree with ownership, modes, times, links, devices and xattrs (cp -a), sharing extents where the filesystem can. */
async function copyTree(src: string, dst: string): Promise<void> {
  try {
    await run('cp', ['-a', '--reflink=auto', '--', `${src}/.`, `${dst}/`], { maxBuffer: 1 << 20 });
  } catch (e) {
    throw internal(`copy ${src} to ${dst}: ${((e as { stderr?: string }).stderr ?? (e as Error).message).trim()}`, e);
  }
}

export class CopySnapshotter implements Snapshotter {
  private readonly root: string;

  constructor(root: string, private readonly unpack: FlatLayerUnpacker) {
    this.root = resolve(root);
  }

  private layerDir(chainId: string): string {
    return join(this.root, 'layers', hex(chainId));
  }

  private ctrDir(key: string): string {
    return join(this.root, 'containers', key);
  }

  private tmpDir(): string {
    return join(this.root, 'tmp', randomBytes(8).toString('hex'));
  }

  async init(): Promise<void> {
    await mkdir(join(this.root, 'layers'), { recursive: true, mode: 0o700 });
    await mkdir(join(this.root, 'containers'), { recursive: true, mode: 0o700 });
    await rm(join(this.root, 'tmp'), { recursive: true, force: true });
    await mkdir(join(this.root, 'tmp'), { recursive: true, mode: 0o700 });
  }

  async hasLayer(chainId: string): Promise<boolean> {
    try { await stat(join(this.layerDir(chainId), 'fs')); return true; } catch { return false; }
  }

  async applyLayer(chainId: string, parent: string | undefined, tar: AsyncIterable<Buffer>): Promise<{ size: number }> {
    const tmp = this.tmpDir();
    await mkdir(join(tmp, 'fs'), { recursive: true, mode: 0o755 });
    try {
      if (parent !== undefined) {
        if (!(await this.hasLayer(parent))) throw notFound(`parent layer ${parent} is missing`);
        await copyTree(join(this.layerDir(parent), 'fs'), join(tmp, 'fs'));
      }
      const { size } = await this.unpack(tar, join(tmp, 'fs'));
      await writeFile(join(tmp, 'size'), String(size));
      try {
        await rename(tmp, this.layerDir(chainId));
      } catch (e) {
        if (errnoCode(e) !== 'ENOTEMPTY' && errnoCode(e) !== 'EEXIST') throw e;
        await rm(tmp, { recursive: true, force: true });
      }
      return { size };
    } catch (e) {
      await rm(tmp, { recursive: true, force: true });
      throw e;
    }
  }

  async layerSize(chainId: string): Promise<number> {
    return Number(await readFile(join(this.layerDir(chainId), 'size'), 'utf8').catch(() => '0'));
  }

  async listLayers(): Promise<string[]> {
    return (await readdir(join(this.root, 'layers'))).filter((n) => /^[a-f0-9]{64}$/.test(n)).map((n) => `sha256:${n}`);
  }

  async removeLayer(chainId: string): Promise<void> {
    const doomed = join(this.root, 'tmp', `rm-${randomBytes(6).toString('hex')}`);
    try { await rename(this.layerDir(chainId), doomed); } catch (e) { if (errnoCode(e) === 'ENOENT') return; throw e; }
    await rm(doomed, { recursive: true, force: true });
  }

  async prepare(key: string): Promise<void> {
    await mkdir(this.ctrDir(key), { recursive: true, mode: 0o700 });
  }

  /** The container's own flattened root (what `diff`/`export` read for this driver). */
  upperDir(key: string): string {
    return join(this.ctrDir(key), 'rootfs');
  }

  async mount(key: string, chainIds: readonly string[], target: string): Promise<void> {
    const rootfs = this.upperDir(key);
    if (!(await lstat(rootfs).then(() => true, () => false))) {
      // First start: the container's copy of its image, made aside and renamed into place.
      const tmp = this.tmpDir();
      await mkdir(tmp, { recursive: true, mode: 0o755 });
      try {
        const top = chainIds[chainIds.length - 1];
        if (top !== undefined) {
          if (!(await this.hasLayer(top))) throw notFound(`layer missing for container ${key}: ${top}`);
          await copyTree(join(this.layerDir(top), 'fs'), tmp);
        }
        await mkdir(this.ctrDir(key), { recursive: true, mode: 0o700 });
        await rename(tmp, rootfs);
      } catch (e) {
        await rm(tmp, { recursive: true, force: true });
        throw e;
      }
    }
    await mkdir(target, { recursive: true, mode: 0o755 });
    mount({ source: rootfs, target, fstype: '', flags: MS_BIND });
  }

  async unmount(target: string): Promise<void> {
    unmountIfMounted(target);
  }

  async remove(key: string): Promise<void> {
    await rm(this.ctrDir(key), { recursive: true, force: true });
  }

  async readFile(chainIds: readonly string[], path: string): Promise<string | undefined> {
    const top = chainIds[chainIds.length - 1];
    if (top === undefined) return undefined;
    const p = join(this.layerDir(top), 'fs', path);
    try {
      const st = await lstat(p);
      return st.isFile() ? await readFile(p, 'utf8') : undefined;
    } catch (e) {
      if (errnoCode(e) === 'ENOENT' || errnoCode(e) === 'ENOTDIR') return undefined;
      throw e;
    }
  }
}
