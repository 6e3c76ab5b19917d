/** HostProbe: the host's arch, kernel, LSMs, CPUs, init binary and device nodes. */
import { existsSync } from 'node:fs';
import { readFile, readdir, lstat, stat } from 'node:fs/promises';
import { release, cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import type { HostConfigWire } from '../../api/index.js';
import { goArch, hostPathsNeeded, ALL_CAPABILITIES, type DeviceNode, type HostFacts, type HostSpecInputs } from '../../core/oci/index.js';
import type { HostProbe } from '../../core/ports/index.js';

const INIT_CANDIDATES = ['tini-static', 'catatonit', 'docker-init', 'tini'];

async function textOr(path: string, dflt: string): Promise<string> {
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch {
    return dflt;
  }
}

function findInPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/bin', '/usr/sbin', '/usr/local/bin', '/usr/libexec/podman', '/usr/libexec/docker'])) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

/** Linux dev_t → major/minor (glibc's encoding). */
export function devMajorMinor(rdev: number): { major: number; minor: number } {
  const r = BigInt(rdev);
  const major = Number(((r >> 8n) & 0xfffn) | ((r >> 32n) & ~0xfffn));
  const minor = Number((r & 0xffn) | ((r >> 12n) & ~0xffn));
  return { major, minor };
}

async function deviceAt(hostPath: string, containerPath: string): Promise<DeviceNode | undefined> {
  const st = await lstat(hostPath);
  const type = st.isCharacterDevice() ? 'c' : st.isBlockDevice() ? 'b' : st.isFIFO() ? 'p' : undefined;
  if (!type) return undefined;
  return { path: containerPath, type, ...devMajorMinor(st.rdev), fileMode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
}

/** A device path or a directory of them (recursively), as moby's devicesFromPath. */
async function devicesFrom(hostPath: string, containerPath: string): Promise<DeviceNode[]> {
  let st;
  try {
    st = await stat(hostPath);
  } catch (e) {
    throw new Error(`error gathering device information while adding custom device "${hostPath}": no such file or directory`, { cause: e });
  }
  if (!st.isDirectory()) {
    const d = await deviceAt(hostPath, containerPath);
    if (!d) throw new Error(`error gathering device information while adding custom device "${hostPath}": not a device node`);
    return [d];
  }
  const out: DeviceNode[] = [];
  for (const name of await readdir(hostPath)) {
    const hp = join(hostPath, name), cp = join(containerPath, name);
    const l = await lstat(hp).catch(() => undefined);
    if (!l || l.isSymbolicLink()) continue;
    if (l.isDirectory()) out.push(...(await devicesFrom(hp, cp).catch(() => [])));
    else {
      const d = await deviceAt(hp, cp).catch(() => undefined);
      if (d) out.push(d);
    }
  }
  return out;
}

/** Every device node under /dev for --privileged, skipping /dev/pts and /dev/shm (runc's HostDevices). */
async function allHostDevices(dir = '/dev'): Promise<DeviceNode[]> {
  const out: DeviceNode[] = [];
  let names: string[] = [];
  try { names = await readdir(dir); } catch { return out; }
  for (const name of names) {
    const p = join(dir, name);
    if (p === '/dev/pts' || p === '/dev/shm' || p === '/dev/mqueue' || p === '/dev/console') continue;
    const l = await lstat(p).catch(() => undefined);
    if (!l || l.isSymbolicLink()) continue;
    if (l.isDirectory()) out.push(...(await allHostDevices(p)));
    else if (l.isCharacterDevice() || l.isBlockDevice()) {
      const d = await deviceAt(p, p).catch(() => undefined);
      if (d && !(d.type === 'c' && d.major === 5 && d.minor === 1)) out.push(d);
    }
  }
  return out;
}

function capsFromMask(hex: string): string[] {
  const mask = BigInt(`0x${hex || '0'}`);
  return ALL_CAPABILITIES.filter((_, i) => (mask >> BigInt(i)) & 1n);
}

export class LinuxHostProbe implements HostProbe {
  private cached?: Promise<HostFacts>;

  constructor(private readonly opts: { cgroupRoot?: string; initPath?: string } = {}) {}

  facts(): Promise<HostFacts> {
    return (this.cached ??= this.load());
  }

  private async load(): Promise<HostFacts> {
    const root = this.opts.cgroupRoot ?? '/sys/fs/cgroup';
    const v2 = existsSync(join(root, 'cgroup.controllers'));
    const status = await textOr('/proc/self/status', '');
    const capBnd = /^CapBnd:\s*([0-9a-f]+)/m.exec(status)?.[1] ?? '';
    let initPath = this.opts.initPath;
    if (!initPath) for (const n of INIT_CANDIDATES) if ((initPath = findInPath(n))) break;
    return {
      arch: goArch(process.arch),
      kernel: release().split('-')[0] ?? release(),
      apparmor: (await textOr('/sys/module/apparmor/parameters/enabled', 'N')) === 'Y',
      selinux: existsSync('/sys/fs/selinux/enforce'),
      ...(initPath ? { initPath } : {}),
      ncpu: cpus().length,
      cpusetCpus: await textOr(v2 ? join(root, 'cpuset.cpus.effective') : join(root, 'cpuset', 'cpuset.cpus'), `0-${cpus().length - 1}`),
      cpusetMems: await textOr(v2 ? join(root, 'cpuset.mems.effective') : join(root, 'cpuset', 'cpuset.mems'), '0'),
      blkioWeight: v2 ? existsSync(join(root, 'io.weight')) || existsSync(join(root, 'io.bfq.weight')) : existsSync(join(root, 'blkio', 'blkio.weight')) || existsSync(join(root, 'blkio', 'blkio.bfq.weight')),
      swapLimit: v2 ? true : existsSync(join(root, 'memory', 'memory.memsw.limit_in_bytes')),
      memTotal: totalmem(),
      cgroup2: v2,
      capabilities: capBnd ? capsFromMask(capBnd) : [...ALL_CAPABILITIES],
    };
  }

  async specInputs(hc: HostConfigWire): Promise<HostSpecInputs> {
    const need = hostPathsNeeded(hc);
    const devices: HostSpecInputs['devices'] = [];
    for (const d of need.devices) for (const n of await devicesFrom(d.host, d.container)) devices.push({ ...n, permissions: d.permissions });
    const blockDevices: HostSpecInputs['blockDevices'] = {};
    for (const p of need.blockDevices) {
      let st;
      try { st = await stat(p); } catch { throw new Error(`stat ${p}: no such file or directory`); }
      if (!st.isBlockDevice()) throw new Error(`${p} is not a block device`);
      blockDevices[p] = devMajorMinor(st.rdev);
    }
    return { facts: await this.facts(), devices, hostDevices: need.hostDevices ? await allHostDevices() : [], blockDevices };
  }
}
