/**
 * Readers for a container's cgroup counters, v1 (one hierarchy per controller) and v2
 * (unified), over a root directory so tests can point them at fake files.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CgroupSample } from '../../core/ports/index.js';

const UNLIMITED_V1 = 0x7ffffffffffff000;

async function text(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
}
async function num(path: string): Promise<number> {
  const t = (await text(path))?.trim();
  if (t === undefined || t === '' || t === 'max') return 0;
  return Number(t);
}
/** "key value" lines → record. */
export function parseFlatKeyed(t: string | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of (t ?? '').split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined && /^-?\d+$/.test(v)) out[k] = Number(v);
  }
  return out;
}

/** blkio.throttle.io_service_bytes_recursive: "8:0 Read 1234" lines ("Total" skipped). */
export function parseBlkioV1(t: string | undefined): CgroupSample['blkio'] {
  const out: CgroupSample['blkio'] = [];
  for (const line of (t ?? '').split('\n')) {
    const m = /^(\d+):(\d+)\s+(\w+)\s+(\d+)$/.exec(line.trim());
    if (m) out.push({ major: Number(m[1]), minor: Number(m[2]), op: m[3]!, value: Number(m[4]) });
  }
  return out;
}

/** io.stat: "8:0 rbytes=1 wbytes=2 rios=3 wios=4 …" → Docker's v2 entries (op "read"/"write"). */
export function parseIoStatV2(t: string | undefined): CgroupSample['blkio'] {
  const out: CgroupSample['blkio'] = [];
  for (const line of (t ?? '').split('\n')) {
    const [dev, ...kv] = line.trim().split(/\s+/);
    const m = /^(\d+):(\d+)$/.exec(dev ?? '');
    if (!m) continue;
    const f = Object.fromEntries(kv.map((x) => x.split('=') as [string, string]));
    out.push({ major: Number(m[1]), minor: Number(m[2]), op: 'read', value: Number(f.rbytes ?? 0) });
    out.push({ major: Number(m[1]), minor: Number(m[2]), op: 'write', value: Number(f.wbytes ?? 0) });
  }
  return out;
}

/** /proc/stat's "cpu" line, first 7 fields, in ns (USER_HZ = 100), like moby's getSystemCPUUsage. */
export function systemCpuFromProcStat(t: string): number {
  const line = t.split('\n').find((l) => l.startsWith('cpu '));
  if (!line) return 0;
  const ticks = line.trim().split(/\s+/).slice(1, 8).reduce((a, v) => a + Number(v), 0);
  return ticks * 1e7;
}

/** /proc/<pid>/net/dev → per-interface counters (lo excluded). */
export function parseNetDev(t: string | undefined): CgroupSample['networks'] {
  const out: CgroupSample['networks'] = {};
  for (const line of (t ?? '').split('\n').slice(2)) {
    const i = line.indexOf(':');
    if (i < 0) continue;
    const name = line.slice(0, i).trim();
    if (name === 'lo') continue;
    const v = line.slice(i + 1).trim().split(/\s+/).map(Number);
    out[name] = {
      rx_bytes: v[0] ?? 0, rx_packets: v[1] ?? 0, rx_errors: v[2] ?? 0, rx_dropped: v[3] ?? 0,
      tx_bytes: v[8] ?? 0, tx_packets: v[9] ?? 0, tx_errors: v[10] ?? 0, tx_dropped: v[11] ?? 0,
    };
  }
  return out;
}

export interface ReaderEnv { cgroupRoot: string; procRoot: string; memTotal: number; onlineCpus: number }

export async function sampleV1(env: ReaderEnv, path: string, pid: number): Promise<CgroupSample> {
  const c = (ctrl: string, file: string): string => join(env.cgroupRoot, ctrl, path, file);
  const [total, percpu, cpuStat, acctStat, usage, maxUsage, failcnt, limit, memStat, blkio, pidsCur, pidsMax, procStat, netDev] = await Promise.all([
    num(c('cpuacct', 'cpuacct.usage')), text(c('cpuacct', 'cpuacct.usage_percpu')), text(c('cpu', 'cpu.stat')), text(c('cpuacct', 'cpuacct.stat')),
    num(c('memory', 'memory.usage_in_bytes')), num(c('memory', 'memory.max_usage_in_bytes')), num(c('memory', 'memory.failcnt')),
    num(c('memory', 'memory.limit_in_bytes')), text(c('memory', 'memory.stat')),
    text(c('blkio', 'blkio.throttle.io_service_bytes_recursive')), num(c('pids', 'pids.current')), text(c('pids', 'pids.max')),
    text(join(env.procRoot, 'stat')), pid > 0 ? text(join(env.procRoot, String(pid), 'net/dev')) : Promise.resolve(undefined),
  ]);
  const cs = parseFlatKeyed(cpuStat), acct = parseFlatKeyed(acctStat);
  const pmax = pidsMax?.trim();
  return {
    version: 1,
    cpu: {
      total, percpu: (percpu ?? '').trim().split(/\s+/).filter(Boolean).map(Number),
      kernel: (acct.system ?? 0) * 1e7, user: (acct.user ?? 0) * 1e7,
      periods: cs.nr_periods ?? 0, throttledPeriods: cs.nr_throttled ?? 0, throttledTime: cs.throttled_time ?? 0,
    },
    systemCpu: systemCpuFromProcStat(procStat ?? ''),
    onlineCpus: env.onlineCpus,
    memory: { usage, maxUsage, failcnt, limit: limit >= UNLIMITED_V1 || limit === 0 ? env.memTotal : Math.min(limit, env.memTotal || limit), stats: parseFlatKeyed(memStat) },
    blkio: parseBlkioV1(blkio),
    pids: { current: pidsCur, ...(pmax && pmax !== 'max' ? { limit: Number(pmax) } : {}) },
    networks: parseNetDev(netDev),
  };
}

export async function sampleV2(env: ReaderEnv, path: string, pid: number): Promise<CgroupSample> {
  const c = (file: string): string => join(env.cgroupRoot, path, file);
  const [cpuStat, usage, max, memStat, io, pidsCur, pidsMax, procStat, netDev] = await Promise.all([
    text(c('cpu.stat')), num(c('memory.current')), text(c('memory.max')), text(c('memory.stat')), text(c('io.stat')),
    num(c('pids.current')), text(c('pids.max')), text(join(env.procRoot, 'stat')),
    pid > 0 ? text(join(env.procRoot, String(pid), 'net/dev')) : Promise.resolve(undefined),
  ]);
  const cs = parseFlatKeyed(cpuStat);
  const m = max?.trim();
  const pmax = pidsMax?.trim();
  return {
    version: 2,
    cpu: {
      total: (cs.usage_usec ?? 0) * 1000, percpu: [], kernel: (cs.system_usec ?? 0) * 1000, user: (cs.user_usec ?? 0) * 1000,
      periods: cs.nr_periods ?? 0, throttledPeriods: cs.nr_throttled ?? 0, throttledTime: (cs.throttled_usec ?? 0) * 1000,
    },
    systemCpu: systemCpuFromProcStat(procStat ?? ''),
    onlineCpus: env.onlineCpus,
    memory: { usage, limit: !m || m === 'max' ? env.memTotal : Number(m), stats: parseFlatKeyed(memStat) },
    blkio: parseIoStatV2(io),
    pids: { current: pidsCur, ...(pmax && pmax !== 'max' ? { limit: Number(pmax) } : {}) },
    networks: parseNetDev(netDev),
  };
}

/** v1: memory.oom_control's oom_kill counter; v2: memory.events' oom_kill. */
export async function oomKilledV1(cgroupRoot: string, path: string): Promise<boolean> {
  return (parseFlatKeyed(await text(join(cgroupRoot, 'memory', path, 'memory.oom_control'))).oom_kill ?? 0) > 0;
}
export async function oomKilledV2(cgroupRoot: string, path: string): Promise<boolean> {
  return (parseFlatKeyed(await text(join(cgroupRoot, path, 'memory.events'))).oom_kill ?? 0) > 0;
}
