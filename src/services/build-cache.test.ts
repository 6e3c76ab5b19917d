import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BuildCache, stepKey } from './build-cache.js';

describe('stepKey()', () => {
  const base = { parent: 'sha256:p', createdBy: '/bin/sh -c echo', config: { Env: ['A=1'], Cmd: ['sh'] } };
  it('does not depend on key order in the config', () => {
    assert.equal(stepKey(base), stepKey({ ...base, config: { Cmd: ['sh'], Env: ['A=1'] } }));
  });
  it('changes with the parent, the instruction, the config and the sources', () => {
    const k = stepKey(base);
    assert.notEqual(k, stepKey({ ...base, parent: 'sha256:q' }));
    assert.notEqual(k, stepKey({ ...base, createdBy: '|1 A=2 /bin/sh -c echo' }));
    assert.notEqual(k, stepKey({ ...base, config: { Env: ['A=2'], Cmd: ['sh'] } }));
    assert.notEqual(stepKey({ ...base, sources: 'x' }), stepKey({ ...base, sources: 'y' }));
  });
});

describe('BuildCache', () => {
  it('persists entries across instances and prunes them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bc-'));
    try {
      const a = new BuildCache(dir);
      await a.set('k', 'sha256:i');
      const b = new BuildCache(dir);
      assert.equal(await b.get('k'), 'sha256:i');
      assert.deepEqual(await b.prune(), ['sha256:i']);
      assert.equal(await new BuildCache(dir).get('k'), undefined);
    } finally { rmSync(dir, { recursive: true, force: true }); }
  });
});
