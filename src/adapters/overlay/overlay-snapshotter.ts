/**
 * Layers unpacked once each into <root>/layers/<chain hex>/fs (overlayfs whiteouts kept as
 * overlay expects them), joined for a container by an overlay mount whose lower dirs are
 * the image's layers and whose upper dir is the container's own.
 */
import { lstat, mkdir, readFile, readdir, rename, rm, writeFile, stat, symlink, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Snapshotter, StagedLayer } from '../../core/ports/index.js';
import { mount, unmountIfMounted, MS_RDONLY } from '../../lib/sys/index.js';
import { errnoCode, invalidArgument, notFound } from '../../lib/errdefs.js';

export type LayerUnpacker = (tar: AsyncIterable<Buffer>, dir: string) => Promise<{ size: number }>;

const hex = (chainId: string): string => chainId.replace(/^sha256:/, '');

/** Overlay's mount data is one page; keep a margin for the options we add. */
const MAX_MOUNT_DATA = 4000;
const LINK_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** A 26-character name for `l/`, as Docker's overlay2 makes them (base32 of random bytes). */
function shortLinkName(): string {
  const b = randomBytes(26);
  let out = '';
  for (const x of b) out += LINK_ALPHABET[x & 31];
  return out;
}

export class OverlaySnapshotter implements Snapshotter {
  private indexOff = true;

  private readonly root: string;

  constructor(root: string, private readonly unpack: LayerUnpacker) {
    this.root = resolve(root);
  }

  private layerDir(chainId: string): string {
    return join(this.root, 'layers', hex(chainId));
  }

  private ctrDir(key: string): string {
    return join(this.root, 'containers', key);
  }

  async init(): Promise<void> {
    await mkdir(join(this.root, 'layers'), { recursive: true, mode: 0o700 });
    await mkdir(join(this.root, 'containers'), { recursive: true, mode: 0o700 });
    await mkdir(join(this.root, 'l'), { recursive: true, mode: 0o700 });
    await rm(join(this.root, 'tmp'), { recursive: true, force: true });
    await mkdir(join(this.root, 'tmp'), { recursive: true, mode: 0o700 });
  }

  async hasLayer(chainId: string): Promise<boolean> {
    try { await stat(join(this.layerDir(chainId), 'fs')); return true; } catch { return false; }
  }

  async applyLayer(chainId: string, _parent: string | undefined, tar: AsyncIterable<Buffer>): Promise<{ size: number }> {
    const staged = await this.stageLayer(tar);
    await this.commitStaged(staged, chainId).catch(async (e: unknown) => {
      await this.discardStaged(staged);
      throw e;
    });
    return { size: staged.size };
  }

  /** Unpacks into `tmp/stage-<random>` (emptied at start): a layer's dir does not depend on its parent. */
  async stageLayer(tar: AsyncIterable<Buffer>): Promise<StagedLayer> {
    const dir = join(this.root, 'tmp', `stage-${randomBytes(8).toString('hex')}`);
    await mkdir(join(dir, 'fs'), { recursive: true, mode: 0o755 });
    try {
      const { size } = await this.unpack(tar, join(dir, 'fs'));
      await writeFile(join(dir, 'size'), String(size));
      return { dir, size };
    } catch (e) {
      await rm(dir, { recursive: true, force: true });
      throw e;
    }
  }

  async commitStaged(staged: StagedLayer, chainId: string): Promise<void> {
    const link = await this.makeLink(chainId);
    await writeFile(join(staged.dir, 'link'), link);
    try {
      await rename(staged.dir, this.layerDir(chainId));
    } catch (e) {
      // Another unpack of the same layer won the race: keep theirs.
      await unlink(join(this.root, 'l', link)).catch(() => undefined);
      if (errnoCode(e) !== 'ENOTEMPTY' && errnoCode(e) !== 'EEXIST') throw e;
      await rm(staged.dir, { recursive: true, force: true });
    }
  }

  async discardStaged(staged: StagedLayer): Promise<void> {
    await rm(staged.dir, { recursive: true, force: true });
  }

  async adoptLayer(chainId: string, dir: string, size: number): Promise<'adopted' | 'exists'> {
    if (await this.hasLayer(chainId)) return 'exists';
    const staged: StagedLayer = { dir: join(this.root, 'tmp', `stage-${randomBytes(8).toString('hex')}`), size };
    await mkdir(staged.dir, { mode: 0o755 });
    try {
      await rename(dir, join(staged.dir, 'fs'));
      await writeFile(join(staged.dir, 'size'), String(size));
    } catch (e) {
      await rm(staged.dir, { recursive: true, force: true });
      throw e;
    }
    await this.commitStaged(staged, chainId);
    return 'adopted';
  }

  /** A new `l/<26 chars>` symlink to the layer's fs dir (relative, so it survives a moved root). */
  private async makeLink(chainId: string): Promise<string> {
    for (;;) {
      const name = shortLinkName();
      try {
        await symlink(join('..', 'layers', hex(chainId), 'fs'), join(this.root, 'l', name));
        return name;
      } catch (e) {
        if (errnoCode(e) !== 'EEXIST') throw e;
      }
    }
  }

  /** The layer's short link name, made now for layers unpacked before links existed. */
  private async linkOf(chainId: string): Promise<string> {
    const file = join(this.layerDir(chainId), 'link');
    try {
      const name = (await readFile(file, 'utf8')).trim();
      if (/^[A-Z2-7]{26}$/.test(name)) {
        await lstat(join(this.root, 'l', name));
        return name;
      }
    } catch (e) {
      if (errnoCode(e) !== 'ENOENT') throw e;
    }
    const name = await this.makeLink(chainId);
    await writeFile(file, name);
    return name;
  }

  async layerSize(chainId: string): Promise<number> {
    return Number(await readFile(join(this.layerDir(chainId), 'size'), 'utf8').catch(() => '0'));
  }

  async listLayers(): Promise<string[]> {
    return (await readdir(join(this.root, 'layers'))).filter((n) => /^[a-f0-9]{64}$/.test(n)).map((n) => `sha256:${n}`);
  }

  async removeLayer(chainId: string): Promise<void> {
    const dir = this.layerDir(chainId);
    const link = await readFile(join(dir, 'link'), 'utf8').catch(() => '');
    if (/^[A-Z2-7]{26}$/.test(link.trim())) await unlink(join(this.root, 'l', link.trim())).catch(() => undefined);
    const doomed = join(this.root, 'tmp', `rm-${randomBytes(6).toString('hex')}`);
    try { await rename(dir, doomed); } catch (e) { if (errnoCode(e) === 'ENOENT') return; throw e; }
    await rm(doomed, { recursive: true, force: true });
  }

  async idleSnapshots(): Promise<string[]> {
    const keys = await readdir(this.ctrDir('')).catch(() => [] as string[]);
    // an overlay mount names its upper dir in its options (absolute, or relative to the root)
    const mounts = await readFile('/proc/self/mountinfo', 'utf8').catch(() => '');
    return keys.filter((k) => !mounts.includes(`containers/${k}/upper`));
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
    await this.mountOverlay(chainIds, target, key);
  }

  /**
   * The layers as a read-only overlay, with no upper dir: nothing to prepare, and nothing to
   * sync when it is unmounted (a writable overlay's unmount syncs the whole upper filesystem).
   */
  async mountReadOnly(chainIds: readonly string[], target: string): Promise<void> {
    await this.mountOverlay(chainIds, target, undefined);
  }

  private async mountOverlay(chainIds: readonly string[], target: string, key: string | undefined): Promise<void> {
    await mkdir(target, { recursive: true, mode: 0o755 });
    // Lower dirs by their short links (`<root>/l/<26 chars>`), like Docker's overlay2: the
    // whole option string must fit in one page.
    const links: string[] = [];
    for (const c of [...chainIds].reverse()) links.push(join('l', await this.linkOf(c)));
    // An empty image (FROM scratch) still needs a lower dir, and a read-only overlay two
    // (distinct ones: overlayfs refuses the same lower dir twice).
    for (let n = 0; links.length < (key === undefined ? 2 : 1); n++) {
      const empty = n === 0 ? 'empty' : `empty${n}`;
      await mkdir(join(this.root, empty), { recursive: true, mode: 0o755 });
      links.push(empty);
    }
    const options = (base: string): string => `lowerdir=${links.map((l) => join(base, l)).join(':')}` +
      (key === undefined ? '' : `,upperdir=${join(base, 'containers', key, 'upper')},workdir=${join(base, 'containers', key, 'work')}`);
    let data = options(this.root);
    // Too long even so (over ~60 layers under a long root): name everything relative to the
    // root and make the mount call from there. chdir and mount(2) run back to back on this
    // thread with no await between them, and pierd's own paths are absolute.
    const relative = data.length + 10 > MAX_MOUNT_DATA;
    if (relative) data = options('');
    if (data.length + 10 > MAX_MOUNT_DATA) throw invalidArgument(`too many layers to mount (${chainIds.length}): overlay options exceed one page`);
    const flags = key === undefined ? MS_RDONLY : 0;
    const doMount = (d: string): void => {
      if (!relative) return mount({ source: 'overlay', target, fstype: 'overlay', flags, data: d });
      const cwd = process.cwd();
      process.chdir(this.root);
      try {
        mount({ source: 'overlay', target: resolve(cwd, target), fstype: 'overlay', flags, data: d });
      } finally {
        process.chdir(cwd);
      }
    };
    try {
      doMount(this.indexOff ? `${data},index=off` : data);
    } catch (e) {
      if (this.indexOff && errnoCode(e) === 'EINVAL') {
        this.indexOff = false;
        doMount(data);
      } else if (errnoCode(e) === 'ENOENT') {
        throw notFound(`layer missing for ${key === undefined ? 'a read-only mount' : `container ${key}`}: ${(e as Error).message}`);
      } else throw e;
    }
  }

  async unmount(target: string): Promise<void> {
    unmountIfMounted(target);
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
