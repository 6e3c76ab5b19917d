/**
 * Confinement options from HostConfig: capabilities (`--cap-add/--cap-drop`), seccomp,
 * `--security-opt` (no-new-privileges, apparmor, label, seccomp, systempaths), read-only
 * root, namespaced sysctls, `--tmpfs`, `--init`, and the host devices of `--privileged`.
 */
import type { Mount, SpecOpt } from './spec.js';
import { DEFAULT_CAPABILITIES } from './spec.js';
import type { DeviceNode } from './host.js';
import { renderSeccomp, parseSeccompProfile, type SeccompContext, type SeccompProfile } from './seccomp.js';
import { DEFAULT_SECCOMP_PROFILE } from './seccomp-default.js';

/** Every capability Linux defines, in number order (0 … 40). */
export const ALL_CAPABILITIES = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_SETGID',
  'CAP_SETUID', 'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE', 'CAP_NET_BROADCAST', 'CAP_NET_ADMIN',
  'CAP_NET_RAW', 'CAP_IPC_LOCK', 'CAP_IPC_OWNER', 'CAP_SYS_MODULE', 'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT', 'CAP_SYS_ADMIN', 'CAP_SYS_BOOT', 'CAP_SYS_NICE', 'CAP_SYS_RESOURCE', 'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE', 'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL', 'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG', 'CAP_WAKE_ALARM', 'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ',
  'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
];

/** `net_admin`, `NET_ADMIN`, `CAP_NET_ADMIN` → `CAP_NET_ADMIN`; `all` → `ALL`; unknown → Docker's error. */
export function normalizeCaps(list: readonly string[] | null | undefined, field: 'CapAdd' | 'CapDrop'): string[] {
  const out: string[] = [];
  for (const raw of list ?? []) {
    const u = raw.trim().toUpperCase();
    if (u === 'ALL') { out.push('ALL'); continue; }
    const c = u.startsWith('CAP_') ? u : `CAP_${u}`;
    if (!ALL_CAPABILITIES.includes(c)) throw new Error(`invalid ${field}: unknown capability: "${c}"`);
    if (!out.includes(c)) out.push(c);
  }
  return out;
}

/**
 * The container's capability list (moby's TweakCapabilities): ALL in add = every capability
 * (limited to what the host allows) minus the drops; ALL in drop = only the adds; otherwise
 * the 14 defaults minus drops plus adds.
 */
export function capabilitiesFor(add: readonly string[], drop: readonly string[], hostCaps: readonly string[] = ALL_CAPABILITIES): string[] {
  if (add.includes('ALL')) return ALL_CAPABILITIES.filter((c) => hostCaps.includes(c) && !drop.includes(c));
  if (drop.includes('ALL')) return add.filter((c) => c !== 'ALL');
  const caps = DEFAULT_CAPABILITIES.filter((c) => !drop.includes(c));
  for (const c of add) if (!caps.includes(c)) caps.push(c);
  return caps;
}

/** bounding = permitted = effective; inheritable and ambient empty (CVE-2022-24769). */
export const withCapabilities = (caps: readonly string[]): SpecOpt => (s) => ({
  ...s,
  process: { ...s.process, capabilities: { bounding: [...caps], effective: [...caps], inheritable: [], permitted: [...caps], ambient: [] } },
});

export interface SecurityOpts {
  noNewPrivileges: boolean;
  /** undefined: default; '' never. */
  apparmor?: string;
  /** 'unconfined', a profile's JSON, or undefined for the default. */
  seccomp?: string;
  labels: string[];
  labelDisable: boolean;
  systemPathsUnconfined: boolean;
}

/**
 * Parses `HostConfig.SecurityOpt` like moby's parseSecurityOpt (both `=` and the old `:`),
 * starting from the daemon's `--no-new-privileges` default.
 */
export function parseSecurityOpts(list: readonly string[] | null | undefined, noNewPrivilegesDefault = false): SecurityOpts {
  const o: SecurityOpts = { noNewPrivileges: noNewPrivilegesDefault, labels: [], labelDisable: false, systemPathsUnconfined: false };
  for (const opt of list ?? []) {
    if (opt === 'no-new-privileges') { o.noNewPrivileges = true; continue; }
    if (opt === 'disable') { o.labelDisable = true; continue; }
    let i = opt.indexOf('=');
    if (i < 0) i = opt.indexOf(':');
    if (i < 0) throw new Error(`invalid --security-opt 1: "${opt}"`);
    const k = opt.slice(0, i), v = opt.slice(i + 1);
    switch (k) {
      case 'label':
        if (v === 'disable') o.labelDisable = true;
        else o.labels.push(v);
        break;
      case 'apparmor': o.apparmor = v; break;
      case 'seccomp': o.seccomp = v; break;
      case 'no-new-privileges':
        if (v !== 'true' && v !== 'false') throw new Error(`invalid --security-opt 2: "${opt}"`);
        o.noNewPrivileges = v === 'true';
        break;
      case 'systempaths':
        if (v !== 'unconfined') throw new Error(`invalid --security-opt 2: "${opt}"`);
        o.systemPathsUnconfined = true;
        break;
      default: throw new Error(`invalid --security-opt 2: "${opt}"`);
    }
  }
  if (o.seccomp && o.seccomp !== 'unconfined' && o.seccomp !== 'builtin') parseSeccompProfile(o.seccomp);
  return o;
}

/** Docker's default profile (or the given one) rendered for this container; 'unconfined' → none. */
export const withSeccomp = (profile: string | undefined, ctx: SeccompContext, fallback: SeccompProfile = DEFAULT_SECCOMP_PROFILE): SpecOpt => (s) => {
  if (profile === 'unconfined') {
    const { seccomp: _s, ...linux } = s.linux;
    return { ...s, linux };
  }
  const p = profile && profile !== 'builtin' ? parseSeccompProfile(profile) : fallback;
  return { ...s, linux: { ...s.linux, seccomp: renderSeccomp(p, ctx) } };
};

export const withNoNewPrivileges = (on: boolean): SpecOpt => (s) => ({ ...s, process: { ...s.process, noNewPrivileges: on } });

export const withApparmor = (profile: string | undefined): SpecOpt => (s) => {
  if (!profile || profile === 'unconfined') {
    const { apparmorProfile: _a, ...process } = s.process;
    return { ...s, process };
  }
  return { ...s, process: { ...s.process, apparmorProfile: profile } };
};

/** `label=user:…,role:…,type:…,level:…` → process.selinuxLabel (only on SELinux hosts). */
export const withSelinuxLabel = (labels: readonly string[]): SpecOpt => (s) => {
  const parts: Record<string, string> = { user: 'system_u', role: 'system_r', type: 'container_t', level: 's0' };
  for (const l of labels) {
    const i = l.indexOf(':');
    if (i > 0) parts[l.slice(0, i)] = l.slice(i + 1);
  }
  return { ...s, process: { ...s.process, selinuxLabel: `${parts.user}:${parts.role}:${parts.type}:${parts.level}` } };
};

/** `systempaths=unconfined`: no masked or read-only paths. */
export const withoutSystemPaths = (): SpecOpt => (s) => {
  const { maskedPaths: _m, readonlyPaths: _r, ...linux } = s.linux;
  return { ...s, linux };
};

export const withReadonlyRootfs = (ro: boolean): SpecOpt => (s) => ({ ...s, root: { ...s.root, readonly: ro } });

const IPC_SYSCTLS = new Set(['kernel.msgmax', 'kernel.msgmnb', 'kernel.msgmni', 'kernel.sem', 'kernel.shmall', 'kernel.shmmax', 'kernel.shmmni', 'kernel.shm_rmid_forced']);

/** Only namespaced sysctls: IPC ones (not with --ipc host), net.* (only with a private netns). */
export function validateSysctls(sysctls: Record<string, string> | null | undefined, modes: { network?: string; ipc?: string }): void {
  for (const k of Object.keys(sysctls ?? {})) {
    if (IPC_SYSCTLS.has(k) || k.startsWith('fs.mqueue.')) {
      if (modes.ipc === 'host') throw new Error(`sysctl '${k}' is not allowed with the host IPC namespace`);
      continue;
    }
    if (k.startsWith('net.')) {
      if (modes.network === 'host') throw new Error(`sysctl '${k}' is not allowed in the host network namespace`);
      continue;
    }
    throw new Error(`sysctl '${k}' is not whitelisted`);
  }
}

/** Docker's two defaults for a private network namespace, then the user's. */
export const withSysctls = (user: Record<string, string> | null | undefined, privateNet: boolean): SpecOpt => (s) => {
  const sysctl: Record<string, string> = { ...s.linux.sysctl };
  if (privateNet) {
    sysctl['net.ipv4.ip_unprivileged_port_start'] = '0';
    sysctl['net.ipv4.ping_group_range'] = '0 2147483647';
  }
  Object.assign(sysctl, user ?? {});
  return Object.keys(sysctl).length ? { ...s, linux: { ...s.linux, sysctl } } : s;
};

/** Merges tmpfs options the way moby's MergeTmpfsOptions does: a later flag wins over its opposite. */
export function tmpfsOptions(data: string): string[] {
  const opposites: Record<string, string> = { exec: 'noexec', noexec: 'exec', suid: 'nosuid', nosuid: 'suid', dev: 'nodev', nodev: 'dev', ro: 'rw', rw: 'ro' };
  const out: string[] = [];
  for (const o of ['noexec', 'nosuid', 'nodev', 'rprivate', ...(data ? data.split(',') : [])]) {
    if (!o) continue;
    const key = o.includes('=') ? o.slice(0, o.indexOf('=') + 1) : o;
    const opp = opposites[o];
    for (let i = out.length - 1; i >= 0; i--) {
      const cur = out[i]!;
      if (cur === opp || cur === o || (key.endsWith('=') && cur.startsWith(key))) out.splice(i, 1);
    }
    out.push(o);
  }
  return out;
}

/** `--tmpfs /run:size=64m`. */
export const withTmpfs = (tmpfs: Record<string, string> | null | undefined): SpecOpt => (s) => {
  const entries = Object.entries(tmpfs ?? {});
  if (!entries.length) return s;
  const mounts: Mount[] = entries.map(([dest, data]) => ({ destination: dest, type: 'tmpfs', source: 'tmpfs', options: tmpfsOptions(data) }));
  const dests = new Set(mounts.map((m) => m.destination));
  return { ...s, mounts: [...s.mounts.filter((m) => !dests.has(m.destination)), ...mounts] };
};

export const INIT_PATH = '/sbin/docker-init';

/** `--init`: the host's init bind-mounted read-only as /sbin/docker-init, made PID 1. */
export const withInit = (hostInit: string): SpecOpt => (s) => ({
  ...s,
  process: { ...s.process, args: [INIT_PATH, '--', ...s.process.args] },
  mounts: [...s.mounts.filter((m) => m.destination !== INIT_PATH), { destination: INIT_PATH, type: 'bind', source: hostInit, options: ['bind', 'ro'] }],
});

/** `--privileged`: every host device node (the cgroup rule allowing all comes from withPrivileged). */
export const withHostDevices = (devices: readonly DeviceNode[]): SpecOpt => (s) => {
  const have = new Set(((s.linux.devices ?? []) as DeviceNode[]).map((d) => d.path));
  return { ...s, linux: { ...s.linux, devices: [...((s.linux.devices ?? []) as DeviceNode[]), ...devices.filter((d) => !have.has(d.path))] } };
};

/** /sys read-only again (a privileged container with a read-only root keeps /sys ro, as in moby). */
export const withSysReadonly = (): SpecOpt => (s) => ({
  ...s,
  mounts: s.mounts.map((m) => (m.destination === '/sys' && m.options && !m.options.includes('ro') ? { ...m, options: [...m.options, 'ro'] } : m)),
});
