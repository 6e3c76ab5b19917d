/**
 * Cgroup resources from a container's HostConfig: memory, CPU, cpuset, pids, block I/O,
 * devices and device cgroup rules, ulimits, the /dev/shm size and the cgroup parent.
 * Pure options plus Docker's create-time validation (same words as dockerd).
 */
import type { HostConfigWire } from '../../api/index.js';
import type { DeviceRule, SpecOpt } from './spec.js';
import type { DeviceNode, HostFacts } from './host.js';

export const MIN_MEMORY = 6 * 1024 * 1024;
export const DEFAULT_SHM_SIZE = 64 * 1024 * 1024;
const DEFAULT_CPU_PERIOD = 100000;

/** The fields of HostConfig this file reads (the wire shape, as the client sent it). */
export interface ResourcesWire {
  Memory?: number;
  MemorySwap?: number;
  MemoryReservation?: number;
  MemorySwappiness?: number | null;
  KernelMemory?: number;
  OomKillDisable?: boolean | null;
  NanoCpus?: number;
  CpuShares?: number;
  CpuPeriod?: number;
  CpuQuota?: number;
  CpusetCpus?: string;
  CpusetMems?: string;
  PidsLimit?: number | null;
  BlkioWeight?: number;
  BlkioDeviceReadBps?: ThrottleWire[] | null;
  BlkioDeviceWriteBps?: ThrottleWire[] | null;
  BlkioDeviceReadIOps?: ThrottleWire[] | null;
  BlkioDeviceWriteIOps?: ThrottleWire[] | null;
  Ulimits?: Array<{ Name: string; Soft: number; Hard: number }> | null;
  ShmSize?: number;
  CgroupParent?: string;
  Devices?: Array<{ PathOnHost: string; PathInContainer?: string; CgroupPermissions?: string }> | null;
  DeviceCgroupRules?: string[] | null;
  OomScoreAdj?: number;
}
export interface ThrottleWire { Path: string; Rate: number }

export const resourcesOf = (hc: HostConfigWire): ResourcesWire => hc as ResourcesWire;

/** Parses a cpuset list ("0-2,4") into CPU numbers; throws "invalid format" like moby's parsers. */
export function parseCpuset(s: string): number[] {
  const out = new Set<number>();
  if (s === '') return [];
  for (const part of s.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new Error(`invalid format: ${s}`);
    const a = Number(m[1]), b = m[2] === undefined ? a : Number(m[2]);
    if (b < a) throw new Error(`invalid format: ${s}`);
    for (let i = a; i <= b; i++) out.add(i);
  }
  return [...out].sort((x, y) => x - y);
}

/**
 * `<CgroupParent>/<id>`, else `<daemon --cgroup-parent>/<id>`, else `/pier/<id>` (cgroupfs
 * driver; a relative parent is made absolute).
 */
export function cgroupPathFor(hc: HostConfigWire, id: string, daemonParent = ''): string {
  const parent = resourcesOf(hc).CgroupParent || daemonParent;
  if (!parent) return `/pier/${id}`;
  const p = parent.startsWith('/') ? parent : `/${parent}`;
  return `${p.replace(/\/+$/, '')}/${id}`;
}

/**
 * Docker's create-time checks and defaults (moby verifyPlatformContainerResources and
 * adaptContainerSettings). Mutates `hc` (MemorySwap defaults to twice Memory, ShmSize to
 * 64 MiB, an unsupported BlkioWeight is discarded); returns the warnings; throws Error with
 * dockerd's message for invalid values.
 */
export function adaptResources(hc: HostConfigWire, facts: HostFacts, update = false): string[] {
  const r = resourcesOf(hc);
  const w: string[] = [];
  const mem = r.Memory ?? 0, swap = r.MemorySwap ?? 0, resv = r.MemoryReservation ?? 0;
  if (mem !== 0 && mem < MIN_MEMORY) throw new Error('Minimum memory limit allowed is 6MB');
  if (mem > 0 && swap > 0 && swap < mem) throw new Error('Minimum memoryswap limit should be larger than memory limit, see usage');
  if (mem === 0 && swap > 0 && !update) throw new Error('You should always set the Memory limit when using Memoryswap limit, see usage');
  if (r.MemorySwappiness != null && r.MemorySwappiness !== -1 && (r.MemorySwappiness < 0 || r.MemorySwappiness > 100)) {
    throw new Error(`Invalid value: ${r.MemorySwappiness}, valid memory swappiness range is 0-100`);
  }
  if (resv > 0 && resv < MIN_MEMORY) throw new Error('Minimum memory reservation allowed is 6MB');
  if (mem > 0 && resv > 0 && mem < resv) throw new Error('Minimum memory limit can not be less than memory reservation limit, see usage');
  if ((r.KernelMemory ?? 0) > 0) w.push('Specifying a kernel memory limit is deprecated and will be removed in a future release.');
  if (r.OomKillDisable && mem === 0 && !update) w.push('OOM killer is disabled for the container, but no memory limit is set, this can result in the system running out of resources.');
  const nano = r.NanoCpus ?? 0;
  if (nano > 0 && (r.CpuPeriod ?? 0) > 0) throw new Error('Conflicting options: Nano CPUs and CPU Period cannot both be set');
  if (nano > 0 && (r.CpuQuota ?? 0) > 0) throw new Error('Conflicting options: Nano CPUs and CPU Quota cannot both be set');
  if (nano < 0 || nano > facts.ncpu * 1e9) throw new Error(`Range of CPUs is from 0.01 to ${facts.ncpu}.00, as there are only ${facts.ncpu} CPUs available`);
  const period = r.CpuPeriod ?? 0, quota = r.CpuQuota ?? 0;
  if (period !== 0 && (period < 1000 || period > 1000000)) throw new Error('CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)');
  if (quota > 0 && quota < 1000) throw new Error('CPU cfs quota can not be less than 1ms (i.e. 1000)');
  for (const [field, avail, what, noun] of [['CpusetCpus', facts.cpusetCpus, 'cpuset cpus', 'CPUs'], ['CpusetMems', facts.cpusetMems, 'cpuset mems', 'memory nodes']] as const) {
    const v = r[field];
    if (!v) continue;
    let want: number[];
    try {
      want = parseCpuset(v);
    } catch (e) {
      throw new Error(`Invalid value ${v} for ${what}: ${(e as Error).message}`);
    }
    const have = new Set(parseCpuset(avail));
    if (!want.every((n) => have.has(n))) throw new Error(`Requested ${noun} are not available - requested ${v}, available: ${avail}`);
  }
  const weight = r.BlkioWeight ?? 0;
  if (weight > 0 && !facts.blkioWeight) {
    w.push('Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded.');
    r.BlkioWeight = 0;
  } else if (weight > 0 && (weight < 10 || weight > 1000)) throw new Error('Range of blkio weight is from 10 to 1000');
  if ((r.ShmSize ?? 0) < 0) throw new Error('SHM size can not be less than 0');
  const adj = r.OomScoreAdj ?? 0;
  if (adj < -1000 || adj > 1000) throw new Error(`Invalid value ${adj}, range for oom score adj is [-1000, 1000]`);
  for (const u of r.Ulimits ?? []) if (!RLIMITS.has(u.Name)) throw new Error(`invalid ulimit type: ${u.Name}`);
  for (const rule of r.DeviceCgroupRules ?? []) parseDeviceCgroupRule(rule);
  for (const d of r.Devices ?? []) {
    if (d.CgroupPermissions && !/^[rwm]{1,3}$/.test(d.CgroupPermissions)) throw new Error(`invalid device mode: ${d.CgroupPermissions}`);
  }
  if (!update) {
    if (mem > 0 && swap === 0 && facts.swapLimit) r.MemorySwap = mem * 2;
    if (!r.ShmSize) r.ShmSize = DEFAULT_SHM_SIZE;
  }
  return w;
}

export const RLIMITS = new Set(['core', 'cpu', 'data', 'fsize', 'locks', 'memlock', 'msgqueue', 'nice', 'nofile', 'nproc', 'rss', 'rtprio', 'rttime', 'sigpending', 'stack']);

export interface Ulimit { Name: string; Soft: number; Hard: number }

/** `nofile=1024[:2048]` (go-units ParseUlimit, dockerd's `--default-ulimit`); throws its words. */
export function parseUlimit(v: string): Ulimit {
  const i = v.indexOf('=');
  if (i < 0) throw new Error(`invalid ulimit argument: ${v}`);
  const name = v.slice(0, i), limits = v.slice(i + 1).split(':');
  if (!RLIMITS.has(name)) throw new Error(`invalid ulimit type: ${name}`);
  if (limits.length > 2) throw new Error(`too many limit value arguments - ${v.slice(i + 1)}, can only have up to two, \`soft[:hard]\``);
  const int = (x: string): number => {
    if (!/^[+-]?\d+$/.test(x)) throw new Error(`strconv.ParseInt: parsing ${JSON.stringify(x)}: invalid syntax`);
    return Number(x);
  };
  const soft = int(limits[0]!), hard = limits.length === 2 ? int(limits[1]!) : soft;
  if (hard !== -1 && soft > hard) throw new Error(`ulimit soft limit must be less than or equal to hard limit: ${soft} > ${hard}`);
  return { Name: name, Soft: soft, Hard: hard };
}

/** The container's ulimits plus the daemon's `--default-ulimit`s it does not name (moby's mergeUlimits). */
export function mergeUlimits(own: readonly Ulimit[] | null | undefined, defaults: readonly Ulimit[]): Ulimit[] {
  const names = new Set((own ?? []).map((u) => u.Name));
  return [...(own ?? []), ...defaults.filter((u) => !names.has(u.Name))];
}

/** `c 1:3 mr`, `a *:* rwm`: a device cgroup allow rule. */
export function parseDeviceCgroupRule(rule: string): DeviceRule {
  const m = /^([acb]) ([0-9]+|\*):([0-9]+|\*) ([rwm]{1,3})$/.exec(rule);
  if (!m) throw new Error(`invalid device cgroup format '${rule}'`);
  return {
    allow: true, type: m[1]!,
    ...(m[2] !== '*' ? { major: Number(m[2]) } : {}),
    ...(m[3] !== '*' ? { minor: Number(m[3]) } : {}),
    access: m[4]!,
  };
}

/** OCI linux.resources memory/cpu/pids/blockIO from HostConfig (only what is set). */
export function ociResources(r: ResourcesWire, blockDevices: Record<string, { major: number; minor: number }> = {}): {
  memory?: Record<string, unknown>; cpu?: Record<string, unknown>; pids?: { limit: number }; blockIO?: Record<string, unknown>;
} {
  const memory: Record<string, unknown> = {};
  if (r.Memory) memory.limit = r.Memory;
  if (r.MemoryReservation) memory.reservation = r.MemoryReservation;
  if (r.MemorySwap) memory.swap = r.MemorySwap;
  if (r.OomKillDisable) memory.disableOOMKiller = true;
  if (r.MemorySwappiness != null && r.MemorySwappiness >= 0) memory.swappiness = r.MemorySwappiness;
  const cpu: Record<string, unknown> = {};
  if (r.CpuShares) cpu.shares = r.CpuShares;
  if (r.NanoCpus) {
    cpu.period = DEFAULT_CPU_PERIOD;
    cpu.quota = Math.round((r.NanoCpus * DEFAULT_CPU_PERIOD) / 1e9);
  }
  if (r.CpuPeriod) cpu.period = r.CpuPeriod;
  if (r.CpuQuota) cpu.quota = r.CpuQuota;
  if (r.CpusetCpus) cpu.cpus = r.CpusetCpus;
  if (r.CpusetMems) cpu.mems = r.CpusetMems;
  const blockIO: Record<string, unknown> = {};
  if (r.BlkioWeight) blockIO.weight = r.BlkioWeight;
  const throttle = (list: ThrottleWire[] | null | undefined): Array<{ major: number; minor: number; rate: number }> =>
    (list ?? []).map((t) => {
      const dev = blockDevices[t.Path];
      if (!dev) throw new Error(`stat ${t.Path}: no such file or directory`);
      return { ...dev, rate: t.Rate };
    });
  for (const [key, field] of [['throttleReadBpsDevice', 'BlkioDeviceReadBps'], ['throttleWriteBpsDevice', 'BlkioDeviceWriteBps'], ['throttleReadIOPSDevice', 'BlkioDeviceReadIOps'], ['throttleWriteIOPSDevice', 'BlkioDeviceWriteIOps']] as const) {
    const t = throttle(r[field]);
    if (t.length) blockIO[key] = t;
  }
  return {
    ...(Object.keys(memory).length ? { memory } : {}),
    ...(Object.keys(cpu).length ? { cpu } : {}),
    ...(r.PidsLimit && r.PidsLimit > 0 ? { pids: { limit: r.PidsLimit } } : {}),
    ...(Object.keys(blockIO).length ? { blockIO } : {}),
  };
}

/** Memory, CPU, pids and block I/O limits. */
export const withResources = (r: ResourcesWire, blockDevices: Record<string, { major: number; minor: number }> = {}): SpecOpt => (s) => ({
  ...s, linux: { ...s.linux, resources: { ...s.linux.resources, ...ociResources(r, blockDevices) } },
});

/** `--device-cgroup-rule`: extra allow rules after Docker's defaults. */
export const withDeviceCgroupRules = (rules: readonly string[]): SpecOpt => (s) => ({
  ...s,
  linux: { ...s.linux, resources: { ...s.linux.resources, devices: [...(s.linux.resources?.devices ?? []), ...rules.map(parseDeviceCgroupRule)] } },
});

/** `--device`: the node created in the container and an allow rule with its permissions. */
export const withDevices = (devices: ReadonlyArray<DeviceNode & { permissions?: string }>): SpecOpt => (s) => {
  if (!devices.length) return s;
  const nodes = devices.map(({ permissions: _p, ...d }) => d);
  const rules: DeviceRule[] = devices.filter((d) => d.type !== 'p').map((d) => ({ allow: true, type: d.type, major: d.major, minor: d.minor, access: d.permissions || 'rwm' }));
  const paths = new Set(nodes.map((n) => n.path));
  return {
    ...s,
    linux: {
      ...s.linux,
      devices: [...((s.linux.devices ?? []) as DeviceNode[]).filter((d) => !paths.has(d.path)), ...nodes],
      resources: { ...s.linux.resources, devices: [...(s.linux.resources?.devices ?? []), ...rules] },
    },
  };
};

/** `--ulimit nofile=1024:2048` → process.rlimits (Docker sets none by default). */
export const withUlimits = (ulimits: ReadonlyArray<{ Name: string; Soft: number; Hard: number }>): SpecOpt => (s) => {
  if (!ulimits.length) return s;
  const rl = ulimits.map((u) => ({ type: `RLIMIT_${u.Name.toUpperCase()}`, hard: u.Hard, soft: u.Soft }));
  const types = new Set(rl.map((r) => r.type));
  return { ...s, process: { ...s.process, rlimits: [...(s.process.rlimits ?? []).filter((r) => !types.has(r.type)), ...rl] } };
};

/** The size of the /dev/shm tmpfs. */
export const withShmSize = (bytes: number): SpecOpt => (s) => ({
  ...s,
  mounts: s.mounts.map((m) => (m.destination === '/dev/shm' && m.type === 'tmpfs'
    ? { ...m, options: [...(m.options ?? []).filter((o) => !o.startsWith('size=')), `size=${bytes}`] }
    : m)),
});

export const withOomScoreAdj = (adj: number): SpecOpt => (s) => ({ ...s, process: { ...s.process, oomScoreAdj: adj } });
