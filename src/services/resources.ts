/**
 * Issue 7's resources and confinement as use cases: create-time validation of HostConfig,
 * the spec options a container's HostConfig adds, `stats`, `update` (limits changed live
 * with the runtime's `update`), and OOM detection at exit.
 */
import type { HostConfigWire } from '../api/index.js';
import { isRunning, type ContainerRecord } from '../core/container/index.js';
import {
  adaptHostConfig, adaptResources, cgroupPathFor, hostConfigOpts, ociResources, resourcesOf, DOCKER_DEFAULTS, type ContainerDefaults, type ResourcesWire, type SpecOpt,
} from '../core/oci/index.js';
import type { CgroupManager, CgroupSample, ContainerStore, HostProbe, RuntimeConfig } from '../core/ports/index.js';
import { conflict, invalidArgument, EngineError } from '../lib/errdefs.js';

/** Create: Docker's checks and defaults on HostConfig; resolves with the warnings. */
export async function validateHostConfigResources(host: HostProbe | undefined, hc: HostConfigWire, defaults: ContainerDefaults = DOCKER_DEFAULTS): Promise<string[]> {
  if (!host) return [];
  const facts = await host.facts();
  try {
    return adaptHostConfig(hc, facts, defaults);
  } catch (e) {
    throw invalidArgument((e as Error).message);
  }
}

/** Start: the spec options for the container's resources and security settings. */
export async function resourceSpecOpts(c: ContainerRecord, host: HostProbe | undefined, defaults: ContainerDefaults = DOCKER_DEFAULTS): Promise<SpecOpt[]> {
  if (!host) return [];
  return hostConfigOpts(c.id, c.hostConfig, await host.specInputs(c.hostConfig), { ...defaults, noNewPrivileges: !!c.noNewPrivileges });
}

/** The container's cgroup: the one its current (or last) run got, else the one it would get. */
export function cgroupOf(c: ContainerRecord): string {
  return c.cgroupsPath ?? cgroupPathFor(c.hostConfig, c.id);
}

/** Exit: whether the kernel OOM-killed in the container's cgroup (read before the cgroup goes). */
export async function oomKilledAtExit(cgroups: CgroupManager | undefined, c: ContainerRecord, bundle: string): Promise<boolean> {
  if (!cgroups) return false;
  return cgroups.oomKilled(cgroupOf(c), bundle).catch(() => false);
}

/** The fields `POST /containers/{id}/update` accepts (Docker's UpdateConfig). */
export interface UpdateBody extends ResourcesWire {
  RestartPolicy?: { Name?: string; MaximumRetryCount?: number };
  [k: string]: unknown;
}

const UPDATABLE = [
  'Memory', 'MemorySwap', 'MemoryReservation', 'KernelMemory', 'NanoCpus', 'CpuShares', 'CpuPeriod', 'CpuQuota',
  'CpusetCpus', 'CpusetMems', 'PidsLimit', 'BlkioWeight', 'CpuRealtimePeriod', 'CpuRealtimeRuntime',
] as const;

export interface ResourceServiceDeps {
  containers: { get(ref: string): ContainerRecord };
  store: ContainerStore;
  host: HostProbe;
  cgroups: CgroupManager;
  runtimes: Map<string, RuntimeConfig>;
}

export class ResourceService {
  constructor(private readonly d: ResourceServiceDeps) {}

  /** One sample of a running container's cgroup; a stopped container gives undefined. */
  async sample(c: ContainerRecord): Promise<CgroupSample | undefined> {
    if (!isRunning(c)) return undefined;
    return this.d.cgroups.sample(cgroupOf(c), c.state.pid);
  }

  /** `docker update`: validates like create, records the new values, and applies them live. */
  async update(ref: string, body: UpdateBody): Promise<string[]> {
    const c = this.d.containers.get(ref);
    if (c.state.status === 'removing' || c.state.status === 'dead') throw conflict(`Cannot update container ${c.id}: container is marked for removal and cannot be "update"`);
    const cur = resourcesOf(c.hostConfig);
    const next: HostConfigWire = { ...c.hostConfig };
    const changed: ResourcesWire = {};
    for (const k of UPDATABLE) {
      const v = body[k];
      if (v === undefined || v === null) continue;
      if (typeof v === 'number' && v === 0 && k !== 'PidsLimit') continue;
      if (typeof v === 'string' && v === '') continue;
      (next as Record<string, unknown>)[k] = v;
      (changed as Record<string, unknown>)[k] = v;
    }
    if (changed.NanoCpus) { (next as ResourcesWire).CpuPeriod = 0; (next as ResourcesWire).CpuQuota = 0; }
    if (changed.Memory && !changed.MemorySwap && (cur.MemorySwap ?? 0) > 0 && changed.Memory > (cur.MemorySwap ?? 0)) {
      throw invalidArgument(`Cannot update container ${c.id}: Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time`);
    }
    if (changed.KernelMemory) throw invalidArgument(`Cannot update container ${c.id}: Kernel memory limit is deprecated and cannot be updated`);
    let warnings: string[];
    try {
      warnings = adaptResources(next, await this.d.host.facts(), true);
    } catch (e) {
      throw invalidArgument(`Cannot update container ${c.id}: ${(e as Error).message}`);
    }
    if (body.RestartPolicy?.Name !== undefined) {
      if (c.hostConfig.AutoRemove && body.RestartPolicy.Name !== 'no' && body.RestartPolicy.Name !== '') throw invalidArgument(`Cannot update container ${c.id}: Restart policy cannot be updated because AutoRemove is enabled for the container`);
      next.RestartPolicy = { Name: body.RestartPolicy.Name || 'no', MaximumRetryCount: body.RestartPolicy.MaximumRetryCount ?? 0 };
    }
    if (isRunning(c) && Object.keys(changed).length) {
      const live = ociResources(changed);
      // A new memory limit above the old memory+swap total must raise the total first.
      if (changed.Memory && !changed.MemorySwap && (cur.MemorySwap ?? 0) === -1) (live.memory ??= {}).swap = -1;
      if (changed.PidsLimit != null && changed.PidsLimit <= 0) live.pids = { limit: -1 } as { limit: number };
      const rt = this.d.runtimes.get(c.runtime);
      if (!rt) throw invalidArgument(`unknown or invalid runtime name: ${c.runtime}`);
      try {
        await this.d.cgroups.update(rt, c.id, live);
      } catch (e) {
        throw new EngineError('internal', `Cannot update container ${c.id}: ${(e as Error).message}`, { cause: e });
      }
    }
    c.hostConfig = next;
    await this.d.store.save(c);
    return warnings;
  }
}
