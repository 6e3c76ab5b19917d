// Health checks (issue 7, item 5): --health-* flags (and HEALTHCHECK through the image
// config), status in inspect and ps, and health_status events.
import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startPierd, requires, engineRequirements, inspect, waitFor, type Engine } from './harness.js';

describe('health checks', { skip: requires(...engineRequirements) }, () => {
  let h: Engine;
  before(async () => { h = await startPierd(); });
  after(async () => { await h?.stop(); });
  afterEach(async () => { await h.cleanup(); });

  it('starting, then healthy once the probe passes; ps shows it; an event is sent', async () => {
    const n = h.name('hc-ok');
    const since = Math.floor(Date.now() / 1000) - 1;
    await h.ok(['run', '-d', '--name', n, '--health-cmd', 'test -f /tmp/ok', '--health-interval', '200ms', '--health-retries', '5',
      h.image, 'sh', '-c', 'sleep 0.7; touch /tmp/ok; sleep 1000']);
    const first = await inspect(h, n);
    assert.equal(first.State.Health.Status, 'starting');
    assert.match(await h.ok(['ps', '--filter', `name=${n}`, '--format', '{{.Status}}']), /\(health: starting\)$/);
    await waitFor(async () => (await inspect(h, n)).State.Health.Status === 'healthy', { timeout: 10_000 });
    const c = await inspect(h, n);
    assert.equal(c.State.Health.FailingStreak, 0);
    assert.ok(c.State.Health.Log.length >= 1);
    assert.equal(c.State.Health.Log.at(-1).ExitCode, 0);
    assert.match(await h.ok(['ps', '--filter', `name=${n}`, '--format', '{{.Status}}']), /\(healthy\)$/);
    const ev = await h.ok(['events', '--since', String(since), '--until', String(Math.floor(Date.now() / 1000) + 1), '--filter', `container=${n}`, '--format', '{{.Action}}']);
    assert.ok(ev.split('\n').includes('health_status: healthy'), ev);
  });

  it('unhealthy after `retries` failures in a row, with the probe output logged', async () => {
    const n = h.name('hc-bad');
    await h.ok(['run', '-d', '--name', n, '--health-cmd', 'echo nope; exit 1', '--health-interval', '150ms', '--health-retries', '2', h.image, 'sleep', '1000']);
    await waitFor(async () => (await inspect(h, n)).State.Health.Status === 'unhealthy', { timeout: 10_000 });
    const c = await inspect(h, n);
    assert.ok(c.State.Health.FailingStreak >= 2);
    assert.equal(c.State.Health.Log.at(-1).ExitCode, 1);
    assert.equal(c.State.Health.Log.at(-1).Output, 'nope\n');
  });

  it('--no-healthcheck and containers without a check have no Health', async () => {
    const n = h.name('hc-none');
    await h.ok(['run', '-d', '--name', n, h.image, 'sleep', '1000']);
    assert.equal((await inspect(h, n)).State.Health, undefined);
  });
});
