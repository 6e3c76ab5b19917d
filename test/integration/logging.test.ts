// Log drivers and rotation (issue 7, item 5): json-file with max-size/max-file rotates for
// real and `logs` still reads everything kept; `none` refuses to be read; unknown drivers
// and options are refused at create.
import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { startPierd, requires, engineRequirements, inspect, waitFor, type Engine } from './harness.js';

describe('log drivers and rotation', { skip: requires(...engineRequirements) }, () => {
  let h: Engine;
  before(async () => { h = await startPierd(); });
  after(async () => { await h?.stop(); });
  afterEach(async () => { await h.cleanup(); });

  it('max-size/max-file rotate the log; logs reads the kept files in order', { skip: requires('pier-only') }, async () => {
    const n = h.name('log-rot');
    // 3 bursts of 400 lines (~36 kB of k8s-file lines each), a pause between them so the
    // rotator (1 s period) sees each burst.
    const burst = (tag: string) => `i=0; while [ $i -lt 400 ]; do echo ${tag}-$i; i=$((i+1)); done`;
    await h.ok(['run', '-d', '--name', n, '--log-opt', 'max-size=20k', '--log-opt', 'max-file=2', h.image, 'sh', '-c',
      `${burst('a')}; sleep 1.5; ${burst('b')}; sleep 1.5; ${burst('c')}; sleep 1000`]);
    const c = await inspect(h, n);
    assert.deepEqual(c.HostConfig.LogConfig, { Type: 'json-file', Config: { 'max-size': '20k', 'max-file': '2' } });
    const dir = dirname(c.LogPath);
    await waitFor(async () => (await h.ok(['logs', '--tail', '1', n])) === 'c-399', { timeout: 10_000 });
    await waitFor(async () => statSync(c.LogPath).size < 20_000, { timeout: 5_000 });
    const files = readdirSync(dir).filter((f) => f.startsWith('ctr.log')).sort();
    assert.deepEqual(files, ['ctr.log', 'ctr.log.1'], 'one rotated file kept, the oldest dropped');
    const all = (await h.ok(['logs', n])).split('\n');
    assert.equal(all.at(-1), 'c-399');
    assert.ok(!all.includes('a-0'), 'the oldest burst was rotated away');
    assert.ok(all.includes('b-0') || all.includes('c-0'));
    for (const f of files) assert.ok(statSync(join(dir, f)).size < 60_000);
  });

  it('logs -f keeps following across a rotation', { skip: requires('pier-only') }, async () => {
    const n = h.name('log-follow');
    await h.ok(['run', '-d', '--name', n, '--log-opt', 'max-size=5k', '--log-opt', 'max-file=3', h.image, 'sh', '-c',
      'i=0; while [ $i -lt 60 ]; do echo x-$i-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx; i=$((i+1)); sleep 0.05; done']);
    const p = h.spawn(['logs', '-f', n]);
    const r = await p.exited;
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, 60, r.stdout.slice(-300));
    assert.ok(lines[59]!.startsWith('x-59-'));
  });

  it('--log-driver none: the container runs, logs refuses', async () => {
    const n = h.name('log-none');
    assert.equal(await h.ok(['run', '--rm', '--log-driver', 'none', h.image, 'echo', 'attached-still-works']), 'attached-still-works');
    await h.ok(['run', '-d', '--name', n, '--log-driver', 'none', h.image, 'echo', 'x']);
    const r = await h.docker(['logs', n]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /configured logging driver does not support reading/);
  });

  it('unknown drivers and options are refused at create', async () => {
    const a = await h.docker(['create', '--log-driver', 'nosuchdriver', h.image, 'true']);
    assert.equal(a.code, 1);
    assert.match(a.stderr, /error looking up logging plugin nosuchdriver: plugin "nosuchdriver" not found/);
    const b = await h.docker(['create', '--log-opt', 'foo=1', h.image, 'true']);
    assert.equal(b.code, 1);
    assert.match(b.stderr, /unknown log opt 'foo' for json-file log driver/);
  });
});
