import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { constants, crc32, createGzip, deflateRawSync, gzipSync, gunzipSync, type Gzip } from 'node:zlib';
import { EngineError } from '../errdefs.js';
import { chunked, collect } from './fixture-kit.js';
import { gunzip } from './gunzip.js';

const text = (n: number): Buffer => Buffer.from(Array.from({ length: n / 16 }, (_, i) => `line ${String(i % 977).padStart(9, '0')}\n`).join(''));

/** gzip of `parts`, switching the level before each part (level 0 makes stored blocks). */
async function mixed(parts: Array<[number, Buffer]>): Promise<Buffer> {
  const gz = createGzip({ level: parts[0]![0] }) as Gzip & { params(level: number, strategy: number, cb: () => void): void };
  const out = collect(gz);
  for (const [level, data] of parts) {
    await new Promise<void>((r) => gz.params(level, constants.Z_DEFAULT_STRATEGY, () => r()));
    await new Promise<void>((r) => gz.write(data, () => r()));
  }
  gz.end();
  return out;
}

/** A member with every optional header field (FEXTRA, FNAME, FCOMMENT, FHCRC). */
function fancyMember(data: Buffer): Buffer {
  const head = Buffer.concat([Buffer.from([0x1f, 0x8b, 8, 4 | 8 | 16 | 2, 0, 0, 0, 0, 0, 3]), Buffer.from([5, 0]), Buffer.from('extra'), Buffer.from('name\0'), Buffer.from('a comment\0')]);
  const hcrc = Buffer.alloc(2);
  hcrc.writeUInt16LE(crc32(head) & 0xffff);
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(crc32(data), 0);
  trailer.writeUInt32LE(data.length, 4);
  return Buffer.concat([head, hcrc, deflateRawSync(data, { level: 0 }), trailer]);
}

const sizes = [7, 5000, 65536, 1 << 20];

async function same(gz: Buffer): Promise<void> {
  const want = gunzipSync(gz);
  for (const size of sizes) assert.ok((await collect(gunzip(chunked(gz, size)))).equals(want), `differs with ${size}-byte chunks`);
}

async function fails(gz: Buffer, words: RegExp): Promise<void> {
  await assert.rejects(collect(gunzip(chunked(gz, 4096))), (e: unknown) => e instanceof EngineError && e.kind === 'invalid-argument' && words.test(e.message));
}

describe('gunzip', () => {
  it('passes stored blocks through (incompressible data) with the same output as zlib', async () => {
    await same(gzipSync(randomBytes(700_000), { level: 1 }));
    await same(gzipSync(randomBytes(200_000), { level: 0 }));
    await same(gzipSync(Buffer.alloc(0)));
    const small = gzipSync(randomBytes(20_000), { level: 0 });
    assert.ok((await collect(gunzip(chunked(small, 1)))).equals(gunzipSync(small)), 'differs with 1-byte chunks');
  });

  it('hands compressed blocks to zlib, also after stored ones whose bytes they refer back to', async () => {
    await same(gzipSync(text(1 << 20)));
    // a compressed start, then megabytes more: zlib's output comes in several pieces per write
    await same(gzipSync(Buffer.concat([text(600_000), randomBytes(3 << 20)]), { level: 1 }));
    const r = randomBytes(100_000);
    // the text part repeats the end of the stored part: its matches reach into the dictionary
    await same(await mixed([[0, r], [9, Buffer.concat([r.subarray(90_000), text(50_000), r.subarray(95_000)])], [0, randomBytes(70_000)]]));
  });

  it('matches zlib on streams mixing stored, fixed and dynamic blocks at every level and strategy (seeded)', async () => {
    let seed = 12345;
    const rnd = (n: number): number => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed % n; };
    const strategies = [constants.Z_DEFAULT_STRATEGY, constants.Z_FILTERED, constants.Z_HUFFMAN_ONLY, constants.Z_RLE, constants.Z_FIXED];
    for (let round = 0; round < 40; round++) {
      const parts: Array<[number, Buffer]> = [];
      let made = Buffer.alloc(0);
      for (let k = 0, n = 1 + rnd(5); k < n; k++) {
        const size = rnd(3) === 0 ? rnd(2000) : rnd(300_000);
        const kind = rnd(3);
        const data = kind === 0 ? randomBytes(size) : kind === 1 ? text(size) : Buffer.concat([made.subarray(Math.max(0, made.length - 40_000)), randomBytes(100)]);
        parts.push([rnd(10), data]);
        made = Buffer.concat([made, data]);
      }
      const gz = createGzip({ level: parts[0]![0], strategy: strategies[rnd(5)]! }) as Gzip & { params(level: number, strategy: number, cb: () => void): void };
      const out = collect(gz);
      for (const [level, data] of parts) {
        await new Promise<void>((r) => gz.params(level, strategies[rnd(5)]!, () => r()));
        await new Promise<void>((r) => gz.write(data, () => r()));
      }
      gz.end();
      const stream = await out;
      const got = await collect(gunzip(chunked(stream, 1 + rnd(100_000))));
      assert.ok(got.equals(made), `round ${round}: output differs`);
    }
  });

  it('never hangs or throws anything but invalid-argument on corrupted streams, and agrees with zlib (seeded)', async () => {
    let seed = 777;
    const rnd = (n: number): number => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed % n; };
    const base = await mixed([[6, text(20_000)], [0, randomBytes(30_000)], [1, Buffer.concat([text(5000), randomBytes(5000)])], [9, text(10_000)]]);
    for (let round = 0; round < 300; round++) {
      const bad = Buffer.from(base);
      for (let k = 0, n = 1 + rnd(3); k < n; k++) bad[10 + rnd(bad.length - 10)] = rnd(256);
      let want: Buffer | undefined;
      try { want = gunzipSync(bad); } catch { want = undefined; }
      try {
        const got = await collect(gunzip(chunked(bad, 1 + rnd(20_000))));
        assert.ok(want && got.equals(want), `round ${round}: accepted what zlib refuses, or gave other bytes`);
      } catch (e) {
        if (!(e instanceof EngineError) || e.kind !== 'invalid-argument') throw e;
        assert.equal(want, undefined, `round ${round}: refused what zlib accepts: ${e.message}`);
      }
    }
  });

  it('reads several members, skips zero padding after them, and every optional header field', async () => {
    await same(Buffer.concat([gzipSync(randomBytes(80_000), { level: 1 }), gzipSync(text(40_000)), gzipSync(randomBytes(1000), { level: 0 })]));
    await same(Buffer.concat([gzipSync(text(4000)), Buffer.alloc(1024)]));
    const data = randomBytes(3000);
    assert.ok((await collect(gunzip(chunked(fancyMember(data), 3)))).equals(data));
  });

  it('refuses what zlib refuses, in zlib\'s words', async () => {
    const good = gzipSync(randomBytes(50_000), { level: 1 });
    const badCrc = Buffer.from(good);
    badCrc[badCrc.length - 8]! ^= 1;
    await fails(badCrc, /incorrect data check/);
    // without the CRC check (the caller checks a digest of the output) the bytes come out as they are
    assert.ok((await collect(gunzip(chunked(badCrc, 4096), { crc: false }))).equals(gunzipSync(good)));
    const badLen = Buffer.from(good);
    badLen[badLen.length - 1]! ^= 1;
    await fails(badLen, /incorrect length check/);
    await fails(good.subarray(0, 30_000), /unexpected end of file/);
    await fails(gzipSync(text(100_000)).subarray(0, 2000), /unexpected end of file/);
    const badNlen = Buffer.from(good);
    badNlen[13]! ^= 0xff; // the first stored block's NLEN
    await fails(badNlen, /invalid stored block lengths/);
    await fails(Buffer.concat([good, Buffer.from('garbage!!!!')]), /incorrect header check/);
    const method = Buffer.from(good);
    method[2] = 7;
    await fails(method, /unknown compression method/);
    const hcrc = fancyMember(randomBytes(10));
    hcrc[32]! ^= 1; // the header CRC (after 32 bytes of header)
    await fails(hcrc, /header crc mismatch/);
    const corrupt = gzipSync(text(100_000));
    corrupt[500]! ^= 0x55;
    await assert.rejects(collect(gunzip(chunked(corrupt, 4096))), (e: unknown) => e instanceof EngineError && /invalid gzip stream/.test(e.message));
  });
});
