import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { BackgroundHash } from './background-hash.js';

const sha = (...parts: Buffer[]): string => { const h = createHash('sha256'); for (const p of parts) h.update(p); return h.digest('hex'); };

describe('BackgroundHash', () => {
  it('BackgroundHash gives the same digest as crypto for small data hashed in place', async () => {
    const h = new BackgroundHash();
    const a = Buffer.from('hello '), b = Buffer.from('world');
    h.update(a); h.update(b);
    assert.equal(await h.digest(), sha(a, b));
  });

  it('BackgroundHash gives the same digest for big data hashed on a worker, with many hashes at once', async () => {
    const inputs = Array.from({ length: 5 }, () => Array.from({ length: 20 }, () => randomBytes(100_000)));
    const digests = await Promise.all(inputs.map(async (parts) => {
      const h = new BackgroundHash('sha256', 256 * 1024);
      for (const p of parts) h.update(p);
      return h.digest();
    }));
    assert.deepEqual(digests, inputs.map((parts) => sha(...parts)));
  });

  it('BackgroundHash dispose() frees an abandoned hash and digest() after it is refused', async () => {
    const h = new BackgroundHash('sha256', 10);
    h.update(randomBytes(100));
    h.dispose();
    await assert.rejects(h.digest(), /digest called twice/);
  });
});
