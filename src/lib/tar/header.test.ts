import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isInvalidArgument } from '../errdefs.js';
import { decodeHeader, encodeBlock, encodePax, parseNumeric, parsePax, splitUstarName, verifyChecksum } from './header.js';
import { rawBlock } from './fixture-kit.js';

describe('tar header codec', () => {
  it('parseNumeric() reads octal padded with spaces or NULs', () => {
    const b = Buffer.alloc(12);
    b.write(' 0000755 \0', 0, 'latin1');
    assert.equal(parseNumeric(b, 0, 8, 'mode'), 0o755);
    assert.equal(parseNumeric(Buffer.alloc(8), 0, 8, 'mode'), 0);
  });

  it('parseNumeric() reads GNU base-256, positive and negative', () => {
    const pos = Buffer.alloc(12);
    pos[0] = 0x80;
    pos.writeUIntBE(10 * 1024 ** 3, 6, 6); // 10 GiB
    assert.equal(parseNumeric(pos, 0, 12, 'size'), 10 * 1024 ** 3);
    const neg = Buffer.alloc(12, 0xff);
    neg[11] = 0xfe; // -2
    assert.equal(parseNumeric(neg, 0, 12, 'mtime'), -2);
  });

  it('parseNumeric() rejects garbage and numbers beyond 2^53', () => {
    const b = Buffer.from('12x4567\0');
    assert.throws(() => parseNumeric(b, 0, 8, 'uid'), (e) => isInvalidArgument(e) && /uid is not an octal number/.test((e as Error).message));
    const huge = Buffer.alloc(12, 0x7f);
    huge[0] = 0x80 | 0x7f;
    assert.throws(() => parseNumeric(huge, 0, 12, 'size'), /too large/);
  });

  it('verifyChecksum() accepts the unsigned sum and the historic signed sum', () => {
    const block = rawBlock({ name: 'caf\u00e9' });
    assert.ok(verifyChecksum(block));
    // recompute as a signed sum (bytes > 127 count negative) like old Sun tar did
    let signed = 0;
    for (let i = 0; i < 512; i++) { const b = i >= 148 && i < 156 ? 32 : block[i]!; signed += b > 127 ? b - 256 : b; }
    block.write(`${signed.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
    assert.ok(verifyChecksum(block));
    block[0] = 'd'.charCodeAt(0);
    assert.equal(verifyChecksum(block), false);
  });

  it('decodeHeader() rejects a checksum mismatch as invalid-argument', () => {
    const block = rawBlock({ name: 'a' });
    block[10] = 0x41;
    assert.throws(() => decodeHeader(block), (e) => isInvalidArgument(e) && /checksum mismatch/.test((e as Error).message));
  });

  it('decodeHeader() joins the ustar prefix, but not in old GNU headers where that area holds times', () => {
    const block = encodeBlock({ name: 'file', prefix: 'some/dir', typeflag: '0', mode: 0o644, uid: 1, gid: 2, size: 3, mtime: 4, linkname: '', devmajor: 0, devminor: 0, uname: 'u', gname: 'g' });
    assert.equal(decodeHeader(block).name, 'some/dir/file');
    block.write('ustar  \0', 257, 'latin1');
    let sum = 0;
    block.write('        ', 148, 'latin1');
    for (let i = 0; i < 512; i++) sum += block[i]!;
    block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
    assert.equal(decodeHeader(block).name, 'file');
  });

  it('encodePax() gets self-referential record lengths right across digit boundaries', () => {
    for (let n = 0; n < 1100; n += 7) {
      const value = 'x'.repeat(n);
      const rec = encodePax(new Map([['path', value]]));
      const parsed = parsePax(rec);
      assert.equal(parsed.get('path')?.toString(), value);
      assert.equal(parseInt(rec.toString('latin1'), 10), rec.length);
    }
  });

  it('parsePax() keeps binary values and rejects malformed records', () => {
    const bin = Buffer.from([0, 1, 2, 0x0a, 0xff]);
    const rec = encodePax(new Map<string, Buffer | string>([['SCHILY.xattr.user.bin', bin], ['path', 'a=b']]));
    const parsed = parsePax(rec);
    assert.deepEqual(parsed.get('SCHILY.xattr.user.bin'), bin);
    assert.equal(parsed.get('path')?.toString(), 'a=b');
    for (const bad of ['8 path=a\n', 'x path=a\n', '7 patha\n', '30 path=a\n']) {
      assert.throws(() => parsePax(Buffer.from(bad)), (e) => isInvalidArgument(e), bad);
    }
  });

  it('splitUstarName() splits at a slash within 155+100 bytes, or gives up', () => {
    const long = `${'d'.repeat(120)}/${'f'.repeat(90)}`;
    assert.deepEqual(splitUstarName(long), { prefix: 'd'.repeat(120), name: 'f'.repeat(90) });
    assert.equal(splitUstarName(`${'d'.repeat(10)}/${'f'.repeat(101)}`), undefined);
    assert.equal(splitUstarName('x'.repeat(300)), undefined);
    const dir = `${'d'.repeat(120)}/${'e'.repeat(20)}/`;
    assert.deepEqual(splitUstarName(dir), { prefix: 'd'.repeat(120), name: `${'e'.repeat(20)}/` });
  });
});
