import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { coalesce } from './coalesce.js';

async function* pieces(sizes: number[]): AsyncIterable<Buffer> {
  let n = 0;
  for (const s of sizes) yield Buffer.from(Array.from({ length: s }, () => n++ & 0xff));
}

describe('coalesce()', () => {
  it('coalesce() joins small chunks to at least the minimum, keeps big ones and the order of bytes', async () => {
    const out: Buffer[] = [];
    for await (const c of coalesce(pieces([3, 3, 3, 10, 1, 2]), 8)) out.push(c);
    assert.deepEqual(out.map((c) => c.length), [9, 10, 3]);
    const all = Buffer.concat(out);
    assert.deepEqual([...all], Array.from({ length: 22 }, (_, i) => i));
  });
});
