/**
 * The resource and security flags of `run`/`create` (issue 7) and the HostConfig fields they
 * set, parsed the way docker/cli's opts do. Memory (-m), --cpus, --cap-add/--cap-drop,
 * --security-opt, --read-only, --privileged, --tmpfs and --init live in container-options.ts.
 */
import { ramInBytes } from '../../../api/units.js';
import { flagBool, flagInt, flagList, flagString, type FlagDef, type ParsedFlags } from '../../flags/index.js';

export const RESOURCE_FLAGS: readonly FlagDef[] = [
  { long: 'blkio-weight', kind: 'int', usage: 'Block IO (relative weight), between 10 and 1000, or 0 to disable (default 0)' },
  { long: 'cgroup-parent', kind: 'string', usage: 'Optional parent cgroup for the container' },
  { long: 'cpu-period', kind: 'int', usage: 'Limit CPU CFS (Completely Fair Scheduler) period' },
  { long: 'cpu-quota', kind: 'int', usage: 'Limit CPU CFS (Completely Fair Scheduler) quota' },
  { long: 'cpu-shares', short: 'c', kind: 'int', usage: 'CPU shares (relative weight)' },
  { long: 'cpuset-cpus', kind: 'string', usage: 'CPUs in which to allow execution (0-3, 0,1)' },
  { long: 'cpuset-mems', kind: 'string', usage: 'MEMs in which to allow execution (0-3, 0,1)' },
  { long: 'device', kind: 'stringArray', valueName: 'list', usage: 'Add a host device to the container' },
  { long: 'device-cgroup-rule', kind: 'stringArray', valueName: 'list', usage: 'Add a rule to the cgroup allowed devices list' },
  { long: 'device-read-bps', kind: 'stringArray', valueName: 'list', usage: 'Limit read rate (bytes per second) from a device' },
  { long: 'device-read-iops', kind: 'stringArray', valueName: 'list', usage: 'Limit read rate (IO per second) from a device' },
  { long: 'device-write-bps', kind: 'stringArray', valueName: 'list', usage: 'Limit write rate (bytes per second) to a device' },
  { long: 'device-write-iops', kind: 'stringArray', valueName: 'list', usage: 'Limit write rate (IO per second) to a device' },
  { long: 'group-add', kind: 'stringArray', valueName: 'list', usage: 'Add additional groups to join' },
  { long: 'kernel-memory', kind: 'string', valueName: 'bytes', usage: 'Kernel memory limit' },
  { long: 'memory-reservation', kind: 'string', valueName: 'bytes', usage: 'Memory soft limit' },
  { long: 'memory-swap', kind: 'string', valueName: 'bytes', usage: "Swap limit equal to memory plus swap: '-1' to enable unlimited swap" },
  { long: 'memory-swappiness', kind: 'int', usage: 'Tune container memory swappiness (0 to 100) (default -1)' },
  { long: 'oom-kill-disable', kind: 'bool', usage: 'Disable OOM Killer' },
  { long: 'oom-score-adj', kind: 'int', usage: "Tune host's OOM preferences (-1000 to 1000)" },
  { long: 'pids-limit', kind: 'int', usage: 'Tune container pids limit (set -1 for unlimited)' },
  { long: 'shm-size', kind: 'string', valueName: 'bytes', usage: 'Size of /dev/shm' },
  { long: 'sysctl', kind: 'stringArray', valueName: 'map', usage: 'Sysctl options' },
  { long: 'ulimit', kind: 'stringArray', valueName: 'ulimit', usage: 'Ulimit options' },
];

const ULIMITS = ['core', 'cpu', 'data', 'fsize', 'locks', 'memlock', 'msgqueue', 'nice', 'nofile', 'nproc', 'rss', 'rtprio', 'rttime', 'sigpending', 'stack'];

/** `nofile=1024[:2048]` → `{Name, Soft, Hard}` (docker/cli's ulimit parser). */
export function parseUlimit(v: string): { Name: string; Soft: number; Hard: number } {
  const [name = '', limits = ''] = v.split('=', 2);
  if (!ULIMITS.includes(name)) throw new Error(`invalid argument "${v}" for "--ulimit" flag: invalid ulimit type: ${name}`);
  const [soft = '', hard = soft] = limits.split(':');
  const s = Number(soft), h = Number(hard);
  if (!/^-?\d+$/.test(soft) || !/^-?\d+$/.test(hard)) throw new Error(`invalid argument "${v}" for "--ulimit" flag: invalid ulimit argument: ${limits}`);
  if (s > h) throw new Error(`invalid argument "${v}" for "--ulimit" flag: ulimit soft limit must be less than or equal to hard limit: ${s} > ${h}`);
  return { Name: name, Soft: s, Hard: h };
}

/** `/dev/sda:/dev/xvda:rwm` → Docker's DeviceMapping. */
export function parseDevice(v: string): { PathOnHost: string; PathInContainer: string; CgroupPermissions: string } {
  const parts = v.split(':');
  let perms = 'rwm';
  if (parts.length > 1 && /^[rwm]{1,3}$/.test(parts[parts.length - 1]!)) perms = parts.pop()!;
  if (parts.length > 2) throw new Error(`invalid argument "${v}" for "--device" flag: invalid device specification: ${v}`);
  return { PathOnHost: parts[0]!, PathInContainer: parts[1] ?? parts[0]!, CgroupPermissions: perms };
}

function throttle(p: ParsedFlags, flag: string, bytes: boolean): Array<{ Path: string; Rate: number }> | null {
  const out = flagList(p, flag).map((v) => {
    const i = v.lastIndexOf(':');
    if (i <= 0) throw new Error(`invalid argument "${v}" for "--${flag}" flag: bad format: ${v}`);
    const path = v.slice(0, i), rate = v.slice(i + 1);
    if (!path.startsWith('/dev/')) throw new Error(`invalid argument "${v}" for "--${flag}" flag: bad format for device path: ${v}`);
    let n: number;
    try {
      n = bytes ? ramInBytes(rate) : Number(rate);
    } catch {
      n = NaN;
    }
    if (!Number.isInteger(n) || n < 0) throw new Error(`invalid argument "${v}" for "--${flag}" flag: invalid rate for device: ${v}. The correct format is <device-path>:<number>${bytes ? '[<unit>]' : ''}. Number must be a positive integer. ${bytes ? 'Unit is optional and can be kb, mb, or gb' : ''}`.trimEnd());
    return { Path: path, Rate: n };
  });
  return out.length ? out : null;
}

const bytesFlag = (p: ParsedFlags, flag: string): number => {
  const v = flagString(p, flag);
  if (!v) return 0;
  if (v === '-1') return -1;
  try {
    return ramInBytes(v);
  } catch (e) {
    throw new Error(`invalid argument "${v}" for "--${flag}" flag: ${(e as Error).message}`);
  }
};

/** The HostConfig fields of RESOURCE_FLAGS; throws Error with docker/cli's message. */
export function resourceHostConfig(p: ParsedFlags): Record<string, unknown> {
  const sysctls: Record<string, string> = {};
  for (const s of flagList(p, 'sysctl')) {
    const i = s.indexOf('=');
    if (i <= 0) throw new Error(`invalid argument "${s}" for "--sysctl" flag: ${s} is not a valid sysctl value`);
    sysctls[s.slice(0, i)] = s.slice(i + 1);
  }
  const swappiness = p.changed.has('memory-swappiness') ? flagInt(p, 'memory-swappiness') : -1;
  if (swappiness !== -1 && (swappiness < 0 || swappiness > 100)) throw new Error(`invalid value: ${swappiness}. Valid memory swappiness range is 0-100`);
  const rules = flagList(p, 'device-cgroup-rule');
  for (const r of rules) if (!/^([acb]) ([0-9]+|\*):([0-9]+|\*) ([rwm]{1,3})$/.test(r)) throw new Error(`invalid argument "${r}" for "--device-cgroup-rule" flag: invalid device cgroup format '${r}'`);
  return {
    MemorySwap: bytesFlag(p, 'memory-swap'),
    MemoryReservation: bytesFlag(p, 'memory-reservation'),
    KernelMemory: bytesFlag(p, 'kernel-memory'),
    MemorySwappiness: swappiness,
    OomKillDisable: flagBool(p, 'oom-kill-disable'),
    OomScoreAdj: flagInt(p, 'oom-score-adj'),
    CpuShares: flagInt(p, 'cpu-shares'),
    CpuPeriod: flagInt(p, 'cpu-period'),
    CpuQuota: flagInt(p, 'cpu-quota'),
    CpusetCpus: flagString(p, 'cpuset-cpus'),
    CpusetMems: flagString(p, 'cpuset-mems'),
    PidsLimit: p.changed.has('pids-limit') ? flagInt(p, 'pids-limit') : null,
    BlkioWeight: flagInt(p, 'blkio-weight'),
    BlkioDeviceReadBps: throttle(p, 'device-read-bps', true),
    BlkioDeviceWriteBps: throttle(p, 'device-write-bps', true),
    BlkioDeviceReadIOps: throttle(p, 'device-read-iops', false),
    BlkioDeviceWriteIOps: throttle(p, 'device-write-iops', false),
    Ulimits: flagList(p, 'ulimit').length ? flagList(p, 'ulimit').map(parseUlimit) : null,
    ShmSize: bytesFlag(p, 'shm-size'),
    CgroupParent: flagString(p, 'cgroup-parent'),
    Devices: flagList(p, 'device').map(parseDevice),
    DeviceCgroupRules: rules.length ? rules : null,
    GroupAdd: flagList(p, 'group-add').length ? flagList(p, 'group-add') : null,
    ...(Object.keys(sysctls).length ? { Sysctls: sysctls } : {}),
  };
}
