// docker ps, docker logs and docker events through the real docker CLI.
import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startPierd, requires, engineRequirements, inspect, waitFor, type Engine } from './harness.js';

const TS = '\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{9}Z';
// The short sleep after the file appears lets the `exec touch` that made it finish first: once
// PID 1 exits the kernel kills what is left in the container (exit 137 for the exec).
const untilGo = 'while [ ! -f /tmp/go ]; do sleep 0.05; done; sleep 0.1';

describe('docker ps', { skip: requires(...engineRequirements) }, () => {
  let h: Engine;
  before(async () => { h = await startPierd(); });
  after(async () => { await h?.stop(); });
  afterEach(async () => { await h.cleanup(); });

  it('lists with -a -q -n -l --no-trunc and filters', async () => {
    const L = `it.ps=${Date.now()}`;
    const a = h.name('psa');
    const b = h.name('psb');
    const c = h.name('psc');
    const idA = await h.ok(['run', '-d', '--name', a, '-l', L, '-l', 'it.role=runner', h.image, 'sleep', '1000']);
    const rb = await h.docker(['run', '--name', b, '-l', L, h.image, 'sh', '-c', 'echo out; exit 3']);
    assert.equal(rb.code, 3);
    const idB = (await inspect(h, b)).Id as string;
    const idC = await h.ok(['create', '--name', c, '-l', L, h.image, 'true']);
    const f = ['--filter', `label=${L}`];
    const s = (id: string) => id.slice(0, 12);

    assert.equal(await h.ok(['ps', '-q', ...f]), s(idA));
    assert.equal(await h.ok(['ps', '-a', '-q', ...f]), [s(idC), s(idB), s(idA)].join('\n'));
    assert.equal(await h.ok(['ps', '-a', '-q', '--no-trunc', ...f]), [idC, idB, idA].join('\n'));
    assert.equal(await h.ok(['ps', '-q', '-n', '2', ...f]), [s(idC), s(idB)].join('\n'));
    assert.equal(await h.ok(['ps', '-q', '-l', ...f]), s(idC));
    assert.equal(await h.ok(['ps', '-a', '-q', ...f, '--filter', 'status=exited']), s(idB));
    assert.equal(await h.ok(['ps', '-a', '-q', ...f, '--filter', 'status=created']), s(idC));
    assert.equal(await h.ok(['ps', '-a', '-q', ...f, '--filter', 'status=running']), s(idA));
    assert.equal(await h.ok(['ps', '-a', '-q', ...f, '--filter', 'exited=3']), s(idB));
    assert.equal(await h.ok(['ps', '-a', '-q', ...f, '--filter', 'exited=0']), '');
    assert.equal(await h.ok(['ps', '-a', '-q', '--filter', `name=${b}`]), s(idB));
    assert.equal(await h.ok(['ps', '-a', '-q', '--filter', `id=${idC.slice(0, 10)}`]), s(idC));
    assert.equal(await h.ok(['ps', '-a', '-q', ...f, '--filter', 'label=it.role=runner']), s(idA));
    assert.equal(await h.ok(['ps', '-a', '-q', ...f, '--filter', 'label=it.role']), s(idA));
    assert.equal(await h.ok(['ps', '-a', '-q', ...f, '--filter', `ancestor=${h.image}`]), [s(idC), s(idB), s(idA)].join('\n'));
    assert.equal(await h.ok(['ps', '-a', '-q', '--filter', 'name=it-nosuch-ps']), '');
  });

  it('prints docker\'s table, Status and Command text', async () => {
    const L = `it.pst=${Date.now()}`;
    const a = h.name('tbla');
    const b = h.name('tblb');
    const idA = await h.ok(['run', '-d', '--name', a, '-l', L, h.image, 'sleep', '1000']);
    assert.equal((await h.docker(['run', '--name', b, '-l', L, h.image, 'sh', '-c', 'echo out; exit 3'])).code, 3);
    const out = await h.ok(['ps', '-a', '--filter', `label=${L}`]);
    const lines = out.split('\n');
    assert.match(lines[0]!, /^CONTAINER ID\s+IMAGE\s+COMMAND\s+CREATED\s+STATUS\s+PORTS\s+NAMES$/);
    assert.equal(lines.length, 3);
    assert.match(lines[1]!, new RegExp(`^[0-9a-f]{12}\\s+${h.image}\\s+"sh -c 'echo out; ex…"\\s+.+ ago\\s+Exited \\(3\\) .+ ago\\s+${b}$`));
    assert.match(lines[2]!, new RegExp(`^${idA.slice(0, 12)}\\s+${h.image}\\s+"sleep 1000"\\s+.+ ago\\s+Up .+\\s+${a}$`));

    const fmtd = await h.ok(['ps', '-a', '--no-trunc', '--filter', `label=${L}`, '--format', '{{.Names}}|{{.Command}}|{{.State}}|{{.Image}}']);
    assert.equal(fmtd, [`${b}|"sh -c 'echo out; exit 3'"|exited|${h.image}`, `${a}|"sleep 1000"|running|${h.image}`].join('\n'));
    const st = await h.ok(['ps', '-a', '--filter', `label=${L}`, '--format', '{{.Status}}']);
    const [sb, sa] = st.split('\n');
    assert.match(sb!, /^Exited \(3\) (Less than a second|\d+ seconds?|About a minute) ago$/);
    assert.match(sa!, /^Up (Less than a second|\d+ seconds?|About a minute)$/);

    const table = await h.ok(['ps', '--filter', `label=${L}`, '--format', 'table {{.Names}}\t{{.State}}']);
    assert.match(table, new RegExp(`^NAMES\\s+STATE\\n${a}\\s+running$`));
    const json = JSON.parse(await h.ok(['ps', '--filter', `label=${L}`, '--format', '{{json .}}']));
    assert.equal(json.ID, idA.slice(0, 12));
    assert.equal(json.Names, a);
    assert.equal(json.State, 'running');
    assert.equal(json.Labels, L);
  });
});

describe('docker logs', { skip: requires(...engineRequirements) }, () => {
  let h: Engine;
  before(async () => { h = await startPierd(); });
  after(async () => { await h?.stop(); });
  afterEach(async () => { await h.cleanup(); });

  it('keeps stdout and stderr apart; --tail; -t', async () => {
    const n = h.name('logs');
    await h.ok(['run', '--name', n, h.image, 'sh', '-c', 'echo out1; echo err1 >&2; echo out2; printf "no-newline"']);
    const r = await h.docker(['logs', n]);
    assert.deepEqual([r.code, r.stdout, r.stderr], [0, 'out1\nout2\nno-newline', 'err1\n']);
    // --tail counts lines across both streams, whose relative order depends on the engine's
    // read timing: use a stdout-only container
    const o = h.name('logstail');
    await h.ok(['run', '--name', o, h.image, 'sh', '-c', 'echo out1; echo out2; printf "no-newline"']);
    const t1 = await h.docker(['logs', '--tail', '1', o]);
    assert.deepEqual([t1.stdout, t1.stderr], ['no-newline', '']);
    const t2 = await h.docker(['logs', '--tail', '2', o]);
    assert.deepEqual([t2.stdout, t2.stderr], ['out2\nno-newline', '']);
    const t0 = await h.docker(['logs', '--tail', '0', o]);
    assert.deepEqual([t0.code, t0.stdout, t0.stderr], [0, '', '']);
    const all = await h.docker(['logs', '--tail', 'all', o]);
    assert.equal(all.stdout, 'out1\nout2\nno-newline');
    const ts = await h.docker(['logs', '-t', n]);
    assert.match(ts.stdout, new RegExp(`^${TS} out1\\n${TS} out2\\n${TS} no-newline$`));
    assert.match(ts.stderr, new RegExp(`^${TS} err1\\n$`));
  });

  it('--since and --until select by timestamp', async () => {
    const n = h.name('since');
    await h.ok(['run', '-d', '--name', n, h.image, 'sh', '-c', `echo a; ${untilGo}; echo b`]);
    await waitFor(async () => (await h.ok(['logs', n])) === 'a');
    await h.ok(['exec', n, 'touch', '/tmp/go']);
    assert.equal(await h.ok(['wait', n]), '0');
    const lines = (await h.ok(['logs', '-t', n])).split('\n');
    assert.equal(lines.length, 2);
    const [ta, tb] = lines.map((l) => l.split(' ')[0]!);
    assert.ok(ta! < tb!, `${ta} < ${tb}`);
    assert.equal(await h.ok(['logs', '--since', tb!, n]), 'b');
    assert.equal(await h.ok(['logs', '--until', ta!, n]), 'a');
    assert.equal(await h.ok(['logs', '--since', ta!, '--until', tb!, n]), 'a\nb');
    // seconds since the epoch, and a relative duration
    assert.equal(await h.ok(['logs', '--since', String(Math.floor(Date.parse(ta!) / 1000) - 5), n]), 'a\nb');
    assert.equal(await h.ok(['logs', '--since', '10m', n]), 'a\nb');
    assert.equal(await h.ok(['logs', '--until', '10m', n]), '');
  });

  it('-f follows new output and ends when the container exits', async () => {
    const n = h.name('follow');
    await h.ok(['run', '-d', '--name', n, h.image, 'sh', '-c', `echo one; echo err-one >&2; ${untilGo}; echo two; echo err-two >&2; exit 2`]);
    await waitFor(async () => (await h.ok(['logs', n])) === 'one');
    const p = h.spawn(['logs', '-f', n]);
    await p.waitForOutput('one\n');
    await h.ok(['exec', n, 'touch', '/tmp/go']);
    const r = await p.exited;
    assert.equal(r.code, 0);
    assert.equal(r.stdout, 'one\ntwo\n');
    assert.equal(r.stderr, 'err-one\nerr-two\n');
  });

  it('-f --tail 1 -t starts at the last line', async () => {
    const n = h.name('followtail');
    await h.ok(['run', '-d', '--name', n, h.image, 'sh', '-c', `echo l1; echo l2; ${untilGo}; echo l3`]);
    await waitFor(async () => (await h.ok(['logs', n])) === 'l1\nl2');
    const p = h.spawn(['logs', '-f', '--tail', '1', '-t', n]);
    await p.waitForOutput('l2\n');
    await h.ok(['exec', n, 'touch', '/tmp/go']);
    const r = await p.exited;
    assert.equal(r.code, 0);
    assert.match(r.stdout, new RegExp(`^${TS} l2\\n${TS} l3\\n$`));
  });

  it('logs -f of a stopped container prints everything and returns', async () => {
    const n = h.name('followstopped');
    await h.ok(['run', '--name', n, h.image, 'echo', 'done']);
    const r = await h.docker(['logs', '-f', n], { timeout: 10_000 });
    assert.deepEqual([r.code, r.stdout], [0, 'done\n']);
  });

  it('a tty container logs raw output', async () => {
    const n = h.name('ttylogs');
    await h.ok(['run', '-t', '--name', n, h.image, 'sh', '-c', 'echo out; echo err >&2']);
    const r = await h.docker(['logs', n]);
    assert.deepEqual([r.code, r.stdout, r.stderr], [0, 'out\r\nerr\r\n', '']);
  });

  it('logs of an unknown container fails', async () => {
    const r = await h.docker(['logs', 'it-nosuch-logs']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /No such container: it-nosuch-logs/);
  });
});

describe('docker events', { skip: requires(...engineRequirements) }, () => {
  let h: Engine;
  before(async () => { h = await startPierd(); });
  after(async () => { await h?.stop(); });
  afterEach(async () => { await h.cleanup(); });

  const nowS = () => Math.floor(Date.now() / 1000);

  it('--since/--until replay a container\'s life in order', async () => {
    const t0 = nowS() - 1;
    const n = h.name('evlife');
    const L = 'it.ev=1';
    await h.ok(['create', '--name', n, '-l', L, h.image, 'sh', '-c', 'exit 3']);
    await h.ok(['start', n]);
    assert.equal(await h.ok(['wait', n]), '3');
    const id = (await inspect(h, n)).Id as string;
    await h.ok(['rm', n]);
    const until = nowS() + 1;
    const r = await h.docker(['events', '--since', String(t0), '--until', String(until), '--filter', 'type=container', '--filter', `container=${n}`,
      '--format', '{{.Type}} {{.Action}} {{.Actor.ID}} {{.Actor.Attributes.name}} {{.Actor.Attributes.image}} {{index .Actor.Attributes "it.ev"}}'], { timeout: 10_000 });
    assert.equal(r.code, 0, r.stderr);
    const want = ['create', 'start', 'die', 'destroy'].map((a) => `container ${a} ${id} ${n} ${h.image} 1`);
    assert.deepEqual(r.stdout.trim().split('\n'), want);
    const die = await h.ok(['events', '--since', String(t0), '--until', String(until), '--filter', `container=${id}`, '--filter', 'event=die']);
    assert.match(die, new RegExp(`^${TS} container die ${id} \\(exitCode=3, image=${h.image}, it\\.ev=1, name=${n}\\)$`));
  });

  it('streams live events with filters; kill, pause, unpause, stop, rename carry their attributes', async () => {
    const t0 = nowS() - 1;
    const n = h.name('evlive');
    const n2 = h.name('evlive2');
    await h.ok(['run', '-d', '--name', n, h.image, 'sh', '-c', "trap 'exit 0' TERM; echo ready; while :; do sleep 0.1; done"]);
    const id = (await inspect(h, n)).Id as string;
    await waitFor(async () => (await h.ok(['logs', n])) === 'ready');
    const p = h.spawn(['events', '--since', String(t0), '--filter', `container=${id}`, '--filter', 'type=container',
      '--format', '{{.Action}} {{.Actor.Attributes.name}} sig={{.Actor.Attributes.signal}} ec={{.Actor.Attributes.exitCode}} old={{.Actor.Attributes.oldName}}']);
    await p.waitForOutput(`start ${n}`);
    await h.ok(['pause', n]);
    await h.ok(['unpause', n]);
    await h.ok(['kill', '-s', 'USR1', n]);
    await h.ok(['stop', n]);
    await h.ok(['rename', n, n2]);
    await h.ok(['rm', n2]);
    await p.waitForOutput(`destroy ${n2}`);
    const r = await p.kill();
    const nv = '<no value>';
    assert.deepEqual(r.stdout.trim().split('\n'), [
      `create ${n} sig=${nv} ec=${nv} old=${nv}`,
      `start ${n} sig=${nv} ec=${nv} old=${nv}`,
      `pause ${n} sig=${nv} ec=${nv} old=${nv}`,
      `unpause ${n} sig=${nv} ec=${nv} old=${nv}`,
      `kill ${n} sig=10 ec=${nv} old=${nv}`,
      `kill ${n} sig=15 ec=${nv} old=${nv}`,
      `die ${n} sig=${nv} ec=0 old=${nv}`,
      `stop ${n} sig=${nv} ec=${nv} old=${nv}`,
      `rename ${n2} sig=${nv} ec=${nv} old=/${n}`,
      `destroy ${n2} sig=${nv} ec=${nv} old=${nv}`,
    ]);
  });

  it('a foreground run --rm emits create, attach, start, die, destroy', async () => {
    const t0 = nowS() - 1;
    const n = h.name('evrun');
    const p = h.spawn(['events', '--since', String(t0), '--filter', 'type=container', '--filter', `container=${n}`, '--format', '{{.Action}}']);
    assert.equal((await h.docker(['run', '--rm', '--name', n, h.image, 'sh', '-c', 'exit 3'])).code, 3);
    await p.waitForOutput('destroy');
    const r = await p.kill();
    assert.deepEqual(r.stdout.trim().split('\n'), ['create', 'attach', 'start', 'die', 'destroy']);
  });

  it('--filter event= selects actions', async () => {
    const t0 = nowS() - 1;
    const n = h.name('evfilt');
    await h.ok(['run', '--name', n, h.image, 'true']);
    await h.ok(['rm', n]);
    const r = await h.ok(['events', '--since', String(t0), '--until', String(nowS() + 1), '--filter', `container=${n}`, '--filter', 'event=start', '--filter', 'event=destroy', '--format', '{{.Action}}']);
    assert.equal(r, 'start\ndestroy');
  });
});
