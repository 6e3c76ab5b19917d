import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { tee } from './tee.js';

async function* chunks(n: number, failAt?: number): AsyncIterable<Buffer> {
  for (let i = 0; i < n; i++) {
    if (i === failAt) throw new Error('source broke');
    await new Promise((r) => setImmediate(r));
    yield Buffer.from([i & 0xff]);
  }
}

async function collect(src: AsyncIterable<Buffer>, delayMs = 0): Promise<number[]> {
  const out: number[] = [];
  for await (const c of src) { out.push(c[0]!); if (delayMs) await new Promise((r) => setTimeout(r, delayMs)); }
  return out;
}

describe('tee()', () => {
  it('tee() gives both branches every chunk in order, even when one is slower', async () => {
    const [a, b] = tee(chunks(100), 4);
    const [x, y] = await Promise.all([collect(a), collect(b, 1)]);
    const want = Array.from({ length: 100 }, (_, i) => i);
    assert.deepEqual(x, want);
    assert.deepEqual(y, want);
  });

  it('tee() fails both branches when the source fails', async () => {
    const [a, b] = tee(chunks(10, 5));
    const r = await Promise.allSettled([collect(a), collect(b)]);
    assert.deepEqual(r.map((x) => x.status), ['rejected', 'rejected']);
    assert.match(String((r[0] as PromiseRejectedResult).reason), /source broke/);
  });

  it('tee() fails the other branch when one consumer stops early, instead of hanging', async () => {
    const [a, b] = tee(chunks(1000), 2);
    const first = (async () => { for await (const c of a) if (c[0] === 3) break; })();
    const second = collect(b, 1);
    await first;
    await assert.rejects(second, (e: Error) => e.name === 'TeeAbortedError');
  });
});
