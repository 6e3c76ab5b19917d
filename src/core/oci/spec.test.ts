import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  buildSpec, defaultSpec, withAnnotations, withArgs, withCgroupsPath, withCwd, withEnv, withHostname, withMounts,
  withNamespace, withPrivileged, withRootfs, withTerminal, withUser, DEFAULT_CAPABILITIES, type Spec,
} from './spec.js';
import { containerEnv, resolveUser } from './user.js';

/** Compares against test/fixtures/golden/<name>; `UPDATE_GOLDEN=1` rewrites the file. */
function assertGolden(name: string, actual: unknown): void {
  // dist/src/core/oci/ → repository root
  const path = fileURLToPath(new URL(`../../../../test/fixtures/golden/${name}`, import.meta.url));
  const text = JSON.stringify(actual, null, 2) + '\n';
  if (process.env.UPDATE_GOLDEN === '1') {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
    return;
  }
  let want: string;
  try {
    want = readFileSync(path, 'utf8');
  } catch {
    assert.fail(`golden file ${path} is missing: run with UPDATE_GOLDEN=1 to create it`);
  }
  assert.deepEqual(JSON.parse(text), JSON.parse(want), `spec differs from ${name} (UPDATE_GOLDEN=1 rewrites it)`);
}

// busybox's own /etc/passwd and /etc/group (abridged).
const BUSYBOX_PASSWD = [
  'root:x:0:0:root:/root:/bin/sh',
  'daemon:x:1:1:daemon:/usr/sbin:/bin/false',
  'bin:x:2:2:bin:/bin:/bin/false',
  'nobody:x:65534:65534:nobody:/home:/bin/false',
].join('\n') + '\n';
const BUSYBOX_GROUP = ['root:x:0:', 'daemon:x:1:', 'wheel:x:10:root', 'nobody:x:65534:'].join('\n') + '\n';

test('buildSpec() matches the golden spec for `docker run -it -u nobody -w /tmp -e A=1 --hostname h busybox sh`', () => {
  // The options ContainerService.specFor composes, for the record `docker run` creates.
  const id = 'c0ffee'.repeat(10) + 'c0ff';
  const dir = `/var/lib/pier/containers/${id}`;
  const config = {
    User: 'nobody', WorkingDir: '/tmp', Hostname: 'h', Tty: true,
    Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'A=1'],
  };
  const resolved = resolveUser(config.User, { passwd: BUSYBOX_PASSWD, group: BUSYBOX_GROUP }, []);
  const spec = buildSpec(
    withArgs(['sh']),
    withEnv(containerEnv({ env: config.Env, hostname: config.Hostname, tty: config.Tty, home: resolved.home })),
    withCwd(config.WorkingDir),
    withUser(resolved.user),
    withHostname(config.Hostname, undefined),
    withTerminal(true, { height: 24, width: 80 }),
    withCgroupsPath(`/pier/${id}`),
    withMounts([
      { destination: '/etc/resolv.conf', type: 'bind', source: `${dir}/resolv.conf`, options: ['rbind', 'rprivate'] },
      { destination: '/etc/hostname', type: 'bind', source: `${dir}/hostname`, options: ['rbind', 'rprivate'] },
      { destination: '/etc/hosts', type: 'bind', source: `${dir}/hosts`, options: ['rbind', 'rprivate'] },
    ]),
  );
  // The parts Docker users look at, asserted in the open before the golden comparison.
  assert.deepEqual(spec.process.args, ['sh']);
  assert.deepEqual(spec.process.user, { uid: 65534, gid: 65534, additionalGids: [65534] });
  assert.equal(spec.process.cwd, '/tmp');
  assert.equal(spec.process.terminal, true);
  assert.deepEqual(spec.process.env, [
    'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'HOSTNAME=h', 'TERM=xterm', 'A=1', 'HOME=/home',
  ]);
  assert.equal(spec.hostname, 'h');
  assertGolden('spec-run-it.json', spec);
});

test('defaultSpec() grants exactly Docker\'s 14 default capabilities', () => {
  // moby's caps.DefaultCapabilities()
  const docker = [
    'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID', 'CAP_SETUID',
    'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE',
  ];
  assert.equal(DEFAULT_CAPABILITIES.length, 14);
  assert.deepEqual([...DEFAULT_CAPABILITIES].sort(), [...docker].sort());
  const caps = defaultSpec().process.capabilities!;
  for (const set of ['bounding', 'effective', 'permitted'] as const) assert.deepEqual([...caps[set]].sort(), [...docker].sort(), set);
  // No inheritable or ambient capabilities (moby since CVE-2022-24769).
  assert.deepEqual(caps.inheritable, []);
  assert.deepEqual(caps.ambient, []);
});

test('defaultSpec() runs as root in / with new mount, network, uts, pid and ipc namespaces', () => {
  const s = defaultSpec();
  assert.deepEqual(s.process.user, { uid: 0, gid: 0 });
  assert.equal(s.process.cwd, '/');
  assert.equal(s.process.terminal, false);
  assert.deepEqual(s.linux.namespaces.map((n) => n.type).sort(), ['ipc', 'mount', 'network', 'pid', 'uts']);
  assert.ok(s.linux.namespaces.every((n) => n.path === undefined));
  assert.deepEqual(s.root, { path: 'rootfs', readonly: false });
});

test('defaultSpec() masks and write-protects the /proc and /sys paths Docker does', () => {
  const s = defaultSpec();
  for (const p of ['/proc/kcore', '/proc/keys', '/proc/timer_list', '/proc/sched_debug', '/proc/scsi', '/sys/firmware', '/proc/acpi']) {
    assert.ok(s.linux.maskedPaths!.includes(p), p);
  }
  assert.deepEqual([...s.linux.readonlyPaths!].sort(), ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger']);
  const sys = s.mounts.find((m) => m.destination === '/sys')!;
  assert.ok(sys.options!.includes('ro'));
  const cgroup = s.mounts.find((m) => m.destination === '/sys/fs/cgroup')!;
  assert.ok(cgroup.options!.includes('ro'));
});

test('defaultSpec() denies all devices first, then allows the usual character devices', () => {
  const rules = defaultSpec().linux.resources!.devices!;
  assert.deepEqual(rules[0], { allow: false, access: 'rwm' });
  const allowed = (major: number, minor: number): boolean => rules.some((r) => r.allow && r.type === 'c' && r.major === major && (r.minor === undefined || r.minor === minor));
  for (const [maj, min] of [[1, 3], [1, 5], [1, 8], [1, 9], [5, 0], [5, 2], [136, 7]] as const) assert.ok(allowed(maj, min), `${maj}:${min}`);
});

test('defaultSpec() returns an independent object each call', () => {
  const a = defaultSpec();
  a.process.capabilities!.bounding.push('CAP_SYS_ADMIN');
  a.mounts[0]!.options!.push('rw');
  a.linux.maskedPaths!.length = 0;
  const b = defaultSpec();
  assert.equal(b.process.capabilities!.bounding.length, 14);
  assert.deepEqual(b.mounts[0]!.options, ['nosuid', 'noexec', 'nodev']);
  assert.ok(b.linux.maskedPaths!.length > 0);
  assert.equal(DEFAULT_CAPABILITIES.length, 14);
});

test('withMounts() replaces a default mount at the same destination and keeps the others', () => {
  const shm = { destination: '/dev/shm', type: 'bind', source: '/host/shm', options: ['rbind'] };
  const data = { destination: '/data', type: 'bind', source: '/srv/data', options: ['rbind', 'ro'] };
  const before = defaultSpec();
  const s = withMounts([shm, data])(before);
  assert.deepEqual(s.mounts.filter((m) => m.destination === '/dev/shm'), [shm]);
  assert.deepEqual(s.mounts.slice(-2), [shm, data]);
  assert.equal(s.mounts.length, before.mounts.length + 1);
  for (const d of ['/proc', '/dev', '/dev/pts', '/sys', '/sys/fs/cgroup', '/dev/mqueue']) {
    assert.deepEqual(s.mounts.find((m) => m.destination === d), before.mounts.find((m) => m.destination === d), d);
  }
  assert.equal(before.mounts.find((m) => m.destination === '/dev/shm')!.type, 'tmpfs', 'input not modified');
});

test('withNamespace() drops a namespace when given null (--network host)', () => {
  const s = withNamespace('network', null)(defaultSpec());
  assert.deepEqual(s.linux.namespaces.map((n) => n.type).sort(), ['ipc', 'mount', 'pid', 'uts']);
});

test('withNamespace() joins an existing namespace by path (--network container:x)', () => {
  const s = withNamespace('network', '/proc/42/ns/net')(defaultSpec());
  assert.deepEqual(s.linux.namespaces.filter((n) => n.type === 'network'), [{ type: 'network', path: '/proc/42/ns/net' }]);
  assert.equal(s.linux.namespaces.length, 5);
});

test('withNamespace() adds a new namespace when given undefined or an empty path', () => {
  assert.deepEqual(withNamespace('cgroup', undefined)(defaultSpec()).linux.namespaces.at(-1), { type: 'cgroup' });
  const s = withNamespace('network', '')(withNamespace('network', '/proc/1/ns/net')(defaultSpec()));
  assert.deepEqual(s.linux.namespaces.filter((n) => n.type === 'network'), [{ type: 'network' }]);
});

test('withPrivileged() removes masked and read-only paths and the capability restriction', () => {
  const s = withPrivileged()(defaultSpec());
  assert.equal(s.linux.maskedPaths, undefined);
  assert.equal(s.linux.readonlyPaths, undefined);
  // No capabilities object: runc then leaves root's full capability set in place.
  assert.equal(s.process.capabilities, undefined);
  assert.deepEqual(s.linux.resources!.devices, [{ allow: true, access: 'rwm' }]);
});

test('withPrivileged() mounts /sys and the cgroup filesystem read-write like Docker', () => {
  // moby WithMounts: privileged clears "ro" on /sys (root not read-only) and on cgroup mounts.
  const s = withPrivileged()(defaultSpec());
  const sys = s.mounts.find((m) => m.destination === '/sys')!;
  const cgroup = s.mounts.find((m) => m.type === 'cgroup')!;
  assert.deepEqual(sys.options, ['nosuid', 'noexec', 'nodev']);
  assert.deepEqual(cgroup.options, ['nosuid', 'noexec', 'nodev']);
  assert.ok(defaultSpec().mounts.find((m) => m.destination === '/sys')!.options!.includes('ro'), 'default untouched');
});

test('withPrivileged() keeps /sys read-only when the root filesystem is read-only', () => {
  const s = withPrivileged()(withRootfs('rootfs', true)(defaultSpec()));
  assert.ok(s.mounts.find((m) => m.destination === '/sys')!.options!.includes('ro'));
  assert.ok(!s.mounts.find((m) => m.type === 'cgroup')!.options!.includes('ro'));
});

test('withCwd() falls back to / for an empty working directory', () => {
  assert.equal(withCwd('')(defaultSpec()).process.cwd, '/');
  assert.equal(withCwd('/srv')(defaultSpec()).process.cwd, '/srv');
});

test('withTerminal() sets consoleSize only for a TTY with a real size', () => {
  assert.deepEqual(withTerminal(true, { height: 30, width: 100 })(defaultSpec()).process.consoleSize, { height: 30, width: 100 });
  assert.equal(withTerminal(true, { height: 0, width: 0 })(defaultSpec()).process.consoleSize, undefined);
  assert.equal(withTerminal(true)(defaultSpec()).process.terminal, true);
  const noTty = withTerminal(false, { height: 30, width: 100 })(defaultSpec());
  assert.equal(noTty.process.terminal, false);
  assert.equal(noTty.process.consoleSize, undefined);
});

test('withHostname() sets domainname only when given', () => {
  const a = withHostname('h')(defaultSpec());
  assert.equal(a.hostname, 'h');
  assert.equal('domainname' in a, false);
  assert.equal(withHostname('h', 'example.com')(defaultSpec()).domainname, 'example.com');
});

test('withUser(), withArgs(), withEnv(), withCgroupsPath(), withRootfs() and withAnnotations() set their field', () => {
  const s: Spec = buildSpec(
    withUser({ uid: 1, gid: 2, additionalGids: [3] }), withArgs(['a', 'b']), withEnv(['X=1']), withCgroupsPath('/pier/x'),
    withRootfs('/r', true), withAnnotations({ a: '1' }), withAnnotations({ b: '2' }),
  );
  assert.deepEqual(s.process.user, { uid: 1, gid: 2, additionalGids: [3] });
  assert.deepEqual(s.process.args, ['a', 'b']);
  assert.deepEqual(s.process.env, ['X=1']);
  assert.equal(s.linux.cgroupsPath, '/pier/x');
  assert.deepEqual(s.root, { path: '/r', readonly: true });
  assert.deepEqual(s.annotations, { a: '1', b: '2' });
});

test('buildSpec() applies options in order, the later one winning', () => {
  assert.equal(buildSpec(withCwd('/a'), withCwd('/b')).process.cwd, '/b');
  assert.deepEqual(buildSpec(), defaultSpec());
});
