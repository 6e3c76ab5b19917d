/**
 * Volumes (moby's volume service + the container side of daemon/volumes.go): named and
 * anonymous volumes of the local driver, their reference counts, and the container hooks
 * that plan mounts at create, bind them (copying the image's content into an empty volume)
 * at start, and release them at exit and with `rm -v`.
 */
import { randomBytes } from 'node:crypto';
import { chown, mkdir, realpath, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { type Filters, matchLabels, validateFilterKeys } from '../api/index.js';
import {
  type ContainerRecord, type MountPoint, planMounts, parseVolumesFrom, ociMount, sortMounts, validateVolumeName, volumeNames,
  isRunning, ZERO_TIME,
} from '../core/container/index.js';
import { type Mount, remappedRoot } from '../core/oci/index.js';
import type { VolumeDriver, VolumeRecord } from '../core/ports/index.js';
import { conflict, EngineError, errnoCode, invalidArgument, notFound } from '../lib/errdefs.js';
import { KeyedMutex } from '../lib/async/index.js';
import type { EventBus } from './events.js';

/** moby ≥ 23 marks anonymous volumes so `volume prune` (without `--all`) removes only them. */
export const ANONYMOUS_LABEL = 'com.docker.volume.anonymous';

export interface VolumeCreateBody {
  Name?: string;
  Driver?: string;
  DriverOpts?: Record<string, string> | null;
  Labels?: Record<string, string> | null;
}

export interface VolumeServiceDeps {
  driver: VolumeDriver;
  events: EventBus;
  log: (level: 'debug' | 'info' | 'warn' | 'error', msg: string) => void;
}

const LOCAL_OPTS = ['type', 'device', 'o', 'size'];

export class VolumeService {
  private vols = new Map<string, VolumeRecord>();
  private readonly lock = new KeyedMutex();
  private containers: () => ContainerRecord[] = () => [];
  private findContainer: (ref: string) => ContainerRecord = () => { throw notFound('no containers'); };

  constructor(private readonly d: VolumeServiceDeps) {}

  async load(): Promise<void> {
    for (const v of await this.d.driver.loadAll()) this.vols.set(v.name, v);
    // Exits: release what the container mounted (and unmount option volumes nobody uses).
    this.d.events.subscribe((e) => {
      if (e.type !== 'container' || e.action !== 'die') return;
      const c = this.containers().find((x) => x.id === e.actorId);
      if (c) void this.release(c).catch((err) => this.d.log('warn', `release volumes of ${c.id}: ${(err as Error).message}`));
    });
  }

  /** The container list and lookup (ContainerService), set once both exist. */
  setContainers(c: { list(): ContainerRecord[]; get(ref: string): ContainerRecord }): void {
    this.containers = () => c.list();
    this.findContainer = (ref) => c.get(ref);
  }

  // ---- the volume objects ----

  list(): VolumeRecord[] {
    return [...this.vols.values()];
  }

  get(name: string): VolumeRecord {
    const v = this.vols.get(name);
    if (!v) throw notFound(`get ${name}: no such volume`);
    return v;
  }

  mountpoint(name: string): string {
    return this.d.driver.mountpoint(name);
  }

  /** IDs of the containers (any state) whose mounts name the volume. */
  refs(name: string): string[] {
    return this.containers().filter((c) => volumeNames(c.mounts).includes(name)).map((c) => c.id);
  }

  /** POST /volumes/create: an existing volume of that name is returned as it is (moby). */
  async create(body: VolumeCreateBody): Promise<VolumeRecord> {
    const name = body.Name || randomBytes(32).toString('hex');
    const driver = body.Driver || 'local';
    if (driver !== 'local') throw new EngineError('not-found', `create ${name}: error looking up volume plugin ${driver}: plugin "${driver}" not found`);
    validateVolumeName(name);
    const opts = { ...(body.DriverOpts ?? {}) };
    for (const k of Object.keys(opts)) if (!LOCAL_OPTS.includes(k)) throw invalidArgument(`create ${name}: invalid option key: "${k}"`);
    if (opts.size !== undefined) throw invalidArgument(`create ${name}: quota size requested but no quota support`);
    if (opts.type && opts.type !== 'none' && opts.type !== 'tmpfs' && !opts.device) throw invalidArgument(`create ${name}: missing required option: "device"`);
    if ((opts.o ?? '').split(',').includes('bind') && !(opts.device ?? '').startsWith('/')) throw invalidArgument(`create ${name}: invalid bind device: "${opts.device ?? ''}": must be an absolute path`);
    return this.lock.run(name, async () => {
      const existing = this.vols.get(name);
      if (existing) {
        if (body.DriverOpts && Object.keys(opts).length && JSON.stringify(opts) !== JSON.stringify(existing.options)) {
          throw conflict(`create ${name}: volume already exists with different options`);
        }
        return existing;
      }
      const v: VolumeRecord = { name, driver, labels: { ...(body.Labels ?? {}) }, options: opts, createdAt: new Date().toISOString().replace(/\.\d+Z$/, 'Z') };
      await this.d.driver.create(v);
      this.vols.set(name, v);
      this.emit(v, 'create');
      return v;
    });
  }

  async remove(name: string, force: boolean): Promise<void> {
    const v = this.vols.get(name);
    if (!v) {
      if (force) return;
      throw notFound(`get ${name}: no such volume`);
    }
    await this.lock.run(name, async () => {
      const users = this.refs(name);
      if (users.length) throw conflict(`remove ${name}: volume is in use - [${users.join(', ')}]`);
      if (!this.vols.has(name)) return;
      await this.d.driver.remove(name);
      this.vols.delete(name);
      this.emit(v, 'destroy');
    });
  }

  /** GET /volumes filters: name (substring), label, driver, dangling. */
  filter(filters: Filters): VolumeRecord[] {
    validateFilterKeys(filters, ['name', 'label', 'label!', 'driver', 'dangling']);
    const dangling = filters.get('dangling')?.[0];
    if (dangling !== undefined && !['true', 'false', '1', '0'].includes(dangling)) throw invalidArgument(`invalid filter 'dangling=${dangling}'`);
    return this.list().filter((v) => {
      const names = filters.get('name');
      if (names && !names.some((n) => v.name.includes(n))) return false;
      const drivers = filters.get('driver');
      if (drivers && !drivers.includes(v.driver)) return false;
      if (dangling !== undefined && (dangling === 'true' || dangling === '1') !== (this.refs(v.name).length === 0)) return false;
      return matchLabels(filters, v.labels) && !excludedByLabel(filters, v.labels);
    });
  }

  /** POST /volumes/prune: unused anonymous volumes, every unused one with `all=true`. */
  async prune(filters: Filters): Promise<{ deleted: string[]; reclaimed: number }> {
    validateFilterKeys(filters, ['label', 'label!', 'all']);
    const allVal = filters.get('all')?.[0];
    const all = allVal === 'true' || allVal === '1';
    const deleted: string[] = [];
    let reclaimed = 0;
    for (const v of this.list()) {
      if (!all && !(ANONYMOUS_LABEL in v.labels)) continue;
      if (!matchLabels(filters, v.labels) || excludedByLabel(filters, v.labels) || this.refs(v.name).length) continue;
      const size = await this.d.driver.size(v.name).catch(() => 0);
      try {
        await this.remove(v.name, false);
        deleted.push(v.name);
        reclaimed += size;
      } catch (e) {
        this.d.log('warn', `prune volume ${v.name}: ${(e as Error).message}`);
      }
    }
    return { deleted, reclaimed };
  }

  /** `system df`: each volume with its size and reference count. */
  async usage(): Promise<Array<{ volume: VolumeRecord; refCount: number; size: number }>> {
    return Promise.all(this.list().map(async (v) => ({ volume: v, refCount: this.refs(v.name).length, size: await this.d.driver.size(v.name).catch(() => -1) })));
  }

  private emit(v: VolumeRecord, action: string, extra: Record<string, string> = {}): void {
    this.d.events.publish({ type: 'volume', action, actorId: v.name, attributes: { driver: v.driver, ...extra } });
  }

  // ---- the container side ----

  /**
   * At create: the mount plan, with anonymous volumes named and every volume created.
   * Validation errors (Docker's texts) come out before anything is made.
   */
  async prepare(c: ContainerRecord): Promise<MountPoint[]> {
    const hc = c.hostConfig;
    const volumesFrom = (hc.VolumesFrom ?? []).map((spec) => {
      const { container, mode } = parseVolumesFrom(spec);
      let other: ContainerRecord;
      try { other = this.findContainer(container); } catch (e) {
        if (e instanceof EngineError && e.kind === 'not-found') throw invalidArgument(e.message); // moby: an invalid parameter of the create
        throw e;
      }
      return { points: (other.mounts ?? []).map((p) => ({ ...p, nocopy: true })), mode };
    });
    const points = planMounts({ binds: hc.Binds, mounts: hc.Mounts, tmpfs: hc.Tmpfs, volumes: c.config.Volumes, volumesFrom });
    for (const p of points) {
      if (p.type === 'volume') {
        if (p.driver && p.driver !== 'local') throw new EngineError('not-found', `create ${p.name || ''}: error looking up volume plugin ${p.driver}: plugin "${p.driver}" not found`);
        if (p.name) validateVolumeName(p.name);
      } else if (p.type === 'bind' && !p.createSource) {
        await this.checkBindSource(p.source);
      }
    }
    for (const p of points) {
      if (p.type !== 'volume') continue;
      if (!p.name) p.name = randomBytes(32).toString('hex');
      const labels = { ...(p.volumeLabels ?? {}), ...(p.anonymous ? { [ANONYMOUS_LABEL]: '' } : {}) };
      const v = await this.create({ Name: p.name, Driver: 'local', Labels: labels, ...(p.driverOpts ? { DriverOpts: p.driverOpts } : {}) });
      p.source = this.d.driver.mountpoint(v.name);
      delete p.volumeLabels;
    }
    return points;
  }

  private async checkBindSource(source: string): Promise<void> {
    try {
      await stat(source);
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') throw invalidArgument(`invalid mount config for type "bind": bind source path does not exist: ${source}`);
      throw e;
    }
  }

  /**
   * At start, with the container's root filesystem mounted at `rootfs`: mounts volumes that
   * have device options, creates missing `-v` bind sources, copies the image's content into
   * empty volumes on the container's first start, and answers the OCI mounts.
   */
  async mountsFor(c: ContainerRecord, rootfs: string): Promise<Mount[]> {
    const out: Mount[] = [];
    const firstStart = c.state.startedAt === ZERO_TIME;
    for (const p of c.mounts ?? []) {
      if (p.type === 'bind') {
        // an existing file is a fine bind source (moby ignores MkdirAll's ENOTDIR there)
        if (p.createSource) {
          const made = await mkdir(p.source, { recursive: true, mode: 0o755 }).catch((e) => { if (errnoCode(e) !== 'EEXIST' && errnoCode(e) !== 'ENOTDIR') throw e; return undefined; });
          // A source dir made for a remapped container belongs to its root (moby's MkdirAllAndChownNew).
          if (made && c.userns) await chownNew(made, p.source, remappedRoot(c.userns));
        } else await this.checkBindSource(p.source);
      } else if (p.type === 'volume') {
        const v = this.vols.get(p.name!);
        if (!v) throw notFound(`error while mounting volume '${p.source}': get ${p.name}: no such volume`);
        await this.lock.run(v.name, () => this.d.driver.mount(v));
        if (firstStart && !p.nocopy) await this.copyUp(v.name, rootfs, p.destination);
        this.emit(v, 'mount', { container: c.id, destination: p.destination, 'read/write': String(p.rw), propagation: p.propagation });
      }
      out.push(ociMount(p));
    }
    return sortMounts(out);
  }

  /** Docker's copy-up: the image's files at the mount path go into a volume that is still empty. */
  private async copyUp(name: string, rootfs: string, destination: string): Promise<void> {
    const from = join(rootfs, destination);
    let real: string;
    try {
      real = await realpath(from);
      if (!(await stat(real)).isDirectory()) return;
    } catch {
      return; // nothing there in the image
    }
    const root = await realpath(rootfs);
    if (real !== root && !real.startsWith(`${root}/`)) return; // a symlink out of the rootfs: never copy the host's files
    if (!(await this.d.driver.isEmpty(name))) return;
    await this.d.driver.copyInto(name, real);
  }

  /** After an exit: `unmount` events, and option volumes no running container uses are unmounted. */
  async release(c: ContainerRecord): Promise<void> {
    for (const name of new Set(volumeNames(c.mounts))) {
      const v = this.vols.get(name);
      if (!v) continue;
      this.emit(v, 'unmount', { container: c.id });
      await this.lock.run(name, async () => {
        const busy = this.containers().some((o) => o.id !== c.id && isRunning(o) && volumeNames(o.mounts).includes(name));
        if (!busy) await this.d.driver.unmount(v);
      });
    }
  }

  /** `rm -v`: the container's anonymous volumes that nothing else uses (named ones stay). */
  async removeAnonymous(c: ContainerRecord): Promise<void> {
    for (const p of c.mounts ?? []) {
      if (p.type !== 'volume' || !p.anonymous || !p.name) continue;
      const users = this.refs(p.name).filter((id) => id !== c.id);
      if (users.length) continue;
      try {
        const v = this.vols.get(p.name);
        if (!v) continue;
        await this.lock.run(p.name, async () => {
          await this.d.driver.remove(p.name!);
          this.vols.delete(p.name!);
          this.emit(v, 'destroy');
        });
      } catch (e) {
        this.d.log('warn', `remove volume ${p.name} of ${c.id}: ${(e as Error).message}`);
      }
    }
  }
}

/** Chowns the directories mkdir -p just made: from `leaf` up to `first` (the first one it created). */
async function chownNew(first: string, leaf: string, owner: { uid: number; gid: number }): Promise<void> {
  for (let d = leaf; ; d = dirname(d)) {
    await chown(d, owner.uid, owner.gid);
    if (d === first || d === dirname(d)) return;
  }
}

/** The `label!` filter: `k` excludes any value of k, `k=v` only that value. */
function excludedByLabel(f: Filters, labels: Record<string, string>): boolean {
  return (f.get('label!') ?? []).some((w) => {
    const eq = w.indexOf('=');
    return eq < 0 ? w in labels : labels[w.slice(0, eq)] === w.slice(eq + 1);
  });
}
