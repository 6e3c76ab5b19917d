import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSpec, defaultSpec, withPrivileged, DEFAULT_CAPABILITIES } from './spec.js';
import { adaptResources, cgroupPathFor, mergeUlimits, ociResources, parseCpuset, parseDeviceCgroupRule, parseUlimit, withDevices, withShmSize, withUlimits } from './resources.js';
import {
  ALL_CAPABILITIES, capabilitiesFor, normalizeCaps, parseSecurityOpts, tmpfsOptions, validateSysctls, withInit, withSeccomp, withSysctls, withTmpfs,
} from './security.js';
import { renderSeccomp } from './seccomp.js';
import { DEFAULT_SECCOMP_PROFILE } from './seccomp-default.js';
import { adaptHostConfig, DOCKER_DEFAULTS, hostConfigOpts } from './hostconfig.js';
import type { HostFacts, HostSpecInputs } from './host.js';

const FACTS: HostFacts = {
  arch: 'amd64', kernel: '6.1.0', apparmor: false, selinux: false, initPath: '/usr/bin/tini-static', ncpu: 2, cpusetCpus: '0-1', cpusetMems: '0',
  blkioWeight: false, swapLimit: true, memTotal: 8 << 30, capabilities: ALL_CAPABILITIES.filter((c) => c !== 'CAP_SYS_MODULE'),
};
const INPUTS: HostSpecInputs = { facts: FACTS, devices: [], hostDevices: [], blockDevices: {} };
const ID = 'c'.repeat(64);

test('adaptResources: Docker\'s messages, defaults and warnings', () => {
  const bad: Array<[Record<string, unknown>, string]> = [
    [{ Memory: 5 << 20 }, 'Minimum memory limit allowed is 6MB'],
    [{ Memory: 10 << 20, MemorySwap: 5 << 20 }, 'Minimum memoryswap limit should be larger than memory limit, see usage'],
    [{ MemorySwap: 20 << 20 }, 'You should always set the Memory limit when using Memoryswap limit, see usage'],
    [{ MemoryReservation: 3 << 20 }, 'Minimum memory reservation allowed is 6MB'],
    [{ Memory: 10 << 20, MemoryReservation: 20 << 20 }, 'Minimum memory limit can not be less than memory reservation limit, see usage'],
    [{ NanoCpus: 5e9 }, 'Range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available'],
    [{ NanoCpus: 5e8, CpuPeriod: 1000 }, 'Conflicting options: Nano CPUs and CPU Period cannot both be set'],
    [{ CpuPeriod: 100 }, 'CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)'],
    [{ CpuQuota: 100 }, 'CPU cfs quota can not be less than 1ms (i.e. 1000)'],
    [{ CpusetCpus: '7' }, 'Requested CPUs are not available - requested 7, available: 0-1'],
    [{ CpusetCpus: 'x' }, 'Invalid value x for cpuset cpus: invalid format: x'],
    [{ CpusetMems: '3' }, 'Requested memory nodes are not available - requested 3, available: 0'],
    [{ OomScoreAdj: 2000 }, 'Invalid value 2000, range for oom score adj is [-1000, 1000]'],
    [{ ShmSize: -1 }, 'SHM size can not be less than 0'],
  ];
  for (const [hc, msg] of bad) assert.throws(() => adaptResources({ ...hc }, FACTS), { message: msg }, JSON.stringify(hc));
  const hc: Record<string, unknown> = { Memory: 64 << 20, KernelMemory: 1 << 20, BlkioWeight: 500 };
  assert.deepEqual(adaptResources(hc, FACTS), [
    'Specifying a kernel memory limit is deprecated and will be removed in a future release.',
    'Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded.',
  ]);
  assert.equal(hc.MemorySwap, 128 << 20);
  assert.equal(hc.ShmSize, 64 << 20);
  assert.equal(hc.BlkioWeight, 0);
  assert.deepEqual(adaptResources({ OomKillDisable: true }, FACTS), ['OOM killer is disabled for the container, but no memory limit is set, this can result in the system running out of resources.']);
});

test('ociResources: memory, cpu (NanoCpus → quota/period), cpuset, pids, blkio throttles', () => {
  assert.deepEqual(ociResources({
    Memory: 64 << 20, MemorySwap: 128 << 20, MemoryReservation: 32 << 20, OomKillDisable: true, NanoCpus: 5e8, CpuShares: 512,
    CpusetCpus: '0', CpusetMems: '0', PidsLimit: 20, BlkioDeviceReadBps: [{ Path: '/dev/vda', Rate: 1048576 }],
  }, { '/dev/vda': { major: 254, minor: 0 } }), {
    memory: { limit: 64 << 20, reservation: 32 << 20, swap: 128 << 20, disableOOMKiller: true },
    cpu: { shares: 512, period: 100000, quota: 50000, cpus: '0', mems: '0' },
    pids: { limit: 20 },
    blockIO: { throttleReadBpsDevice: [{ major: 254, minor: 0, rate: 1048576 }] },
  });
  assert.deepEqual(ociResources({ PidsLimit: -1, Memory: 0 }), {});
});

test('cpuset, device cgroup rules, cgroup parent', () => {
  assert.deepEqual(parseCpuset('0-2,5'), [0, 1, 2, 5]);
  assert.deepEqual(parseDeviceCgroupRule('c 1:3 mr'), { allow: true, type: 'c', major: 1, minor: 3, access: 'mr' });
  assert.deepEqual(parseDeviceCgroupRule('a *:* rwm'), { allow: true, type: 'a', access: 'rwm' });
  assert.throws(() => parseDeviceCgroupRule('x'), { message: "invalid device cgroup format 'x'" });
  assert.equal(cgroupPathFor({}, 'abc'), '/pier/abc');
  assert.equal(cgroupPathFor({ CgroupParent: 'mine/' }, 'abc'), '/mine/abc');
  assert.equal(cgroupPathFor({}, 'abc', '/daemon'), '/daemon/abc');
  assert.equal(cgroupPathFor({ CgroupParent: '/own' }, 'abc', '/daemon'), '/own/abc');
});

test('parseUlimit (dockerd --default-ulimit): go-units\' forms and words; mergeUlimits keeps the container\'s', () => {
  assert.deepEqual(parseUlimit('nofile=1024:2048'), { Name: 'nofile', Soft: 1024, Hard: 2048 });
  assert.deepEqual(parseUlimit('nproc=512'), { Name: 'nproc', Soft: 512, Hard: 512 });
  assert.deepEqual(parseUlimit('core=-1:-1'), { Name: 'core', Soft: -1, Hard: -1 });
  assert.throws(() => parseUlimit('nofile'), { message: 'invalid ulimit argument: nofile' });
  assert.throws(() => parseUlimit('nofiles=1'), { message: 'invalid ulimit type: nofiles' });
  assert.throws(() => parseUlimit('nofile=x'), { message: 'strconv.ParseInt: parsing "x": invalid syntax' });
  assert.throws(() => parseUlimit('nofile=1:2:3'), { message: 'too many limit value arguments - 1:2:3, can only have up to two, `soft[:hard]`' });
  assert.throws(() => parseUlimit('nofile=3:2'), { message: 'ulimit soft limit must be less than or equal to hard limit: 3 > 2' });
  const d = [{ Name: 'nofile', Soft: 1, Hard: 2 }, { Name: 'nproc', Soft: 3, Hard: 4 }];
  assert.deepEqual(mergeUlimits([{ Name: 'nofile', Soft: 5, Hard: 6 }], d), [{ Name: 'nofile', Soft: 5, Hard: 6 }, { Name: 'nproc', Soft: 3, Hard: 4 }]);
  assert.deepEqual(mergeUlimits(null, d), d);
});

test('daemon defaults: profile, no-new-privileges, ulimits, shm, cgroup parent and cgroupns; the container\'s options win', () => {
  const defaults = {
    ...DOCKER_DEFAULTS, seccompProfile: 'unconfined', noNewPrivileges: true, ulimits: [{ Name: 'nproc', Soft: 10, Hard: 20 }], shmSize: 1 << 20,
    cgroupParent: '/d', cgroupnsMode: 'private' as const,
  };
  const hc: Record<string, unknown> = {};
  adaptHostConfig(hc, FACTS, defaults);
  assert.equal(hc.ShmSize, 1 << 20);
  assert.equal(hc.CgroupnsMode, 'private');
  const s = buildSpec(...hostConfigOpts(ID, hc, INPUTS, defaults));
  assert.equal(s.linux.seccomp, undefined);
  assert.equal(s.process.noNewPrivileges, true);
  assert.deepEqual(s.process.rlimits, [{ type: 'RLIMIT_NPROC', hard: 20, soft: 10 }]);
  assert.equal(s.linux.cgroupsPath, `/d/${ID}`);
  assert.ok(s.linux.namespaces.some((n) => n.type === 'cgroup'));
  const own: Record<string, unknown> = { SecurityOpt: ['seccomp=builtin', 'no-new-privileges=false'], Ulimits: [{ Name: 'nproc', Soft: 1, Hard: 2 }], ShmSize: 2 << 20, CgroupnsMode: 'host' };
  adaptHostConfig(own, FACTS, defaults);
  const t = buildSpec(...hostConfigOpts(ID, own, INPUTS, defaults));
  assert.equal((t.linux.seccomp as { defaultAction: string }).defaultAction, 'SCMP_ACT_ERRNO');
  assert.equal(t.process.noNewPrivileges, false);
  assert.deepEqual(t.process.rlimits, [{ type: 'RLIMIT_NPROC', hard: 2, soft: 1 }]);
  assert.equal(own.ShmSize, 2 << 20);
  assert.ok(!t.linux.namespaces.some((n) => n.type === 'cgroup'));
  // a profile file's JSON is decoded when the container starts, as in dockerd
  assert.throws(() => buildSpec(...hostConfigOpts(ID, {}, INPUTS, { ...DOCKER_DEFAULTS, seccompProfile: '{nope' })), /Decoding seccomp profile failed/);
  // cgroupns: host on v1 unless configured; a privileged container keeps the host's on v1; invalid modes refused
  const v1: Record<string, unknown> = {};
  adaptHostConfig(v1, FACTS);
  assert.equal(v1.CgroupnsMode, 'host');
  const v2: Record<string, unknown> = {};
  adaptHostConfig(v2, { ...FACTS, cgroup2: true });
  assert.equal(v2.CgroupnsMode, 'private');
  const priv: Record<string, unknown> = { Privileged: true };
  adaptHostConfig(priv, FACTS, defaults);
  assert.equal(priv.CgroupnsMode, 'host');
  assert.throws(() => adaptHostConfig({ CgroupnsMode: 'shared' }, FACTS), { message: 'invalid cgroup namespace mode: shared' });
});

test('devices, ulimits, shm size', () => {
  const s = buildSpec(
    withDevices([{ path: '/dev/xloop', type: 'b', major: 7, minor: 0, fileMode: 0o660, uid: 0, gid: 6, permissions: 'rw' }]),
    withUlimits([{ Name: 'nofile', Soft: 1024, Hard: 2048 }]),
    withShmSize(32 << 20),
  );
  assert.deepEqual(s.linux.devices, [{ path: '/dev/xloop', type: 'b', major: 7, minor: 0, fileMode: 0o660, uid: 0, gid: 6 }]);
  assert.deepEqual(s.linux.resources?.devices?.at(-1), { allow: true, type: 'b', major: 7, minor: 0, access: 'rw' });
  assert.deepEqual(s.process.rlimits, [{ type: 'RLIMIT_NOFILE', hard: 2048, soft: 1024 }]);
  assert.deepEqual(s.mounts.find((m) => m.destination === '/dev/shm')?.options, ['nosuid', 'noexec', 'nodev', 'mode=1777', `size=${32 << 20}`]);
});

test('capabilities: spellings, ALL, drop, add; unknown names rejected', () => {
  assert.deepEqual(normalizeCaps(['net_admin', 'CAP_SYS_ADMIN', 'all'], 'CapAdd'), ['CAP_NET_ADMIN', 'CAP_SYS_ADMIN', 'ALL']);
  assert.throws(() => normalizeCaps(['FOO'], 'CapAdd'), { message: 'invalid CapAdd: unknown capability: "CAP_FOO"' });
  assert.deepEqual(capabilitiesFor([], []), DEFAULT_CAPABILITIES);
  assert.deepEqual(capabilitiesFor([], ['ALL']), []);
  assert.deepEqual(capabilitiesFor(['CAP_NET_ADMIN'], ['ALL']), ['CAP_NET_ADMIN']);
  assert.deepEqual(capabilitiesFor(['CAP_SYS_ADMIN'], ['CAP_CHOWN']), [...DEFAULT_CAPABILITIES.filter((c) => c !== 'CAP_CHOWN'), 'CAP_SYS_ADMIN']);
  assert.deepEqual(capabilitiesFor(['ALL'], ['CAP_KILL'], FACTS.capabilities), FACTS.capabilities.filter((c) => c !== 'CAP_KILL'));
});

test('security opts: forms and errors', () => {
  assert.deepEqual(parseSecurityOpts(['no-new-privileges', 'seccomp=unconfined', 'apparmor=foo', 'label=type:svirt_t', 'label:level:s0']), {
    noNewPrivileges: true, labels: ['type:svirt_t', 'level:s0'], labelDisable: false, systemPathsUnconfined: false, seccomp: 'unconfined', apparmor: 'foo',
  });
  assert.equal(parseSecurityOpts(['no-new-privileges=false']).noNewPrivileges, false);
  assert.throws(() => parseSecurityOpts(['foo']), { message: 'invalid --security-opt 1: "foo"' });
  assert.throws(() => parseSecurityOpts(['foo=bar']), { message: 'invalid --security-opt 2: "foo=bar"' });
  assert.throws(() => parseSecurityOpts(['seccomp={bad']), /Decoding seccomp profile failed/);
});

test('seccomp: the default profile rendered for amd64 has dockerd\'s 12 rules; caps unlock rules', () => {
  const s = renderSeccomp(DEFAULT_SECCOMP_PROFILE, { arch: 'amd64', caps: DEFAULT_CAPABILITIES, kernel: '6.1' });
  assert.equal(s.defaultAction, 'SCMP_ACT_ERRNO');
  assert.deepEqual(s.architectures, ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
  assert.equal(s.syscalls.length, 12);
  assert.equal(s.syscalls[0]!.names.length, 346);
  assert.deepEqual(s.syscalls.find((r) => r.names[0] === 'clone3'), { names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 });
  assert.deepEqual(s.syscalls.find((r) => r.names[0] === 'clone'), { names: ['clone'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 0x7e020000, op: 'SCMP_CMP_MASKED_EQ' }] });
  const all = s.syscalls.flatMap((r) => r.names);
  for (const blocked of ['mount', 'unshare', 'keyctl', 'bpf', 'setns', 'reboot', 'init_module']) assert.ok(!all.includes(blocked), blocked);
  assert.ok(!renderSeccomp(DEFAULT_SECCOMP_PROFILE, { arch: 'amd64', caps: [], kernel: '6.1' }).syscalls.some((r) => r.names.includes('chroot')));
  assert.ok(!renderSeccomp(DEFAULT_SECCOMP_PROFILE, { arch: 'amd64', caps: [], kernel: '4.4' }).syscalls.some((r) => r.names.includes('ptrace')));
  const admin = renderSeccomp(DEFAULT_SECCOMP_PROFILE, { arch: 'amd64', caps: [...DEFAULT_CAPABILITIES, 'CAP_SYS_ADMIN'], kernel: '6.1' });
  assert.ok(admin.syscalls.some((r) => r.names.includes('mount') && r.names.includes('unshare') && r.names.includes('clone3')));
  assert.ok(!admin.syscalls.some((r) => r.action === 'SCMP_ACT_ERRNO'));
  const arm = renderSeccomp(DEFAULT_SECCOMP_PROFILE, { arch: 'arm64', caps: [], kernel: '6.1' });
  assert.deepEqual(arm.architectures, ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM']);
  assert.ok(arm.syscalls.some((r) => r.names.includes('cacheflush')) && !arm.syscalls.some((r) => r.names.includes('arch_prctl')));
});

test('seccomp option: unconfined removes it, a JSON profile is rendered', () => {
  const ctx = { arch: 'amd64', caps: [], kernel: '6.1' };
  assert.equal(buildSpec(withSeccomp('unconfined', ctx)).linux.seccomp, undefined);
  const custom = JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO', includes: { caps: ['CAP_X'] } }, { name: 'chmod', action: 'SCMP_ACT_ERRNO' }] });
  assert.deepEqual(buildSpec(withSeccomp(custom, ctx)).linux.seccomp, { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['chmod'], action: 'SCMP_ACT_ERRNO' }] });
});

test('sysctls: namespaced only; Docker\'s defaults with a private netns', () => {
  validateSysctls({ 'kernel.shmmax': '1', 'fs.mqueue.msg_max': '1', 'net.ipv4.ip_forward': '1' }, {});
  assert.throws(() => validateSysctls({ 'kernel.hostname': 'x' }, {}), { message: "sysctl 'kernel.hostname' is not whitelisted" });
  assert.throws(() => validateSysctls({ 'net.ipv4.ip_forward': '1' }, { network: 'host' }), /not allowed in the host network namespace/);
  assert.deepEqual(buildSpec(withSysctls({ 'net.ipv4.ip_forward': '1' }, true)).linux.sysctl, {
    'net.ipv4.ip_unprivileged_port_start': '0', 'net.ipv4.ping_group_range': '0 2147483647', 'net.ipv4.ip_forward': '1',
  });
  assert.equal(buildSpec(withSysctls(null, false)).linux.sysctl, undefined);
});

test('tmpfs and init', () => {
  assert.deepEqual(tmpfsOptions('exec,size=64m'), ['nosuid', 'nodev', 'rprivate', 'exec', 'size=64m']);
  assert.deepEqual(buildSpec(withTmpfs({ '/run': '' })).mounts.at(-1), { destination: '/run', type: 'tmpfs', source: 'tmpfs', options: ['noexec', 'nosuid', 'nodev', 'rprivate'] });
  const s = buildSpec((x) => ({ ...x, process: { ...x.process, args: ['sh'] } }), withInit('/usr/bin/tini-static'));
  assert.deepEqual(s.process.args, ['/sbin/docker-init', '--', 'sh']);
  assert.deepEqual(s.mounts.at(-1), { destination: '/sbin/docker-init', type: 'bind', source: '/usr/bin/tini-static', options: ['bind', 'ro'] });
});

test('adaptHostConfig checks capabilities, security opts and sysctls too', () => {
  assert.throws(() => adaptHostConfig({ CapDrop: ['NOPE'] }, FACTS), { message: 'invalid CapDrop: unknown capability: "CAP_NOPE"' });
  assert.throws(() => adaptHostConfig({ SecurityOpt: ['bogus'] }, FACTS), /invalid --security-opt/);
  assert.throws(() => adaptHostConfig({ Sysctls: { 'vm.swappiness': '1' } }, FACTS), /not whitelisted/);
});

test('--privileged after withPrivileged: the host\'s capabilities, host devices, no seccomp', () => {
  const dev = { path: '/dev/loop0', type: 'b' as const, major: 7, minor: 0, fileMode: 0o660, uid: 0, gid: 6 };
  const s = buildSpec(withPrivileged(), ...hostConfigOpts(ID, { Privileged: true, ReadonlyRootfs: true }, { ...INPUTS, hostDevices: [dev] }));
  assert.deepEqual(s.process.capabilities?.bounding, FACTS.capabilities);
  assert.equal(s.linux.seccomp, undefined);
  assert.deepEqual(s.linux.devices, [dev]);
  assert.deepEqual(s.linux.resources?.devices, [{ allow: true, access: 'rwm' }]);
  assert.ok(s.mounts.find((m) => m.destination === '/sys')?.options?.includes('ro'));
});

/** Compares against test/fixtures/golden/<name>; `UPDATE_GOLDEN=1` rewrites the file. */
function assertGolden(name: string, actual: unknown): void {
  const path = fileURLToPath(new URL(`../../../../test/fixtures/golden/${name}`, import.meta.url));
  const text = JSON.stringify(actual, null, 2) + '\n';
  if (process.env.UPDATE_GOLDEN === '1') {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
    return;
  }
  assert.deepEqual(JSON.parse(text), JSON.parse(readFileSync(path, 'utf8')), `spec differs from ${name} (UPDATE_GOLDEN=1 rewrites it)`);
}

test('golden: `docker run -m 64m --cpus 0.5 --pids-limit 20 --cap-add SYS_ADMIN --cap-drop NET_RAW --read-only --security-opt no-new-privileges --ulimit nofile=1024:2048 --init busybox`', () => {
  const hc: Record<string, unknown> = {
    Memory: 64 << 20, NanoCpus: 5e8, PidsLimit: 20, CapAdd: ['SYS_ADMIN'], CapDrop: ['NET_RAW'], ReadonlyRootfs: true,
    SecurityOpt: ['no-new-privileges'], Ulimits: [{ Name: 'nofile', Soft: 1024, Hard: 2048 }], Init: true, NetworkMode: 'none',
  };
  adaptHostConfig(hc, FACTS);
  const s = buildSpec((x) => ({ ...x, process: { ...x.process, args: ['sh'] } }), ...hostConfigOpts(ID, hc, INPUTS));
  assert.deepEqual(Object.keys(defaultSpec()).sort(), Object.keys(s).sort());
  assertGolden('spec-resources-security.json', s);
});
