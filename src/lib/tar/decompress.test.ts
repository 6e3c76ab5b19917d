import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { isInvalidArgument } from '../errdefs.js';
import { detectCompression, maybeDecompress } from './decompress.js';
import { chunked, collect, run } from './fixture-kit.js';

const data = Buffer.from('hello tar world\n'.repeat(1000));

describe('maybeDecompress()', () => {
  it('passes uncompressed data through, including tiny and empty streams', async () => {
    assert.deepEqual(await collect(maybeDecompress(chunked(data, 3))), data);
    assert.deepEqual(await collect(maybeDecompress(chunked(Buffer.from('ab'), 1))), Buffer.from('ab'));
    assert.deepEqual(await collect(maybeDecompress(chunked(Buffer.alloc(0), 1))), Buffer.alloc(0));
  });

  it('gunzips transparently, also when the magic is split across chunks and members are concatenated', async () => {
    const gz = gzipSync(data);
    assert.deepEqual(await collect(maybeDecompress(chunked(gz, 1))), data);
    const two = Buffer.concat([gzipSync('a'), gzipSync('b')]);
    assert.equal((await collect(maybeDecompress(chunked(two, 7)))).toString(), 'ab');
  });

  it('reports zstd, bzip2 and xz as unsupported compression', async () => {
    for (const [tool, name] of [['zstd', 'zstd'], ['bzip2', 'bzip2'], ['xz', 'xz']] as const) {
      const compressed = run(tool, ['-c'], { input: data });
      assert.equal(detectCompression(compressed), name);
      await assert.rejects(collect(maybeDecompress(chunked(compressed, 2))),
        (e) => isInvalidArgument(e) && (e as Error).message.startsWith(`unsupported compression: ${name}`));
    }
  });

  it('turns truncated or corrupt gzip into invalid-argument errors', async () => {
    const gz = gzipSync(data);
    await assert.rejects(collect(maybeDecompress(chunked(gz.subarray(0, gz.length - 20), 100))), (e) => isInvalidArgument(e) && /invalid gzip stream/.test((e as Error).message));
    const bad = Buffer.from(gz);
    bad.fill(0x55, 20, 60);
    await assert.rejects(collect(maybeDecompress(chunked(bad, 100))), (e) => isInvalidArgument(e) && /invalid gzip stream/.test((e as Error).message));
  });

  it('passes source errors through unchanged', async () => {
    async function* failing(): AsyncGenerator<Buffer> { yield gzipSync(data).subarray(0, 50); throw new Error('network down'); }
    await assert.rejects(collect(maybeDecompress(failing())), /network down/);
  });
});
