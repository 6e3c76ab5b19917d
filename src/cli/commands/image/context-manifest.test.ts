import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { linkSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IgnoreMatcher } from '../../../api/index.js';
import { walkDirectory } from '../../../lib/tar/index.js';
import { contextFilter, contextManifest, missingContents, statCachePath } from './context-manifest.js';

const sha = (s: string | Buffer): string => createHash('sha256').update(s).digest('hex');
const keepAlways = new Set(['.dockerignore', 'Dockerfile']);

describe('contextManifest()', () => {
  let dir: string;
  let cacheDir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'cm-'));
    cacheDir = mkdtempSync(join(tmpdir(), 'cm-cache-'));
    const w = (p: string, d: string | Buffer): void => { mkdirSync(join(dir, p, '..'), { recursive: true }); writeFileSync(join(dir, p), d); };
    w('Dockerfile', 'FROM scratch\n');
    w('.dockerignore', 'secret*\nbuild\n!build/keep.txt\nnode_modules\n');
    w('a.txt', 'a\n');
    w('secret.key', 'nope');
    w('build/out.o', 'obj');
    w('build/keep.txt', 'kept');
    w('node_modules/x/index.js', 'x');
    w('sub/deep/f', 'deep');
    w('big.bin', Buffer.alloc(3 << 20, 7));
    linkSync(join(dir, 'a.txt'), join(dir, 'sub/hard.txt'));
    symlinkSync('../a.txt', join(dir, 'sub/link'));
    execFileSync('mkfifo', [join(dir, 'fifo')]);
    utimesSync(join(dir, 'a.txt'), 1600000000.75, 1600000000.75);
  });
  after(() => { rmSync(dir, { recursive: true, force: true }); rmSync(cacheDir, { recursive: true, force: true }); });
  const ignore = (): IgnoreMatcher => IgnoreMatcher.fromFile('secret*\nbuild\n!build/keep.txt\nnode_modules\n');

  it('lists what the tar path sends, with the same names, types, modes, mtime seconds, sizes and link targets', async () => {
    const m = (await contextManifest(dir, { ignore: ignore(), keepAlways }))!;
    const keep = contextFilter(ignore(), keepAlways);
    const tar: string[] = [];
    for await (const e of walkDirectory(dir, { filter: (n, st) => keep(n, st.isDirectory()) })) {
      if (e.type === 'fifo') continue; // the daemon keeps no fifo from a tar
      const type = e.type === 'hardlink' ? 'file' : e.type;
      const mtime = Math.floor((e.mtime as Date).getTime() / 1000);
      tar.push(`${e.name} ${type} ${type === 'symlink' ? 0o777 : e.mode} ${mtime} ${e.type === 'symlink' ? e.linkname : ''}`);
    }
    const got = m.entries.map((e) => `${e.Path} ${e.Type} ${e.Mode} ${e.Mtime} ${e.Link ?? ''}`);
    assert.deepEqual(got.sort(), tar.sort());
    assert.ok(got.some((g) => g.startsWith('build/keep.txt ')) && !got.some((g) => g.startsWith('build/out.o')) && !got.some((g) => g.startsWith('secret')));
    assert.equal(m.entries.find((e) => e.Path === 'a.txt')!.Mtime, 1600000000);
    const byPath = new Map(m.entries.map((e) => [e.Path, e]));
    assert.equal(byPath.get('sub/hard.txt')!.Digest, sha('a\n'));
    assert.equal(byPath.get('big.bin')!.Digest, sha(Buffer.alloc(3 << 20, 7)));
    assert.equal(byPath.get('big.bin')!.Size, 3 << 20);
    assert.equal(byPath.get('sub/link')!.Link, '../a.txt');
    assert.ok(!byPath.has('fifo'));
    assert.ok(m.entries.every((e) => e.Uid === 0 && e.Gid === 0));
  });

  it('hashes only files whose size, mtime, ctime, inode or mode changed once they are cached', async () => {
    const cacheFile = join(cacheDir, 'c.json');
    const opts = { ignore: ignore(), keepAlways, cacheFile, racyWindowMs: 0 };
    const first = (await contextManifest(dir, opts))!;
    assert.equal(first.hashed, 7);
    const second = (await contextManifest(dir, opts))!;
    assert.equal(second.hashed, 0);
    assert.deepEqual(second.entries, first.entries);
    writeFileSync(join(dir, 'sub/deep/f'), 'changed');
    const third = (await contextManifest(dir, opts))!;
    assert.equal(third.hashed, 1);
    assert.equal(third.entries.find((e) => e.Path === 'sub/deep/f')!.Digest, sha('changed'));
  });

  it('does not cache a file changed within the racy window', async () => {
    const cacheFile = join(cacheDir, 'racy.json');
    writeFileSync(join(dir, 'fresh.txt'), 'new');
    try {
      await contextManifest(dir, { ignore: ignore(), keepAlways, cacheFile, racyWindowMs: 60_000 });
      const again = (await contextManifest(dir, { ignore: ignore(), keepAlways, cacheFile, racyWindowMs: 60_000 }))!;
      assert.equal(again.hashed, again.entries.filter((e) => e.Type === 'file').length);
    } finally { rmSync(join(dir, 'fresh.txt')); }
  });

  it('adds an outside Dockerfile under its own name and gives up before reading files when told to', async () => {
    const m = (await contextManifest(dir, { ignore: ignore(), keepAlways, extra: { name: '.dockerfile.00', data: Buffer.from('FROM x\n'), mtime: 5 } }))!;
    assert.deepEqual(m.entries.at(-1), { Path: '.dockerfile.00', Type: 'file', Mode: 0o600, Uid: 0, Gid: 0, Mtime: 5, Size: 7, Digest: sha('FROM x\n') });
    assert.equal(await contextManifest(dir, { ignore: ignore(), keepAlways, proceed: Promise.resolve(false) }), undefined);
  });

  it('sends exactly the missing contents, from memory or from the file', async () => {
    const m = (await contextManifest(dir, { ignore: ignore(), keepAlways }))!;
    const want = [sha(Buffer.alloc(3 << 20, 7)), sha('a\n')];
    const chunks: Buffer[] = [];
    for await (const c of missingContents(m.contents, want)) chunks.push(c);
    assert.deepEqual(Buffer.concat(chunks), Buffer.concat([Buffer.alloc(3 << 20, 7), Buffer.from('a\n')]));
    await assert.rejects(async () => { for await (const _ of missingContents(m.contents, ['c'.repeat(64)])) { /* */ } }, /does not hold/);
  });

  it('keys the stat cache by the context directory under XDG_CACHE_HOME', () => {
    assert.match(statCachePath('/ctx', { XDG_CACHE_HOME: '/xdg' }), /^\/xdg\/pier\/build-context\/[0-9a-f]{32}\.json$/);
    assert.notEqual(statCachePath('/ctx', { XDG_CACHE_HOME: '/xdg' }), statCachePath('/ctx2', { XDG_CACHE_HOME: '/xdg' }));
    assert.ok(!existsSync(join(cacheDir, 'none')));
  });
});
