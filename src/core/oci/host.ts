/** Facts about the host that the resource and security options depend on (gathered by an adapter). */

export interface DeviceNode {
  /** Path inside the container (for host lists: the host path). */
  path: string;
  type: 'c' | 'b' | 'p';
  major: number;
  minor: number;
  fileMode: number;
  uid: number;
  gid: number;
}

export interface HostFacts {
  /** Go-style arch (amd64, arm64 …), what seccomp profiles name. */
  arch: string;
  /** Kernel release, e.g. "6.18.44". */
  kernel: string;
  /** AppArmor enabled: only then `apparmor=` profiles are applied. */
  apparmor: boolean;
  /** SELinux enabled: only then `label=` is applied. */
  selinux: boolean;
  /** Host path of the init (`--init`): tini-static, catatonit or docker-init; undefined if none. */
  initPath?: string;
  ncpu: number;
  /** Root cpuset: the CPUs and memory nodes a container may ask for. */
  cpusetCpus: string;
  cpusetMems: string;
  /** Whether the blkio controller has a weight file (CFQ/BFQ). */
  blkioWeight: boolean;
  /** Whether memory+swap can be limited (swap accounting). */
  swapLimit: boolean;
  memTotal: number;
  /** Unified cgroup hierarchy (v2) at /sys/fs/cgroup. */
  cgroup2?: boolean;
  /** Capabilities in the host's (pierd's) bounding set. */
  capabilities: string[];
}

/** What specFor needs resolved on the host for one container before building its spec. */
export interface HostSpecInputs {
  facts: HostFacts;
  /** `--device` nodes with their container paths, and the cgroup permissions per node. */
  devices: Array<DeviceNode & { permissions: string }>;
  /** Every host device node (`--privileged`). */
  hostDevices: DeviceNode[];
  /** major:minor of the block devices named by `--device-read-bps` & co. */
  blockDevices: Record<string, { major: number; minor: number }>;
}
