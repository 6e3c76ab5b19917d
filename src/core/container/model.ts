/**
 * The container as pier stores it. `config` and `hostConfig` keep the Engine API's wire
 * shape because they are the user's request, echoed back by inspect; everything pier
 * decides itself is camelCase domain state.
 */
import type { ContainerConfigWire, HostConfigWire, EndpointSettingsWire } from '../../api/index.js';
import type { MountPoint } from './mounts.js';
import type { IdentityMapping } from '../oci/index.js';

export type ContainerStatus = 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';

export interface ContainerState {
  status: ContainerStatus;
  pid: number;
  exitCode: number;
  error: string;
  /** RFC3339 nano strings; '0001-01-01T00:00:00Z' when unset */
  startedAt: string;
  finishedAt: string;
  oomKilled: boolean;
  /** Set while a user-requested stop/kill is in flight (restart policies ignore that exit). */
  stoppedByUser?: boolean;
  /** Health of a container with a health check (HEALTHCHECK / --health-cmd). */
  health?: HealthState;
}

export type HealthStatus = 'starting' | 'healthy' | 'unhealthy';

export interface HealthState {
  status: HealthStatus;
  failingStreak: number;
  /** The last five probes, oldest first. */
  log: Array<{ start: string; end: string; exitCode: number; output: string }>;
}

export interface ContainerRecord {
  id: string;
  /** Without the leading slash */
  name: string;
  created: string;
  /** `sha256:...` */
  imageId: string;
  /** Layer chain (diff IDs, bottom first) the root filesystem is built from. */
  imageLayers: string[];
  config: ContainerConfigWire;
  hostConfig: HostConfigWire;
  endpoints: Record<string, EndpointSettingsWire>;
  path: string;
  args: string[];
  state: ContainerState;
  restartCount: number;
  /** Runtime name (runc, crun, runsc) chosen at create. */
  runtime: string;
  logPath: string;
  /** Offset of the log file when the current run started (attach streams from here). */
  execIds: string[];
  /** Published ports of the current run (NetworkSettings.Ports), set by networking at start. */
  ports?: Record<string, Array<{ HostIp: string; HostPort: string }> | null>;
  /** Volumes, binds and tmpfs mounts planned at create (core/container/mounts.ts). */
  mounts?: MountPoint[];
  /** The daemon's `--no-new-privileges` when the container was created (moby keeps it with the container). */
  noNewPrivileges?: boolean;
  /** Cgroup path (spec `linux.cgroupsPath`) of the current or last run. */
  cgroupsPath?: string;
  /** The user namespace mapping chosen at create (`--userns-remap`, not `--userns=host`); none: host namespace. */
  userns?: IdentityMapping;
  /**
   * A build step's container, removed after its one run: its root filesystem is mounted
   * without durability (overlay `volatile`), so stopping it does not sync the disk.
   */
  throwaway?: boolean;
}

export const ZERO_TIME = '0001-01-01T00:00:00Z';

export function newState(): ContainerState {
  return { status: 'created', pid: 0, exitCode: 0, error: '', startedAt: ZERO_TIME, finishedAt: ZERO_TIME, oomKilled: false };
}

export const isRunning = (c: ContainerRecord): boolean => c.state.status === 'running' || c.state.status === 'paused';
export const canStart = (c: ContainerRecord): boolean => c.state.status === 'created' || c.state.status === 'exited';
export const isPaused = (c: ContainerRecord): boolean => c.state.status === 'paused';
export const shortId = (id: string): string => id.slice(0, 12);
