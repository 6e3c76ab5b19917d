// Container lifecycle verbs through the real docker CLI: create, start, stop, restart, kill,
// pause/unpause, wait, rm, inspect, top, rename, attach.
import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startPierd, requires, engineRequirements, inspect, fmt, waitFor, sleep, ZERO_TIME, RFC3339_NANO, type Engine } from './harness.js';

const HEX64 = /^[0-9a-f]{64}$/;

/** A shell loop that waits for /tmp/go to appear (created later with exec). */
// The short sleep after the file appears lets the `exec touch` that made it finish first: once
// PID 1 exits the kernel kills what is left in the container (exit 137 for the exec).
const untilGo = 'while [ ! -f /tmp/go ]; do sleep 0.05; done; sleep 0.1';

describe('container lifecycle', { skip: requires(...engineRequirements) }, () => {
  let h: Engine;
  before(async () => { h = await startPierd(); });
  after(async () => { await h?.stop(); });
  afterEach(async () => { await h.cleanup(); });

  const logsInclude = (n: string, s: string) => async () => {
    const r = await h.docker(['logs', n]);
    return (r.stdout + r.stderr).includes(s);
  };

  it('create makes a created container; start runs it; start again is a no-op', async () => {
    const n = h.name('create');
    const id = await h.ok(['create', '--name', n, h.image, 'sleep', '1000']);
    assert.match(id, HEX64);
    let c = await inspect(h, n);
    assert.equal(c.State.Status, 'created');
    assert.equal(c.State.Running, false);
    assert.equal(c.State.Pid, 0);
    assert.equal(c.State.StartedAt, ZERO_TIME);
    assert.match(c.Created, RFC3339_NANO);
    assert.equal(await h.ok(['ps', '-a', '--filter', `name=${n}`, '--format', '{{.Status}}']), 'Created');
    assert.equal(await h.ok(['start', n]), n);
    c = await inspect(h, n);
    assert.equal(c.State.Status, 'running');
    assert.ok(c.State.Pid > 0);
    assert.match(c.State.StartedAt, RFC3339_NANO);
    assert.equal(await h.ok(['start', n]), n);
    assert.equal((await inspect(h, n)).State.Pid, c.State.Pid);
  });

  it('start -a streams output and returns the exit code', async () => {
    const n = h.name('starta');
    await h.ok(['create', '--name', n, h.image, 'sh', '-c', 'echo out; echo err >&2; exit 5']);
    const r = await h.docker(['start', '-a', n]);
    assert.deepEqual([r.code, r.stdout, r.stderr], [5, 'out\n', 'err\n']);
    assert.equal(await fmt(h, n, '{{.State.ExitCode}}'), '5');
  });

  it('start -a -i passes stdin', async () => {
    const n = h.name('startai');
    await h.ok(['create', '-i', '--name', n, h.image, 'sh', '-c', 'read l; echo "got:$l"']);
    const r = await h.docker(['start', '-a', '-i', n], { input: 'hi\n', timeout: 15_000 });
    assert.deepEqual([r.code, r.stdout], [0, 'got:hi\n']);
  });

  it('stop -t sends SIGTERM, then SIGKILL after the timeout (exit 137)', async () => {
    const n = h.name('stopkill');
    await h.ok(['run', '-d', '--name', n, h.image, 'sh', '-c', "trap '' TERM; echo ready; while :; do sleep 0.1; done"]);
    await waitFor(logsInclude(n, 'ready'));
    const r = await h.docker(['stop', '-t', '1', n]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${n}\n`);
    assert.ok(r.ms >= 900, `stop took ${r.ms} ms: SIGTERM must be given 1 s`);
    assert.ok(r.ms < 4000, `stop took ${r.ms} ms: SIGKILL must follow after 1 s`);
    const c = await inspect(h, n);
    assert.equal(c.State.Status, 'exited');
    assert.equal(c.State.ExitCode, 137);
    assert.equal(c.State.Running, false);
    assert.match(c.State.FinishedAt, RFC3339_NANO);
    assert.notEqual(c.State.FinishedAt, ZERO_TIME);
    assert.match(await h.ok(['ps', '-a', '--filter', `name=${n}`, '--format', '{{.Status}}']), /^Exited \(137\) /);
  });

  it('stop returns as soon as a container handles SIGTERM; stopping a stopped one succeeds', async () => {
    const n = h.name('stopterm');
    await h.ok(['run', '-d', '--name', n, h.image, 'sh', '-c', "trap 'echo bye; exit 0' TERM; echo ready; while :; do sleep 0.1; done"]);
    await waitFor(logsInclude(n, 'ready'));
    const r = await h.docker(['stop', '-t', '10', n]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.ms < 3000, `stop took ${r.ms} ms`);
    assert.equal(await fmt(h, n, '{{.State.Status}} {{.State.ExitCode}}'), 'exited 0');
    assert.equal(await h.ok(['logs', n]), 'ready\nbye');
    const again = await h.docker(['stop', n]);
    assert.deepEqual([again.code, again.stdout], [0, `${n}\n`]);
  });

  it('restart starts a new process (running and exited containers)', async () => {
    const n = h.name('restart');
    await h.ok(['run', '-d', '--name', n, h.image, 'sleep', '1000']);
    const before = await inspect(h, n);
    assert.equal(await h.ok(['restart', '-t', '1', n]), n);
    const afterR = await inspect(h, n);
    assert.equal(afterR.State.Status, 'running');
    assert.ok(afterR.State.Pid > 0);
    assert.notEqual(afterR.State.Pid, before.State.Pid);
    assert.ok(Date.parse(afterR.State.StartedAt) >= Date.parse(before.State.StartedAt));
    assert.notEqual(afterR.State.StartedAt, before.State.StartedAt);
    // the engine watches the new process: its exit is seen
    assert.equal(await h.ok(['kill', n]), n);
    await waitFor(async () => (await fmt(h, n, '{{.State.Status}} {{.State.ExitCode}}')) === 'exited 137', {
      timeout: 5000, message: 'the exit of the restarted process was not noticed',
    });

    const e = h.name('restartexited');
    await h.ok(['run', '--name', e, h.image, 'sh', '-c', 'echo run']);
    assert.equal(await h.ok(['restart', e]), e);
    await waitFor(async () => (await h.ok(['logs', e])) === 'run\nrun', { message: 'second run never logged' });
  });

  it('kill -s delivers the signal; kill defaults to SIGKILL', async () => {
    const n = h.name('kill');
    await h.ok(['run', '-d', '--name', n, h.image, 'sh', '-c', "trap 'echo got-usr1' USR1; trap 'echo got-hup' HUP; echo ready; while :; do sleep 0.1; done"]);
    await waitFor(logsInclude(n, 'ready'));
    assert.equal(await h.ok(['kill', '-s', 'USR1', n]), n);
    await waitFor(logsInclude(n, 'got-usr1'));
    assert.equal(await h.ok(['kill', '--signal', 'SIGHUP', n]), n);
    await waitFor(logsInclude(n, 'got-hup'));
    assert.equal(await h.ok(['kill', '-s', '10', n]), n);
    await waitFor(async () => (await h.ok(['logs', n])).split('got-usr1').length === 3);
    assert.equal(await fmt(h, n, '{{.State.Status}}'), 'running');

    const bad = await h.docker(['kill', '-s', 'NOSIG', n]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /Invalid signal: NOSIG/);

    assert.equal(await h.ok(['kill', n]), n);
    await waitFor(async () => (await fmt(h, n, '{{.State.Status}}')) === 'exited');
    assert.equal(await fmt(h, n, '{{.State.ExitCode}}'), '137');

    const id = (await inspect(h, n)).Id;
    const again = await h.docker(['kill', n]);
    assert.equal(again.code, 1);
    assert.ok(again.stderr.includes(`Cannot kill container: ${n}: Container ${id} is not running`), again.stderr);
  });

  it('pause freezes the processes and unpause resumes them', async () => {
    const n = h.name('pause');
    await h.ok(['run', '-d', '--name', n, h.image, 'sh', '-c', 'i=0; while :; do i=$((i+1)); echo $i; sleep 0.05; done']);
    await waitFor(logsInclude(n, '3'));
    assert.equal(await h.ok(['pause', n]), n);
    let c = await inspect(h, n);
    assert.equal(c.State.Status, 'paused');
    assert.equal(c.State.Paused, true);
    assert.equal(c.State.Running, true);
    assert.match(await h.ok(['ps', '--filter', `name=${n}`, '--format', '{{.Status}}']), /^Up .* \(Paused\)$/);
    assert.equal(await h.ok(['ps', '-q', '--no-trunc', '--filter', `name=${n}`, '--filter', 'status=paused']), c.Id);
    // frozen: no output while paused (proving absence needs a short wait)
    const a = (await h.ok(['logs', n])).split('\n').length;
    await sleep(300);
    const b = (await h.ok(['logs', n])).split('\n').length;
    assert.equal(b, a, 'the container printed while paused');
    const ex = await h.docker(['exec', n, 'true']);
    assert.equal(ex.code, 1);
    assert.ok(ex.stderr.includes(`Container ${n} is paused, unpause the container before exec`), ex.stderr);

    assert.equal(await h.ok(['unpause', n]), n);
    c = await inspect(h, n);
    assert.equal(c.State.Status, 'running');
    assert.equal(c.State.Paused, false);
    await waitFor(async () => (await h.ok(['logs', n])).split('\n').length > b + 2, { message: 'no output after unpause' });

    // a paused container can be force-removed
    assert.equal(await h.ok(['pause', n]), n);
    assert.equal(await h.ok(['rm', '-f', n]), n);
    assert.equal((await h.docker(['container', 'inspect', n])).code, 1);
  });

  it('pause and unpause of a stopped container are 409s', async () => {
    const n = h.name('pausestopped');
    await h.ok(['create', '--name', n, h.image, 'true']);
    const id = (await inspect(h, n)).Id;
    const r = await h.docker(['pause', n]);
    assert.equal(r.code, 1);
    assert.ok(r.stderr.includes(`Container ${id} is not running`), r.stderr);
    const u = await h.docker(['unpause', n]);
    assert.equal(u.code, 1);
  });

  it('wait blocks until exit and prints the exit code', async () => {
    const a = h.name('waita');
    const b = h.name('waitb');
    await h.ok(['run', '-d', '--name', a, h.image, 'sh', '-c', `${untilGo}; exit 3`]);
    await h.ok(['run', '-d', '--name', b, h.image, 'sh', '-c', `${untilGo}; exit 4`]);
    const w = h.spawn(['wait', a, b]);
    await sleep(200);
    assert.equal(w.stdout, '', 'wait returned before the containers exited');
    await h.ok(['exec', a, 'touch', '/tmp/go']);
    await h.ok(['exec', b, 'touch', '/tmp/go']);
    const r = await w.exited;
    assert.deepEqual([r.code, r.stdout], [0, '3\n4\n']);
    // already exited: returns at once
    assert.equal(await h.ok(['wait', a]), '3');
    // created: not-running is met at once, code 0
    const c = h.name('waitcreated');
    await h.ok(['create', '--name', c, h.image, 'true']);
    assert.equal(await h.ok(['wait', c]), '0');
    const nf = await h.docker(['wait', 'it-nosuch-wait']);
    assert.equal(nf.code, 1);
    assert.match(nf.stderr, /No such container: it-nosuch-wait/);
  });

  it('rm refuses a running container; rm -f and rm -v remove', async () => {
    const n = h.name('rmrun');
    const id = await h.ok(['run', '-d', '--name', n, h.image, 'sleep', '1000']);
    const r = await h.docker(['rm', n]);
    assert.equal(r.code, 1);
    assert.ok(r.stderr.includes(`You cannot remove a running container ${id}. Stop the container before attempting removal or force remove`), r.stderr);
    assert.equal(await fmt(h, n, '{{.State.Status}}'), 'running');
    const f = await h.docker(['rm', '-f', n]);
    assert.deepEqual([f.code, f.stdout], [0, `${n}\n`]);
    // rm -f kills at once (SIGKILL), it does not wait for a graceful stop
    assert.ok(f.ms < 3000, `rm -f of a running container took ${f.ms} ms`);
    assert.equal((await h.docker(['container', 'inspect', n])).code, 1);

    const s1 = h.name('rmv1');
    const s2 = h.name('rmv2');
    await h.ok(['create', '--name', s1, h.image, 'true']);
    await h.ok(['run', '--name', s2, h.image, 'true']);
    const v = await h.docker(['rm', '-v', s1, s2]);
    assert.deepEqual([v.code, v.stdout], [0, `${s1}\n${s2}\n`]);
    assert.equal(await h.ok(['ps', '-a', '-q', '--filter', `name=${s1}`]), '');

    const nf = await h.docker(['rm', 'it-nosuch-rm']);
    assert.equal(nf.code, 1);
    assert.ok(nf.stderr.includes('No such container: it-nosuch-rm'), nf.stderr);
    assert.equal((await h.docker(['rm', '-f', 'it-nosuch-rm'])).code, 0);
  });

  it('containers are found by short id prefix and by name with a slash', async () => {
    const n = h.name('prefix');
    const id = await h.ok(['create', '--name', n, h.image, 'true']);
    assert.equal(await fmt(h, id.slice(0, 12), '{{.Name}}'), `/${n}`);
    assert.equal(await fmt(h, id.slice(0, 5), '{{.Id}}'), id);
    assert.equal(await fmt(h, `/${n}`, '{{.Id}}'), id);
  });

  it('inspect -f formats fields; unknown objects are errors', async () => {
    const n = h.name('inspect');
    assert.equal((await h.docker(['run', '--name', n, '-l', 'it.k=v', h.image, 'sh', '-c', 'exit 2'])).code, 2);
    assert.equal(await h.ok(['inspect', '-f', '{{.Name}} {{.State.Status}} {{.State.ExitCode}} {{index .Config.Labels "it.k"}}', n]), `/${n} exited 2 v`);
    assert.equal(await h.ok(['inspect', '--format', '{{json .Config.Cmd}}', n]), '["sh","-c","exit 2"]');
    assert.equal(await h.ok(['container', 'inspect', '-f', '{{.HostConfig.AutoRemove}} {{.HostConfig.LogConfig.Type}}', n]), 'false json-file');
    const c = await inspect(h, n);
    assert.match(c.Id, HEX64);
    assert.equal(c.State.Running, false);
    assert.equal(c.State.Paused, false);
    assert.equal(c.State.OOMKilled, false);
    assert.equal(c.State.Dead, false);
    assert.match(c.State.StartedAt, RFC3339_NANO);
    // (no FinishedAt >= StartedAt check: for a process that exits at once dockerd itself can
    // record StartedAt after FinishedAt)
    assert.match(c.State.FinishedAt, RFC3339_NANO);
    assert.notEqual(c.State.FinishedAt, ZERO_TIME);
    assert.equal(typeof c.NetworkSettings, 'object');
    assert.ok(c.NetworkSettings.Ports !== null && typeof c.NetworkSettings.Ports === 'object');
    assert.ok(c.NetworkSettings.Networks !== null && typeof c.NetworkSettings.Networks === 'object');
    assert.equal(c.Config.Tty, false);
    assert.equal(c.Config.OpenStdin, false);

    const nf = await h.docker(['inspect', 'it-nosuch']);
    assert.equal(nf.code, 1);
    assert.equal(nf.stdout.trim(), '[]');
    assert.match(nf.stderr, /Error: No such object: it-nosuch/);
    const nfc = await h.docker(['container', 'inspect', 'it-nosuch']);
    assert.equal(nfc.code, 1);
    assert.match(nfc.stderr, /No such container: it-nosuch/);
  });

  it('top lists the container processes', async () => {
    const n = h.name('top');
    await h.ok(['run', '-d', '--name', n, h.image, 'sleep', '1000']);
    const pid = Number(await fmt(h, n, '{{.State.Pid}}'));
    const out = await h.ok(['top', n]);
    const [head, ...rows] = out.split('\n');
    assert.deepEqual(head!.trim().split(/\s+/), ['UID', 'PID', 'PPID', 'C', 'STIME', 'TTY', 'TIME', 'CMD']);
    assert.equal(rows.length, 1, out);
    const cols = rows[0]!.trim().split(/\s+/);
    assert.equal(cols[0], 'root');
    assert.equal(Number(cols[1]), pid);
    assert.equal(cols.slice(7).join(' '), 'sleep 1000');
    const custom = await h.ok(['top', n, '-o', 'pid,comm']);
    assert.deepEqual(custom.split('\n').map((l) => l.trim().split(/\s+/)), [['PID', 'COMMAND'], [String(pid), 'sleep']]);

    const s = h.name('topstopped');
    await h.ok(['create', '--name', s, h.image, 'true']);
    const r = await h.docker(['top', s]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /Container [0-9a-f]{64} is not running/);
  });

  it('rename changes the name; conflicts and unknown containers fail', async () => {
    const a = h.name('rena');
    const b = h.name('renb');
    const c = h.name('renc');
    const id = await h.ok(['create', '--name', a, h.image, 'true']);
    await h.ok(['create', '--name', c, h.image, 'true']);
    const r = await h.docker(['rename', a, b]);
    assert.deepEqual([r.code, r.stdout], [0, '']);
    assert.equal(await fmt(h, b, '{{.Id}} {{.Name}}'), `${id} /${b}`);
    assert.equal((await h.docker(['container', 'inspect', a])).code, 1);
    const cid = (await inspect(h, c)).Id;
    const conflict = await h.docker(['rename', b, c]);
    assert.equal(conflict.code, 1);
    assert.ok(conflict.stderr.includes(`Conflict. The container name "/${c}" is already in use by container "${cid}"`), conflict.stderr);
    const nf = await h.docker(['rename', 'it-nosuch-ren', 'it-x']);
    assert.equal(nf.code, 1);
    assert.match(nf.stderr, /No such container: it-nosuch-ren/);
    // the old name is free again
    const a2 = await h.ok(['create', '--name', a, h.image, 'true']);
    assert.match(a2, HEX64);
  });

  it('attach connects stdin and output to a running container and returns its exit code', async () => {
    const n = h.name('attach');
    await h.ok(['run', '-d', '-i', '--name', n, h.image, 'sh', '-c', 'read l; echo "got:$l"; echo err >&2; exit 4']);
    const p = h.spawn(['attach', n]);
    // docker stops streaming output once the client's stdin hits EOF on a non-StdinOnce
    // container, so keep stdin open until the output arrived
    p.write('hi\n');
    await p.waitForOutput('got:hi\n');
    await waitFor(() => p.stderr.includes('err\n') || p.proc.exitCode !== null);
    p.closeStdin();
    const r = await p.exited;
    assert.equal(r.code, 4);
    assert.equal(r.stdout, 'got:hi\n');
  });

  it('attach -t detaches on ctrl-p ctrl-q and the container keeps running', { skip: requires('script') }, async () => {
    const n = h.name('detach');
    await h.ok(['run', '-dit', '--name', n, h.image, 'sh']);
    const pid = (await inspect(h, n)).State.Pid;
    const p = h.spawnTty(['attach', n]);
    // a first command proves the CLI is attached (and its terminal raw, so ctrl-q is no XON)
    p.write('echo re""ady\n');
    await p.waitForOutput('ready\r\n');
    p.write('\x10\x11');
    let timer: NodeJS.Timeout | undefined;
    const r = await Promise.race([p.exited, new Promise<never>((_, rej) => { timer = setTimeout(() => rej(new Error(`attach did not detach: ${JSON.stringify(p.stdout)}`)), 10_000); })]);
    clearTimeout(timer);
    p.closeStdin();
    // (docker CLI 28 reports the detach as an error: exit 1)
    assert.ok(r.code === 0 || r.code === 1, `exit ${r.code}: ${r.stdout}`);
    assert.match(r.stdout, /read escape sequence/);
    assert.equal(await fmt(h, n, '{{.State.Status}} {{.State.Pid}}'), `running ${pid}`);
    // and it can be attached again
    const p2 = h.spawnTty(['attach', n]);
    p2.write('echo ag""ain\n');
    await p2.waitForOutput('again\r\n');
    p2.write('exit 3\n');
    const r2 = await p2.exited;
    p2.closeStdin();
    assert.equal(r2.code, 3, r2.stdout);
    assert.equal(await fmt(h, n, '{{.State.Status}} {{.State.ExitCode}}'), 'exited 3');
  });

  it('attach --no-stdin follows output until exit; attach to a stopped container fails', async () => {
    const n = h.name('attachout');
    await h.ok(['run', '-d', '--name', n, h.image, 'sh', '-c', 'while [ ! -f /tmp/go ]; do echo tick; sleep 0.1; done; echo second; exit 6']);
    const p = h.spawn(['attach', '--no-stdin', n]);
    await p.waitForOutput('tick\n');
    await h.ok(['exec', n, 'touch', '/tmp/go']);
    const r = await p.exited;
    assert.equal(r.code, 6);
    assert.match(r.stdout, /^(tick\n)+second\n$/);
    const s = await h.docker(['attach', n]);
    assert.equal(s.code, 1);
    assert.match(s.stderr, /You cannot attach to a stopped container, start it first/);
  });
});
