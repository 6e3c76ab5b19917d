/**
 * Compatibility with GNU tar both ways: archives GNU tar makes (gnu, posix/pax, ustar formats)
 * read and extract like `tar -x` does, and archives we make extract with `tar -x` into the
 * tree they came from. Needs the system `tar` (GNU tar 1.3x) and root (devices, ownership).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { linkSync, lutimesSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync, lchownSync, chmodSync, lstatSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lgetxattr, llistxattr, lsetxattr, makedev, mknod } from '../sys/index.js';
import { extractTar } from './extract-tar.js';
import { chunked, collect, readAll, run, snapshotTree } from './fixture-kit.js';
import { packDirectory } from './pack-directory.js';
import { readTar } from './tar-reader.js';

let base: string;
let src: string;
const longDir = `${'long-directory-name-'.repeat(6)}end`;
const longFile = `${'f'.repeat(140)}.txt`;
const big = randomBytes(1024 * 1024 + 13);
/** GNU tar stores xattrs in pax records only. */
const tarFlags = (format: string): string[] => (format === 'posix' ? ['--xattrs', '--xattrs-include=*'] : []);

/** The tree plus every xattr, without the root line (tar -x applies ./ metadata; Docker, and we, do not). */
function describeTree(dir: string, withXattrs = true): string {
  const lines = snapshotTree(dir).split('\n').filter((l) => !l.startsWith('. '));
  const xattrs: string[] = [];
  const walk = (p: string, rel: string): void => {
    for (const n of readdirSync(p).sort()) {
      const c = join(p, n);
      if (withXattrs) for (const x of llistxattr(c).sort()) xattrs.push(`${rel}/${n} ${x}=${lgetxattr(c, x)?.toString('hex')}`);
      if (lstatSync(c).isDirectory()) walk(c, `${rel}/${n}`);
    }
  };
  walk(dir, '.');
  return [...lines, ...xattrs].join('\n');
}

before(() => {
  base = mkdtempSync(join(tmpdir(), 'pier-gnutar-'));
  src = join(base, 'src');
  mkdirSync(join(src, longDir, 'nested'), { recursive: true });
  mkdirSync(join(src, 'sgid'));
  chmodSync(join(src, 'sgid'), 0o2775);
  writeFileSync(join(src, longDir, 'nested', longFile), 'deep\n');
  writeFileSync(join(src, 'big.bin'), big);
  writeFileSync(join(src, 'empty'), '');
  writeFileSync(join(src, 'suid'), '#!/bin/true\n', { mode: 0o755 });
  chmodSync(join(src, 'suid'), 0o4755);
  writeFileSync(join(src, 'caf\u00e9 \u2603.txt'), 'unicode\n');
  writeFileSync(join(src, 'owned'), 'o');
  lchownSync(join(src, 'owned'), 1234, 5678);
  lsetxattr(join(src, 'owned'), 'user.comment', Buffer.from('hello xattr'));
  lsetxattr(join(src, 'owned'), 'security.capability', Buffer.from('0100000200200000000000000000000000000000', 'hex'));
  linkSync(join(src, 'owned'), join(src, 'owned-hardlink'));
  linkSync(join(src, longDir, 'nested', longFile), join(src, 'sgid', longFile));
  symlinkSync('big.bin', join(src, 'short-link'));
  symlinkSync(`../${longDir}/nested/${longFile}/${'x'.repeat(50)}`, join(src, 'sgid', 'long-link'));
  mknod(join(src, 'null'), 0o020666, makedev(1, 3));
  mknod(join(src, 'fifo'), 0o010640, 0);
  // whole-second times everywhere, children before parents
  const stamp = (p: string, rel: number): void => {
    for (const n of readdirSync(p)) {
      const c = join(p, n);
      if (lstatSync(c).isDirectory()) stamp(c, rel + 1);
      lutimesSync(c, 1_600_000_000 + rel, 1_600_000_000 + rel);
    }
  };
  stamp(src, 0);
});
after(() => rmSync(base, { recursive: true, force: true }));

describe('GNU tar archives read by readTar()', () => {
  for (const format of ['gnu', 'posix', 'oldgnu']) {
    it(`reads tar --format=${format} with long names, links, devices and xattrs`, async () => {
      const buf = run('tar', [...tarFlags(format), `--format=${format}`, '-cf', '-', '-C', src, '.']);
      const entries = await readAll(buf);
      const by = new Map(entries.map((e) => [e.name.replace(/^\.\//, ''), e]));
      // hard-linked pair: whichever tar met first holds the data, the other links to it
      const pair = [by.get(`${longDir}/nested/${longFile}`)!, by.get(`sgid/${longFile}`)!];
      assert.deepEqual(pair.map((e) => e.type).sort(), ['file', 'hardlink']);
      assert.equal(pair.find((e) => e.type === 'file')!.data.toString(), 'deep\n');
      assert.ok(by.get('big.bin')!.data.equals(big));
      assert.equal(by.get('caf\u00e9 \u2603.txt')!.data.toString(), 'unicode\n');
      assert.equal(by.get('suid')!.mode, 0o4755);
      assert.equal(by.get('sgid')!.type, 'dir');
      assert.equal(by.get('sgid')!.mode, 0o2775);
      assert.deepEqual([by.get('owned')!.uid, by.get('owned')!.gid], [1234, 5678]);
      assert.equal(by.get('owned-hardlink')!.type, 'hardlink');
      assert.equal(by.get('owned-hardlink')!.linkname.replace(/^\.\//, ''), 'owned');
      assert.equal(by.get('short-link')!.linkname, 'big.bin');
      assert.equal(by.get('sgid/long-link')!.linkname, `../${longDir}/nested/${longFile}/${'x'.repeat(50)}`);
      assert.deepEqual([by.get('null')!.type, by.get('null')!.devmajor, by.get('null')!.devminor], ['char', 1, 3]);
      assert.equal(by.get('fifo')!.type, 'fifo');
      assert.equal(by.get('owned')!.mtime.getTime(), 1_600_000_000_000);
      if (format === 'posix') {
        assert.equal(by.get('owned')!.xattrs['user.comment']?.toString(), 'hello xattr');
        assert.ok(by.get('owned')!.xattrs['security.capability']);
      }
    });
  }

  for (const format of ['gnu', 'posix']) {
    it(`extractTar() of tar --format=${format} matches tar -x`, async () => {
      const buf = run('tar', [...tarFlags(format), `--format=${format}`, '-cf', '-', '-C', src, '.']);
      const byGnu = mkdtempSync(join(base, 'gnu-x-'));
      const byUs = mkdtempSync(join(base, 'pier-x-'));
      run('tar', [...tarFlags(format), '--same-owner', '-xpf', '-', '-C', byGnu], { input: buf });
      await extractTar(readTar(chunked(buf, 10_000)), byUs);
      assert.equal(describeTree(byUs), describeTree(byGnu));
      assert.equal(describeTree(byUs, format === 'posix'), describeTree(src, format === 'posix'));
    });
  }
});

describe('our archives read by GNU tar', () => {
  it('tar -x of packDirectory() recreates the tree (names, modes, owners, times, links, devices, xattrs)', async () => {
    const buf = await collect(packDirectory(src));
    const out = mkdtempSync(join(base, 'from-us-'));
    run('tar', ['--xattrs', '--xattrs-include=*', '--same-owner', '-xpf', '-', '-C', out], { input: buf });
    assert.equal(describeTree(out), describeTree(src));
  });

  it('tar -t lists the names we wrote, pax-encoded ones included', async () => {
    const buf = await collect(packDirectory(src, { prefix: 'pfx' }));
    const listed = run('tar', ['-tf', '-'], { input: buf }).toString().trim().split('\n').sort();
    const ours = (await readAll(buf)).map((e) => (e.type === 'dir' ? `${e.name}/` : e.name)).sort();
    assert.deepEqual(listed, ours);
    assert.ok(listed.includes(`pfx/${longDir}/nested/${longFile}`));
    assert.ok(listed.includes('pfx/caf\u00e9 \u2603.txt'));
  });

  it('extractTar() of packDirectory() recreates the tree', async () => {
    const out = mkdtempSync(join(base, 'roundtrip-'));
    await extractTar(readTar(packDirectory(src)), out);
    assert.equal(describeTree(out), describeTree(src));
  });
});
