// pierd's daemon-wide container defaults, as dockerd's (docs/design/security.md): a pierd
// started with --seccomp-profile FILE, --no-new-privileges, --default-ulimit, --default-shm-size
// and --cgroup-parent; one configured through daemon.json with an unconfined profile and private
// cgroup namespaces; and the start-up errors for invalid values. Everything is read inside the
// container (/proc/self/status, /proc/1/limits, /dev/shm, /proc/self/cgroup) and on the host.
import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startPierd, requires, engineRequirements, inspect, repoRoot, removeCgroupParent, type Engine } from './harness.js';

const skip = requires(...engineRequirements, 'pier-only') || (!existsSync('/sys/fs/cgroup/memory') && 'cgroup v1 host only');

/** Allows everything but mkdir: a profile whose effect is visible at once. */
const NO_MKDIR = JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 }] });

const PROBE = [
  'grep -E "^(Seccomp|NoNewPrivs):" /proc/self/status | tr -d "\\t"',
  'awk \'/Max open files/ {print "nofile=" $4 ":" $5} /Max processes/ {print "nproc=" $3 ":" $4}\' /proc/1/limits',
  'echo shm=$(df -k /dev/shm | tail -1 | awk "{print \\$2}")',
  'echo memcg=$(grep ":memory:" /proc/self/cgroup | cut -d: -f3)',
  'mkdir /tmp/d 2>/dev/null && echo mkdir=ok || echo mkdir=denied',
].join('; ');

function parse(out: string): Record<string, string> {
  const m: Record<string, string> = {};
  for (const line of out.trim().split('\n')) {
    const i = line.search(/[:=]/);
    if (i > 0) m[line.slice(0, i)] = line.slice(i + 1);
  }
  return m;
}

async function securityInfo(h: Engine): Promise<{ SecurityOptions: string[]; Warnings: string[] | null }> {
  return JSON.parse(await h.ok(['info', '--format', '{{json .}}'])) as { SecurityOptions: string[]; Warnings: string[] | null };
}

describe('daemon-wide container defaults', { skip }, () => {
  let h: Engine;
  let dir: string;
  let profile: string;
  const ownParent = `/pier-dd-own-${process.pid}`;
  before(async () => {
    dir = mkdtempSync('/tmp/pt-dd-');
    profile = join(dir, 'no-mkdir.json');
    writeFileSync(profile, NO_MKDIR);
    h = await startPierd({
      args: ['--seccomp-profile', profile, '--no-new-privileges', '--default-ulimit', 'nofile=1000:2000', '--default-ulimit', 'nproc=500:600',
        '--default-shm-size', '16m', '--cgroup-parent', `/pier-dd-${process.pid}`],
    });
  });
  after(async () => {
    await h?.stop();
    removeCgroupParent(ownParent);
    rmSync(dir, { recursive: true, force: true });
  });
  afterEach(async () => { await h.cleanup(); });

  it('docker info lists the profile file and no-new-privileges, and warns about the profile', async () => {
    const info = await securityInfo(h);
    assert.deepEqual(info.SecurityOptions, [`name=seccomp,profile=${profile}`, 'name=no-new-privileges']);
    assert.deepEqual(info.Warnings, ['WARNING: daemon is not using the default seccomp profile']);
    const text = await h.ok(['info']);
    assert.match(text, new RegExp(`Security Options:\\n  seccomp\\n   Profile: ${profile}\\n  no-new-privileges\\n`));
  });

  it('a container without options gets every default: profile, no-new-privileges, ulimits, /dev/shm, cgroup parent', async () => {
    const n = h.name('dd');
    await h.ok(['run', '-d', '--network', 'none', '--name', n, h.image, 'sleep', '300']);
    const c = await inspect(h, n);
    const p = parse(await h.ok(['exec', n, 'sh', '-c', PROBE]));
    assert.deepEqual(p, {
      Seccomp: '2', NoNewPrivs: '1', nofile: '1000:2000', nproc: '500:600', shm: '16384', memcg: `/pier-dd-${process.pid}/${c.Id}`, mkdir: 'denied',
    });
    assert.ok(existsSync(`/sys/fs/cgroup/memory/pier-dd-${process.pid}/${c.Id}/memory.limit_in_bytes`));
    assert.ok(existsSync(`/sys/fs/cgroup/unified/pier-dd-${process.pid}/${c.Id}`));
    // as in dockerd: the shm default is stored at create, ulimits and the parent are applied at start
    assert.equal(c.HostConfig.ShmSize, 16 << 20);
    assert.deepEqual(c.HostConfig.Ulimits, []); // what the CLI sent, as dockerd's inspect shows
    assert.equal(c.HostConfig.CgroupParent, '');
    assert.equal(c.HostConfig.CgroupnsMode, 'host');
  });

  it('the container\'s own options win over the daemon\'s (same ulimit name only)', async () => {
    const r = await h.docker(['run', '--rm', '--network', 'none', '--security-opt', 'seccomp=unconfined', '--security-opt', 'no-new-privileges=false',
      '--ulimit', 'nofile=50:60', '--shm-size', '1m', '--cgroup-parent', ownParent, h.image, 'sh', '-c', PROBE]);
    assert.equal(r.code, 0, r.stderr);
    const p = parse(r.stdout);
    assert.equal(p.memcg?.startsWith(`${ownParent}/`), true, p.memcg);
    delete p.memcg;
    assert.deepEqual(p, { Seccomp: '0', NoNewPrivs: '0', nofile: '50:60', nproc: '500:600', shm: '1024', mkdir: 'ok' });
    // seccomp=builtin asks for Docker's default profile instead of the daemon's
    const b = parse(await h.ok(['run', '--rm', '--network', 'none', '--security-opt', 'seccomp=builtin', h.image, 'sh', '-c', PROBE]));
    assert.equal(b.Seccomp, '2');
    assert.equal(b.mkdir, 'ok');
  });

  it('an exec\'d process inherits the container\'s no-new-privileges and seccomp', async () => {
    const n = h.name('dd-exec');
    await h.ok(['run', '-d', '--network', 'none', '--name', n, h.image, 'sleep', '300']);
    const p = parse(await h.ok(['exec', n, 'sh', '-c', 'grep -E "^(Seccomp|NoNewPrivs):" /proc/self/status | tr -d "\\t"']));
    assert.deepEqual(p, { Seccomp: '2', NoNewPrivs: '1' });
  });
});

describe('daemon-wide defaults from daemon.json', { skip }, () => {
  let h: Engine;
  let dir: string;
  before(async () => {
    dir = mkdtempSync('/tmp/pt-dj-');
    writeFileSync(join(dir, 'daemon.json'), JSON.stringify({
      'seccomp-profile': 'unconfined', 'default-cgroupns-mode': 'private', 'default-shm-size': '8M',
      'default-ulimits': { nofile: { Name: 'nofile', Soft: 700, Hard: 800 } },
    }));
    h = await startPierd({ args: ['--config-file', join(dir, 'daemon.json')] });
  });
  after(async () => {
    await h?.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  afterEach(async () => { await h.cleanup(); });

  it('unconfined profile, private cgroup namespace, shm size and ulimits apply; info says so', async () => {
    const info = await securityInfo(h);
    assert.deepEqual(info.SecurityOptions, ['name=seccomp,profile=unconfined', 'name=cgroupns']);
    assert.deepEqual(info.Warnings, ['WARNING: daemon is not using the default seccomp profile']);
    const n = h.name('dj');
    await h.ok(['create', '--network', 'none', '--name', n, h.image, 'sh', '-c', PROBE]);
    assert.equal((await inspect(h, n)).HostConfig.CgroupnsMode, 'private');
    const p = parse(await h.ok(['start', '-a', n]));
    assert.deepEqual(p, { Seccomp: '0', NoNewPrivs: '0', nofile: '700:800', nproc: p.nproc!, shm: '8192', memcg: '/', mkdir: 'ok' });
    // --cgroupns host overrides the daemon's mode
    const host = parse(await h.ok(['run', '--rm', '--network', 'none', '--cgroupns', 'host', h.image, 'sh', '-c', PROBE]));
    assert.match(host.memcg ?? '', new RegExp(`^${h.cgroupParent}/[0-9a-f]{64}$`));
  });
});

describe('pierd refuses invalid daemon-wide defaults with dockerd\'s words', { skip: requires('root', 'pierd', 'pier-only') }, () => {
  it('exits non-zero and says why', () => {
    const dir = mkdtempSync('/tmp/pt-de-');
    try {
      writeFileSync(join(dir, 'nnp.json'), '{"no-new-privileges": true, "cgroup-parent": "/x"}');
      const cases: Array<[string[], string]> = [
        [['--default-ulimit', 'nofile=x'], 'invalid argument "nofile=x" for "--default-ulimit" flag: strconv.ParseInt: parsing "x": invalid syntax'],
        [['--default-ulimit', 'nofiles=1'], 'invalid argument "nofiles=1" for "--default-ulimit" flag: invalid ulimit type: nofiles'],
        [['--default-ulimit', 'nofile=3:2'], 'invalid argument "nofile=3:2" for "--default-ulimit" flag: ulimit soft limit must be less than or equal to hard limit: 3 > 2'],
        [['--default-shm-size', 'lots'], 'invalid argument "lots" for "--default-shm-size" flag: invalid size: \'lots\''],
        [['--seccomp-profile', join(dir, 'missing.json')], `opening seccomp profile (${join(dir, 'missing.json')}) failed: open ${join(dir, 'missing.json')}: no such file or directory`],
        [['--default-cgroupns-mode', 'shared'], 'default cgroup namespace mode (shared) is invalid; use "host" or "private"'],
        [['--config-file', join(dir, 'nnp.json'), '--no-new-privileges', '--cgroup-parent', '/y'],
          `unable to configure the pier daemon with file ${join(dir, 'nnp.json')}: the following directives are specified both as a flag and in the configuration file: no-new-privileges: (from flag: true, from file: true), cgroup-parent: (from flag: /y, from file: /x)`],
      ];
      for (const [args, words] of cases) {
        const r = spawnSync(process.execPath, [join(repoRoot, 'bin/pierd'), '--root', join(dir, 'root'), '--exec-root', join(dir, 'run'), ...args], { encoding: 'utf8', timeout: 20_000 });
        assert.notEqual(r.status, 0, args.join(' '));
        assert.equal(r.stderr.trim(), `pierd: ${words}`, args.join(' '));
      }
      assert.equal(existsSync(join(dir, 'root')), false, 'no data root is made before the options are valid');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
