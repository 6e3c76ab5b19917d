/**
 * Layers unpacked once each into <root>/layers/<chain hex>/fs (overlayfs whiteouts kept as
 * overlay expects them), joined for a container by an overlay mount whose lower dirs are
 * the image's layers and whose upper dir is the container's own.
 *
 * User namespaces (`--userns-remap`): each lower layer is first bind-mounted idmapped
 * (mount_setattr MOUNT_ATTR_IDMAP with a user namespace holding the container's mapping)
 * under <root>/idmap/<mount id>/<n>, overlay is mounted on those, and the idmapped mounts
 * are detached at once: overlay keeps its own references, so the only mount left is the
 * container's rootfs, and no layer is ever copied or chowned. Where idmapped mounts do not
 * work (probeIdmap), each layer gets one shifted copy per mapping instead, under
 * <root>/shifted/<mapping hash>/<chain hex>/fs, made on first use (shifted-copy.ts).
 */
import { chown, lstat, mkdir, readFile, readdir, rename, rm, rmdir, writeFile, stat, symlink, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import type { Snapshotter, StagedLayer } from '../../core/ports/index.js';
import { type IdentityMapping, mappingKey, ownerOnHost } from '../../core/oci/index.js';
import { idmappedBindMount, mount, openUserNamespace, unmountIfMounted, MS_RDONLY } from '../../lib/sys/index.js';
import { shiftedCopy } from './shifted-copy.js';
import { errnoCode, invalidArgument, notFound } from '../../lib/errdefs.js';
import { decodeTarSplit, rebuildTar, unpackBlobInWorker, unpackInWorker, type BlobFetch, type TarSplitRecorder } from '../../lib/tar/index.js';

/** Unpacks a layer tar into `dir`; `split` must be given to both readTar and extractTar. */
export type LayerUnpacker = (tar: AsyncIterable<Buffer>, dir: string, split?: TarSplitRecorder) => Promise<{ size: number }>;

/** The tar-split record of a layer, beside its `fs` dir (docs/design/storage.md). */
const TAR_SPLIT = 'tar-split';

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

/** Lazily detaches every mount at or below `dir`, deepest first (from /proc/self/mountinfo). */
async function detachMountsUnder(dir: string): Promise<void> {
  const info = await readFile('/proc/self/mountinfo', 'utf8').catch(() => '');
  const points = info.split('\n').map((l) => (l.split(' ')[4] ?? '').replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))))
    .filter((p) => p.startsWith(`${dir}/`));
  for (const p of points.sort((a, b) => b.length - a.length)) unmountIfMounted(p);
}

export class OverlaySnapshotter implements Snapshotter {
  private indexOff = true;
  /** overlay's `volatile` option works here (cleared at the first EINVAL with it). */
  private volatileOk = true;
  /** One user namespace fd per distinct mapping, opened on first use and kept. */
  private readonly userns = new Map<string, Promise<number>>();
  /** 'copy': idmapped mounts failed here, remapped containers use shifted layer copies. */
  private layersFor: 'idmap' | 'copy' = 'idmap';
  /** Shifted copies being made, by their directory (one maker at a time). */
  private readonly shifting = new Map<string, Promise<void>>();

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
    // the idmap probe mounts under tmp/: a pierd killed during it must not make rm walk a mount
    await detachMountsUnder(join(this.root, 'tmp'));
    await rm(join(this.root, 'tmp'), { recursive: true, force: true });
    await mkdir(join(this.root, 'tmp'), { recursive: true, mode: 0o700 });
    await this.clearIdmapDir();
  }

  /**
   * Idmapped layer mounts live only while an overlay mount is made; a pierd killed in
   * between leaves some. Detach them, then remove the empty mount points: never a
   * recursive delete here, it would go through a mount into a layer.
   */
  private async clearIdmapDir(): Promise<void> {
    const base = join(this.root, 'idmap');
    await mkdir(base, { recursive: true, mode: 0o700 });
    await detachMountsUnder(base);
    for (const m of await readdir(base)) {
      const dir = join(base, m);
      for (const n of await readdir(dir).catch(() => [] as string[])) await rmdir(join(dir, n)).catch(() => undefined);
      await rmdir(dir).catch(() => undefined);
    }
  }

  private usernsFd(m: IdentityMapping): Promise<number> {
    const key = mappingKey(m);
    let fd = this.userns.get(key);
    if (!fd) {
      fd = openUserNamespace(m.uidMappings, m.gidMappings);
      fd.catch(() => this.userns.delete(key));
      this.userns.set(key, fd);
    }
    return fd;
  }

  /** Remapped containers get shifted copies of the layers (when probeIdmap failed). */
  useShiftedCopies(): void {
    this.layersFor = 'copy';
  }

  private shiftedDir(m: IdentityMapping, chainId: string): string {
    return join(this.root, 'shifted', createHash('sha256').update(mappingKey(m)).digest('hex').slice(0, 12), hex(chainId));
  }

  /** The layer's shifted copy for mapping `m` (made now if missing); answers its short link. */
  private async shiftedLayer(m: IdentityMapping, chainId: string): Promise<string> {
    const dir = this.shiftedDir(m, chainId);
    let making = this.shifting.get(dir);
    if (!making) {
      making = (async () => {
        try { await stat(join(dir, 'fs')); return; } catch { /* make it */ }
        const tmp = join(this.root, 'tmp', `shift-${randomBytes(6).toString('hex')}`);
        await mkdir(join(tmp, 'fs'), { recursive: true, mode: 0o755 });
        try {
          await shiftedCopy(join(this.layerDir(chainId), 'fs'), join(tmp, 'fs'), (uid, gid) => ownerOnHost(m, uid, gid));
          const link = await this.makeLink(join('..', 'shifted', dir.split('/').slice(-2).join('/'), 'fs'));
          await writeFile(join(tmp, 'link'), link);
          await mkdir(join(dir, '..'), { recursive: true, mode: 0o700 });
          await rename(tmp, dir);
        } catch (e) {
          await rm(tmp, { recursive: true, force: true });
          throw e;
        }
      })().finally(() => this.shifting.delete(dir));
      this.shifting.set(dir, making);
    }
    await making;
    return (await readFile(join(dir, 'link'), 'utf8')).trim();
  }

  /**
   * Whether idmapped lower layers work here: an idmapped mount of a scratch dir under the
   * root, then an overlay on it. Answers the error when they do not.
   */
  async probeIdmap(m: IdentityMapping): Promise<string | undefined> {
    const dir = join(this.root, 'tmp', `probe-${randomBytes(4).toString('hex')}`);
    await mkdir(join(dir, 'lower'), { recursive: true, mode: 0o700 });
    for (const d of ['mapped', 'upper', 'work', 'merged']) await mkdir(join(dir, d), { mode: 0o700 });
    try {
      idmappedBindMount(join(dir, 'lower'), join(dir, 'mapped'), await this.usernsFd(m));
      try {
        mount({ source: 'overlay', target: join(dir, 'merged'), fstype: 'overlay', data: `lowerdir=${join(dir, 'mapped')},upperdir=${join(dir, 'upper')},workdir=${join(dir, 'work')}` });
        unmountIfMounted(join(dir, 'merged'));
      } finally {
        unmountIfMounted(join(dir, 'mapped'));
      }
      return undefined;
    } catch (e) {
      return (e as Error).message;
    } finally {
      for (const d of ['merged', 'mapped']) unmountIfMounted(join(dir, d));
      await rm(dir, { recursive: true, force: true });
    }
  }

  async hasLayer(chainId: string): Promise<boolean> {
    try { await stat(join(this.layerDir(chainId), 'fs')); return true; } catch { return false; }
  }

  async applyLayer(chainId: string, _parent: string | undefined, tar: AsyncIterable<Buffer>, split?: TarSplitRecorder): Promise<{ size: number }> {
    const staged = await this.stageLayer(tar, split);
    await this.commit(staged, chainId);
    return { size: staged.size };
  }

  async applyLayerBlob(chainId: string, blob: AsyncIterable<Buffer> | BlobFetch, opts: { diffId: string; spillPath: string; onConsumed?: (bytes: number) => void }): Promise<{ size: number; spilled: boolean }> {
    let spilled = false;
    const staged = await this.stage(async (fs) => {
      const job = { dir: fs, whiteouts: 'overlay' as const, split: { digest: opts.diffId, spillPath: opts.spillPath } };
      const r = Symbol.asyncIterator in blob ? await unpackInWorker(blob, job, opts.onConsumed) : await unpackBlobInWorker(blob, job, opts.onConsumed);
      if (r.digest !== opts.diffId) throw invalidArgument(`digest mismatch: expected ${opts.diffId}, got ${r.digest}`);
      spilled = r.spilled;
      return { size: r.bytes, ...(r.record ? { record: r.record } : {}) };
    });
    await this.commit(staged, chainId);
    return { size: staged.size, spilled };
  }

  /** Unpacks into `tmp/stage-<random>` (emptied at start): a layer's dir does not depend on its parent. */
  async stageLayer(tar: AsyncIterable<Buffer>, split?: TarSplitRecorder): Promise<StagedLayer> {
    return this.stage(async (fs) => {
      const { size } = await this.unpack(tar, fs, split);
      const record = split?.finish().record;
      return { size, ...(record ? { record } : {}) };
    });
  }

  /** A staging dir whose `fs` `fill` unpacks; removed again if that fails. */
  private async stage(fill: (fsDir: string) => Promise<{ size: number; record?: Uint8Array }>): Promise<StagedLayer> {
    const dir = join(this.root, 'tmp', `stage-${randomBytes(8).toString('hex')}`);
    await mkdir(join(dir, 'fs'), { recursive: true, mode: 0o755 });
    try {
      const { size, record } = await fill(join(dir, 'fs'));
      // written before the layer becomes visible (one rename), so a layer has its record or none
      if (record) await writeFile(join(dir, TAR_SPLIT), record, { mode: 0o600 });
      await writeFile(join(dir, 'size'), String(size));
      return { dir, size };
    } catch (e) {
      await rm(dir, { recursive: true, force: true });
      throw e;
    }
  }

  private async commit(staged: StagedLayer, chainId: string): Promise<void> {
    await this.commitStaged(staged, chainId).catch(async (e: unknown) => {
      await this.discardStaged(staged);
      throw e;
    });
  }

  async commitStaged(staged: StagedLayer, chainId: string): Promise<void> {
    const link = await this.makeLink(this.linkTarget(chainId));
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

  /** A new `l/<26 chars>` symlink to a layer's fs dir (relative, so it survives a moved root). */
  private async makeLink(target: string): Promise<string> {
    for (;;) {
      const name = shortLinkName();
      try {
        await symlink(target, join(this.root, 'l', name));
        return name;
      } catch (e) {
        if (errnoCode(e) !== 'EEXIST') throw e;
      }
    }
  }

  private linkTarget(chainId: string): string {
    return join('..', 'layers', hex(chainId), 'fs');
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
    const name = await this.makeLink(this.linkTarget(chainId));
    await writeFile(file, name);
    return name;
  }

  async layerTar(chainId: string): Promise<{ digest: string; size: number; open(): AsyncIterable<Buffer> } | undefined> {
    let buf: Buffer;
    try {
      buf = await readFile(join(this.layerDir(chainId), TAR_SPLIT));
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') return undefined;
      throw e;
    }
    const record = decodeTarSplit(buf);
    const fs = join(this.layerDir(chainId), 'fs');
    return { digest: record.digest, size: record.size, open: () => rebuildTar(record, fs) };
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
    for (const m of await readdir(join(this.root, 'shifted')).catch(() => [] as string[])) {
      const copy = join(this.root, 'shifted', m, hex(chainId));
      const l = await readFile(join(copy, 'link'), 'utf8').catch(() => '');
      if (/^[A-Z2-7]{26}$/.test(l.trim())) await unlink(join(this.root, 'l', l.trim())).catch(() => undefined);
      await rm(copy, { recursive: true, force: true });
    }
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

  async prepare(key: string, opts: { rootOwner?: { uid: number; gid: number } } = {}): Promise<void> {
    await mkdir(join(this.ctrDir(key), 'upper'), { recursive: true, mode: 0o755 });
    await mkdir(join(this.ctrDir(key), 'work'), { recursive: true, mode: 0o700 });
    // The overlay's root takes the upper dir's owner: the remapped root must own it.
    if (opts.rootOwner) await chown(join(this.ctrDir(key), 'upper'), opts.rootOwner.uid, opts.rootOwner.gid);
  }

  /** The container's upper dir (its changes), for diff/commit/export. */
  upperDir(key: string): string {
    return join(this.ctrDir(key), 'upper');
  }

  async mount(key: string, chainIds: readonly string[], target: string, opts: { idmap?: IdentityMapping; volatile?: boolean } = {}): Promise<void> {
    const volatile = opts.volatile === true;
    if (!opts.idmap) return this.mountOverlay(chainIds, target, key, undefined, volatile);
    const m = opts.idmap;
    if (this.layersFor === 'copy') {
      const shifted: string[] = [];
      for (const c of [...chainIds].reverse()) shifted.push(join('l', await this.shiftedLayer(m, c)));
      return this.mountOverlay(chainIds, target, key, shifted, volatile);
    }
    // Idmapped lowers: <root>/idmap/<8 hex>/<n>, detached again once overlay holds them.
    const fd = await this.usernsFd(m);
    const dir = join('idmap', randomBytes(4).toString('hex'));
    await mkdir(join(this.root, dir), { mode: 0o700 });
    const mapped: string[] = [];
    try {
      for (const [i, c] of [...chainIds].reverse().entries()) {
        const point = join(dir, String(i));
        await mkdir(join(this.root, point), { mode: 0o700 });
        mapped.push(point);
        idmappedBindMount(join(this.root, 'l', await this.linkOf(c)), join(this.root, point), fd);
      }
      await this.mountOverlay(chainIds, target, key, mapped, volatile);
    } finally {
      for (const p of mapped) {
        unmountIfMounted(join(this.root, p));
        await rmdir(join(this.root, p)).catch(() => undefined);
      }
      await rmdir(join(this.root, dir)).catch(() => undefined);
    }
  }

  /**
   * The layers as a read-only overlay, with no upper dir: nothing to prepare, and nothing to
   * sync when it is unmounted (a writable overlay's unmount syncs the whole upper filesystem).
   */
  async mountReadOnly(chainIds: readonly string[], target: string): Promise<void> {
    await this.mountOverlay(chainIds, target, undefined);
  }

  /** `lowers`: lower dirs relative to the root, top first (default: the layers' short links). */
  private async mountOverlay(chainIds: readonly string[], target: string, key: string | undefined, lowers?: readonly string[], volatile = false): Promise<void> {
    await mkdir(target, { recursive: true, mode: 0o755 });
    // Lower dirs by their short links (`<root>/l/<26 chars>`), like Docker's overlay2: the
    // whole option string must fit in one page.
    const links: string[] = [...(lowers ?? [])];
    if (!lowers) for (const c of [...chainIds].reverse()) links.push(join('l', await this.linkOf(c)));
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
    const relative = data.length + 24 > MAX_MOUNT_DATA;
    if (relative) data = options('');
    if (data.length + 24 > MAX_MOUNT_DATA) throw invalidArgument(`too many layers to mount (${chainIds.length}): overlay options exceed one page`);
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
    const extra = (volatile && this.volatileOk && key !== undefined ? ',volatile' : '') + (this.indexOff ? ',index=off' : '');
    try {
      doMount(data + extra);
    } catch (e) {
      if (extra && errnoCode(e) === 'EINVAL') {
        // an older kernel: without the options it may lack (volatile: 5.10, index=off: 4.13)
        if (extra.includes('volatile')) this.volatileOk = false;
        else this.indexOff = false;
        return this.mountOverlay(chainIds, target, key, lowers, volatile);
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
