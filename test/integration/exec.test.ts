// docker exec through the real docker CLI.
import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startPierd, requires, engineRequirements, inspect, waitFor, type Engine } from './harness.js';

const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

describe('docker exec', { skip: requires(...engineRequirements) }, () => {
  let h: Engine;
  let n: string; // a running container shared by the read-only tests
  let id: string;
  before(async () => {
    h = await startPierd();
    n = `it-exec-${process.pid}`;
    id = await h.ok(['run', '-d', '--name', n, '-e', 'CENV=c1', h.image, 'sleep', '1000']);
  });
  after(async () => {
    if (!h) return;
    await h.docker(['rm', '-f', n]).catch(() => undefined);
    await h.stop();
  });
  afterEach(async () => { await h.cleanup(); });

  it('runs a command in the container and propagates stdout, stderr and the exit code', async () => {
    const r = await h.docker(['exec', n, 'sh', '-c', 'echo out; echo err >&2; exit 5']);
    assert.deepEqual([r.code, r.stdout, r.stderr], [5, 'out\n', 'err\n']);
    const ok = await h.docker(['exec', n, 'echo', 'hi']);
    assert.deepEqual([ok.code, ok.stdout, ok.stderr], [0, 'hi\n', '']);
  });

  it('joins the container\'s namespaces', async () => {
    assert.equal((await h.docker(['exec', n, 'cat', '/proc/1/cmdline'])).stdout, 'sleep\u00001000\u0000');
    assert.equal(await h.ok(['exec', n, 'hostname']), id.slice(0, 12));
    // lo, plus eth0 on the default bridge (issue 6)
    assert.match(await h.ok(['exec', n, 'ls', '/sys/class/net']), /^(eth0\n)?lo$/);
  });

  it('-e adds to the container environment', async () => {
    const r = await h.docker(['exec', '-e', 'FOO=bar', '-e', 'BAR', '-e', 'UNSET_IN_CLIENT', n, 'env'], { env: { BAR: 'fromclient' } });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n').sort(), ['BAR=fromclient', 'CENV=c1', 'FOO=bar', 'HOME=/root', `HOSTNAME=${id.slice(0, 12)}`, DEFAULT_PATH]);
  });

  it('-w sets the working directory; the container\'s is the default', async () => {
    assert.equal(await h.ok(['exec', '-w', '/tmp', n, 'pwd']), '/tmp');
    assert.equal(await h.ok(['exec', n, 'pwd']), '/');
    const w = h.name('execwd');
    await h.ok(['run', '-d', '--name', w, '-w', '/it-wd', h.image, 'sleep', '1000']);
    assert.equal(await h.ok(['exec', w, 'pwd']), '/it-wd');
  });

  it('-u takes names and uid:gid; the container\'s user is the default', async () => {
    assert.equal(await h.ok(['exec', '-u', 'daemon', n, 'id']), 'uid=1(daemon) gid=1(daemon) groups=1(daemon)');
    assert.equal(await h.ok(['exec', '-u', '1000:1000', n, 'id']), 'uid=1000 gid=1000 groups=1000');
    assert.equal(await h.ok(['exec', n, 'id']), 'uid=0(root) gid=0(root) groups=0(root),10(wheel)');
    const u = h.name('execuser');
    await h.ok(['run', '-d', '--name', u, '-u', 'www-data', h.image, 'sleep', '1000']);
    assert.equal(await h.ok(['exec', u, 'id']), 'uid=33(www-data) gid=33(www-data) groups=33(www-data)');
    assert.equal(await h.ok(['exec', '-u', 'root', u, 'id', '-u']), '0');
  });

  it('-i passes piped stdin', async () => {
    const r = await h.docker(['exec', '-i', n, 'sh', '-c', 'cat; echo end'], { input: 'a\nb\n' });
    assert.deepEqual([r.code, r.stdout], [0, 'a\nb\nend\n']);
    const big = Buffer.alloc(256 * 1024, 'x');
    const w = await h.docker(['exec', '-i', n, 'wc', '-c'], { input: big });
    assert.equal(w.stdout.trim(), String(256 * 1024));
  });

  it('-t gives the process a terminal (under script)', { skip: requires('script') }, async () => {
    const r = await h.dockerTty(['exec', '-it', n, 'sh', '-c', 'tty; echo "$TERM"; exit 3']);
    assert.equal(r.code, 3, r.stdout);
    assert.match(r.stdout, /^\/dev\/pts\/\d+\r+\nxterm\r+\n/);
  });

  it('-d detaches and the command keeps running', async () => {
    await h.ok(['exec', n, 'rm', '-f', '/tmp/detached']);
    const r = await h.docker(['exec', '-d', n, 'sh', '-c', 'sleep 0.2; echo x > /tmp/detached']);
    assert.deepEqual([r.code, r.stdout, r.stderr], [0, '', '']);
    await waitFor(async () => (await h.docker(['exec', n, 'cat', '/tmp/detached'])).stdout === 'x\n');
  });

  it('a missing binary or working directory exits 126 with the runtime\'s message', async () => {
    const r = await h.docker(['exec', n, 'it-nosuchcmd']);
    assert.equal(r.code, 126);
    assert.match(r.stdout + r.stderr, /executable file not found/);
    const d = await h.docker(['exec', '-w', '/it-nosuch-dir', n, 'pwd']);
    assert.equal(d.code, 126);
    assert.match(d.stdout + d.stderr, /it-nosuch-dir/);
    const x = await h.docker(['exec', n, '/etc/passwd']);
    assert.equal(x.code, 126);
    assert.match(x.stdout + x.stderr, /permission denied/);
  });

  it('exec on a stopped or unknown container fails', async () => {
    const s = h.name('execstopped');
    await h.ok(['create', '--name', s, h.image, 'true']);
    const sid = (await inspect(h, s)).Id;
    const r = await h.docker(['exec', s, 'true']);
    assert.equal(r.code, 1);
    assert.ok(r.stderr.includes(`Container ${sid} is not running`), r.stderr);
    const u = await h.docker(['exec', 'it-nosuch-exec', 'true']);
    assert.equal(u.code, 1);
    assert.match(u.stderr, /No such container: it-nosuch-exec/);
  });
});
