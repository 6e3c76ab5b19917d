import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kindOf } from '../lib/errdefs.js';
import { parseDaemonFlags, USAGE } from './flags.js';

function rejects(argv: string[], message: string): void {
  assert.throws(() => parseDaemonFlags(argv), (e: unknown) => {
    assert.equal(kindOf(e), 'invalid-argument');
    assert.equal((e as Error).message, message);
    return true;
  }, argv.join(' '));
}

test('parseDaemonFlags() uses the documented defaults', () => {
  assert.deepEqual(parseDaemonFlags([]), {
    root: '/var/lib/pier', execRoot: '/run/pier', hosts: ['unix:///run/pier/pier.sock'], storageDriver: 'overlay2', logLevel: 'info',
    configFile: '/etc/pier/daemon.json', insecureRegistries: [], registryCertsDir: '/etc/pier/certs.d', registryMirrors: [], maxConcurrentDownloads: 3, help: false, version: false,
    bridge: 'pier0', bip: '10.213.0.1/24', addressPool: { base: '10.214.0.0/16', size: 24 }, mtu: 1500, ipForward: false,
  });
  assert.deepEqual(parseDaemonFlags(['--insecure-registry', 'r.example:5000', '--insecure-registry=10.0.0.0/8']).insecureRegistries, ['r.example:5000', '10.0.0.0/8']);
  assert.equal(parseDaemonFlags(['--max-concurrent-downloads', '6']).maxConcurrentDownloads, 6);
});

test('parseDaemonFlags() takes --registry-mirror URLs, normalised with one trailing slash, and refuses what dockerd refuses', () => {
  assert.deepEqual(parseDaemonFlags(['--registry-mirror', 'https://m.example', '--registry-mirror=http://127.0.0.1:5000//']).registryMirrors,
    ['https://m.example/', 'http://127.0.0.1:5000/']);
  rejects(['--registry-mirror', 'ftp://m.example'], 'invalid mirror: unsupported scheme "ftp" in "ftp://m.example"');
  rejects(['--registry-mirror', 'm.example'], 'invalid mirror: unsupported scheme "" in "m.example"');
  rejects(['--registry-mirror', 'https://m.example/?x=1'], 'invalid mirror: query or fragment at end of the URI "https://m.example/?x=1"');
  rejects(['--registry-mirror', 'https://u:p@m.example'], 'invalid mirror: username/password not allowed in URI "https://u:p@m.example"');
});

test('parseDaemonFlags() takes the network flags (issue 6)', () => {
  const f = parseDaemonFlags(['-b', 'ptx', '--bip=10.213.9.1/24', '--default-address-pool', 'base=10.214.64.0/18,size=26', '--mtu', '1400', '--ip-forward']);
  assert.deepEqual([f.bridge, f.bip, f.addressPool, f.mtu, f.ipForward], ['ptx', '10.213.9.1/24', { base: '10.214.64.0/18', size: 26 }, 1400, true]);
  assert.equal(parseDaemonFlags(['--ip-forward=false']).ipForward, false);
  assert.throws(() => parseDaemonFlags(['--bip', 'nonsense']), /invalid --bip/);
});

test('parseDaemonFlags() takes --storage-driver overlay2|vfs and refuses others', () => {
  assert.equal(parseDaemonFlags(['--storage-driver', 'vfs']).storageDriver, 'vfs');
  assert.equal(parseDaemonFlags(['-s', 'overlay2']).storageDriver, 'overlay2');
  assert.throws(() => parseDaemonFlags(['--storage-driver=btrfs']), /unsupported storage driver: btrfs/);
});

test('parseDaemonFlags() takes values after the flag or after "="', () => {
  assert.equal(parseDaemonFlags(['--root=/x']).root, '/x');
  assert.equal(parseDaemonFlags(['--root', '/y']).root, '/y');
  assert.equal(parseDaemonFlags(['--data-root', '/z']).root, '/z');
  assert.equal(parseDaemonFlags(['--exec-root=/run/e']).execRoot, '/run/e');
  assert.equal(parseDaemonFlags(['-p', '/run/p.pid']).pidfile, '/run/p.pid');
  assert.equal(parseDaemonFlags(['--pidfile=/run/q.pid']).pidfile, '/run/q.pid');
  assert.equal(parseDaemonFlags(['--default-runtime', 'crun']).defaultRuntime, 'crun');
  assert.equal(parseDaemonFlags(['--config-file=/c.json']).configFile, '/c.json');
});

test('parseDaemonFlags() keeps "=" inside a value', () => {
  assert.equal(parseDaemonFlags(['--root=/a=b']).root, '/a=b');
});

test('parseDaemonFlags() collects repeated -H/--host in order', () => {
  assert.deepEqual(parseDaemonFlags(['-H', 'unix:///tmp/a.sock', '--host=tcp://127.0.0.1:2375', '--host', 'unix:///tmp/b.sock']).hosts,
    ['unix:///tmp/a.sock', 'tcp://127.0.0.1:2375', 'unix:///tmp/b.sock']);
});

test('parseDaemonFlags() puts the default socket under --exec-root', () => {
  assert.deepEqual(parseDaemonFlags(['--exec-root', '/tmp/e']).hosts, ['unix:///tmp/e/pier.sock']);
  assert.deepEqual(parseDaemonFlags(['--exec-root', '/tmp/e', '-H', 'unix:///s']).hosts, ['unix:///s']);
});

test('parseDaemonFlags() reads the log level, mapping fatal to error', () => {
  for (const l of ['debug', 'info', 'warn', 'error'] as const) assert.equal(parseDaemonFlags(['-l', l]).logLevel, l);
  assert.equal(parseDaemonFlags(['--log-level=fatal']).logLevel, 'error');
  rejects(['--log-level', 'loud'], 'unable to parse logging level: loud');
});

test('parseDaemonFlags() reads -h/--help and -v/--version', () => {
  assert.equal(parseDaemonFlags(['-h']).help, true);
  assert.equal(parseDaemonFlags(['--help']).help, true);
  assert.equal(parseDaemonFlags(['-v']).version, true);
  assert.equal(parseDaemonFlags(['--version']).version, true);
});

test('parseDaemonFlags() rejects an unknown flag', () => {
  rejects(['--bogus'], 'unknown flag: --bogus');
  rejects(['--bogus=1'], 'unknown flag: --bogus');
  rejects(['stray'], 'unknown flag: stray');
});

test('parseDaemonFlags() rejects a flag missing its value', () => {
  rejects(['--root'], 'flag needs an argument: --root');
  rejects(['-H'], 'flag needs an argument: -H');
});

test('USAGE documents every flag parseDaemonFlags() accepts', () => {
  for (const f of ['--config-file', '--default-runtime', '--exec-root', '-H, --host', '-h, --help', '-l, --log-level', '-p, --pidfile', '--root', '-v, --version']) {
    assert.ok(USAGE.includes(f), f);
  }
});

test('parseDaemonFlags() takes dockerd\'s daemon-wide container defaults, only when given', () => {
  const f = parseDaemonFlags(['--seccomp-profile', '/p.json', '--no-new-privileges', '--default-ulimit', 'nofile=1:2', '--default-ulimit=nproc=3',
    '--default-ulimit', 'nofile=5:6', '--default-shm-size', '16m', '--cgroup-parent', '/cg', '--default-cgroupns-mode=private']);
  assert.deepEqual([f.seccompProfile, f.noNewPrivileges, f.defaultUlimits, f.defaultShmSize, f.cgroupParent, f.defaultCgroupnsMode], [
    '/p.json', true, [{ Name: 'nproc', Soft: 3, Hard: 3 }, { Name: 'nofile', Soft: 5, Hard: 6 }], 16 << 20, '/cg', 'private',
  ]);
  assert.equal(parseDaemonFlags(['--no-new-privileges=false']).noNewPrivileges, false);
  rejects(['--default-ulimit', 'nofile=2:1'], 'invalid argument "nofile=2:1" for "--default-ulimit" flag: ulimit soft limit must be less than or equal to hard limit: 2 > 1');
  rejects(['--default-shm-size', 'x'], 'invalid argument "x" for "--default-shm-size" flag: invalid size: \'x\'');
  rejects(['--default-cgroupns-mode', 'x'], 'default cgroup namespace mode (x) is invalid; use "host" or "private"');
  rejects(['--no-new-privileges=maybe'], 'invalid argument "maybe" for "--no-new-privileges" flag: strconv.ParseBool: parsing "maybe": invalid syntax');
  assert.ok(USAGE.includes('--seccomp-profile') && USAGE.includes('--default-ulimit') && USAGE.includes('--cgroup-parent'));
});

test('parseDaemonFlags() takes --userns-remap in both spellings', () => {
  assert.equal(parseDaemonFlags(['--userns-remap', 'default']).usernsRemap, 'default');
  assert.equal(parseDaemonFlags(['--userns-remap=daemon:daemon']).usernsRemap, 'daemon:daemon');
  assert.equal(parseDaemonFlags([]).usernsRemap, undefined);
  rejects(['--userns-remap'], 'flag needs an argument: --userns-remap');
});
