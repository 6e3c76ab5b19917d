/**
 * OCI runtime spec (config.json) built from small pure options, the way containerd's
 * spec_opts work: each `with*` takes a spec and returns it changed. `defaultSpec()` is
 * Docker's baseline; the container service composes the rest from the container record.
 */

export interface Mount { destination: string; type?: string; source?: string; options?: string[] }
export interface User { uid: number; gid: number; umask?: number; additionalGids?: number[] }
export interface Process {
  terminal?: boolean;
  consoleSize?: { height: number; width: number };
  user: User;
  args: string[];
  env: string[];
  cwd: string;
  capabilities?: { bounding: string[]; effective: string[]; inheritable: string[]; permitted: string[]; ambient: string[] };
  rlimits?: Array<{ type: string; hard: number; soft: number }>;
  noNewPrivileges?: boolean;
  oomScoreAdj?: number;
  apparmorProfile?: string;
  selinuxLabel?: string;
}
export interface DeviceRule { allow: boolean; type?: string; major?: number; minor?: number; access?: string }
export interface Spec {
  ociVersion: string;
  process: Process;
  root: { path: string; readonly?: boolean };
  hostname?: string;
  domainname?: string;
  mounts: Mount[];
  hooks?: Record<string, unknown>;
  annotations?: Record<string, string>;
  linux: {
    namespaces: Array<{ type: string; path?: string }>;
    resources?: { devices?: DeviceRule[]; memory?: Record<string, unknown>; cpu?: Record<string, unknown>; pids?: { limit: number }; blockIO?: Record<string, unknown> };
    cgroupsPath?: string;
    maskedPaths?: string[];
    readonlyPaths?: string[];
    sysctl?: Record<string, string>;
    seccomp?: unknown;
    devices?: unknown[];
    uidMappings?: Array<{ containerID: number; hostID: number; size: number }>;
    gidMappings?: Array<{ containerID: number; hostID: number; size: number }>;
  };
}
export type SpecOpt = (s: Spec) => Spec;

/** Docker's default capability set (14). */
export const DEFAULT_CAPABILITIES = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID',
  'CAP_SETUID', 'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE',
];

export const DEFAULT_PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

const MASKED_PATHS = [
  '/proc/asound', '/proc/acpi', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list',
  '/proc/timer_stats', '/proc/sched_debug', '/proc/scsi', '/sys/firmware', '/sys/devices/virtual/powercap',
];
const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

/** Docker's default device cgroup rules: deny all, then the usual character devices. */
const DEFAULT_DEVICE_RULES: DeviceRule[] = [
  { allow: false, access: 'rwm' },
  { allow: true, type: 'c', major: 1, minor: 5, access: 'rwm' }, // /dev/zero
  { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' }, // /dev/null
  { allow: true, type: 'c', major: 1, minor: 9, access: 'rwm' }, // /dev/urandom
  { allow: true, type: 'c', major: 1, minor: 8, access: 'rwm' }, // /dev/random
  { allow: true, type: 'c', major: 5, minor: 0, access: 'rwm' }, // /dev/tty
  { allow: true, type: 'c', major: 5, minor: 1, access: 'rwm' }, // /dev/console
  { allow: false, type: 'c', major: 10, minor: 229, access: 'rwm' }, // /dev/fuse
  { allow: true, type: 'c', major: 1, minor: 7, access: 'rwm' }, // /dev/full
  { allow: true, type: 'c', major: 136, access: 'rwm' }, // /dev/pts/*
  { allow: true, type: 'c', major: 5, minor: 2, access: 'rwm' }, // /dev/ptmx
  { allow: true, type: 'c', major: 10, minor: 200, access: 'rwm' }, // /dev/net/tun
  { allow: true, type: 'c', access: 'm' }, { allow: true, type: 'b', access: 'm' }, // mknod allowed, open denied
];

export function defaultSpec(): Spec {
  const caps = [...DEFAULT_CAPABILITIES];
  return {
    ociVersion: '1.0.2-dev',
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args: [],
      env: [],
      cwd: '/',
      capabilities: { bounding: caps, effective: [...caps], inheritable: [], permitted: [...caps], ambient: [] },
      noNewPrivileges: false,
      oomScoreAdj: 0,
    },
    root: { path: 'rootfs', readonly: false },
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
      { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['ro', 'nosuid', 'noexec', 'nodev'] },
      { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=67108864'] },
    ],
    linux: {
      namespaces: [{ type: 'mount' }, { type: 'network' }, { type: 'uts' }, { type: 'pid' }, { type: 'ipc' }],
      resources: { devices: DEFAULT_DEVICE_RULES.map((d) => ({ ...d })) },
      maskedPaths: [...MASKED_PATHS],
      readonlyPaths: [...READONLY_PATHS],
    },
  };
}

export const withArgs = (args: string[]): SpecOpt => (s) => ({ ...s, process: { ...s.process, args } });
export const withEnv = (env: string[]): SpecOpt => (s) => ({ ...s, process: { ...s.process, env } });
export const withCwd = (cwd: string): SpecOpt => (s) => ({ ...s, process: { ...s.process, cwd: cwd || '/' } });
export const withUser = (user: User): SpecOpt => (s) => ({ ...s, process: { ...s.process, user } });
export const withHostname = (hostname: string, domainname?: string): SpecOpt => (s) => ({
  ...s, hostname, ...(domainname ? { domainname } : {}),
});
export const withTerminal = (tty: boolean, size?: { height: number; width: number }): SpecOpt => (s) => ({
  ...s, process: { ...s.process, terminal: tty, ...(tty && size && size.height > 0 ? { consoleSize: size } : {}) },
});
export const withCgroupsPath = (path: string): SpecOpt => (s) => ({ ...s, linux: { ...s.linux, cgroupsPath: path } });
export const withRootfs = (path: string, readonly = false): SpecOpt => (s) => ({ ...s, root: { path, readonly } });
export const withAnnotations = (a: Record<string, string>): SpecOpt => (s) => ({ ...s, annotations: { ...s.annotations, ...a } });

/** Adds mounts, replacing any default mount at the same destination (a user mount wins). */
export const withMounts = (mounts: Mount[]): SpecOpt => (s) => {
  const dests = new Set(mounts.map((m) => m.destination));
  return { ...s, mounts: [...s.mounts.filter((m) => !dests.has(m.destination)), ...mounts] };
};

/** Joins (path) or drops (null) a namespace: `--network host` drops `network`. */
export const withNamespace = (type: string, path: string | null | undefined): SpecOpt => (s) => {
  const rest = s.linux.namespaces.filter((n) => n.type !== type);
  const namespaces = path === null ? rest : [...rest, path ? { type, path } : { type }];
  return { ...s, linux: { ...s.linux, namespaces } };
};

/** `--privileged`: no masks, no capability set, all devices, /sys and cgroup writable (moby's WithMounts). */
export const withPrivileged = (): SpecOpt => (s) => {
  const { maskedPaths: _m, readonlyPaths: _r, ...linux } = s.linux;
  const writable = (m: Mount): boolean => m.type === 'cgroup' || (m.destination === '/sys' && !s.root.readonly);
  return {
    ...s,
    mounts: s.mounts.map((m) => (writable(m) && m.options ? { ...m, options: m.options.filter((o) => o !== 'ro') } : m)),
    process: { ...s.process, capabilities: undefined },
    linux: { ...linux, resources: { ...linux.resources, devices: [{ allow: true, access: 'rwm' }] } },
  };
};

export function buildSpec(...opts: SpecOpt[]): Spec {
  return opts.reduce((s, o) => o(s), defaultSpec());
}
