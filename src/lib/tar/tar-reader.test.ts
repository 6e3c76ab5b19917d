import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isInvalidArgument } from '../errdefs.js';
import { encodePax } from './header.js';
import { END, archive, chunked, collect, pad, rawBlock, readAll } from './fixture-kit.js';
import { readTar } from './tar-reader.js';
import { TarWriter, packTar, type TarWriterEntry } from './tar-writer.js';

const mtime = new Date('2023-11-14T22:13:20Z');
const truncatedError = (e: unknown): boolean => isInvalidArgument(e) && (e as Error).message === 'unexpected end of archive';

describe('readTar() and packTar() round trip', () => {
  it('round-trips every member type with its metadata', async () => {
    const entries: TarWriterEntry[] = [
      { name: 'dir', type: 'dir', mode: 0o2755, uid: 1000, gid: 1001, mtime, uname: 'alice', gname: 'staff' },
      { name: 'dir/file.txt', mode: 0o4755, uid: 1, gid: 2, mtime, body: 'hello\n' },
      { name: 'dir/empty', mtime, body: Buffer.alloc(0) },
      { name: 'dir/link', type: 'symlink', linkname: '../elsewhere', mtime },
      { name: 'dir/hard', type: 'hardlink', linkname: 'dir/file.txt', mtime },
      { name: 'dev/null', type: 'char', devmajor: 1, devminor: 3, mode: 0o666, mtime },
      { name: 'dev/sda', type: 'block', devmajor: 8, devminor: 0, mode: 0o660, mtime },
      { name: 'fifo', type: 'fifo', mode: 0o600, mtime },
    ];
    const got = await readAll(await archive(entries));
    assert.deepEqual(got.map((e) => [e.name, e.type, e.mode.toString(8), e.uid, e.gid, e.size, e.linkname, e.devmajor, e.devminor, e.data.toString()]), [
      ['dir', 'dir', '2755', 1000, 1001, 0, '', 0, 0, ''],
      ['dir/file.txt', 'file', '4755', 1, 2, 6, '', 0, 0, 'hello\n'],
      ['dir/empty', 'file', '644', 0, 0, 0, '', 0, 0, ''],
      ['dir/link', 'symlink', '644', 0, 0, 0, '../elsewhere', 0, 0, ''],
      ['dir/hard', 'hardlink', '644', 0, 0, 0, 'dir/file.txt', 0, 0, ''],
      ['dev/null', 'char', '666', 0, 0, 0, '', 1, 3, ''],
      ['dev/sda', 'block', '660', 0, 0, 0, '', 8, 0, ''],
      ['fifo', 'fifo', '600', 0, 0, 0, '', 0, 0, ''],
    ]);
    assert.equal(got[0]!.uname, 'alice');
    assert.equal(got[0]!.gname, 'staff');
    for (const e of got) assert.equal(e.mtime.getTime(), mtime.getTime());
  });

  it('round-trips long and non-ASCII names and link targets through pax', async () => {
    const long = `${'a'.repeat(80)}/${'b'.repeat(90)}/${'c'.repeat(99)}/file-${'z'.repeat(120)}`;
    const entries: TarWriterEntry[] = [
      { name: long, body: 'x' },
      { name: `${'d'.repeat(150)}/${'e'.repeat(60)}`, type: 'dir' }, // fits ustar prefix+name
      { name: 'sym', type: 'symlink', linkname: `/${'t'.repeat(300)}` },
      { name: 'h\u00e4rd link \u2603', type: 'hardlink', linkname: 'caf\u00e9' },
    ];
    const buf = await archive(entries);
    const got = await readAll(buf);
    assert.deepEqual(got.map((e) => [e.name, e.linkname]), [
      [long, ''], [`${'d'.repeat(150)}/${'e'.repeat(60)}`, ''], ['sym', `/${'t'.repeat(300)}`], ['h\u00e4rd link \u2603', 'caf\u00e9'],
    ]);
  });

  it('round-trips large ids, pre-1970 and far-future mtimes, and binary xattrs', async () => {
    const xattrs = { 'user.bin': Buffer.from([0, 10, 255, 61]), 'security.capability': Buffer.from('caps'), 'user.empty': Buffer.from('v') };
    const buf = await archive([
      { name: 'a', uid: 70_000_000, gid: 3_000_000_000, mtime: -100, xattrs, body: 'x' },
      { name: 'b', mtime: 2 ** 34 },
    ]);
    const [a, b] = await readAll(buf);
    assert.equal(a!.uid, 70_000_000);
    assert.equal(a!.gid, 3_000_000_000);
    assert.equal(a!.mtime.getTime(), -100_000);
    assert.deepEqual(a!.xattrs, xattrs);
    assert.equal(b!.mtime.getTime(), 2 ** 34 * 1000);
  });

  it('honours a pax size record over the header size field', async () => {
    const pax = encodePax(new Map([['size', '5']]));
    const buf = Buffer.concat([
      rawBlock({ name: 'PaxHeaders/f', typeflag: 'x', size: pax.length }), pad(pax),
      rawBlock({ name: 'f', size: 0 }), pad(Buffer.from('12345')), END,
    ]);
    const [f] = await readAll(buf);
    assert.equal(f!.data.toString(), '12345');
  });

  it('applies pax global headers to every later member until unset', async () => {
    const g1 = encodePax(new Map([['uid', '42'], ['comment', 'git']]));
    const g2 = encodePax(new Map([['uid', '']]));
    const x = encodePax(new Map([['uid', '7']]));
    const buf = Buffer.concat([
      rawBlock({ name: 'global', typeflag: 'g', size: g1.length }), pad(g1),
      rawBlock({ name: 'a' }),
      rawBlock({ name: 'PaxHeaders/b', typeflag: 'x', size: x.length }), pad(x),
      rawBlock({ name: 'b' }),
      rawBlock({ name: 'c' }),
      rawBlock({ name: 'global', typeflag: 'g', size: g2.length }), pad(g2),
      rawBlock({ name: 'd', uid: 5 }),
      END,
    ]);
    assert.deepEqual((await readAll(buf)).map((e) => [e.name, e.uid]), [['a', 42], ['b', 7], ['c', 42], ['d', 5]]);
  });

  it('reads GNU long names and long link targets (L/K)', async () => {
    const name = Buffer.from(`${'n'.repeat(200)}/file\0`);
    const link = Buffer.from(`${'l'.repeat(150)}\0`);
    const buf = Buffer.concat([
      rawBlock({ name: '././@LongLink', typeflag: 'L', size: name.length }), pad(name),
      rawBlock({ name: '././@LongLink', typeflag: 'K', size: link.length }), pad(link),
      rawBlock({ name: 'truncated-name', typeflag: '2', linkname: 'truncated-link' }),
      rawBlock({ name: 'next' }),
      END,
    ]);
    assert.deepEqual((await readAll(buf)).map((e) => [e.name, e.type, e.linkname]), [
      [`${'n'.repeat(200)}/file`, 'symlink', 'l'.repeat(150)], ['next', 'file', ''],
    ]);
  });

  it('reads base-256 numeric fields (GNU large uid and size)', async () => {
    const block = rawBlock({ name: 'big', size: 3 });
    block.fill(0, 108, 116);
    block[108] = 0x80;
    block.writeUInt32BE(0x12345678, 112);
    block.write('        ', 148, 'latin1');
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += block[i]!;
    block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
    const [e] = await readAll(Buffer.concat([block, pad(Buffer.from('abc')), END]));
    assert.equal(e!.uid, 0x12345678);
    assert.equal(e!.data.toString(), 'abc');
  });

  it('treats old v7 members with a trailing slash as directories and strips the slash', async () => {
    const [d] = await readAll(Buffer.concat([rawBlock({ name: 'olddir/', typeflag: '\0' }), END]));
    assert.deepEqual([d!.name, d!.type], ['olddir', 'dir']);
  });

  it('skips the data of non-filesystem members (volume label) and header-only types', async () => {
    const buf = Buffer.concat([
      rawBlock({ name: 'label', typeflag: 'V', size: 3 }), pad(Buffer.from('lab')),
      rawBlock({ name: 'd', typeflag: '5', size: 0 }),
      rawBlock({ name: 'f', size: 2 }), pad(Buffer.from('ok')), END,
    ]);
    assert.deepEqual((await readAll(buf)).map((e) => [e.name, e.data.toString()]), [['d', ''], ['f', 'ok']]);
  });

  it('refuses GNU sparse files', async () => {
    const buf = Buffer.concat([rawBlock({ name: 's', typeflag: 'S' }), END]);
    await assert.rejects(readAll(buf), (e) => isInvalidArgument(e) && /sparse/.test((e as Error).message));
  });

  it('verifies checksums', async () => {
    const block = rawBlock({ name: 'a' });
    block[0] = 0x62;
    await assert.rejects(readAll(Buffer.concat([block, END])), (e) => isInvalidArgument(e) && /checksum/.test((e as Error).message));
  });

  it('refuses oversized pax headers', async () => {
    const buf = Buffer.concat([rawBlock({ name: 'p', typeflag: 'x', size: 2 * 1024 * 1024 }), END]);
    await assert.rejects(readAll(buf), (e) => isInvalidArgument(e) && /exceeds/.test((e as Error).message));
  });
});

describe('readTar() on truncated and odd streams', () => {
  it('treats an empty stream as an empty archive', async () => {
    assert.deepEqual(await readAll(Buffer.alloc(0)), []);
  });

  it('accepts a single zero block as the end and ignores what follows it', async () => {
    const buf = Buffer.concat([rawBlock({ name: 'a' }), Buffer.alloc(512), Buffer.from('garbage')]);
    assert.deepEqual((await readAll(buf)).map((e) => e.name), ['a']);
  });

  it('throws "unexpected end of archive" wherever the stream stops', async () => {
    const full = await archive([
      { name: 'x'.repeat(150), body: 'first body' },
      { name: 'second', body: Buffer.alloc(3000, 1) },
    ]);
    const endOfData = full.length - 1024;
    for (const cut of [100, 512, 700, 1024, 1536, 1600, 2048, 2100, endOfData - 10, endOfData]) {
      await assert.rejects(readAll(full.subarray(0, cut)), truncatedError, `cut at ${cut}`);
    }
    // the end marker alone is enough
    assert.equal((await readAll(full.subarray(0, endOfData + 512))).length, 2);
  });

  it('throws on truncation even when the body is never read', async () => {
    const full = await archive([{ name: 'a', body: Buffer.alloc(5000) }]);
    const it = readTar(chunked(full.subarray(0, 2000), 100));
    await assert.rejects(async () => { for await (const _ of it) { /* skip bodies */ } }, truncatedError);
  });

  it('works with one-byte chunks and with strings and Uint8Arrays', async () => {
    const full = await archive([{ name: 'a', body: 'abc' }, { name: 'b', body: Buffer.alloc(1000, 7) }]);
    const got = await readAll(chunked(full, 1));
    assert.deepEqual(got.map((e) => e.data.length), [3, 1000]);
    async function* mixed(): AsyncGenerator<Buffer> {
      yield Buffer.from(new Uint8Array(full.subarray(0, 700))) ;
      yield full.subarray(700);
    }
    assert.equal((await readAll(mixed())).length, 2);
  });
});

describe('readTar() streaming', () => {
  it('skips unread and half-read bodies', async () => {
    const full = await archive([
      { name: 'a', body: Buffer.alloc(100_000, 1) },
      { name: 'b', body: Buffer.alloc(100_000, 2) },
      { name: 'c', body: 'end' },
    ]);
    const names: string[] = [];
    for await (const e of readTar(chunked(full, 4096))) {
      names.push(e.name);
      if (e.name === 'b') {
        for await (const chunk of e.body) { assert.equal(chunk[0], 2); break; }
      }
      if (e.name === 'c') assert.equal((await e.buffer()).toString(), 'end');
    }
    assert.deepEqual(names, ['a', 'b', 'c']);
  });

  it('yields a member before its body has been pulled from the source', async () => {
    const size = 8 * 1024 * 1024;
    let pulled = 0;
    async function* source(): AsyncGenerator<Buffer> {
      for await (const c of packTar([{ name: 'big', size, body: chunked(Buffer.alloc(size, 9), 65536) }])) {
        pulled += (c as Buffer).length;
        yield c as Buffer;
      }
    }
    for await (const e of readTar(source())) {
      assert.ok(pulled < 1024 * 1024, `pulled ${pulled} bytes before the first member`);
      let got = 0;
      for await (const c of e.body) got += c.length;
      assert.equal(got, size);
    }
  });

  it('refuses to read a body after the iteration moved on, and closes the source on break', async () => {
    let closed = false;
    const full = await archive([{ name: 'a', body: 'x' }, { name: 'b', body: 'y' }]);
    async function* source(): AsyncGenerator<Buffer> {
      try { yield* chunked(full, 512); } finally { closed = true; }
    }
    let first: AsyncIterable<Buffer> | undefined;
    for await (const e of readTar(source())) {
      if (!first) { first = e.body; continue; }
      break;
    }
    assert.ok(closed);
    await assert.rejects(collect(first!), /body read after the archive moved on|only once/);
  });
});

describe('TarWriter', () => {
  it('writes pushed entries, resolving add() once each is consumed', async () => {
    const w = new TarWriter();
    const out = collect(w.stream);
    await w.add({ name: 'a', body: 'one' });
    await w.add({ name: 'b', size: 4, body: chunked(Buffer.from('four'), 1) });
    await w.finish();
    const buf = await out;
    assert.equal(buf.length % 512, 0);
    assert.ok(buf.subarray(-1024).equals(Buffer.alloc(1024)));
    assert.deepEqual((await readAll(buf)).map((e) => [e.name, e.data.toString()]), [['a', 'one'], ['b', 'four']]);
  });

  it('fails when a streamed body does not match its size', async () => {
    await assert.rejects(collect(packTar([{ name: 'a', size: 5, body: chunked(Buffer.from('abc'), 1) }])), /3 bytes but size says 5/);
    await assert.rejects(collect(packTar([{ name: 'a', size: 2, body: chunked(Buffer.from('abc'), 1) }])), /longer than its size/);
    await assert.rejects(collect(packTar([{ name: 'a', size: 2, body: 'abc' }])), /3 bytes but size says 2/);
  });

  it('rejects pending adds when the consumer goes away', async () => {
    const w = new TarWriter();
    const p = w.add({ name: 'big', size: 1 << 24, body: chunked(Buffer.alloc(1 << 24), 65536) });
    w.stream.destroy();
    await assert.rejects(p, /closed/);
    await assert.rejects(w.add({ name: 'late', body: '' }), /closed|destroyed/);
  });
});
