// Restart policies (issue 7, item 5): always, unless-stopped, on-failure[:N] with Docker's
// backoff, `docker stop` ending them, and the policy kept across a pierd kill -9.
import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startPierd, requires, engineRequirements, inspect, waitFor, type Engine } from './harness.js';

describe('restart policies', { skip: requires(...engineRequirements) }, () => {
  let h: Engine;
  before(async () => { h = await startPierd(); });
  after(async () => { await h?.stop(); });
  afterEach(async () => { await h.cleanup(); });

  it('on-failure:N restarts a failing container N times, then leaves it exited', async () => {
    const n = h.name('rp-fail');
    await h.ok(['run', '-d', '--name', n, '--restart', 'on-failure:2', h.image, 'sh', '-c', 'exit 4']);
    await waitFor(async () => {
      const c = await inspect(h, n);
      return c.RestartCount === 2 && c.State.Status === 'exited';
    }, { timeout: 15_000 });
    const c = await inspect(h, n);
    assert.equal(c.State.ExitCode, 4);
    assert.deepEqual(c.HostConfig.RestartPolicy, { Name: 'on-failure', MaximumRetryCount: 2 });
  });

  it('on-failure does not restart a clean exit; no policy never restarts', async () => {
    const ok = h.name('rp-ok');
    const none = h.name('rp-none');
    await h.ok(['run', '-d', '--name', ok, '--restart', 'on-failure', h.image, 'true']);
    await h.ok(['run', '-d', '--name', none, h.image, 'sh', '-c', 'exit 3']);
    for (const n of [ok, none]) await waitFor(async () => (await inspect(h, n)).State.Status === 'exited');
    await new Promise((r) => setTimeout(r, 500)); // a restart would have begun after 100 ms
    assert.equal((await inspect(h, ok)).RestartCount, 0);
    assert.equal((await inspect(h, none)).RestartCount, 0);
  });

  it('always restarts after each exit with a growing delay; stop ends it', async () => {
    const n = h.name('rp-always');
    await h.ok(['run', '-d', '--name', n, '--restart', 'always', h.image, 'sh', '-c', 'sleep 0.1']);
    await waitFor(async () => (await inspect(h, n)).RestartCount >= 3, { timeout: 15_000 });
    assert.equal(await h.ok(['stop', '-t', '1', n]), n);
    const after = await inspect(h, n);
    assert.equal(after.State.Running, false);
    await new Promise((r) => setTimeout(r, 1000));
    const later = await inspect(h, n);
    assert.equal(later.State.Running, false, 'a stopped always container stays stopped');
    assert.equal(later.RestartCount, after.RestartCount);
  });

  it('--restart with --rm is refused', async () => {
    const r = await h.docker(['run', '-d', '--rm', '--restart', 'always', h.image, 'true']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /conflicting options: cannot specify both --restart and --rm|can't create 'AutoRemove' container with restart policy/);
  });

  it('after kill -9 of pierd, always comes back and unless-stopped stopped by the user does not', { skip: requires('pier-only') }, async () => {
    const a = h.name('rp-keep');
    const u = h.name('rp-unless');
    await h.ok(['run', '-d', '--name', a, '--restart', 'always', h.image, 'sleep', '1000']);
    await h.ok(['run', '-d', '--name', u, '--restart', 'unless-stopped', h.image, 'sleep', '1000']);
    await h.ok(['stop', '-t', '0', a]);
    await h.ok(['stop', '-t', '0', u]);
    await h.kill9();
    await h.restart();
    await waitFor(async () => (await inspect(h, a)).State.Running === true, { timeout: 10_000 });
    await new Promise((r) => setTimeout(r, 500));
    assert.equal((await inspect(h, u)).State.Running, false);
  });
});
