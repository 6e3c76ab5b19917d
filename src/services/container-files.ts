/**
 * A container's filesystem from the outside: `docker cp` (archive HEAD/GET/PUT), `export`,
 * `diff` and `commit`. Everything runs under the container's lock through
 * ContainerService.withRootfs, on the live overlay mount of a running container or on a
 * temporary mount of a stopped one. Paths are resolved inside the container's root
 * (container-paths.ts); archives are written with packDirectory (lstat walk, O_NOFOLLOW) and
 * read with the safe extractor; no binary from the container is ever run.
 */
import { constants as fsc, type BigIntStats } from 'node:fs';
import { lstat, open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { ENGINE_VERSION, familiarString, type ContainerConfigWire, type ImageConfigFile, type Reference } from '../api/index.js';
import type { ContainerRecord } from '../core/container/index.js';
import { applyChanges, chainIds } from '../core/image/index.js';
import { ownerInContainer, ownerOnHost, resolveUser } from '../core/oci/index.js';
import { EngineError, errnoCode, invalidArgument, notFound } from '../lib/errdefs.js';
import { extractTar, packDirectory, readTar, type TarEntry } from '../lib/tar/index.js';
import { containerChanges, type Change } from './container-changes.js';
import { encodePathStat, goBase, linkTargetOf, pathStatOf, resolveContainerPath, type PathStat } from './container-paths.js';
import type { ContainerService } from './containers.js';
import type { EventBus } from './events.js';
import { hostArch, ImageService } from './images.js';

export interface ContainerFilesDeps {
  containers: ContainerService;
  images: ImageService;
  events: EventBus;
  /** The container's overlay upper dir. */
  upperDir(id: string): string;
  /** The unpacked directory of one layer (by chain ID). */
  layerDir(chainId: string): string;
}

export interface CommitOptions {
  ref: string;
  repo?: string;
  tag?: string;
  comment?: string;
  author?: string;
  changes?: string[];
  /** Freeze a running container meanwhile (default true). */
  pause?: boolean;
  /** The request body's config (`docker commit` sends none); --change applies on top of it. */
  config?: ContainerConfigWire;
}

/** sha256 of an empty tar (1024 zero bytes): a commit without changes adds no layer. */
export const EMPTY_TAR_DIFF_ID = 'sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef';

export class ContainerFilesService {
  constructor(private readonly d: ContainerFilesDeps) {}

  private lowers(c: ContainerRecord): string[] {
    const img = this.d.images.find(c.imageId);
    const chain = img ? this.d.images.chainOf(img) : chainIds(c.imageLayers);
    return chain.reverse().map((x) => this.d.layerDir(x));
  }

  private async statIn(root: string, ref: string, path: string): Promise<{ stat: PathStat; host: string; isDir: boolean }> {
    let p;
    try {
      p = resolveContainerPath(root, path);
    } catch (e) {
      if (errnoCode(e) === 'ELOOP') throw invalidArgument(`${(e as Error).message}`);
      throw e;
    }
    let st: BigIntStats;
    try {
      st = await lstat(p.host, { bigint: true });
    } catch (e) {
      const code = errnoCode(e);
      if (code === 'ENOENT' || code === 'ENOTDIR') throw notFound(`Could not find the file ${path} in container ${ref}`);
      throw e;
    }
    const linkTarget = st.isSymbolicLink() ? linkTargetOf(root, p.abs) : '';
    return { stat: pathStatOf(goBase(p.abs), st, linkTarget), host: p.host, isDir: st.isDirectory() };
  }

  /** HEAD /containers/{id}/archive: the stat header's value. */
  async statPath(ref: string, path: string): Promise<string> {
    if (!path) throw invalidArgument('Path cannot be empty');
    return this.d.containers.withRootfs(ref, async (root) => encodePathStat((await this.statIn(root, ref, path)).stat));
  }

  /**
   * GET /containers/{id}/archive: `send` gets the stat header and the tar (root entry = the
   * path's base name) and must have consumed it when it resolves; the lock is held until then.
   */
  async getArchive(ref: string, path: string, send: (statHeader: string, tar: Readable) => Promise<void>): Promise<void> {
    if (!path) throw invalidArgument('Path cannot be empty');
    await this.d.containers.withRootfs(ref, async (root, c) => {
      const { stat, host } = await this.statIn(root, ref, path);
      await send(encodePathStat(stat), packDirectory(host, { prefix: stat.name === '/' ? '.' : stat.name, ...shiftedBack(c) }));
    });
  }

  /** PUT /containers/{id}/archive: extracts a tar into an existing directory of the container. */
  async putArchive(ref: string, path: string, tar: AsyncIterable<Buffer>, opts: { noOverwriteDirNonDir: boolean; copyUIDGID: boolean }): Promise<void> {
    if (!path) throw invalidArgument('Path cannot be empty');
    await this.d.containers.withRootfs(ref, async (root, c) => {
      if (c.hostConfig.ReadonlyRootfs) throw new EngineError('permission-denied', 'container rootfs is marked read-only');
      // the extraction point's last component is followed (Docker's GetResourcePath)
      const withSlash = path.endsWith('/') ? path : `${path}/`;
      const { host, isDir } = await this.statIn(root, ref, withSlash).catch((e) => {
        if (e instanceof EngineError && e.kind === 'not-found') throw notFound(`Could not find the file ${path} in container ${ref}`);
        throw e;
      });
      if (!isDir) throw invalidArgument('extraction point is not a directory');
      let entries: AsyncIterable<TarEntry> = readTar(tar);
      if (opts.copyUIDGID && c.config.User) {
        const ids = await this.userIds(root, c.config.User);
        entries = withOwner(entries, ids.uid, ids.gid);
      }
      // a remapped container's files belong to its mapped ids on the host
      if (c.userns) entries = onHost(entries, c.userns);
      await extractTar(entries, host, { whiteouts: 'none', noOverwriteDirNonDir: opts.noOverwriteDirNonDir });
    });
  }

  /** The uid/gid of the container's user, from its own passwd/group (read without following links). */
  private async userIds(root: string, user: string): Promise<{ uid: number; gid: number }> {
    const read = async (p: string): Promise<string | undefined> => {
      try {
        const fh = await open(resolveContainerPath(root, p).host, fsc.O_RDONLY | fsc.O_NOFOLLOW);
        try { return (await fh.readFile()).toString('utf8'); } finally { await fh.close(); }
      } catch { return undefined; }
    };
    try {
      const r = resolveUser(user, { passwd: await read('/etc/passwd'), group: await read('/etc/group') });
      return { uid: r.user.uid, gid: r.user.gid };
    } catch (e) {
      throw invalidArgument((e as Error).message);
    }
  }

  /** GET /containers/{id}/export: the merged root filesystem as a tar. */
  async export(ref: string, send: (tar: Readable) => Promise<void>): Promise<void> {
    await this.d.containers.withRootfs(ref, async (root, c) => send(packDirectory(root, shiftedBack(c))));
  }

  /** GET /containers/{id}/changes */
  async changes(ref: string): Promise<Change[]> {
    return this.d.containers.withRootfs(ref, async (_root, c) => containerChanges(this.d.upperDir(c.id), this.lowers(c)), { mount: false });
  }

  /** POST /commit: the container's upper dir becomes a layer on top of its image. */
  async commit(o: CommitOptions): Promise<string> {
    const c0 = this.d.containers.get(o.ref);
    const tags: Reference[] = [];
    if (o.repo) tags.push(ImageService.parseRepoTag(o.repo, o.tag));
    else if (o.tag) throw invalidArgument('invalid reference format');
    const changed = applyChanges(o.config ?? {}, o.changes ?? []); // bad --change: fail before pausing
    let paused = false;
    if ((o.pause ?? true) && c0.state.status === 'running') {
      await this.d.containers.pause(c0.id);
      paused = true;
    }
    try {
      return await this.d.containers.withRootfs(c0.id, (_root, c) => this.commitLocked(c, o, changed, tags), { mount: false });
    } finally {
      if (paused) await this.d.containers.unpause(c0.id).catch(() => {});
    }
  }

  private async commitLocked(c: ContainerRecord, o: CommitOptions, changed: ContainerConfigWire, tags: Reference[]): Promise<string> {
    const parent = this.d.images.find(c.imageId);
    const parentDiffs = parent ? parent.config.rootfs.diff_ids : c.imageLayers;
    const parentChain = chainIds(parentDiffs).pop();
    const placeholders = new Set<string>();
    await containerChanges(this.d.upperDir(c.id), this.lowers(c), placeholders);
    const tar = packDirectory(this.d.upperDir(c.id), { overlayWhiteouts: true, filter: (name) => !placeholders.has(name), ...shiftedBack(c) });
    const { diffId } = await this.d.images.addLayer(tar, parentChain);
    const empty = diffId === EMPTY_TAR_DIFF_ID;
    const created = new Date().toISOString();
    const history = { created, created_by: ([] as string[]).concat(c.config.Cmd ?? []).join(' '), ...(o.author ? { author: o.author } : {}), ...(o.comment ? { comment: o.comment } : {}), ...(empty ? { empty_layer: true } : {}) };
    const config: ImageConfigFile = {
      architecture: parent?.config.architecture ?? hostArch(),
      ...(o.author ? { author: o.author } : {}),
      ...(o.comment ? { comment: o.comment } : {}),
      config: mergeCommitConfig(changed, c.config),
      container: c.id,
      container_config: c.config,
      created,
      docker_version: ENGINE_VERSION,
      history: [...(parent?.config.history ?? []), history],
      os: parent?.config.os ?? 'linux',
      rootfs: { type: 'layers', diff_ids: empty ? [...parentDiffs] : [...parentDiffs, diffId] },
    };
    const img = await this.d.images.addImage({
      config, tags, parent: parent?.id,
      ...(tags.length ? { event: { action: 'tag', name: familiarString(tags[0]!) } } : {}),
    });
    this.d.events.publish({
      type: 'container', action: 'commit', actorId: c.id, from: c.config.Image ?? '',
      attributes: {
        ...(c.config.Labels ?? {}), comment: o.comment ?? '', image: c.config.Image ?? '', imageID: img.id,
        imageRef: tags.length ? familiarString(tags[0]!) : '', name: c.name,
      },
    });
    return img.id;
  }
}

/** Archives of a remapped container show owners as the container sees them (moby shifts them back too). */
function shiftedBack(c: ContainerRecord): { owner?: (uid: number, gid: number) => { uid: number; gid: number } } {
  const m = c.userns;
  return m ? { owner: (uid, gid) => ownerInContainer(m, uid, gid) } : {};
}

async function* onHost(entries: AsyncIterable<TarEntry>, m: NonNullable<ContainerRecord['userns']>): AsyncGenerator<TarEntry> {
  for await (const e of entries) yield { ...e, ...ownerOnHost(m, e.uid, e.gid) };
}

async function* withOwner(entries: AsyncIterable<TarEntry>, uid: number, gid: number): AsyncGenerator<TarEntry> {
  for await (const e of entries) yield { ...e, uid, gid };
}

const isEmpty = (v: unknown): boolean =>
  v === undefined || v === null || v === '' || (Array.isArray(v) && v.length === 0) || (typeof v === 'object' && Object.keys(v as object).length === 0);

/**
 * moby's commit merge: the request config with --change applied, completed from the
 * container's config for User, ExposedPorts, Env (by key), Labels, Cmd/Entrypoint,
 * Healthcheck, WorkingDir, Volumes and StopSignal; empty fields are left out.
 */
export function mergeCommitConfig(user: ContainerConfigWire, ctr: ContainerConfigWire): ContainerConfigWire {
  const u: ContainerConfigWire = { ...user };
  if (!u.User) u.User = ctr.User;
  if (isEmpty(u.ExposedPorts)) u.ExposedPorts = ctr.ExposedPorts;
  else u.ExposedPorts = { ...(ctr.ExposedPorts ?? {}), ...u.ExposedPorts };
  if (isEmpty(u.Env)) u.Env = ctr.Env;
  else {
    const keys = new Set(u.Env!.map((e) => e.split('=', 1)[0]));
    u.Env = [...u.Env!, ...(ctr.Env ?? []).filter((e) => !keys.has(e.split('=', 1)[0]))];
  }
  u.Labels = { ...(ctr.Labels ?? {}), ...(u.Labels ?? {}) };
  if (isEmpty(u.Entrypoint)) {
    if (isEmpty(u.Cmd)) u.Cmd = ctr.Cmd;
    if (u.Entrypoint === undefined || u.Entrypoint === null) u.Entrypoint = ctr.Entrypoint;
  }
  if (!u.Healthcheck) u.Healthcheck = ctr.Healthcheck;
  if (!u.WorkingDir) u.WorkingDir = ctr.WorkingDir;
  if (isEmpty(u.Volumes)) u.Volumes = ctr.Volumes;
  else u.Volumes = { ...(ctr.Volumes ?? {}), ...u.Volumes };
  if (!u.StopSignal) u.StopSignal = ctr.StopSignal;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(u)) if (!isEmpty(v)) out[k] = v;
  return out as ContainerConfigWire;
}
