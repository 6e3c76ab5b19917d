/**
 * pierd's composition root: parses flags, takes the one-daemon-per-root lock, wires the
 * adapters into the services, restores containers, and listens. The only daemon file that
 * imports adapters.
 */
import { chmodSync, chownSync, closeSync, existsSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { chmod, chown, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import { ConmonMonitor } from '../adapters/conmon/index.js';
import { FsContentStore } from '../adapters/content-fs/index.js';
import { FileLogReader } from '../adapters/logfile/index.js';
import { JsonContainerStore, JsonImageStore } from '../adapters/metadata-json/index.js';
import { JsonNetworkStore } from '../adapters/metadata-json/index.js';
import { IprouteNetworkDriver } from '../adapters/iproute/index.js';
import { SocketPortReserver, UdpDnsServer } from '../adapters/sockets/index.js';
import { LogRotator, NetworkService } from '../services/index.js';
import { networkRoutes } from './routes/index.js';
import { createHash } from 'node:crypto';
import { OverlaySnapshotter } from '../adapters/overlay/index.js';
import { CopySnapshotter } from '../adapters/copy-snapshotter/index.js';
import { HttpRegistryRemote, JsonBlobDigestMap } from '../adapters/registry-remote/index.js';
import { RuncRuntime } from '../adapters/runc/index.js';
import { LocalVolumeDriver } from '../adapters/local-volumes/index.js';
import { loadRemappedRoot, type RemappedRoot } from '../adapters/subids/index.js';
import { remappedRoot } from '../core/oci/index.js';
import { VolumeService } from '../services/index.js';
import { volumeRoutes } from './routes/index.js';
import { FsCgroupManager, LinuxHostProbe } from '../adapters/cgroups/index.js';
import { ResourceService } from '../services/index.js';
import { resourceRoutes } from './routes/index.js';
import { ENGINE_VERSION } from '../api/index.js';
import type { RuntimeConfig } from '../core/ports/index.js';
import { errnoCode } from '../lib/errdefs.js';
import { extractTar, maybeDecompress, readTar } from '../lib/tar/index.js';
import { ContainerService, EventBus, ExecService, HealthMonitor, ImageArchiveService, ImageHousekeeping, ImageService, RestartManager } from '../services/index.js';
import { normalizeMirror, parseDaemonFlags, USAGE } from './flags.js';
import { Router } from './http/index.js';
import { createApiServer, type Logger } from './http/index.js';
import { containerFileRoutes } from './routes/index.js';
import { ContainerFilesService } from '../services/index.js';
import { registryRoutes } from './routes/index.js';
import { RegistryPuller, RegistryPusher } from '../services/index.js';
import { containerRoutes, execRoutes, imageExchangeRoutes, imageRoutes, systemRoutes } from './routes/index.js';
import { buildRoutes } from './routes/index.js';
import { BuildService } from '../services/index.js';
import { dirSize } from '../lib/fs/index.js';
import { stat as statBlob } from 'node:fs/promises';
import { hostArch, collectAtStart } from '../services/index.js';
import { resolveContainerDefaults, type DefaultsFileConfig } from './container-defaults.js';

const levels = { debug: 0, info: 1, warn: 2, error: 3 } as const;

interface DaemonConfigFile extends DefaultsFileConfig {
  runtimes?: Record<string, { path: string; runtimeArgs?: string[] }>;
  'default-runtime'?: string;
  'log-level'?: string;
  'registry-mirrors'?: string[];
  'userns-remap'?: string;
}

function findBinary(name: string): string {
  for (const dir of (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':').concat(['/usr/sbin', '/usr/bin', '/usr/local/bin', '/usr/libexec/podman'])) {
    const p = join(dir, name);
    if (existsSync(p)) return p;
  }
  return name;
}

/** One pierd per data root: an exclusive lock file holding our pid. */
function takeLock(path: string): void {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return;
    } catch (e) {
      if (errnoCode(e) !== 'EEXIST') throw e;
      const pid = Number(readFileSync(path, 'utf8').trim());
      let alive = false;
      if (pid > 0 && pid !== process.pid) {
        try { process.kill(pid, 0); alive = readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('pierd'); } catch { alive = false; }
      }
      if (alive) {
        throw new Error(`pierd is already running with data root ${path.replace(/\/pierd\.lock$/, '')} (pid ${pid}); only one pierd may use a root`);
      }
      unlinkSync(path);
    }
  }
  throw new Error(`could not take the lock ${path}`);
}

async function main(): Promise<void> {
  const flags = parseDaemonFlags(process.argv.slice(2));
  if (flags.help) { process.stdout.write(USAGE); return; }
  if (flags.version) { process.stdout.write(`pierd version ${ENGINE_VERSION}\n`); return; }
  let fileConfig: DaemonConfigFile = {};
  try {
    fileConfig = JSON.parse(await readFile(flags.configFile, 'utf8')) as DaemonConfigFile;
  } catch (e) {
    if (errnoCode(e) !== 'ENOENT') throw new Error(`unable to configure the pier daemon with file ${flags.configFile}: ${(e as Error).message}`);
  }
  if (fileConfig['registry-mirrors'] !== undefined) {
    if (flags.registryMirrors.length) {
      throw new Error(`unable to configure the pier daemon with file ${flags.configFile}: the following directives are specified both as a flag and in the configuration file: registry-mirrors: (from flag: [${flags.registryMirrors.join(' ')}], from file: [${fileConfig['registry-mirrors'].join(' ')}])`);
    }
    flags.registryMirrors = fileConfig['registry-mirrors'].map(normalizeMirror);
  }
  const minLevel = levels[(fileConfig['log-level'] as keyof typeof levels) ?? flags.logLevel] ?? levels[flags.logLevel];
  const log: Logger = (level, msg) => {
    if (levels[level] >= minLevel) process.stderr.write(`${new Date().toISOString()} ${level.toUpperCase()} ${msg}\n`);
  };

  const { defaults, seccompProfileName } = await resolveContainerDefaults(flags, fileConfig, flags.configFile);
  if (process.getuid?.() !== 0) throw new Error('pierd needs to be started with root privileges');
  await mkdir(flags.root, { recursive: true, mode: 0o711 });
  await mkdir(flags.execRoot, { recursive: true, mode: 0o711 });
  const lockPath = join(flags.root, 'pierd.lock');
  takeLock(lockPath);
  const pidfile = flags.pidfile ?? join(flags.execRoot, 'pierd.pid');
  await writeFile(pidfile, String(process.pid));

  const runtimes = new Map<string, RuntimeConfig>();
  const runcRoot = join(flags.execRoot, 'runtime');
  const addRuntime = (name: string, path: string, args: string[] = []): void => {
    runtimes.set(name, { name, path, args: ['--root', join(runcRoot, name), ...args] });
  };
  addRuntime('runc', findBinary('runc'));
  if (existsSync(findBinary('crun'))) addRuntime('crun', findBinary('crun'));
  // gVisor refuses to set up its sandbox network from a namespace it did not get a path
  // for; until pier's networking (issue 6) hands it one, runsc gets loopback only.
  if (existsSync(findBinary('runsc'))) addRuntime('runsc', findBinary('runsc'), ['--network=none']);
  for (const [name, rt] of Object.entries(fileConfig.runtimes ?? {})) addRuntime(name, rt.path, rt.runtimeArgs ?? []);
  const defaultRuntime = flags.defaultRuntime ?? fileConfig['default-runtime'] ?? 'runc';
  if (!runtimes.has(defaultRuntime)) throw new Error(`default runtime ${defaultRuntime} is not configured`);

  const events = new EventBus();
  const content = await FsContentStore.open(join(flags.root, 'content'));
  const driver = flags.storageDriver;
  const snapshotDir = join(flags.root, driver === 'vfs' ? 'vfs' : 'snapshots');
  const snapshotter = driver === 'vfs'
    ? new CopySnapshotter(snapshotDir, async (tar, dir) => ({ size: (await extractTar(readTar(tar), dir, { whiteouts: 'delete' })).bytes }))
    : new OverlaySnapshotter(snapshotDir, async (tar, dir, split) => {
      const stats = await extractTar(readTar(tar, { split }), dir, { whiteouts: 'overlay', split });
      return { size: stats.bytes };
    });
  await snapshotter.init();
  if (flags.usernsRemap !== undefined && fileConfig['userns-remap'] !== undefined) {
    throw new Error(`unable to configure the pier daemon with file ${flags.configFile}: the following directives are specified both as a flag and in the configuration file: userns-remap: (from flag: ${flags.usernsRemap}, from file: ${fileConfig['userns-remap']})`);
  }
  const remapSpec = flags.usernsRemap ?? fileConfig['userns-remap'];
  let remap: RemappedRoot | undefined;
  if (remapSpec) {
    if (driver === 'vfs') throw new Error('--userns-remap needs the overlay2 storage driver (idmapped layers); vfs is not supported');
    remap = await loadRemappedRoot(remapSpec);
    if (!remap) log('warn', 'User namespaces: root cannot be remapped with itself; user namespaces are OFF');
  }
  if (remap) {
    const root = remappedRoot(remap.mapping);
    // dockerd's check: every directory above the data root must let the remapped root through.
    for (const top of [flags.root, flags.execRoot]) {
      for (let d = dirname(top); d !== '/' && d !== '.'; d = dirname(d)) {
        if (!canTraverse(d, root.uid, root.gid)) {
          throw new Error(`a subdirectory in your graphroot path (${top}) restricts access to the remapped root uid/gid; please fix by allowing 'o+x' permissions on existing directories`);
        }
      }
    }
    // Idmapped layers where the kernel and filesystem allow (measured: Linux 6.18, ext4),
    // else one shifted copy per layer. PIER_USERNS_LAYERS=copy forces the fallback (tests).
    const overlay = snapshotter as OverlaySnapshotter;
    const why = process.env.PIER_USERNS_LAYERS === 'copy' ? 'PIER_USERNS_LAYERS=copy' : await overlay.probeIdmap(remap.mapping);
    if (why) {
      overlay.useShiftedCopies();
      log('warn', `User namespaces: idmapped layer mounts unavailable (${why}); using one shifted copy of each layer per mapping`);
    }
    // Container dirs and bundles are 0710 with the remapped root's group (CVE-2021-21284: never
    // writable by it); their parents need the same so the runtime can reach rootfs and hosts files.
    for (const d of [join(flags.root, 'containers'), join(flags.execRoot, 'c')]) {
      await mkdir(d, { recursive: true, mode: 0o700 });
      await chown(d, 0, root.gid);
      await chmod(d, 0o710);
    }
    log('info', `User namespaces: ID ranges will be mapped to subuid/subgid ranges of: ${remap.user}:${remap.group}`);
  }
  const monitor = new ConmonMonitor({
    conmonPath: findBinary('conmon'),
    exitDir: join(flags.execRoot, 'exits'),
    socketDir: join(flags.execRoot, 's'),
    logLevel: 'error',
  });
  await monitor.init();
  const images = new ImageService({
    store: new JsonImageStore(join(flags.root, 'images')),
    content, snapshotter, events,
    decompress: (src) => maybeDecompress(src),
    readBlob: (digest) => createReadStream(content.path(digest), { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>,
    blobSize: async (digest) => (await statBlob(content.path(digest))).size,
    spillDir: join(flags.root, 'content', 'ingest'),
  });
  await images.load();
  const containerStore = new JsonContainerStore(join(flags.root, 'containers'));
  let resolvConf = '';
  try { resolvConf = await readFile('/etc/resolv.conf', 'utf8'); } catch { /* none */ }
  const logs = new FileLogReader();
  // Networking (docs/design/networking.md): the nftables table is per daemon (per root).
  const nftTable = flags.root === '/var/lib/pier' ? 'pier' : `pier_${createHash('sha256').update(flags.root).digest('hex').slice(0, 8)}`;
  if (flags.ipForward) await writeFile('/proc/sys/net/ipv4/ip_forward', '1').catch((e: Error) => log('warn', `ip_forward: ${e.message}`));
  const [bipIp = '', bipLen = '24'] = flags.bip.split('/');
  const networks = new NetworkService({
    store: new JsonNetworkStore(join(flags.root, 'network')),
    driver: new IprouteNetworkDriver({ table: nftTable, ip: findBinary('ip'), nft: findBinary('nft'), nsenter: findBinary('nsenter'), tc: findBinary('tc') }),
    ports: new SocketPortReserver(),
    dns: new UdpDnsServer(resolvConf.split('\n').map((l) => /^nameserver\s+(\d+\.\d+\.\d+\.\d+)/.exec(l)?.[1]).filter((x): x is string => !!x && !x.startsWith('127.')), (m) => log('warn', m)),
    events,
    defaultBridge: flags.bridge === 'none' ? undefined : { name: flags.bridge, gateway: bipIp, prefixLen: Number(bipLen) },
    pool: flags.addressPool.base, poolPrefix: flags.addressPool.size, mtu: flags.mtu, resolvConf,
    // IPv6 on the host (as dockerd checks): ports without a host IP are also published on [::]
    ipv6: (await readFile('/proc/sys/net/ipv6/conf/all/disable_ipv6', 'utf8').catch(() => '1')).trim() === '0',
    saveContainer: (c) => containerStore.save(c), containerDir: (id) => containerStore.dir(id), log,
  });
  await networks.load();
  const volumes = new VolumeService({ driver: new LocalVolumeDriver(join(flags.root, 'volumes'), remap ? { owner: remappedRoot(remap.mapping) } : {}), events, log });
  await volumes.load();
  const hostProbe = new LinuxHostProbe();
  const cgroups = new FsCgroupManager();
  const containers = new ContainerService({
    store: containerStore, snapshotter, monitor, runtime: new RuncRuntime(), logs, images, events,
    runtimes, defaultRuntime, bundleRoot: join(flags.execRoot, 'c'), resolvConf, log, host: hostProbe, cgroups, networking: networks, volumes, defaults,
    userns: remap?.mapping,
  });
  volumes.setContainers(containers);
  networks.setContainers(containers);
  await mkdir(join(flags.execRoot, 'c'), { recursive: true, mode: remap ? 0o710 : 0o700 });
  await containers.restore();
  // before serving: nothing is creating an image now (docs/design/storage.md, "Crash safety")
  const gc = await collectAtStart({
    images, snapshotter,
    containerLayers: () => containers.list().map((c) => c.imageLayers),
    isContainer: (key) => existsSync(join(containerStore.dir(key), 'container.json')),
  });
  if (gc.blobs + gc.layers + gc.snapshots > 0) log('info', `startup gc: removed ${gc.blobs} blobs, ${gc.layers} layers, ${gc.snapshots} container snapshots nobody references`);
  await networks.reconcile();
  new RestartManager(containers, events, log).start();
  const execs = new ExecService({ containers, monitor, logs, events, execRoot: join(flags.execRoot, 'x') });
  new HealthMonitor(containers, execs, events).start();
  new LogRotator(containers, monitor).start();

  let engineId = '';
  try { engineId = (await readFile(join(flags.root, 'engine-id'), 'utf8')).trim(); } catch { /* new */ }
  if (!engineId) { engineId = randomBytes(16).toString('hex'); await writeFile(join(flags.root, 'engine-id'), engineId); }
  let osName = 'Linux';
  try { osName = /PRETTY_NAME="?([^"\n]*)"?/.exec(await readFile('/etc/os-release', 'utf8'))?.[1] ?? osName; } catch { /* keep */ }

  // `docker info`'s SecurityOptions, in moby's order, and its warning for a non-default profile.
  const hostFacts = await hostProbe.facts();
  const securityOptions = [
    ...(hostFacts.apparmor ? ['name=apparmor'] : []),
    `name=seccomp,profile=${seccompProfileName}`,
    ...(hostFacts.selinux ? ['name=selinux'] : []),
    ...(remap ? ['name=userns'] : []),
    ...((defaults.cgroupnsMode || (hostFacts.cgroup2 ? 'private' : 'host')) === 'private' ? ['name=cgroupns'] : []),
    ...(defaults.noNewPrivileges ? ['name=no-new-privileges'] : []),
  ];
  const infoWarnings = seccompProfileName === 'default' ? [] : ['WARNING: daemon is not using the default seccomp profile'];
  const router = new Router();
  systemRoutes(router, {
    securityOptions, warnings: infoWarnings,
    containers, images, events, root: flags.root, id: engineId, driver,
    runtimes: Object.fromEntries([...runtimes].map(([n, r]) => [n, { path: r.path, ...(r.args.length > 2 ? { runtimeArgs: r.args.slice(2) } : {}) }])),
    defaultRuntime, osName, startedAt: Date.now(), registryMirrors: flags.registryMirrors,
  });
  containerRoutes(router, {
    containers, images, driver, upperDir: (id) => snapshotter.upperDir(id), containerDir: (id) => containerStore.dir(id),
  });
  execRoutes(router, execs);
  resourceRoutes(router, { containers, resources: new ResourceService({ containers, store: containerStore, host: hostProbe, cgroups, runtimes }) });
  networkRoutes(router, { networks, containers });
  volumeRoutes(router, volumes);
  containerFileRoutes(router, new ContainerFilesService({
    containers, images, events, upperDir: (id) => snapshotter.upperDir(id),
    layerDir: (chain) => join(flags.root, 'snapshots', 'layers', chain.replace('sha256:', ''), 'fs'),
  }));
  imageExchangeRoutes(router, {
    archive: new ImageArchiveService({
      images, content, arch: hostArch(),
      // layers may have no stored blob, only a tar-split record: ImageService rebuilds them
      readBlob: (digest) => images.readBlob(digest),
      blobSize: (digest) => images.blobSize(digest),
    }),
    housekeeping: new ImageHousekeeping(images), images, containers, log,
    sizeRw: (c) => dirSize(snapshotter.upperDir(c.id)),
    volumes,
  });
  const remote = new HttpRegistryRemote({ insecure: flags.insecureRegistries, certsDir: flags.registryCertsDir, mirrors: flags.registryMirrors, userAgent: `pier/${ENGINE_VERSION}` });
  const digests = new JsonBlobDigestMap(join(flags.root, 'registry', 'digests.json'));
  const readBlob = (digest: string): AsyncIterable<Buffer> => images.readBlob(digest);
  const puller = new RegistryPuller({ images, remote, snapshotter, digests, concurrency: flags.maxConcurrentDownloads });
  const { pull } = registryRoutes(router, {
    remote,
    puller,
    pusher: new RegistryPusher({ images, remote, digests, readBlob, blobSize: (d) => images.blobSize(d) }),
  });
  imageRoutes(router, { pull, images, driver, layerDirs: (chain) => chain.map((c) => join(snapshotDir, 'layers', c.replace('sha256:', ''), 'fs')) });
  const builds = new BuildService({
    images, containers, snapshotter, upperDir: (key) => snapshotter.upperDir(key),
    stateDir: join(flags.root, 'build'), tmpDir: join(flags.root, 'build', 'tmp'), log,
    pull: async (ref, auth, progress) => (await puller.pull(await puller.resolve(ref, { auth }), progress)).id,
  });
  buildRoutes(router, { builds });
  await builds.reset();

  const servers: Server[] = [];
  for (const host of flags.hosts) {
    const server = createApiServer(router, log);
    await listen(server, host);
    servers.push(server);
    log('info', `API listen on ${host}`);
  }

  const shutdown = (sig: string): void => {
    log('info', `received ${sig}, shutting down; containers keep running`);
    for (const s of servers) s.close();
    monitor.close();
    void networks.shutdown().catch(() => {}).then(() => rm(pidfile, { force: true })).finally(() => {
      try { unlinkSync(lockPath); } catch { /* gone */ }
      process.exit(0);
    });
    setTimeout(() => process.exit(0), 2000).unref();
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('uncaughtException', (e) => log('error', `uncaught: ${e.stack ?? e.message}`));
  process.on('unhandledRejection', (e) => log('error', `unhandled rejection: ${(e as Error)?.stack ?? String(e)}`));
}

/** unix sockets are created root-owned 0660 (group `pier` if it exists), never world-accessible. */
async function listen(server: Server, host: string): Promise<void> {
  if (host.startsWith('unix://')) {
    const path = host.slice(7);
    await mkdir(join(path, '..'), { recursive: true, mode: 0o711 });
    await rm(path, { force: true });
    const old = process.umask(0o117); // the socket is born 0660
    try {
      await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(path, () => resolve()); });
    } finally {
      process.umask(old);
    }
    chmodSync(path, 0o660);
    const gid = pierGroupId();
    if (gid !== undefined) chownSync(path, 0, gid);
    return;
  }
  const m = /^tcp:\/\/([^:]+):([0-9]+)$/.exec(host);
  if (!m) throw new Error(`invalid host: ${host}`);
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(Number(m[2]), m[1], () => resolve()); });
}

/** moby's canAccess: the x bit for others, or for the owner or group the ids match. */
function canTraverse(path: string, uid: number, gid: number): boolean {
  try {
    const st = statSync(path);
    return (st.mode & 0o001) !== 0 || (st.uid === uid && (st.mode & 0o100) !== 0) || (st.gid === gid && (st.mode & 0o010) !== 0);
  } catch {
    return false;
  }
}

function pierGroupId(): number | undefined {
  try {
    for (const line of readFileSync('/etc/group', 'utf8').split('\n')) {
      const f = line.split(':');
      if (f[0] === 'pier') return Number(f[2]);
    }
  } catch { /* none */ }
  return undefined;
}

main().catch((e: Error) => {
  process.stderr.write(`pierd: ${e.message}\n`);
  process.exit(1);
});
