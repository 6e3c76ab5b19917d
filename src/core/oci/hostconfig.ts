/**
 * The resource and security part of `docker run` → spec: one function turns a container's
 * HostConfig (plus the host facts an adapter resolved) into the spec options, another does
 * the create-time validation with Docker's messages.
 */
import type { HostConfigWire } from '../../api/index.js';
import type { SpecOpt } from './spec.js';
import { withCgroupsPath, withNamespace } from './spec.js';
import type { HostFacts, HostSpecInputs } from './host.js';
import {
  adaptResources, cgroupPathFor, DEFAULT_SHM_SIZE, mergeUlimits, type Ulimit, resourcesOf, withDeviceCgroupRules, withDevices, withOomScoreAdj, withResources, withShmSize, withUlimits,
} from './resources.js';
import {
  ALL_CAPABILITIES, capabilitiesFor, normalizeCaps, parseSecurityOpts, validateSysctls, withApparmor, withCapabilities, withHostDevices, withInit,
  withNoNewPrivileges, withoutSystemPaths, withSysReadonly, withReadonlyRootfs, withSeccomp, withSelinuxLabel, withSysctls,
} from './security.js';

/**
 * dockerd's daemon-wide container defaults (pierd's `--seccomp-profile`, `--no-new-privileges`,
 * `--default-ulimit`, `--default-shm-size`, `--cgroup-parent`, `--default-cgroupns-mode`).
 */
export interface ContainerDefaults {
  /** `builtin` (Docker's default profile), `unconfined`, or the JSON of the profile file. */
  seccompProfile: string;
  /** Taken at create and kept with the container, as moby does. */
  noNewPrivileges: boolean;
  /** Merged at start under the container's own `--ulimit`s (same name: the container's wins). */
  ulimits: Ulimit[];
  /** ShmSize of containers created without `--shm-size`. */
  shmSize: number;
  /** Cgroup parent of containers without `--cgroup-parent` ('' = /pier). */
  cgroupParent: string;
  /** CgroupnsMode of containers created without `--cgroupns` ('' = host on cgroup v1, private on v2). */
  cgroupnsMode: '' | 'host' | 'private';
}

export const DOCKER_DEFAULTS: ContainerDefaults = { seccompProfile: 'builtin', noNewPrivileges: false, ulimits: [], shmSize: DEFAULT_SHM_SIZE, cgroupParent: '', cgroupnsMode: '' };

/** Create-time checks and defaults; returns warnings, throws Error with Docker's message. */
export function adaptHostConfig(hc: HostConfigWire, facts: HostFacts, defaults: ContainerDefaults = DOCKER_DEFAULTS): string[] {
  const r = resourcesOf(hc);
  if (!r.ShmSize) r.ShmSize = defaults.shmSize;
  const ns = (hc as { CgroupnsMode?: string }).CgroupnsMode ?? '';
  if (ns !== '' && ns !== 'host' && ns !== 'private') throw new Error(`invalid cgroup namespace mode: ${ns}`);
  if (ns === '') {
    // moby: a privileged container keeps the host's cgroup namespace on cgroup v1.
    const mode = hc.Privileged && !facts.cgroup2 ? 'host' : defaults.cgroupnsMode || (facts.cgroup2 ? 'private' : 'host');
    (hc as { CgroupnsMode?: string }).CgroupnsMode = mode;
  }
  const warnings = adaptResources(hc, facts);
  normalizeCaps(hc.CapAdd, 'CapAdd');
  normalizeCaps(hc.CapDrop, 'CapDrop');
  parseSecurityOpts(hc.SecurityOpt);
  validateSysctls(hc.Sysctls, { network: hc.NetworkMode, ipc: hc.IpcMode });
  return warnings;
}

/** The host paths adapters must resolve before hostConfigOpts can run. */
export function hostPathsNeeded(hc: HostConfigWire): { devices: Array<{ host: string; container: string; permissions: string }>; blockDevices: string[]; hostDevices: boolean } {
  const r = resourcesOf(hc);
  return {
    devices: (r.Devices ?? []).map((d) => ({ host: d.PathOnHost, container: d.PathInContainer || d.PathOnHost, permissions: d.CgroupPermissions || 'rwm' })),
    blockDevices: [...new Set([r.BlkioDeviceReadBps, r.BlkioDeviceWriteBps, r.BlkioDeviceReadIOps, r.BlkioDeviceWriteIOps].flatMap((l) => (l ?? []).map((t) => t.Path)))],
    hostDevices: !!hc.Privileged,
  };
}

/** `defaults.noNewPrivileges` is the one recorded with the container at create. */
export function hostConfigOpts(id: string, hc: HostConfigWire, host: HostSpecInputs, defaults: ContainerDefaults = DOCKER_DEFAULTS): SpecOpt[] {
  const r = resourcesOf(hc);
  const sec = parseSecurityOpts(hc.SecurityOpt, defaults.noNewPrivileges);
  const privileged = !!hc.Privileged;
  const opts: SpecOpt[] = [
    withCgroupsPath(cgroupPathFor(hc, id, defaults.cgroupParent)),
    withResources(r, host.blockDevices),
    withDeviceCgroupRules(r.DeviceCgroupRules ?? []),
    withDevices(host.devices),
    withUlimits(mergeUlimits(r.Ulimits, defaults.ulimits)),
    withShmSize(r.ShmSize || 67108864),
    withReadonlyRootfs(!!hc.ReadonlyRootfs),
    withSysctls(hc.Sysctls, hc.NetworkMode !== 'host' && !hc.NetworkMode?.startsWith('container:')),
    withNoNewPrivileges(sec.noNewPrivileges),
  ];
  if ((hc as { CgroupnsMode?: string }).CgroupnsMode === 'private') opts.push(withNamespace('cgroup', undefined));
  if (r.OomScoreAdj) opts.push(withOomScoreAdj(r.OomScoreAdj));
  if (hc.Init) {
    if (!host.facts.initPath) throw new Error('exec: "docker-init": executable file not found in $PATH');
    opts.push(withInit(host.facts.initPath));
  }
  if (privileged) {
    // Runs after spec.ts's withPrivileged (masks gone, all devices allowed): every capability
    // pierd itself holds, the host's device nodes, and /sys kept read-only with a read-only root.
    opts.push(withCapabilities(ALL_CAPABILITIES.filter((c) => host.facts.capabilities.includes(c))), withHostDevices(host.hostDevices));
    if (hc.ReadonlyRootfs) opts.push(withSysReadonly());
    return opts;
  }
  const caps = capabilitiesFor(normalizeCaps(hc.CapAdd, 'CapAdd'), normalizeCaps(hc.CapDrop, 'CapDrop'), host.facts.capabilities);
  opts.push(withCapabilities(caps));
  // The container's own seccomp option wins; else the daemon's --seccomp-profile (moby's WithSeccomp).
  const seccomp = sec.seccomp ?? (defaults.seccompProfile === 'builtin' ? undefined : defaults.seccompProfile);
  opts.push(withSeccomp(seccomp, { arch: host.facts.arch, caps, kernel: host.facts.kernel }));
  if (host.facts.apparmor && sec.apparmor) opts.push(withApparmor(sec.apparmor));
  if (host.facts.selinux && sec.labels.length && !sec.labelDisable) opts.push(withSelinuxLabel(sec.labels));
  if (sec.systemPathsUnconfined) opts.push(withoutSystemPaths());
  return opts;
}
