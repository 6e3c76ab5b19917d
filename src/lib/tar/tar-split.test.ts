import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { extractTar } from './extract-tar.js';
import { archive, chunked, collect, END, pad, rawBlock, run, sandbox, type Sandbox } from './fixture-kit.js';
import { readTar } from './tar-reader.js';
import { decodeTarSplit, encodeTarSplit, rebuildTar, TarSplitRecorder } from './tar-split.js';
import type { TarWriterEntry } from './tar-writer.js';

const mtime = new Date('2021-05-06T07:08:09Z');
const digestOf = (b: Buffer): string => 'sha256:' + createHash('sha256').update(b).digest('hex');
let sb: Sandbox;
/** spill files and source trees, beside the sandbox (whose surroundings must not change) */
let scratch: string;
beforeEach(() => { sb = sandbox(); scratch = mkdtempSync(join(tmpdir(), 'pier-split-')); });
afterEach(() => { sb.assertOutsideUnchanged(); sb.cleanup(); rmSync(scratch, { recursive: true, force: true }); });

/** Unpacks `tar` with a recorder (overlay whiteouts), in `piece`-byte chunks. */
async function unpack(tar: Buffer, piece = 1000): Promise<{ rec: TarSplitRecorder; out: { record?: Buffer; spill?: string } }> {
  const rec = new TarSplitRecorder(digestOf(tar), join(scratch, 'spill'));
  await extractTar(readTar(chunked(tar, piece), { split: rec }), sb.target, { whiteouts: 'overlay', split: rec });
  return { rec, out: rec.finish() };
}

/** Unpacks with a record and asserts the rebuilt bytes equal the original. */
async function roundTrip(tar: Buffer, piece?: number): Promise<Buffer> {
  const { out } = await unpack(tar, piece);
  assert.ok(out.record, 'a record, not a spill');
  assert.equal(out.spill, undefined);
  const record = decodeTarSplit(out.record);
  assert.equal(record.digest, digestOf(tar));
  assert.equal(record.size, tar.length);
  const rebuilt = await collect(rebuildTar(record, sb.target));
  assert.ok(rebuilt.equals(tar), 'rebuilt tar is byte for byte the original');
  return out.record;
}

describe('tar split: record and rebuild', () => {
  it('rebuilds an archive with every member type, pax records and long names byte for byte', async () => {
    const long = `${'d'.repeat(120)}/${'f'.repeat(140)}`;
    const entries: TarWriterEntry[] = [
      { name: 'etc', type: 'dir', mode: 0o755, mtime },
      { name: 'etc/motd', mode: 0o644, mtime, body: 'hello\n' },
      { name: 'etc/empty', mode: 0o600, mtime, body: '' },
      { name: long, mode: 0o644, mtime, body: 'long name\n' },
      { name: 'etc/ünïcödé', mode: 0o644, mtime, body: 'pax path\n' },
      { name: 'etc/attr', mode: 0o644, mtime, body: 'x', xattrs: { 'user.k': 'v' } },
      { name: 'big', mode: 0o644, mtime, uid: 3_000_000, gid: 5, body: Buffer.alloc(2 * 1024 * 1024 + 7) }, // sparse-ish: zeros
      { name: 'bin/sh', type: 'symlink', linkname: `/${'l'.repeat(150)}`, mtime },
      { name: 'bin/hard', type: 'hardlink', linkname: 'etc/motd' },
      { name: 'dev/null', type: 'char', devmajor: 1, devminor: 3, mode: 0o666, mtime },
      { name: 'run/fifo', type: 'fifo', mode: 0o600, mtime },
      { name: 'gone/.wh.old', mode: 0o644, mtime, body: '' },
      { name: 'opaque/.wh..wh..opq', mode: 0o644, mtime, body: '' },
    ];
    const tar = await archive(entries);
    await roundTrip(tar);
    assert.equal(readFileSync(join(sb.target, 'etc/motd'), 'utf8'), 'hello\n');
  });

  it('keeps bytes the extractor does not write as raw: trailing record padding, whiteout bodies, skipped members', async () => {
    const body = Buffer.from('a whiteout with a body');
    const tar = Buffer.concat([
      rawBlock({ name: 'x/.wh.y', size: body.length }), pad(body),
      rawBlock({ name: 'label', typeflag: 'V', size: 5 }), pad(Buffer.from('label')),
      rawBlock({ name: 'f', size: 3 }), pad(Buffer.from('abc')),
      END, Buffer.alloc(10240 - 4 * 512 - 1024), // GNU tar pads to its 10 KiB record
    ]);
    await roundTrip(tar, 7);
  });

  it('rebuilds what GNU tar wrote (gnu and posix formats)', async () => {
    const src = join(scratch, 'src');
    mkdirSync(join(src, 'a/b'), { recursive: true });
    writeFileSync(join(src, 'a/b/file'), Buffer.alloc(100_000, 7));
    writeFileSync(join(src, 'a/empty'), '');
    writeFileSync(join(src, 'n'.repeat(200)), 'long');
    symlinkSync('a/b/file', join(src, 'link'));
    for (const format of ['gnu', 'posix']) {
      const tar = run('tar', ['-C', src, `--format=${format}`, '-cf', '-', '.']);
      sb.cleanup();
      sb = sandbox();
      await roundTrip(tar, 4096);
    }
  });

  it('encodes and decodes records, and refuses paths that leave the root', () => {
    const r = { digest: digestOf(Buffer.from('x')), size: 5, segments: [{ raw: Buffer.from('ab') }, { path: 'a/b', size: 3 }] };
    assert.deepEqual(decodeTarSplit(encodeTarSplit(r)), r);
    for (const path of ['../x', '/etc/shadow', 'a/../../b', 'a//b']) {
      assert.throws(() => decodeTarSplit(encodeTarSplit({ ...r, segments: [{ raw: Buffer.from('ab') }, { path, size: 3 }] })), /bad path/);
    }
    assert.throws(() => decodeTarSplit(encodeTarSplit({ ...r, size: 6 })), /add up/);
    assert.throws(() => decodeTarSplit(Buffer.from('not a record')), /no magic/);
  });

  it('fails a rebuild clearly when the unpacked files changed on disk', async () => {
    const tar = await archive([{ name: 'f', mode: 0o644, mtime, body: 'original' }, { name: 'g', mode: 0o644, mtime, body: 'other' }]);
    const record = decodeTarSplit(await roundTrip(tar));
    writeFileSync(join(sb.target, 'f'), 'tampered');
    await assert.rejects(collect(rebuildTar(record, sb.target)), /cannot be rebuilt from its unpacked files: they changed on disk/);
    truncateSync(join(sb.target, 'g'), 2);
    await assert.rejects(collect(rebuildTar(record, sb.target)), /shorter than it was/);
    renameSync(join(sb.target, 'g'), join(sb.target, 'h'));
    await assert.rejects(collect(rebuildTar(record, sb.target)), /cannot be rebuilt.*g: ENOENT/);
  });

  it('a file that grew on disk still rebuilds its recorded bytes, verified by the digest', async () => {
    const tar = await archive([{ name: 'f', mode: 0o644, mtime, body: 'original' }]);
    const record = decodeTarSplit(await roundTrip(tar));
    appendFileSync(join(sb.target, 'f'), 'more');
    assert.ok((await collect(rebuildTar(record, sb.target))).equals(tar));
  });
});

describe('tar split: spilling when exact rebuilding is not guaranteed', () => {
  const spillCases: Array<[string, TarWriterEntry[]]> = [
    ['a path written twice', [
      { name: 'a', mode: 0o644, mtime, body: 'first' },
      { name: 'b', mode: 0o644, mtime, body: 'between' },
      { name: 'a', mode: 0o644, mtime, body: 'second' },
    ]],
    ['a whiteout of a file of the same layer', [
      { name: 'd/f', mode: 0o644, mtime, body: 'doomed' },
      { name: 'd/.wh.f', mode: 0o644, mtime, body: '' },
      { name: 'd/g', mode: 0o644, mtime, body: 'after' },
    ]],
    ['a directory replaced by a file', [
      { name: 'd/f', mode: 0o644, mtime, body: 'inside' },
      { name: 'd', mode: 0o644, mtime, body: 'now a file' },
    ]],
    ['a file replaced by a hard link', [
      { name: 'x', mode: 0o644, mtime, body: 'x body' },
      { name: 'y', mode: 0o644, mtime, body: 'y body' },
      { name: 'x', type: 'hardlink', linkname: 'y' },
    ]],
    ['a parent replaced by a symlink', [
      { name: 'p/f', mode: 0o644, mtime, body: 'f' },
      { name: 'p', type: 'symlink', linkname: 'q', mtime },
      { name: 'p/g', mode: 0o644, mtime, body: 'g' },
    ]],
  ];
  for (const [what, entries] of spillCases) {
    it(`spills the whole tar, byte for byte, for ${what}`, async () => {
      const tar = await archive(entries);
      const { out } = await unpack(tar, 100);
      assert.equal(out.record, undefined);
      assert.ok(out.spill && existsSync(out.spill));
      assert.ok(readFileSync(out.spill).equals(tar), 'the spill is the original tar');
    });
  }

  it('records without spilling when nothing is removed (hard links, symlinked parents)', async () => {
    const tar = await archive([
      { name: 'usr/lib/x', mode: 0o644, mtime, body: 'x' },
      { name: 'lib', type: 'symlink', linkname: 'usr/lib', mtime },
      { name: 'lib/y', mode: 0o644, mtime, body: 'through the link' },
      { name: 'z', type: 'hardlink', linkname: 'lib/y' },
    ]);
    await roundTrip(tar);
    assert.equal(readFileSync(join(sb.target, 'usr/lib/y'), 'utf8'), 'through the link');
  });
});
