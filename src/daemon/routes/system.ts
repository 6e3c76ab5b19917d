/** /_ping, /version, /info, /events, and the stubs other clients' fallbacks need. */
import { cpus, totalmem, hostname, release, type as osType } from 'node:os';
import { API_VERSION, MIN_API_VERSION, ENGINE_VERSION, BUILD_CONTEXT_HEADER, BUILD_CONTEXT_PROTOCOL, parseFilters } from '../../api/index.js';
import { notFound } from '../../lib/errdefs.js';
import { type ContainerService, type EventBus, type ImageService, type EngineEvent, matchEvent, hostArch } from '../../services/index.js';
import type { Router } from '../http/index.js';
import { sendJson, startStream } from '../http/index.js';
import { parseTimestamp } from './streams.js';

export interface SystemRoutesDeps {
  containers: ContainerService;
  images: ImageService;
  events: EventBus;
  root: string;
  id: string;
  driver: string;
  runtimes: Record<string, { path: string; runtimeArgs?: string[] }>;
  defaultRuntime: string;
  osName: string;
  startedAt: number;
  /** `name=seccomp,profile=…` and the others dockerd lists. */
  securityOptions: string[];
  warnings: string[];
  registryMirrors?: string[];
}

export function systemRoutes(r: Router, d: SystemRoutesDeps): void {
  const ping = (body: boolean) => async (ctx: Parameters<Parameters<Router['get']>[1]>[0]): Promise<void> => {
    const res = ctx.res!;
    res.writeHead(200, {
      'Content-Type': 'text/plain; charset=utf-8',
      'Cache-Control': 'no-cache, no-store, must-revalidate',
      Pragma: 'no-cache',
      'Builder-Version': '1',
      [BUILD_CONTEXT_HEADER]: BUILD_CONTEXT_PROTOCOL,
      'Content-Length': body ? 2 : 0,
    });
    res.end(body ? 'OK' : undefined);
  };
  r.get('/_ping', ping(true));
  r.head('/_ping', ping(false));

  const arch = process.arch === 'x64' ? 'x86_64' : process.arch;
  r.get('/version', async (ctx) => {
    const details = {
      ApiVersion: API_VERSION, Arch: hostArch(), BuildTime: '', Experimental: 'false', GitCommit: '',
      GoVersion: `node${process.versions.node}`, KernelVersion: release(), MinAPIVersion: MIN_API_VERSION, Os: 'linux',
    };
    sendJson(ctx, 200, {
      Platform: { Name: 'pier' },
      Components: [{ Name: 'Engine', Version: ENGINE_VERSION, Details: details }],
      Version: ENGINE_VERSION, ApiVersion: API_VERSION, MinAPIVersion: MIN_API_VERSION, GitCommit: '', GoVersion: details.GoVersion,
      Os: 'linux', Arch: hostArch(), KernelVersion: release(), BuildTime: '',
    });
  });

  r.get('/info', async (ctx) => {
    const all = d.containers.list();
    const running = all.filter((c) => c.state.status === 'running').length;
    const paused = all.filter((c) => c.state.status === 'paused').length;
    sendJson(ctx, 200, {
      ID: d.id,
      Containers: all.length,
      ContainersRunning: running,
      ContainersPaused: paused,
      ContainersStopped: all.length - running - paused,
      Images: d.images.list().length,
      Driver: d.driver,
      DriverStatus: [['Backing Filesystem', 'extfs'], ['Supports d_type', 'true']],
      Plugins: { Volume: ['local'], Network: ['bridge', 'host', 'none'], Authorization: null, Log: ['json-file', 'local', 'none'] },
      MemoryLimit: true, SwapLimit: true, KernelMemory: false, KernelMemoryTCP: false, CpuCfsPeriod: true, CpuCfsQuota: true,
      CPUShares: true, CPUSet: true, PidsLimit: true, IPv4Forwarding: true, BridgeNfIptables: true, BridgeNfIp6tables: true,
      Debug: false, NFd: 0, OomKillDisable: true, NGoroutines: 0, SystemTime: new Date().toISOString(), LoggingDriver: 'json-file',
      CgroupDriver: 'cgroupfs', CgroupVersion: '1', NEventsListener: d.events.listenerCount, KernelVersion: release(),
      OperatingSystem: d.osName, OSVersion: '', OSType: osType().toLowerCase(), Architecture: arch,
      IndexServerAddress: 'https://index.docker.io/v1/',
      RegistryConfig: { AllowNondistributableArtifactsCIDRs: [], AllowNondistributableArtifactsHostnames: [], InsecureRegistryCIDRs: ['127.0.0.0/8'], IndexConfigs: { 'docker.io': { Name: 'docker.io', Mirrors: d.registryMirrors ?? [], Secure: true, Official: true } }, Mirrors: d.registryMirrors ?? [] },
      NCPU: cpus().length, MemTotal: totalmem(), GenericResources: null, DockerRootDir: d.root, HttpProxy: '', HttpsProxy: '', NoProxy: '',
      Name: hostname(), Labels: [], ExperimentalBuild: false, ServerVersion: ENGINE_VERSION,
      Runtimes: d.runtimes, DefaultRuntime: d.defaultRuntime,
      Swarm: { NodeID: '', NodeAddr: '', LocalNodeState: 'inactive', ControlAvailable: false, Error: '', RemoteManagers: null },
      LiveRestoreEnabled: true, Isolation: '', InitBinary: 'docker-init',
      ContainerdCommit: { ID: '', Expected: '' }, RuncCommit: { ID: '', Expected: '' }, InitCommit: { ID: '', Expected: '' },
      SecurityOptions: d.securityOptions, Warnings: d.warnings,
    });
  });

  r.get('/events', async (ctx) => {
    const filters = parseFilters(ctx.q('filters'));
    const since = parseTimestamp(ctx.q('since'));
    const until = parseTimestamp(ctx.q('until'));
    const s = startStream(ctx, 'application/json');
    const send = (e: EngineEvent): void => {
      if (until !== undefined && e.timeNano > until) return;
      if (matchEvent(e, filters)) s.write(JSON.stringify(eventWire(e)) + '\n');
    };
    const sub = d.events.subscribe(send, since ?? (until !== undefined ? 0n : undefined));
    for (const e of sub.past) send(e);
    const nowNs = BigInt(Date.now()) * 1_000_000n;
    if (until !== undefined && until <= nowNs) { sub.unsubscribe(); s.end(); return; }
    await new Promise<void>((resolve) => {
      s.closed.addEventListener('abort', () => resolve());
      if (until !== undefined) setTimeout(resolve, Number((until - nowNs) / 1_000_000n)).unref();
    });
    sub.unsubscribe();
    s.end();
  });

  r.get('/plugins/*name/json', async (ctx) => {
    throw notFound(`plugin "${ctx.params.name}" not found`);
  });
  r.get('/plugins', async (ctx) => sendJson(ctx, 200, []));
}

export function eventWire(e: EngineEvent): Record<string, unknown> {
  const time = Number(e.timeNano / 1_000_000_000n);
  const base: Record<string, unknown> = {
    Type: e.type, Action: e.action, Actor: { ID: e.actorId, Attributes: e.attributes }, scope: 'local', time, timeNano: Number(e.timeNano),
  };
  if (e.type === 'container' || e.type === 'image') {
    base.status = e.action;
    base.id = e.actorId;
    if (e.from !== undefined) base.from = e.from;
  }
  return base;
}
