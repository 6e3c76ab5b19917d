import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { contextPathProblem, encodeManifestHeader, validateManifest, type ManifestEntry } from './build-manifest.js';

const D1 = 'a'.repeat(64);
const D2 = 'b'.repeat(64);
const file = (Path: string, Digest = D1, Size = 3): ManifestEntry => ({ Path, Type: 'file', Mode: 0o644, Uid: 0, Gid: 0, Mtime: 1700000000, Size, Digest });
const dir = (Path: string): ManifestEntry => ({ Path, Type: 'dir', Mode: 0o755, Uid: 0, Gid: 0, Mtime: 1700000000 });
const link = (Path: string, Link: string): ManifestEntry => ({ Path, Type: 'symlink', Mode: 0o777, Uid: 0, Gid: 0, Mtime: 1700000000, Link });
const bad = (h: unknown, re: RegExp): void => assert.throws(() => validateManifest(h), re);

describe('validateManifest()', () => {
  it('accepts files, directories and symlinks (any target) with their sent contents', () => {
    const h = { Entries: [dir('d'), file('d/f'), file('g', D2, 0), link('l', '/etc/passwd'), link('m', '../../x')], Blobs: [[D1, 3]] };
    assert.equal(validateManifest(h), h);
  });
  it('refuses paths that are absolute, escape, are not clean, empty or hold NUL', () => {
    for (const p of ['/etc/passwd', '../x', 'a/../../x', 'a/..', './a', 'a//b', 'a/', 'a/.', '', 'a\0b']) {
      bad({ Entries: [file(p)], Blobs: [] }, /invalid build context manifest/);
      assert.ok(contextPathProblem(p), p);
    }
  });
  it('refuses a member below a symlink or a file, in either order', () => {
    bad({ Entries: [link('a', '/etc'), file('a/passwd')], Blobs: [] }, /parent a is a symlink/);
    bad({ Entries: [file('a/b/c'), link('a', '/')], Blobs: [] }, /parent a is a symlink/);
    bad({ Entries: [file('a'), file('a/b')], Blobs: [] }, /parent a is a file/);
  });
  it('refuses duplicates, unknown types, bad modes, owners, mtimes, digests and sizes', () => {
    bad({ Entries: [file('a'), file('a')], Blobs: [] }, /duplicate/);
    bad({ Entries: [{ ...file('a'), Type: 'hardlink' }], Blobs: [] }, /unknown type/);
    bad({ Entries: [{ ...file('a'), Type: 'char' }], Blobs: [] }, /unknown type/);
    bad({ Entries: [{ ...file('a'), Mode: 0o10777 }], Blobs: [] }, /bad mode/);
    bad({ Entries: [{ ...file('a'), Uid: -1 }], Blobs: [] }, /bad owner/);
    bad({ Entries: [{ ...file('a'), Mtime: 1.5 }], Blobs: [] }, /bad mtime/);
    bad({ Entries: [{ ...file('a'), Digest: 'sha256:' + D1 }], Blobs: [] }, /bad digest/);
    bad({ Entries: [{ ...file('a'), Digest: D1.toUpperCase() }], Blobs: [] }, /bad digest/);
    bad({ Entries: [{ ...file('a'), Size: -1 }], Blobs: [] }, /bad size/);
    bad({ Entries: [file('a', D1, 3), file('b', D1, 4)], Blobs: [] }, /size differs/);
    bad({ Entries: [{ ...dir('d'), Digest: D1 }], Blobs: [] }, /only files have content/);
    bad({ Entries: [{ ...file('a'), Link: '/x' }], Blobs: [] }, /only symlinks/);
    bad({ Entries: [link('l', '')], Blobs: [] }, /bad link target/);
    bad({ Entries: 'x', Blobs: [] }, /Entries is not a list/);
    bad(null, /not an object/);
  });
  it('refuses blobs no file of that digest and size uses, and blobs sent twice', () => {
    bad({ Entries: [file('a')], Blobs: [[D2, 3]] }, /not the content of a file/);
    bad({ Entries: [file('a')], Blobs: [[D1, 4]] }, /not the content of a file/);
    bad({ Entries: [file('a')], Blobs: [[D1, 3], [D1, 3]] }, /sent twice/);
    bad({ Entries: [file('a')], Blobs: [[D1]] }, /bad blob/);
  });
});

describe('encodeManifestHeader()', () => {
  it('frames the JSON with its 4-byte big-endian length', () => {
    const h = { Entries: [file('a')], Blobs: [] as Array<[string, number]> };
    const b = encodeManifestHeader(h);
    assert.equal(b.readUInt32BE(0), b.length - 4);
    assert.deepEqual(JSON.parse(b.subarray(4).toString()), h);
  });
});
