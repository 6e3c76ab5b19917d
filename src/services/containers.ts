/**
 * The container lifecycle (containerd's role): create prepares the record and a snapshot;
 * start writes the OCI bundle and has conmon run the runtime; exits come back from conmon's
 * exit files. Every state change is persisted before it is announced, so a pierd killed at
 * any moment finds the truth on disk and in conmon's files when it starts again.
 */
import { randomBytes } from 'node:crypto';
import { chmod, chown, mkdir, rm, writeFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ContainerCreateBody, ContainerConfigWire, HostConfigWire, EndpointSettingsWire } from '../api/index.js';
import { parseSignal, type Filters, matchLabels } from '../api/index.js';
import {
  type ContainerRecord, type HealthState, newState, validateName, generateName, isRunning, shortId, rfc3339Nano, ZERO_TIME,
} from '../core/container/index.js';
import {
  buildSpec, withArgs, withEnv, withCwd, withUser, withHostname, withTerminal, withCgroupsPath, withMounts,
  withNamespace, withPrivileged, resolveUser, containerEnv, type Spec, type Mount, type ContainerDefaults,
  type IdentityMapping, remappedRoot, validateUsernsMode, withUserNamespace,
} from '../core/oci/index.js';
import { chainIds } from '../core/image/index.js';
import { logFiles, logPolicy } from '../core/container/index.js';
import { parseK8sLine, timeToNanos, type LogEntry } from '../core/logs/index.js';
import type { ContainerStore, LogReader, Monitor, OciRuntime, RuntimeConfig, Snapshotter, StdinWriter } from '../core/ports/index.js';
import { EngineError, conflict, invalidArgument, notFound, notModified, errnoCode } from '../lib/errdefs.js';
import { KeyedMutex } from '../lib/async/index.js';
import type { EventBus } from './events.js';
import type { ImageService } from './images.js';
import type { CgroupManager, HostProbe } from '../core/ports/index.js';
import { validateHostConfigResources, resourceSpecOpts, oomKilledAtExit } from './resources.js';

export interface ContainerServiceDeps {
  store: ContainerStore;
  snapshotter: Snapshotter;
  monitor: Monitor;
  runtime: OciRuntime;
  logs: LogReader;
  images: ImageService;
  events: EventBus;
  runtimes: Map<string, RuntimeConfig>;
  defaultRuntime: string;
  /** <exec-root>/c: bundles (config.json, rootfs mount point, conmon files) */
  bundleRoot: string;
  /** The host's resolv.conf, copied into containers. */
  resolvConf: string;
  log: (level: 'debug' | 'info' | 'warn' | 'error', msg: string) => void;
  /** Networking (services/networks.ts); without it containers get a namespace with only lo. */
  networking?: ContainerNetworking;
  /** Volumes and mounts (services/volumes.ts); without them containers get no volumes. */
  volumes?: ContainerVolumes;
  /** Resources and confinement (services/resources.ts); without them only Docker's default spec. */
  host?: HostProbe;
  cgroups?: CgroupManager;
  /** The daemon-wide container defaults (`--seccomp-profile`, `--default-ulimit` …); Docker's when absent. */
  defaults?: ContainerDefaults;
  /** `--userns-remap`: containers (except `--userns=host`) run in a user namespace with this mapping. */
  userns?: IdentityMapping;
}

/** Volume hooks: plan and create volumes at create, the OCI mounts at start, anonymous ones out with `rm -v`. */
export interface ContainerVolumes {
  prepare(c: ContainerRecord): Promise<ContainerRecord['mounts']>;
  mountsFor(c: ContainerRecord, rootfs: string): Promise<Mount[]>;
  removeAnonymous(c: ContainerRecord): Promise<void>;
}

/** Networking hooks: checks at create, set-up between runtime create and start, release at exit. */
export interface ContainerNetworking {
  validate(c: ContainerRecord): void;
  attach(c: ContainerRecord, pid: number): Promise<void>;
  release(c: ContainerRecord): Promise<void>;
  hostGateway(): string;
}

export type WaitCondition = 'not-running' | 'next-exit' | 'removed';

export interface AttachOptions {
  stdin?: AsyncIterable<Buffer>;
  stdout: boolean;
  stderr: boolean;
  logs: boolean;
  stream: boolean;
  detachKeys?: number[];
}

export interface OutputChunk { stream: 'stdout' | 'stderr'; data: Buffer }

/** Per-container runtime facts that live only in memory. */
interface Live {
  exits: number;
  waiters: Array<{ target: number; resolve: () => void }>;
  removedWaiters: Array<() => void>;
  removed: boolean;
}

const DEFAULT_STOP_TIMEOUT = 10;
const DEFAULT_DETACH_KEYS = [0x10, 0x11]; // ctrl-p ctrl-q

export class ContainerService {
  private containers = new Map<string, ContainerRecord>();
  private live = new Map<string, Live>();
  private names = new Map<string, string>();
  private readonly lock = new KeyedMutex();
  /** Containers whose last run still has runtime state or a rootfs mount to clean up. */
  private dirty = new Set<string>();

  constructor(private readonly d: ContainerServiceDeps) {
    d.images.containersUsing = (imageId) => {
      let running = 0, total = 0, example: string | undefined, runningExample: string | undefined;
      for (const c of this.containers.values()) {
        if (c.imageId !== imageId) continue;
        total++;
        example ??= c.id;
        if (isRunning(c)) { running++; runningExample ??= c.id; }
      }
      return { running, total, example, runningExample };
    };
  }

  private liveOf(id: string): Live {
    let l = this.live.get(id);
    if (!l) { l = { exits: 0, waiters: [], removedWaiters: [], removed: false }; this.live.set(id, l); }
    return l;
  }

  // ---- lookup ----

  list(): ContainerRecord[] {
    return [...this.containers.values()];
  }

  /** By full ID, name (with or without '/'), or unique ID prefix; not-found otherwise. */
  get(ref: string): ContainerRecord {
    const c = this.find(ref);
    if (!c) throw notFound(`No such container: ${ref}`);
    return c;
  }

  find(ref: string): ContainerRecord | undefined {
    if (!ref) return undefined;
    const exact = this.containers.get(ref);
    if (exact) return exact;
    const byName = this.names.get(ref.startsWith('/') ? ref.slice(1) : ref);
    if (byName) return this.containers.get(byName);
    if (/^[a-f0-9]+$/.test(ref)) {
      const m = [...this.containers.keys()].filter((id) => id.startsWith(ref));
      if (m.length === 1) return this.containers.get(m[0]!);
      if (m.length > 1) throw invalidArgument(`Multiple IDs found with provided prefix: ${ref}`);
    }
    return undefined;
  }

  bundleDir(id: string): string {
    return join(this.d.bundleRoot, id);
  }

  private runtimeOf(c: ContainerRecord): RuntimeConfig {
    const rt = this.d.runtimes.get(c.runtime);
    if (!rt) throw invalidArgument(`unknown or invalid runtime name: ${c.runtime}`);
    return rt;
  }

  private async save(c: ContainerRecord): Promise<void> {
    await this.d.store.save(c);
  }

  private emit(c: ContainerRecord, action: string, extra: Record<string, string> = {}): void {
    this.d.events.publish({
      type: 'container',
      action,
      actorId: c.id,
      attributes: { ...(c.config.Labels ?? {}), image: c.config.Image ?? '', name: c.name, ...extra },
      from: c.config.Image ?? '',
    });
  }

  // ---- create ----

  /** `opts.throwaway`: a build step's container (see ContainerRecord.throwaway); not from the API. */
  async create(body: ContainerCreateBody, name: string | undefined, platform?: string, opts: { throwaway?: boolean } = {}): Promise<{ id: string; warnings: string[] }> {
    if (!body || typeof body !== 'object') throw invalidArgument('config cannot be empty in order to create a container');
    if (!body.Image) throw invalidArgument('No command specified');
    if (platform && !/^linux(\/|$)/.test(platform)) throw invalidArgument(`"${platform}" is not a supported platform`);
    if (name !== undefined && name !== '') name = validateName(name);
    const { image } = this.d.images.resolve(body.Image);
    const hostConfig: HostConfigWire = { ...(body.HostConfig ?? {}) };
    const runtime = hostConfig.Runtime || this.d.defaultRuntime;
    if (!this.d.runtimes.has(runtime)) throw invalidArgument(`Unknown runtime specified ${runtime}`);
    hostConfig.Runtime = runtime;
    validateHostConfig(hostConfig);
    try { validateUsernsMode(hostConfig, !!this.d.userns); } catch (e) { throw invalidArgument((e as Error).message); }
    const warnings = await validateHostConfigResources(this.d.host, hostConfig, this.d.defaults);
    const img = image.config.config ?? {};
    const config = mergeConfig(body, img);
    for (const e of config.Env ?? []) if (e === '' || e.startsWith('=')) throw invalidArgument(`invalid environment variable: ${e}`);
    const entry = [...toArray(config.Entrypoint), ...toArray(config.Cmd)];
    if (entry.length === 0) throw invalidArgument('No command specified');
    if (config.User) checkUserSpec(config.User);

    const id = randomBytes(32).toString('hex');
    if (!config.Hostname) config.Hostname = id.slice(0, 12);
    const finalName = name || this.uniqueName();
    if (this.names.has(finalName)) {
      throw conflict(`Conflict. The container name "/${finalName}" is already in use by container "${this.names.get(finalName)}". You have to remove (or rename) that container to be able to reuse that name.`);
    }
    this.names.set(finalName, id); // reserve before any await
    try {
      hostConfig.LogConfig = { Type: logPolicy(hostConfig.LogConfig).driver, Config: hostConfig.LogConfig?.Config ?? {} };
      if (!hostConfig.NetworkMode || hostConfig.NetworkMode === 'default') hostConfig.NetworkMode = 'bridge';
      if (!hostConfig.RestartPolicy) hostConfig.RestartPolicy = { Name: 'no', MaximumRetryCount: 0 };
      const dir = this.d.store.dir(id);
      const c: ContainerRecord = {
        id,
        name: finalName,
        created: rfc3339Nano(Date.now()),
        imageId: image.id,
        imageLayers: image.config.rootfs.diff_ids,
        config,
        hostConfig,
        endpoints: endpointsFrom(body, hostConfig),
        path: entry[0]!,
        args: entry.slice(1),
        state: newState(),
        restartCount: 0,
        runtime,
        logPath: join(dir, 'ctr.log'),
        execIds: [],
        ...(this.d.defaults?.noNewPrivileges ? { noNewPrivileges: true } : {}),
        ...(this.d.userns && hostConfig.UsernsMode !== 'host' ? { userns: this.d.userns } : {}),
        ...(opts.throwaway ? { throwaway: true } : {}),
      };
      this.d.networking?.validate(c);
      if (this.d.volumes) c.mounts = await this.d.volumes.prepare(c);
      await mkdir(dir, { recursive: true, mode: 0o700 });
      // The log exists from the start, so an attach made before start can watch it.
      await writeFile(c.logPath, '', { flag: 'a', mode: 0o600 });
      const rootOwner = c.userns ? remappedRoot(c.userns) : undefined;
      await this.d.snapshotter.prepare(id, { rootOwner });
      await this.writeHostFiles(c);
      if (rootOwner) {
        // The remapped root writes its own hosts, hostname and resolv.conf (as in Docker) and
        // must traverse the container's directory to reach them: group-only access, 0710.
        for (const f of ['hostname', 'hosts', 'resolv.conf']) await chown(join(dir, f), rootOwner.uid, rootOwner.gid);
        await chown(dir, 0, rootOwner.gid);
        await chmod(dir, 0o710);
      }
      await this.save(c);
      this.containers.set(id, c);
      this.liveOf(id);
      this.emit(c, 'create');
      return { id, warnings };
    } catch (e) {
      this.names.delete(finalName);
      await this.d.snapshotter.remove(id).catch(() => {});
      await this.d.store.remove(id).catch(() => {});
      throw e;
    }
  }

  private uniqueName(): string {
    for (let i = 0; ; i++) {
      const n = generateName(Math.random, i > 5 ? 1 : 0);
      if (!this.names.has(n)) return n;
    }
  }

  private async writeHostFiles(c: ContainerRecord): Promise<void> {
    const dir = this.d.store.dir(c.id);
    const hostname = c.config.Hostname ?? shortId(c.id);
    const fqdn = c.config.Domainname ? `${hostname}.${c.config.Domainname}` : hostname;
    await writeFile(join(dir, 'hostname'), `${hostname}\n`);
    const extra = (c.hostConfig.ExtraHosts ?? []).map((h) => {
      const i = h.indexOf(':');
      const ip = h.slice(i + 1) === 'host-gateway' ? (this.d.networking?.hostGateway() ?? '') : h.slice(i + 1);
      return `${ip}\t${h.slice(0, i)}`;
    });
    const hosts = [
      '127.0.0.1\tlocalhost',
      '::1\tlocalhost ip6-localhost ip6-loopback',
      'fe00::0\tip6-localnet',
      'ff00::0\tip6-mcastprefix',
      'ff02::1\tip6-allnodes',
      'ff02::2\tip6-allrouters',
      ...extra,
    ];
    if (c.hostConfig.NetworkMode !== 'host') hosts.push(`127.0.1.1\t${fqdn === hostname ? hostname : `${fqdn} ${hostname}`}`);
    await writeFile(join(dir, 'hosts'), hosts.join('\n') + '\n');
    await writeFile(join(dir, 'resolv.conf'), resolvConfFor(this.d.resolvConf, c.hostConfig));
  }

  // ---- start ----

  async start(ref: string): Promise<void> {
    const c0 = this.get(ref);
    await this.lock.run(c0.id, async () => {
      const c = this.get(c0.id);
      if (c.state.status === 'paused') throw conflict(`cannot start a paused container, try unpause instead`);
      if (isRunning(c)) throw notModified();
      if (c.state.status === 'removing' || c.state.status === 'dead') throw conflict(`container is marked for removal and cannot be started`);
      try {
        await this.startLocked(c);
      } catch (e) {
        c.state.error = e instanceof Error ? e.message : String(e);
        c.state.exitCode = exitCodeForStartError(c.state.error);
        c.state.status = c.state.startedAt === ZERO_TIME ? 'created' : 'exited';
        if (c.state.status === 'exited') c.state.finishedAt = rfc3339Nano(Date.now());
        await this.cleanupRun(c).catch(() => {});
        await this.save(c).catch(() => {});
        if (c.hostConfig.AutoRemove) {
          // `run --rm` waits on `removed`; a failed start still removes the container.
          this.liveOf(c.id).exits++;
          this.notifyWaiters(c.id);
          setImmediate(() => void this.remove(c.id, { force: true, volumes: true, internal: true }).catch(() => {}));
        }
        throw e;
      }
    });
  }

  private async startLocked(c: ContainerRecord): Promise<void> {
    const bundle = this.bundleDir(c.id);
    await rm(bundle, { recursive: true, force: true });
    await mkdir(join(bundle, 'rootfs'), { recursive: true, mode: 0o700 });
    const rootfs = join(bundle, 'rootfs');
    if (c.userns) await this.openToRemappedRoot(c.userns, bundle, rootfs);
    this.dirty.add(c.id);
    const layers = chainIds(c.imageLayers);
    await this.d.snapshotter.mount(c.id, layers, rootfs, { idmap: c.userns, ...(c.throwaway ? { volatile: true } : {}) });
    const spec = await this.specFor(c, layers);
    c.cgroupsPath = spec.linux.cgroupsPath;
    await this.d.runtime.writeBundle(bundle, spec);
    await this.d.monitor.clearExit(c.id);
    const rt = this.runtimeOf(c);
    let pid: number;
    try {
      ({ pid } = await this.d.monitor.create({
        id: c.id, bundle, runtime: rt, logPath: c.logPath, tty: !!c.config.Tty,
        stdin: !!c.config.OpenStdin, stdinOnce: !!c.config.StdinOnce, name: c.name,
      }));
    } catch (e) {
      throw new EngineError('internal', `failed to create task for container: failed to create shim task: OCI runtime create failed: ${(e as Error).message}: unknown`, { cause: e, code: 'ERR_CONTAINER_START' });
    }
    if (this.d.networking) {
      // Between create and start: the namespace exists (/proc/<pid>/ns/net), the process waits.
      try { await this.d.networking.attach(c, pid); } catch (e) { await this.d.runtime.delete(rt, c.id).catch(() => {}); throw e; }
    }
    try {
      await this.d.runtime.start(rt, c.id);
    } catch (e) {
      await this.d.runtime.delete(rt, c.id).catch(() => {});
      throw new EngineError('internal', `failed to start container: ${(e as Error).message}`, { cause: e });
    }
    c.state = { ...c.state, status: 'running', pid, exitCode: 0, error: '', startedAt: rfc3339Nano(Date.now()), finishedAt: ZERO_TIME, oomKilled: false, stoppedByUser: false };
    await this.save(c);
    this.emit(c, 'start');
    // An exit that happened before we recorded "running" is in the exit file already.
    const early = await this.d.monitor.readExit(c.id);
    if (early !== undefined) setImmediate(() => void this.handleExit(c.id, early));
  }

  /** The runtime reaches the rootfs as the remapped root: bundle and mount point 0710, group = its gid. */
  private async openToRemappedRoot(m: IdentityMapping, ...dirs: string[]): Promise<void> {
    const { gid } = remappedRoot(m);
    for (const d of dirs) {
      await chown(d, 0, gid);
      await chmod(d, 0o710);
    }
  }

  private async specFor(c: ContainerRecord, layers: string[]): Promise<Spec> {
    const hc = c.hostConfig;
    const dir = this.d.store.dir(c.id);
    const [passwd, group] = await Promise.all([
      this.d.snapshotter.readFile(layers, 'etc/passwd'),
      this.d.snapshotter.readFile(layers, 'etc/group'),
    ]);
    let resolved;
    try {
      resolved = resolveUser(c.config.User ?? '', { passwd, group }, hc.GroupAdd ?? []);
    } catch (e) {
      throw new EngineError('invalid-argument', (e as Error).message, { cause: e });
    }
    const hostname = c.config.Hostname ?? shortId(c.id);
    const mounts: Mount[] = [
      { destination: '/etc/resolv.conf', type: 'bind', source: join(dir, 'resolv.conf'), options: ['rbind', 'rprivate'] },
      { destination: '/etc/hostname', type: 'bind', source: join(dir, 'hostname'), options: ['rbind', 'rprivate'] },
      { destination: '/etc/hosts', type: 'bind', source: join(dir, 'hosts'), options: ['rbind', 'rprivate'] },
    ];
    const opts = [
      withArgs([c.path, ...c.args]),
      withEnv(containerEnv({ env: c.config.Env ?? [], hostname, tty: !!c.config.Tty, home: resolved.home })),
      withCwd(c.config.WorkingDir || '/'),
      withUser(resolved.user),
      withHostname(hostname, c.config.Domainname || undefined),
      withTerminal(!!c.config.Tty, hc.ConsoleSize && hc.ConsoleSize[0] ? { height: hc.ConsoleSize[0], width: hc.ConsoleSize[1] } : undefined),
      withCgroupsPath(`/pier/${c.id}`),
      withMounts(mounts),
    ];
    if (this.d.volumes) opts.push(withMounts(await this.d.volumes.mountsFor(c, join(this.bundleDir(c.id), 'rootfs'))));
    // Host networking shares the host's UTS namespace too: runc refuses a hostname then.
    let joinUserns: string | undefined;
    if (hc.NetworkMode === 'host') opts.push(withNamespace('network', null), withNamespace('uts', null), (s) => { const { hostname: _h, domainname: _d, ...rest } = s as Spec & { domainname?: string }; return rest as Spec; });
    else if (hc.NetworkMode?.startsWith('container:')) {
      const other = this.get(hc.NetworkMode.slice(10));
      if (!isRunning(other)) throw conflict(`cannot join network of a non running container: ${other.id}`);
      opts.push(withNamespace('network', `/proc/${other.state.pid}/ns/net`));
      // to share a network namespace, remapped containers share the user namespace owning it (as in moby)
      if (c.userns && other.userns) joinUserns = `/proc/${other.state.pid}/ns/user`;
    }
    if (hc.PidMode === 'host') opts.push(withNamespace('pid', null));
    if (hc.IpcMode === 'host') opts.push(withNamespace('ipc', null));
    if (hc.Privileged) opts.push(withPrivileged());
    opts.push(...(await resourceSpecOpts(c, this.d.host, this.d.defaults)));
    if (c.userns) opts.push(withUserNamespace(c.userns, hc.Sysctls, joinUserns));
    return buildSpec(...opts);
  }

  // ---- exit handling ----

  /** Called for each exit file conmon writes (and for exits found at restore). */
  async handleExit(id: string, code: number): Promise<void> {
    const c = this.containers.get(id);
    if (!c) return;
    await this.lock.run(id, async () => {
      if (!isRunning(c) && c.state.status !== 'restarting') return;
      c.state = { ...c.state, status: 'exited', pid: 0, exitCode: code, finishedAt: rfc3339Nano(Date.now()), oomKilled: await oomKilledAtExit(this.d.cgroups, c, this.bundleDir(id)) };
      await this.cleanupRun(c);
      await this.save(c);
      await this.d.monitor.clearExit(id);
      this.liveOf(id).exits++;
      this.emit(c, 'die', { exitCode: String(code) });
      this.notifyWaiters(id);
    });
    if (c.hostConfig.AutoRemove) await this.remove(id, { force: true, volumes: true, internal: true }).catch((e) => this.d.log('warn', `auto-remove ${id}: ${(e as Error).message}`));
  }

  /** Health monitor: records a probe result; a status change is announced as an event. */
  async setHealth(id: string, health: HealthState): Promise<void> {
    const c = this.containers.get(id);
    if (!c) return;
    await this.lock.run(id, async () => {
      const changed = c.state.health?.status !== health.status;
      c.state.health = health;
      await this.save(c);
      if (changed) this.emit(c, `health_status: ${health.status}`);
    });
  }

  /** Restart policy: the container waits for its backoff (`Restarting (n) … ago`). */
  async markRestarting(id: string): Promise<boolean> {
    const c = this.containers.get(id);
    if (!c) return false;
    return this.lock.run(id, async () => {
      if (c.state.status !== 'exited' && c.state.status !== 'restarting') return false;
      c.state.status = 'restarting';
      await this.save(c);
      return true;
    });
  }

  /** Restart policy: start again unless the user stopped or removed it meanwhile. */
  async restartByPolicy(id: string): Promise<void> {
    const c = this.containers.get(id);
    if (!c || c.state.status !== 'restarting') return;
    c.restartCount++;
    await this.start(id);
  }

  private notifyWaiters(id: string): void {
    const l = this.liveOf(id);
    const ready = l.waiters.filter((w) => l.exits >= w.target);
    l.waiters = l.waiters.filter((w) => l.exits < w.target);
    for (const w of ready) w.resolve();
  }

  /** Unmounts and forgets the runtime's state of the last run. */
  private async cleanupRun(c: ContainerRecord): Promise<void> {
    await this.d.networking?.release(c).catch((e) => this.d.log('warn', `network release ${c.id}: ${(e as Error).message}`));
    if (!this.dirty.delete(c.id)) return;
    const rt = this.d.runtimes.get(c.runtime);
    if (rt) await this.d.runtime.delete(rt, c.id).catch((e) => this.d.log('warn', `runtime delete ${c.id}: ${(e as Error).message}`));
    await this.d.snapshotter.unmount(join(this.bundleDir(c.id), 'rootfs'));
  }

  // ---- restore after a restart ----

  async restore(): Promise<void> {
    const all = await this.d.store.loadAll();
    for (const c of all) {
      this.containers.set(c.id, c);
      this.names.set(c.name, c.id);
      this.liveOf(c.id);
      this.dirty.add(c.id); // a crash may have left runtime state behind: clean once
    }
    for (const c of all) {
      if (c.state.status === 'removing') { await this.remove(c.id, { force: true, volumes: false, internal: true }).catch(() => {}); continue; }
      if (!isRunning(c) && c.state.status !== 'restarting') { await this.cleanupRun(c).catch(() => {}); continue; }
      const code = await this.d.monitor.readExit(c.id);
      if (code !== undefined) { await this.handleExit(c.id, code); continue; }
      if (!(await this.d.monitor.isAlive(c.id, this.bundleDir(c.id)))) {
        // Monitor and container both gone without an exit file (host trouble): record it.
        let alive = false;
        try { process.kill(c.state.pid, 0); alive = true; } catch { /* gone */ }
        if (!alive) { await this.handleExit(c.id, 255); continue; }
      }
      // pierd may have died between freezing a container and recording it (pause, commit):
      // the cgroup freezer is the truth.
      const rt = this.d.runtimes.get(c.runtime);
      const frozen = rt ? await this.d.runtime.isPaused(rt, c.id) : undefined;
      if (frozen !== undefined && frozen !== (c.state.status === 'paused')) {
        c.state.status = frozen ? 'paused' : 'running';
        await this.save(c);
      }
    }
    this.d.monitor.watchExits((id, code) => void this.handleExit(id, code).catch((e) => this.d.log('error', `exit of ${id}: ${(e as Error).message}`)));
  }

  // ---- stop / kill / restart / pause ----

  async stop(ref: string, timeoutSec?: number, signal?: string): Promise<void> {
    const c = this.get(ref);
    if (c.state.status === 'restarting') {
      // Stopping a container waiting to restart cancels the restart.
      await this.lock.run(c.id, async () => { c.state = { ...c.state, status: 'exited', stoppedByUser: true }; await this.save(c); });
      this.emit(c, 'stop');
      return;
    }
    if (!isRunning(c)) throw notModified();
    const sig = parseSignal(signal ?? c.config.StopSignal ?? 'SIGTERM');
    const t = timeoutSec ?? c.config.StopTimeout ?? DEFAULT_STOP_TIMEOUT;
    c.state.stoppedByUser = true;
    if (c.state.status === 'paused') await this.unpause(c.id).catch(() => {});
    const exited = this.waitFor(c.id, 'next-exit-now');
    this.emit(c, 'kill', { signal: String(sig) });
    await this.signal(c, sig).catch((e) => { if (!isConflictish(e)) throw e; });
    if (t >= 0) {
      const timedOut = await Promise.race([exited.then(() => false), sleep(t * 1000).then(() => true)]);
      if (!timedOut) { this.emit(c, 'stop'); return; }
    }
    if (isRunning(c)) {
      this.emit(c, 'kill', { signal: '9' });
      await this.signal(c, 9).catch((e) => { if (!isConflictish(e)) throw e; });
      await Promise.race([exited, sleep(30_000)]);
    }
    this.emit(c, 'stop');
  }

  private async signal(c: ContainerRecord, sig: number): Promise<void> {
    if (c.state.pid > 0) {
      try {
        process.kill(c.state.pid, sig);
        return;
      } catch (e) {
        if (errnoCode(e) !== 'ESRCH') throw e;
      }
    }
    await this.d.runtime.kill(this.runtimeOf(c), c.id, sig);
  }

  async kill(ref: string, signal?: string): Promise<void> {
    const c = this.get(ref);
    const sig = parseSignal(signal || 'KILL');
    if (!isRunning(c)) throw conflict(`Cannot kill container: ${ref}: Container ${c.id} is not running`);
    if (sig === 9 || sig === 15 || sig === 2) c.state.stoppedByUser = true;
    await this.signal(c, sig);
    this.emit(c, 'kill', { signal: String(sig) });
  }

  async restart(ref: string, timeoutSec?: number): Promise<void> {
    const c = this.get(ref);
    if (isRunning(c)) await this.stop(c.id, timeoutSec).catch((e) => { if (!(e instanceof EngineError && e.kind === 'not-modified')) throw e; });
    await this.start(c.id);
    this.emit(c, 'restart');
  }

  async pause(ref: string): Promise<void> {
    const c = this.get(ref);
    await this.lock.run(c.id, async () => {
      if (c.state.status === 'paused') throw conflict(`Container ${c.id} is already paused`);
      if (c.state.status !== 'running') throw conflict(`Container ${c.id} is not running`);
      await this.d.runtime.pause(this.runtimeOf(c), c.id);
      c.state.status = 'paused';
      await this.save(c);
      this.emit(c, 'pause');
    });
  }

  async unpause(ref: string): Promise<void> {
    const c = this.get(ref);
    await this.lock.run(c.id, async () => {
      if (c.state.status !== 'paused') throw conflict(`Container ${c.id} is not paused`);
      await this.d.runtime.resume(this.runtimeOf(c), c.id);
      c.state.status = 'running';
      await this.save(c);
      this.emit(c, 'unpause');
    });
  }

  // ---- wait ----

  /**
   * Resolves with the exit code once the condition holds. `next-exit-now` is internal:
   * the next exit from the moment of the call.
   */
  waitFor(id: string, condition: WaitCondition | 'next-exit-now'): Promise<number> {
    const c = this.get(id);
    const l = this.liveOf(c.id);
    if (condition === 'removed') {
      if (l.removed) return Promise.resolve(c.state.exitCode);
      return new Promise((resolve) => l.removedWaiters.push(() => resolve(c.state.exitCode)));
    }
    if (condition === 'not-running' && !isRunning(c)) return Promise.resolve(c.state.exitCode);
    const target = l.exits + 1;
    return new Promise((resolve) => l.waiters.push({ target, resolve: () => resolve(c.state.exitCode) }));
  }

  // ---- remove ----

  async remove(ref: string, opts: { force: boolean; volumes: boolean; internal?: boolean }): Promise<void> {
    const c = this.get(ref);
    if (isRunning(c) && opts.force) {
      // Kill and wait for the exit outside the lock: the exit handler takes it.
      if (c.state.status === 'paused') await this.unpause(c.id).catch(() => {});
      const exited = this.waitFor(c.id, 'next-exit-now');
      c.state.stoppedByUser = true;
      await this.signal(c, 9).catch(() => {});
      await Promise.race([exited, sleep(10_000)]);
    }
    await this.lock.run(c.id, async () => {
      if (!this.containers.has(c.id)) return;
      if (isRunning(c)) {
        if (!opts.force) {
          throw conflict(c.state.status === 'paused'
            ? `cannot remove container "/${c.name}": container is paused and must be unpaused first`
            : `You cannot remove a running container ${c.id}. Stop the container before attempting removal or force remove`);
        }
        await this.signal(c, 9).catch(() => {});
        await Promise.race([this.exitPromise(c.id), sleep(10_000)]);
        if (isRunning(c)) {
          c.state = { ...c.state, status: 'exited', pid: 0, exitCode: 137, finishedAt: rfc3339Nano(Date.now()) };
        }
        await this.cleanupRun(c);
      }
      c.state.status = 'removing';
      await this.save(c);
      await this.cleanupRun(c).catch(() => {});
      await rm(this.bundleDir(c.id), { recursive: true, force: true });
      await this.d.snapshotter.remove(c.id);
      await this.d.monitor.clearExit(c.id);
      await this.d.store.remove(c.id);
      if (opts.volumes) await this.d.volumes?.removeAnonymous(c).catch((e) => this.d.log('warn', `volumes of ${c.id}: ${(e as Error).message}`));
      this.containers.delete(c.id);
      this.names.delete(c.name);
      const l = this.liveOf(c.id);
      l.removed = true;
      this.emit(c, 'destroy');
      for (const w of l.removedWaiters) w();
      l.removedWaiters = [];
      // Attach and wait streams on a removed container end too.
      l.exits += 1_000_000;
      this.notifyWaiters(c.id);
      setTimeout(() => this.live.delete(c.id), 5000).unref();
    });
  }

  /** Resolves once the container's exit count reaches `target` (or it is removed). */
  private exitReached(id: string, target: number): Promise<void> {
    const l = this.liveOf(id);
    if (l.exits >= target) return Promise.resolve();
    return new Promise((resolve) => l.waiters.push({ target, resolve }));
  }

  /** Resolves at the next exit (used while the lock is held: no new lock taken). */
  private exitPromise(id: string): Promise<void> {
    const l = this.liveOf(id);
    const target = l.exits + 1;
    return new Promise((resolve) => l.waiters.push({ target, resolve }));
  }

  // ---- rename / top / resize ----

  async rename(ref: string, newName: string): Promise<void> {
    const c = this.get(ref);
    if (!newName) throw invalidArgument('Neither old nor new names may be empty');
    const n = validateName(newName);
    if (n === c.name) throw conflict(`Renaming a container with the same name as its current name`);
    const owner = this.names.get(n);
    if (owner) throw conflict(`Conflict. The container name "/${n}" is already in use by container "${owner}". You have to remove (or rename) that container to be able to reuse that name.`);
    const old = c.name;
    this.names.set(n, c.id);
    this.names.delete(old);
    c.name = n;
    await this.save(c);
    this.emit(c, 'rename', { oldName: `/${old}` });
  }

  async pids(ref: string): Promise<number[]> {
    const c = this.get(ref);
    if (!isRunning(c)) throw conflict(`Container ${c.id} is not running`);
    return this.d.runtime.pids(this.runtimeOf(c), c.id);
  }

  async resize(ref: string, height: number, width: number): Promise<void> {
    const c = this.get(ref);
    if (!isRunning(c)) throw conflict(`Container ${c.id} is not running`);
    if (!Number.isInteger(height) || !Number.isInteger(width) || height < 0 || width < 0) throw invalidArgument('invalid resize dimensions');
    if (c.config.Tty) await this.d.monitor.resize(this.bundleDir(c.id), height, width);
  }

  // ---- logs and attach ----

  /** The container's log policy; throws when its driver cannot be read back (`--log-driver none`). */
  readableLogPolicy(ref: string): ReturnType<typeof logPolicy> {
    const policy = logPolicy(this.get(ref).hostConfig.LogConfig);
    if (!policy.readable) throw new EngineError('not-implemented', 'configured logging driver does not support reading');
    return policy;
  }

  /** Log entries, filtered; follows while the container runs when asked to. */
  async *logs(ref: string, opts: { follow: boolean; stdout: boolean; stderr: boolean; since?: bigint; until?: bigint; tail?: number; signal?: AbortSignal }): AsyncIterable<LogEntry & { nanos: bigint }> {
    const c = this.get(ref);
    const policy = this.readableLogPolicy(c.id);
    // Rotated files first (oldest first), then the current one, which may be followed.
    const rotated = logFiles(c.logPath, policy.maxFile).slice(0, -1);
    let offset = 0;
    let head: Buffer[] = [];
    if (opts.tail !== undefined && opts.tail >= 0) {
      const t = await this.d.logs.tail(c.logPath, opts.tail);
      head = t.lines;
      offset = t.end;
      for (const f of [...rotated].reverse()) {
        if (head.length >= opts.tail) break;
        head = [...(await this.d.logs.tail(f, opts.tail - head.length)).lines, ...head];
      }
    }
    const l = this.liveOf(c.id);
    const target = l.exits + 1;
    const follow = opts.follow && isRunning(c) ? () => l.exits < target && this.containers.has(c.id) : undefined;
    const keep = (e: LogEntry, nanos: bigint): boolean =>
      (e.stream === 'stdout' ? opts.stdout : opts.stderr) && (opts.since === undefined || nanos >= opts.since) && (opts.until === undefined || nanos <= opts.until);
    if (opts.tail === undefined || opts.tail < 0) {
      for (const f of rotated) {
        for await (const line of this.d.logs.lines(f, {})) {
          const e = parseK8sLine(line);
          if (!e) continue;
          const nanos = timeToNanos(e.time);
          if (keep(e, nanos)) yield { ...e, nanos };
        }
      }
    }
    for (const line of head) {
      const e = parseK8sLine(line);
      if (!e) continue;
      const nanos = timeToNanos(e.time);
      if (keep(e, nanos)) yield { ...e, nanos };
    }
    if (opts.tail !== undefined && opts.tail >= 0 && !follow) return;
    const wake = follow ? this.exitReached(c.id, target) : undefined;
    for await (const line of this.d.logs.lines(c.logPath, { offset, follow, signal: opts.signal, wake })) {
      const e = parseK8sLine(line);
      if (!e) continue;
      const nanos = timeToNanos(e.time);
      if (opts.until !== undefined && nanos > opts.until) return;
      if (keep(e, nanos)) yield { ...e, nanos };
    }
  }

  /**
   * Attach: output from the log file from now (or from the start with `logs`), until the
   * container's current or next run ends; stdin bytes are buffered until the container
   * runs, then written to conmon's attach socket.
   */
  async attach(ref: string, opts: AttachOptions, signal: AbortSignal): Promise<{ output: AsyncIterable<OutputChunk>; detached: Promise<boolean> }> {
    const c = this.get(ref);
    const l = this.liveOf(c.id);
    const target = l.exits + 1;
    const offset = opts.logs ? 0 : await this.d.logs.size(c.logPath);
    const ac = new AbortController();
    signal.addEventListener('abort', () => ac.abort(), { once: true });
    let detachedResolve!: (v: boolean) => void;
    const detached = new Promise<boolean>((r) => { detachedResolve = r; });
    if (opts.stdin && c.config.OpenStdin) void this.pumpStdin(c, opts.stdin, opts.detachKeys ?? DEFAULT_DETACH_KEYS, target, ac, detachedResolve);
    this.emit(c, 'attach');
    const self = this;
    async function* output(): AsyncIterable<OutputChunk> {
      if (!opts.stream && !opts.logs) return;
      const follow = opts.stream ? () => l.exits < target && !l.removed : undefined;
      const wake = follow ? self.exitReached(c.id, target) : undefined;
      for await (const line of self.d.logs.lines(c.logPath, { offset, follow, signal: ac.signal, wake })) {
        const e = parseK8sLine(line);
        if (!e) continue;
        if (e.stream === 'stdout' ? opts.stdout : opts.stderr) yield { stream: e.stream, data: e.data };
      }
    }
    return { output: output(), detached };
  }

  private async pumpStdin(c: ContainerRecord, input: AsyncIterable<Buffer>, keys: number[], target: number, ac: AbortController, detached: (v: boolean) => void): Promise<void> {
    const l = this.liveOf(c.id);
    // Attach may come before start: connect to conmon once the container runs.
    const connecting = (async (): Promise<StdinWriter | undefined> => {
      while (c.state.status !== 'running' && c.state.status !== 'paused') {
        if (l.exits >= target || l.removed || ac.signal.aborted) return undefined;
        await sleep(10);
      }
      try { return this.d.monitor.openStdin(c.id); } catch (e) { this.d.log('warn', `stdin of ${c.id}: ${(e as Error).message}`); return undefined; }
    })();
    // One queue keeps the bytes in order whether they arrive before or after the connect.
    let queue: Promise<void> = Promise.resolve();
    let queued = 0;
    const send = (buf: Buffer): void => {
      queued += buf.length;
      queue = queue.then(async () => {
        const w = await connecting;
        try { await w?.write(buf); } finally { queued -= buf.length; }
      }).catch((e) => this.d.log('debug', `stdin of ${c.id}: ${(e as Error).message}`));
    };
    let matched = 0;
    let detachedByKeys = false;
    try {
      for await (const chunk of input) {
        // Detach keys (ctrl-p ctrl-q by default) end the attach without touching stdin.
        let cut = -1;
        for (let i = 0; i < chunk.length; i++) {
          if (chunk[i] === keys[matched]) { matched++; if (matched === keys.length) { cut = i; break; } } else matched = chunk[i] === keys[0] ? 1 : 0;
        }
        if (cut >= 0) {
          const before = chunk.subarray(0, Math.max(0, cut + 1 - keys.length));
          if (before.length) send(before);
          detachedByKeys = true;
          break;
        }
        send(chunk);
        if (queued > 1 << 20) await queue; // backpressure: at most 1 MiB in flight
      }
    } catch (e) {
      this.d.log('debug', `stdin of ${c.id} ended: ${(e as Error).message}`);
    }
    await queue;
    const w = await connecting;
    if (detachedByKeys) {
      detached(true);
      ac.abort();
    }
    // The client closed its input (or detached): close our end; conmon then closes the
    // container's stdin unless it runs with --leave-stdin-open (no StdinOnce).
    w?.close();
    detached(false);
  }

  // ---- prune ----

  async prune(filters: Filters): Promise<{ deleted: string[]; reclaimed: number }> {
    const deleted: string[] = [];
    for (const c of this.list()) {
      if (isRunning(c) || !matchLabels(filters, c.config.Labels)) continue;
      const until = filters.get('until');
      if (until?.length && Date.parse(c.created) >= parseUntil(until[0]!)) continue;
      await this.remove(c.id, { force: false, volumes: false });
      deleted.push(c.id);
    }
    return { deleted, reclaimed: 0 };
  }

  /** Reads the process spec of a running container's bundle (exec builds on it). */
  async bundleSpec(id: string): Promise<Spec> {
    return JSON.parse(await readFile(join(this.bundleDir(id), 'config.json'), 'utf8')) as Spec;
  }

  runtimeConfig(c: ContainerRecord): RuntimeConfig {
    return this.runtimeOf(c);
  }

  async userFiles(c: ContainerRecord): Promise<{ passwd?: string; group?: string }> {
    const rootfs = join(this.bundleDir(c.id), 'rootfs');
    const read = async (p: string): Promise<string | undefined> => {
      try { return await readFile(join(rootfs, p), 'utf8'); } catch { return undefined; }
    };
    return { passwd: await read('etc/passwd'), group: await read('etc/group') };
  }

  /**
   * Runs `fn` with the container's root filesystem mounted (cp, export, commit), holding the
   * container's lock so it cannot start, be cleaned up after an exit or be removed meanwhile.
   * A running container's mount is used as it is; a stopped one is mounted at the same bundle
   * path for the call and unmounted after (after a crash, restore's cleanup unmounts it).
   * `mount: false` only takes the lock (commit reads the upper dir).
   */
  async withRootfs<T>(ref: string, fn: (rootfs: string, c: ContainerRecord) => Promise<T>, opts: { mount?: boolean } = {}): Promise<T> {
    const c0 = this.get(ref);
    return this.lock.run(c0.id, async () => {
      const c = this.get(c0.id);
      const rootfs = join(this.bundleDir(c.id), 'rootfs');
      if (isRunning(c) || opts.mount === false) return fn(rootfs, c);
      await mkdir(rootfs, { recursive: true, mode: 0o700 });
      await this.d.snapshotter.mount(c.id, chainIds(c.imageLayers), rootfs, { idmap: c.userns });
      try {
        return await fn(rootfs, c);
      } finally {
        await this.d.snapshotter.unmount(rootfs);
      }
    });
  }

  recordExec(c: ContainerRecord, execId: string): void {
    c.execIds.push(execId);
  }
}

// ---- helpers (pure) ----

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const isConflictish = (e: unknown): boolean => e instanceof EngineError && e.kind === 'conflict';

function toArray(v: string[] | string | null | undefined): string[] {
  if (v === null || v === undefined) return [];
  return typeof v === 'string' ? [v] : v;
}

/** The container config: the request over the image's defaults (moby's merge rules). */
export function mergeConfig(body: ContainerCreateBody, img: ContainerConfigWire): ContainerConfigWire {
  const { HostConfig: _h, NetworkingConfig: _n, ...req } = body;
  const c: ContainerConfigWire = { ...req };
  const entrypointGiven = body.Entrypoint !== undefined && body.Entrypoint !== null;
  const entrySet = entrypointGiven ? toArray(body.Entrypoint) : undefined;
  if (!entrypointGiven) c.Entrypoint = img.Entrypoint ?? null;
  else c.Entrypoint = entrySet!.length === 1 && entrySet![0] === '' ? null : entrySet!;
  const cmd = toArray(body.Cmd);
  if (cmd.length === 0 && !entrypointGiven) c.Cmd = img.Cmd ?? null;
  else c.Cmd = cmd.length ? cmd : null;
  // Env as moby's merge(): the request's as given, then the image's it does not name. A
  // bare `KEY` stays here and unsets KEY when the process environment is built.
  const keyOf = (kv: string): string => (kv.includes('=') ? kv.slice(0, kv.indexOf('=')) : kv);
  const userEnv = body.Env ?? [];
  const named = new Set(userEnv.map(keyOf));
  c.Env = userEnv.length ? [...userEnv, ...(img.Env ?? []).filter((kv) => !named.has(keyOf(kv)))] : (img.Env ?? null);
  if (!c.WorkingDir) c.WorkingDir = img.WorkingDir ?? '';
  if (!c.User) c.User = img.User ?? '';
  c.Labels = { ...(img.Labels ?? {}), ...(body.Labels ?? {}) };
  if (img.ExposedPorts || body.ExposedPorts) c.ExposedPorts = { ...(img.ExposedPorts ?? {}), ...(body.ExposedPorts ?? {}) };
  if (img.Volumes || body.Volumes) c.Volumes = { ...(img.Volumes ?? {}), ...(body.Volumes ?? {}) };
  if (!c.StopSignal && img.StopSignal) c.StopSignal = img.StopSignal;
  if (!c.Healthcheck && img.Healthcheck) c.Healthcheck = img.Healthcheck;
  if (!c.OnBuild && img.OnBuild) c.OnBuild = img.OnBuild;
  c.Image = body.Image ?? '';
  c.Tty = !!body.Tty;
  c.OpenStdin = !!body.OpenStdin;
  c.StdinOnce = !!body.StdinOnce;
  c.AttachStdin = !!body.AttachStdin;
  c.AttachStdout = body.AttachStdout ?? false;
  c.AttachStderr = body.AttachStderr ?? false;
  c.Domainname = body.Domainname ?? '';
  if (c.WorkingDir && !c.WorkingDir.startsWith('/')) throw invalidArgument(`the working directory '${c.WorkingDir}' is invalid, it needs to be an absolute path`);
  return c;
}

function validateHostConfig(hc: HostConfigWire): void {
  const rp = hc.RestartPolicy;
  if (rp?.Name && !['no', 'always', 'unless-stopped', 'on-failure', ''].includes(rp.Name)) throw invalidArgument(`invalid restart policy '${rp.Name}'`);
  if (rp?.Name && rp.Name !== 'on-failure' && (rp.MaximumRetryCount ?? 0) !== 0) throw invalidArgument(`invalid restart policy: maximum retry count can only be used with 'on-failure'`);
  if (hc.AutoRemove && rp?.Name && rp.Name !== 'no' && rp.Name !== '') throw invalidArgument(`can't create 'AutoRemove' container with restart policy`);
  for (const h of hc.ExtraHosts ?? []) if (!/^[^:]+:.+$/.test(h)) throw invalidArgument(`invalid IP address in add-host: "${h}"`);
}

function checkUserSpec(u: string): void {
  if (/\s/.test(u) || u.split(':').length > 2) throw invalidArgument(`invalid user: ${u}`);
}

function endpointsFrom(body: ContainerCreateBody, hc: HostConfigWire): Record<string, EndpointSettingsWire> {
  const mode = hc.NetworkMode ?? 'bridge';
  if (mode === 'none' || mode === 'host' || mode.startsWith('container:')) return {};
  const cfg = body.NetworkingConfig?.EndpointsConfig ?? {};
  const ep = cfg[mode] ?? cfg.default ?? {};
  return { [mode]: { ...ep } };
}

function resolvConfFor(host: string, hc: HostConfigWire): string {
  const lines = host.split('\n').filter((l) => l.trim() && !l.startsWith('#'));
  let ns = lines.filter((l) => /^nameserver\s/.test(l)).map((l) => l.split(/\s+/)[1]!).filter((ip) => !ip.startsWith('127.') && ip !== '::1');
  let search = lines.filter((l) => /^search\s/.test(l)).flatMap((l) => l.split(/\s+/).slice(1));
  let options = lines.filter((l) => /^options\s/.test(l)).flatMap((l) => l.split(/\s+/).slice(1));
  if (hc.Dns?.length) ns = hc.Dns;
  if (hc.DnsSearch?.length) search = hc.DnsSearch;
  if (hc.DnsOptions?.length) options = hc.DnsOptions;
  if (ns.length === 0) ns = ['8.8.8.8', '8.8.4.4'];
  // Docker's order: nameservers, then search, then options
  return [
    ...ns.map((n) => `nameserver ${n}`),
    ...(search.length ? [`search ${search.join(' ')}`] : []),
    ...(options.length ? [`options ${options.join(' ')}`] : []),
  ].join('\n') + '\n';
}

/** Docker CLI's mapping of start errors to exit codes, applied to State.ExitCode too. */
export function exitCodeForStartError(msg: string): number {
  if (/executable file not found|no such file or directory/.test(msg)) return 127;
  if (/permission denied|is a directory/.test(msg)) return 126;
  return 128;
}

function parseUntil(v: string): number {
  if (/^[0-9]+(\.[0-9]+)?$/.test(v)) return Number(v) * 1000;
  const m = /^([0-9]+)(s|m|h)$/.exec(v);
  if (m) return Date.now() - Number(m[1]) * ({ s: 1000, m: 60000, h: 3600000 } as Record<string, number>)[m[2]!]!;
  return Date.parse(v);
}

