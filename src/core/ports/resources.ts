/**
 * Ports for issue 7's resources and confinement: what the host offers (devices, init, LSMs,
 * CPUs) and the container's cgroup (stats, live limit changes, OOM kills).
 */
import type { HostConfigWire } from '../../api/index.js';
import type { HostFacts, HostSpecInputs } from '../oci/index.js';
import type { RuntimeConfig } from './index.js';

export interface HostProbe {
  /** Cached after the first call. */
  facts(): Promise<HostFacts>;
  /** Resolves the host paths a container's HostConfig names (devices, block devices, all of /dev for --privileged). */
  specInputs(hc: HostConfigWire): Promise<HostSpecInputs>;
}

/** One sample of a container's cgroup, in the units Docker's stats JSON uses (ns, bytes). */
export interface CgroupSample {
  /** cgroup v1 or v2 (memory_stats.stats keys differ). */
  version: 1 | 2;
  cpu: { total: number; percpu: number[]; kernel: number; user: number; periods: number; throttledPeriods: number; throttledTime: number };
  /** Host-wide CPU time (ns) from /proc/stat. */
  systemCpu: number;
  onlineCpus: number;
  memory: { usage: number; maxUsage?: number; failcnt?: number; limit: number; stats: Record<string, number> };
  blkio: Array<{ major: number; minor: number; op: string; value: number }>;
  pids: { current: number; limit?: number };
  /** Interfaces in the container's network namespace (lo excluded). */
  networks: Record<string, { rx_bytes: number; rx_packets: number; rx_errors: number; rx_dropped: number; tx_bytes: number; tx_packets: number; tx_errors: number; tx_dropped: number }>;
}

export interface CgroupManager {
  /** `path` is the container's cgroupsPath (`/pier/<id>`); pid its init (for network counters). */
  sample(path: string, pid: number): Promise<CgroupSample>;
  /** Changes limits of a running container (`runc update` with an OCI LinuxResources object). */
  update(rt: RuntimeConfig, id: string, resources: Record<string, unknown>): Promise<void>;
  /** Whether the kernel OOM-killed a process in the cgroup (read before the cgroup is removed). */
  oomKilled(path: string, bundle: string): Promise<boolean>;
}
