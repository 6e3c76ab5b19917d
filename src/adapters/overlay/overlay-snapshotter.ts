/**
 * Layers unpacked once each into <root>/layers/<chain hex>/fs (overlayfs whiteouts kept as
 * overlay expects them), joined for a container by an overlay mount whose lower dirs are
 * the image's layers and whose upper dir is the container's own.
 */
import { lstat, mkdir, readFile, readdir, rename, rm, writeFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Snapshotter } from '../../core/ports/index.js';
import { mount, umount, MNT_DETACH } from '../../lib/sys/index.js';
import { errnoCode, notFound } from '../../lib/errdefs.js';

export type LayerUnpacker = (tar: AsyncIterable<Buffer>, dir: string) => Promise<{ size: number }>;

const hex = (chainId: string): string => chainId.replace(/^sha256:/, '');

export class OverlaySnapshotter implements Snapshotter {
  private indexOff = true;

  constructor(private readonly root: string, private readonly unpack: LayerUnpacker) {}

  private layerDir(chainId: string): string {
    return join(this.root, 'layers', hex(chainId));
  }

  private ctrDir(key: string): string {
    return join(this.root, 'containers', key);
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

  async applyLayer(chainId: string, _parent: string | undefined, tar: AsyncIterable<Buffer>): Promise<{ size: number }> {
    const tmp = join(this.root, 'tmp', randomBytes(8).toString('hex'));
    await mkdir(join(tmp, 'fs'), { recursive: true, mode: 0o755 });
    try {
      const { size } = await this.unpack(tar, join(tmp, 'fs'));
      await writeFile(join(tmp, 'size'), String(size));
      try {
        await rename(tmp, this.layerDir(chainId));
      } catch (e) {
        // Another unpack of the same layer won the race: keep theirs.
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
    const dir = this.layerDir(chainId);
    const doomed = join(this.root, 'tmp', `rm-${randomBytes(6).toString('hex')}`);
    try { await rename(dir, doomed); } catch (e) { if (errnoCode(e) === 'ENOENT') return; throw e; }
    await rm(doomed, { recursive: true, force: true });
  }

  async prepare(key: string): Promise<void> {
    await mkdir(join(this.ctrDir(key), 'upper'), { recursive: true, mode: 0o755 });
    await mkdir(join(this.ctrDir(key), 'work'), { recursive: true, mode: 0o700 });
  }

  /** The container's upper dir (its changes), for diff/commit/export. */
  upperDir(key: string): string {
    return join(this.ctrDir(key), 'upper');
  }

  async mount(key: string, chainIds: readonly string[], target: string): Promise<void> {
    await mkdir(target, { recursive: true, mode: 0o755 });
    const lowers = [...chainIds].reverse().map((c) => join(this.layerDir(c), 'fs'));
    if (lowers.length === 0) {
      // An empty image (FROM scratch): overlay needs a lower dir, give it an empty one.
      const empty = join(this.root, 'empty');
      await mkdir(empty, { recursive: true, mode: 0o755 });
      lowers.push(empty);
    }
    const base = `lowerdir=${lowers.join(':')},upperdir=${join(this.ctrDir(key), 'upper')},workdir=${join(this.ctrDir(key), 'work')}`;
    try {
      mount({ source: 'overlay', target, fstype: 'overlay', data: this.indexOff ? `${base},index=off` : base });
    } catch (e) {
      if (this.indexOff && errnoCode(e) === 'EINVAL') {
        this.indexOff = false;
        mount({ source: 'overlay', target, fstype: 'overlay', data: base });
      } else if (errnoCode(e) === 'ENOENT') {
        throw notFound(`layer missing for container ${key}: ${(e as Error).message}`);
      } else throw e;
    }
  }

  async unmount(target: string): Promise<void> {
    try {
      umount(target, MNT_DETACH);
    } catch (e) {
      const code = errnoCode(e);
      if (code !== 'EINVAL' && code !== 'ENOENT') throw e;
    }
  }

  async remove(key: string): Promise<void> {
    await rm(this.ctrDir(key), { recursive: true, force: true });
  }

  async readFile(chainIds: readonly string[], path: string): Promise<string | undefined> {
    for (const c of [...chainIds].reverse()) {
      const p = join(this.layerDir(c), 'fs', path);
      try {
        const st = await lstat(p);
        if (st.isCharacterDevice()) return undefined; // whiteout
        if (st.isFile()) return await readFile(p, 'utf8');
      } catch (e) {
        if (errnoCode(e) !== 'ENOENT' && errnoCode(e) !== 'ENOTDIR') throw e;
      }
    }
    return undefined;
  }
}
