// Restart survival (issue 2, "What to build" 7): pierd can be killed (SIGKILL) or stopped
// (SIGTERM) at any moment and started again on the same root. Running containers keep running
// (conmon is their parent, not pierd), containers that exited meanwhile show their real exit
// code and time, logs -f and attach work again, and --rm containers that exited while pierd
// was down are removed once it is back.
import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { startPierd, requires, engineRequirements, inspect, waitFor, procAlive, type Engine } from './harness.js';

/** Waits in the container for /tmp/<flag>, which the host can create through /proc/PID/root. */
const until = (flag: string) => `while [ ! -f /tmp/${flag} ]; do sleep 0.05; done`;

/** Creates /tmp/<flag> inside a container from the host, without any engine involved. */
function touchInside(pid: number, flag: string): void {
  writeFileSync(`/proc/${pid}/root/tmp/${flag}`, '');
}

describe('pierd restart survival', { skip: requires(...engineRequirements, 'pier-only') }, () => {
  let h: Engine;
  before(async () => { h = await startPierd(); });
  after(async () => { await h?.stop(); });
  afterEach(async () => { await h.cleanup(); });

  it('after kill -9 and a restart: containers still run, exits are seen, logs -f, attach and --rm work', async () => {
    const sleeper = h.name('rs-sleep');
    const exiter = h.name('rs-exit');
    const rmer = h.name('rs-rm');
    const logger = h.name('rs-log');
    const att = h.name('rs-att');
    await h.ok(['run', '-d', '--name', sleeper, h.image, 'sleep', '1000']);
    await h.ok(['run', '-d', '--name', exiter, h.image, 'sh', '-c', `${until('go')}; exit 7`]);
    await h.ok(['run', '-d', '--rm', '--name', rmer, h.image, 'sh', '-c', `${until('go')}; exit 0`]);
    await h.ok(['run', '-d', '--name', logger, h.image, 'sh', '-c', `echo one; ${until('go1')}; echo two; touch /tmp/ack; ${until('go2')}; echo three`]);
    await h.ok(['run', '-d', '-i', '--name', att, h.image, 'sh', '-c', 'read l; echo "got:$l"; exit 4']);
    await waitFor(async () => (await h.ok(['logs', logger])) === 'one');
    const before = new Map<string, any>();
    for (const n of [sleeper, exiter, rmer, logger, att]) before.set(n, await inspect(h, n));
    const pid = (n: string) => before.get(n).State.Pid as number;
    for (const n of before.keys()) assert.ok(pid(n) > 0, `${n} has a pid`);

    await h.kill9();
    for (const n of before.keys()) assert.ok(procAlive(pid(n)), `${n} (pid ${pid(n)}) died with pierd`);

    // while pierd is down: two containers exit, one prints more output
    const tDown = Date.now();
    touchInside(pid(exiter), 'go');
    touchInside(pid(rmer), 'go');
    touchInside(pid(logger), 'go1');
    await waitFor(() => !procAlive(pid(exiter)), { message: `${exiter} did not exit` });
    await waitFor(() => !procAlive(pid(rmer)), { message: `${rmer} did not exit` });
    await waitFor(() => existsSync(`/proc/${pid(logger)}/root/tmp/ack`), { message: `${logger} did not print` });
    const tExited = Date.now();

    await h.restart();

    // still running, untouched
    const s = await inspect(h, sleeper);
    assert.equal(s.State.Status, 'running');
    assert.equal(s.State.Running, true);
    assert.equal(s.State.Pid, pid(sleeper));
    assert.equal(s.State.StartedAt, before.get(sleeper).State.StartedAt);
    assert.ok(procAlive(pid(sleeper)));

    // exited meanwhile: its real exit code and a finish time from when it exited
    const e = await inspect(h, exiter);
    assert.equal(e.State.Status, 'exited');
    assert.equal(e.State.Running, false);
    assert.equal(e.State.ExitCode, 7);
    assert.equal(e.State.Pid, 0);
    const fin = Date.parse(e.State.FinishedAt);
    assert.ok(fin >= tDown - 1000 && fin <= tExited + 1000, `FinishedAt ${e.State.FinishedAt} should lie between ${new Date(tDown).toISOString()} and ${new Date(tExited).toISOString()}`);
    assert.equal(await h.ok(['wait', exiter]), '7');

    // --rm container that exited while pierd was down: removed once pierd is back
    await waitFor(async () => (await h.docker(['container', 'inspect', rmer])).code === 1, { message: `${rmer} was not removed` });

    // logs -f works on the new daemon, including output written while it was down
    const lf = h.spawn(['logs', '-f', logger]);
    await lf.waitForOutput('one\ntwo\n');
    await h.ok(['exec', logger, 'touch', '/tmp/go2']);
    const lr = await lf.exited;
    assert.deepEqual([lr.code, lr.stdout], [0, 'one\ntwo\nthree\n']);
    assert.equal(await h.ok(['wait', logger]), '0');

    // attach works on the new daemon
    const ap = h.spawn(['attach', att]);
    ap.write('hi\n');
    await ap.waitForOutput('got:hi\n');
    ap.closeStdin();
    const ar = await ap.exited;
    assert.deepEqual([ar.code, ar.stdout], [4, 'got:hi\n']);

    // the survivor can be managed as usual
    assert.equal(await h.ok(['ps', '-q', '--no-trunc', '--filter', `name=${sleeper}`]), s.Id);
    assert.equal(await h.ok(['kill', sleeper]), sleeper);
    await waitFor(async () => (await h.ok(['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', sleeper])) === 'exited 137');
    assert.ok(!procAlive(pid(sleeper)));
  });

  it('after SIGTERM and a restart the container is still running and can be stopped', async () => {
    const n = h.name('rs-term');
    await h.ok(['run', '-d', '--name', n, h.image, 'sh', '-c', "trap 'exit 0' TERM; while :; do sleep 0.1; done"]);
    const c = await inspect(h, n);
    await h.terminate();
    assert.ok(procAlive(c.State.Pid), 'the container died with pierd');
    await h.restart();
    const c2 = await inspect(h, n);
    assert.equal(c2.State.Status, 'running');
    assert.equal(c2.State.Pid, c.State.Pid);
    const r = await h.docker(['stop', n]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.ms < 5000, `stop took ${r.ms} ms`);
    assert.equal(await h.ok(['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', n]), 'exited 0');
  });

  it('two kill -9s in a row with a container starting in between', async () => {
    const a = h.name('rs-twice-a');
    await h.ok(['run', '-d', '--name', a, h.image, 'sleep', '1000']);
    const pa = (await inspect(h, a)).State.Pid;
    await h.kill9();
    await h.restart();
    const b = h.name('rs-twice-b');
    await h.ok(['run', '-d', '--name', b, h.image, 'sleep', '1000']);
    const pb = (await inspect(h, b)).State.Pid;
    await h.kill9();
    await h.restart();
    assert.equal(await h.ok(['inspect', '-f', '{{.State.Status}} {{.State.Pid}}', a]), `running ${pa}`);
    assert.equal(await h.ok(['inspect', '-f', '{{.State.Status}} {{.State.Pid}}', b]), `running ${pb}`);
    const out = await h.ok(['rm', '-f', a, b]);
    assert.equal(out, `${a}\n${b}`);
    assert.ok(!procAlive(pa) && !procAlive(pb));
  });
});
