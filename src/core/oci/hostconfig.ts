/**
 * The resource and security part of `docker run` → spec: one function turns a container's
 * HostConfig (plus the host facts an adapter resolved) into the spec options, another does
 * the create-time validation with Docker's messages.
 */
import type { HostConfigWire } from '../../api/index.js';
import type { SpecOpt } from './spec.js';
import { withCgroupsPath } from './spec.js';
import type { HostFacts, HostSpecInputs } from './host.js';
import {
  adaptResources, cgroupPathFor, resourcesOf, withDeviceCgroupRules, withDevices, withOomScoreAdj, withResources, withShmSize, withUlimits,
} from './resources.js';
import {
  ALL_CAPABILITIES, capabilitiesFor, normalizeCaps, parseSecurityOpts, validateSysctls, withApparmor, withCapabilities, withHostDevices, withInit,
  withNoNewPrivileges, withoutSystemPaths, withSysReadonly, withReadonlyRootfs, withSeccomp, withSelinuxLabel, withSysctls,
} from './security.js';

/** Create-time checks and defaults; returns warnings, throws Error with Docker's message. */
export function adaptHostConfig(hc: HostConfigWire, facts: HostFacts): string[] {
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

export function hostConfigOpts(id: string, hc: HostConfigWire, host: HostSpecInputs): SpecOpt[] {
  const r = resourcesOf(hc);
  const sec = parseSecurityOpts(hc.SecurityOpt);
  const privileged = !!hc.Privileged;
  const opts: SpecOpt[] = [
    withCgroupsPath(cgroupPathFor(hc, id)),
    withResources(r, host.blockDevices),
    withDeviceCgroupRules(r.DeviceCgroupRules ?? []),
    withDevices(host.devices),
    withUlimits(r.Ulimits ?? []),
    withShmSize(r.ShmSize || 67108864),
    withReadonlyRootfs(!!hc.ReadonlyRootfs),
    withSysctls(hc.Sysctls, hc.NetworkMode !== 'host' && !hc.NetworkMode?.startsWith('container:')),
    withNoNewPrivileges(sec.noNewPrivileges),
  ];
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
  opts.push(withSeccomp(sec.seccomp, { arch: host.facts.arch, caps, kernel: host.facts.kernel }));
  if (host.facts.apparmor && sec.apparmor) opts.push(withApparmor(sec.apparmor));
  if (host.facts.selinux && sec.labels.length && !sec.labelDisable) opts.push(withSelinuxLabel(sec.labels));
  if (sec.systemPathsUnconfined) opts.push(withoutSystemPaths());
  return opts;
}
