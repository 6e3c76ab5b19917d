// `docker run` through the real docker CLI: flags, stdio, ttys, exit codes, errors.
import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startPierd, requires, engineRequirements, inspect, type Engine } from './harness.js';

const HEX64 = /^[0-9a-f]{64}$/;
const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

describe('docker run', { skip: requires(...engineRequirements) }, () => {
  let h: Engine;
  before(async () => { h = await startPierd(); });
  after(async () => { await h?.stop(); });
  afterEach(async () => { await h.cleanup(); });

  it('run --rm prints the output and removes the container', async () => {
    const n = h.name('rm');
    const r = await h.docker(['run', '--rm', '--name', n, h.image, 'echo', 'hello']);
    assert.deepEqual([r.code, r.stdout, r.stderr], [0, 'hello\n', '']);
    // the CLI waited for condition=removed: the container is already gone
    const i = await h.docker(['container', 'inspect', n]);
    assert.equal(i.code, 1);
    assert.match(i.stderr, new RegExp(`No such container: ${n}`));
  });

  it('run -d prints the full id and the container runs', async () => {
    const n = h.name('d');
    const r = await h.docker(['run', '-d', '--name', n, h.image, 'sleep', '1000']);
    assert.equal(r.code, 0, r.stderr);
    const id = r.stdout.trim();
    assert.match(id, HEX64);
    const c = await inspect(h, n);
    assert.equal(c.Id, id);
    assert.equal(c.Name, `/${n}`);
    assert.equal(c.State.Status, 'running');
    assert.equal(c.State.Running, true);
    assert.ok(c.State.Pid > 0);
    assert.equal(c.Path, 'sleep');
    assert.deepEqual(c.Args, ['1000']);
    assert.equal(c.Config.Image, h.image);
    assert.match(c.Image, /^sha256:[0-9a-f]{64}$/);
    assert.equal(c.Config.Hostname, id.slice(0, 12));
    assert.deepEqual(c.Config.Cmd, ['sleep', '1000']);
  });

  it('propagates the exit code and keeps stdout and stderr apart', async () => {
    const r = await h.docker(['run', '--rm', h.image, 'sh', '-c', 'echo out; echo err >&2; exit 3']);
    assert.deepEqual([r.code, r.stdout, r.stderr], [3, 'out\n', 'err\n']);
  });

  it('never loses the output of a process that exits at once (30 runs)', async () => {
    const bad: string[] = [];
    for (let i = 0; i < 30; i++) {
      const r = await h.docker(['run', '--rm', h.image, 'sh', '-c', `echo out${i}; echo err${i} >&2; exit 3`]);
      if (r.code !== 3 || r.stdout !== `out${i}\n` || r.stderr !== `err${i}\n`) bad.push(`run ${i}: code ${r.code} stdout ${JSON.stringify(r.stdout)} stderr ${JSON.stringify(r.stderr)}`);
    }
    assert.deepEqual(bad, []);
  });

  it('a missing command exits 127 and the --rm container is removed', async () => {
    const n = h.name('nocmd');
    const r = await h.docker(['run', '--rm', '--name', n, h.image, 'it-nosuchcmd']);
    assert.equal(r.code, 127);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /executable file not found/);
    const i = await h.docker(['container', 'inspect', n]);
    assert.equal(i.code, 1, `container ${n} should have been removed`);
  });

  it('a non-executable command exits 126', async () => {
    const n = h.name('noexec');
    const r = await h.docker(['run', '--rm', '--name', n, h.image, '/etc/passwd']);
    assert.equal(r.code, 126);
    assert.match(r.stderr, /permission denied/);
    assert.equal((await h.docker(['container', 'inspect', n])).code, 1);
  });

  it('an unknown image exits 125', async () => {
    const r = await h.docker(['run', '--rm', '--pull', 'never', 'it-nosuch-image:1', 'true']);
    assert.equal(r.code, 125);
    assert.match(r.stderr, /No such image: it-nosuch-image:1/);
    // without --pull never the CLI tries to pull (there is no registry here) and fails
    const p = await h.docker(['run', '--rm', 'it-nosuch-image:1', 'true'], { timeout: 60_000 });
    assert.equal(p.code, 125);
    assert.match(p.stderr, /Unable to find image 'it-nosuch-image:1' locally/);
  });

  it('an unknown user exits 125 with the passwd message', async () => {
    const r = await h.docker(['run', '--rm', '-u', 'it-nosuchuser', h.image, 'id']);
    assert.equal(r.code, 125);
    assert.match(r.stderr, /unable to find user it-nosuchuser: no matching entries in passwd file/);
  });

  it('-i passes piped stdin and closes it at EOF', async () => {
    const r = await h.docker(['run', '-i', '--rm', '--name', h.name('stdin'), h.image, 'sh', '-c', 'cat; echo end'], { input: 'line1\nline2\n', timeout: 15_000 });
    assert.deepEqual([r.code, r.stdout, r.stderr], [0, 'line1\nline2\nend\n', '']);
  });

  it('-i carries a large stdin intact', async () => {
    const data = Buffer.alloc(1 << 20, 'abcdefghijklmnopqrstuvwxyz0123456789\n');
    const r = await h.docker(['run', '-i', '--rm', '--name', h.name('bigstdin'), h.image, 'sh', '-c', 'wc -c; echo done'], { input: data, timeout: 15_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.split('\n').map((s) => s.trim()), [String(1 << 20), 'done', '']);
  });

  it('without -i the container gets no stdin', async () => {
    const r = await h.docker(['run', '--rm', '--name', h.name('nostdin'), h.image, 'sh', '-c', 'cat; echo rc=$?'], { input: 'ignored\n' });
    assert.deepEqual([r.code, r.stdout], [0, 'rc=0\n']);
  });

  it('-t gives the process a terminal (under script)', { skip: requires('script') }, async () => {
    const r = await h.dockerTty(['run', '-t', '--rm', h.image, 'sh', '-c', 'tty; exit 3']);
    assert.equal(r.code, 3, r.stdout);
    // the container's pty writes \r\n; script's own pty may add another \r
    assert.match(r.stdout, /^\/dev\/pts\/\d+\r+\n$/);
  });

  it('-it reads typed input and sets TERM', { skip: requires('script') }, async () => {
    const r = await h.dockerTty(['run', '-it', '--rm', h.image, 'sh', '-c', 'read l; echo "got:$l:$TERM"'], { input: 'abc\n' });
    assert.equal(r.code, 0, r.stdout);
    assert.match(r.stdout, /got:abc:xterm\r\n/);
  });

  it('-it sizes the container\'s terminal like the client\'s', { skip: requires('script') }, async () => {
    // the size arrives with the resize call after start: poll for it inside the container
    const r = await h.dockerTty(['run', '-it', '--rm', h.image, 'sh', '-c',
      'while ! s=$(stty size 2>/dev/null) || [ -z "$s" ] || [ "$s" = "0 0" ]; do sleep 0.05; done; echo "$s"'], { size: [40, 120] });
    assert.equal(r.code, 0, r.stdout);
    assert.match(r.stdout, /^40 120\r+\n$/);
  });

  it('the CLI proxies SIGTERM to a foreground container (sig-proxy)', async () => {
    const n = h.name('sigproxy');
    const p = h.spawn(['run', '--name', n, h.image, 'sh', '-c', "trap 'echo got-term; exit 9' TERM; echo ready; while :; do sleep 0.1; done"]);
    await p.waitForOutput('ready\n');
    p.proc.kill('SIGTERM');
    const r = await p.exited;
    assert.deepEqual([r.code, r.stdout], [9, 'ready\ngot-term\n']);
  });

  it('-e and --env-file set the environment; defaults are PATH, HOSTNAME, HOME', async () => {
    const envFile = join(h.tmp, 'it.env');
    writeFileSync(envFile, '# a comment\nD=d1\nE\n\nF=with = sign\n');
    const r = await h.docker(
      ['run', '--rm', '--hostname', 'h1', '-e', 'A=1', '-e', 'B', '-e', 'C=with space', '--env-file', envFile, h.image, 'env'],
      { env: { B: 'fromclient', E: 'fromfile' } },
    );
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n').sort();
    assert.deepEqual(lines, ['A=1', 'B=fromclient', 'C=with space', 'D=d1', 'E=fromfile', 'F=with = sign', 'HOME=/root', 'HOSTNAME=h1', DEFAULT_PATH]);
    const d = await h.docker(['run', '--rm', '--hostname', 'h2', h.image, 'env']);
    assert.deepEqual(d.stdout.trim().split('\n').sort(), ['HOME=/root', 'HOSTNAME=h2', DEFAULT_PATH]);
  });

  it('-w sets the working directory, creating it when missing', async () => {
    assert.equal(await h.ok(['run', '--rm', '-w', '/tmp', h.image, 'pwd']), '/tmp');
    assert.equal(await h.ok(['run', '--rm', '-w', '/it-new/dir', h.image, 'pwd']), '/it-new/dir');
  });

  it('-u takes names from /etc/passwd, uids and uid:gid', async () => {
    const cases: [string | undefined, string][] = [
      [undefined, 'uid=0(root) gid=0(root) groups=0(root),10(wheel)'],
      ['daemon', 'uid=1(daemon) gid=1(daemon) groups=1(daemon)'],
      ['nobody', 'uid=65534(nobody) gid=65534(nogroup) groups=65534(nogroup)'],
      ['www-data', 'uid=33(www-data) gid=33(www-data) groups=33(www-data)'],
      ['33', 'uid=33(www-data) gid=33(www-data) groups=33(www-data)'],
      ['1000:1000', 'uid=1000 gid=1000 groups=1000'],
      ['www-data:daemon', 'uid=33(www-data) gid=1(daemon) groups=1(daemon)'],
    ];
    for (const [u, want] of cases) {
      const r = await h.docker(['run', '--rm', ...(u ? ['-u', u] : []), h.image, 'id']);
      assert.equal(r.code, 0, `-u ${u}: ${r.stderr}`);
      assert.equal(r.stdout, want + '\n', `-u ${u}`);
    }
  });

  it('--entrypoint replaces the entrypoint and the command becomes its arguments', async () => {
    assert.equal((await h.docker(['run', '--rm', '--entrypoint', 'echo', h.image, 'a', 'b'])).stdout, 'a b\n');
    const n = h.name('ep');
    await h.ok(['run', '--name', n, '--entrypoint', '/bin/sh', h.image, '-c', 'echo $0']);
    const c = await inspect(h, n);
    assert.equal(c.Path, '/bin/sh');
    assert.deepEqual(c.Args, ['-c', 'echo $0']);
    assert.deepEqual(c.Config.Entrypoint, ['/bin/sh']);
    assert.deepEqual(c.Config.Cmd, ['-c', 'echo $0']);
    assert.equal(await h.ok(['logs', n]), '/bin/sh');
  });

  it('--name, --hostname and -l are applied', async () => {
    const n = h.name('named');
    const out = await h.ok(['run', '--name', n, '--hostname', 'it-host', '-l', 'it.a=b', '-l', 'it.c', h.image, 'sh', '-c', 'hostname; cat /etc/hostname']);
    assert.equal(out, 'it-host\nit-host');
    const c = await inspect(h, n);
    assert.equal(c.Name, `/${n}`);
    assert.equal(c.Config.Hostname, 'it-host');
    assert.deepEqual(c.Config.Labels, { 'it.a': 'b', 'it.c': '' });
    assert.equal(c.State.Status, 'exited');
    assert.equal(c.State.ExitCode, 0);
  });

  it('the default hostname is the short id, also in /etc/hostname', async () => {
    const n = h.name('hn');
    const out = await h.ok(['run', '--name', n, h.image, 'sh', '-c', 'hostname; cat /etc/hostname']);
    const id = (await inspect(h, n)).Id as string;
    assert.equal(out, `${id.slice(0, 12)}\n${id.slice(0, 12)}`);
  });

  it('/etc/hostname, /etc/hosts and /etc/resolv.conf exist', async () => {
    const r = await h.docker(['run', '--rm', '--hostname', 'it-h', h.image, 'sh', '-c',
      'cat /etc/hostname; grep -E "^127\\.0\\.0\\.1[[:space:]]+localhost" /etc/hosts; test -f /etc/resolv.conf && echo resolv-ok']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^it-h\n127\.0\.0\.1\s+localhost.*\nresolv-ok\n$/);
  });

  it('the network namespace has only lo, and it is up', async () => {
    // --network none: the namespace as it was before issue 6 (the default bridge adds eth0)
    const r = await h.docker(['run', '--rm', '--network', 'none', h.image, 'sh', '-c',
      'ls /sys/class/net; cat /sys/class/net/lo/operstate; ip -o link show lo; ip -o addr show lo']);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n');
    assert.equal(lines[0], 'lo');
    assert.equal(lines[1], 'unknown');
    assert.match(lines[2] ?? '', /^1: lo: <LOOPBACK,UP,LOWER_UP>/);
    assert.match(r.stdout, /inet 127\.0\.0\.1\/8/);
  });

  it('a name in use is a 409 conflict with docker\'s message', async () => {
    const n = h.name('dup');
    const id = await h.ok(['create', '--name', n, h.image, 'true']);
    const r = await h.docker(['create', '--name', n, h.image, 'true']);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.ok(r.stderr.includes(`Error response from daemon: Conflict. The container name "/${n}" is already in use by container "${id}". You have to remove (or rename) that container to be able to reuse that name.`), r.stderr);
    const r2 = await h.docker(['run', '--rm', '--name', n, h.image, 'true']);
    assert.equal(r2.code, 125);
    assert.match(r2.stderr, /is already in use by container/);
  });

  it('an invalid name is rejected and nothing is created', async () => {
    const label = `it.inv=${Date.now()}`;
    const r = await h.docker(['create', '--name', 'bad name!', '-l', label, h.image, 'true']);
    assert.equal(r.code, 1);
    assert.ok(r.stderr.includes('Error response from daemon: Invalid container name (bad name!), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed'), r.stderr);
    const r2 = await h.docker(['run', '--rm', '--name', '-bad', '-l', label, h.image, 'true']);
    assert.equal(r2.code, 125);
    assert.ok(r2.stderr.includes('Invalid container name (-bad), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed'), r2.stderr);
    assert.equal(await h.ok(['ps', '-a', '-q', '--filter', `label=${label}`]), '');
  });
});
