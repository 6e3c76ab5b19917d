/**
 * Hostile archives against extractTar(). Every test runs in a sandbox whose target sits next
 * to a sentinel file and an "outside" directory; afterEach proves neither changed (content,
 * mode, owner, times, link counts), whatever the test itself asserts.
 */
import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { isInvalidArgument } from '../errdefs.js';
import { lgetxattr } from '../sys/index.js';
import { encodePax } from './header.js';
import { END, pad, rawBlock, sandbox, type Sandbox } from './fixture-kit.js';

let sb: Sandbox;
beforeEach(() => { sb = sandbox(); });
afterEach(() => { sb.assertOutsideUnchanged(); sb.cleanup(); });
const t = (...p: string[]): string => join(sb.target, ...p);
const climbs = (e: unknown): boolean => isInvalidArgument(e) && /climbs above the extraction root/.test((e as Error).message);

describe('extractTar() against names that leave the root', () => {
  it('rejects names whose .. climbs above the root', async () => {
    for (const name of ['../sentinel', '../../x', 'a/../../sentinel', './../outside/passwd', 'a/b/../../../outside/new', '..']) {
      await assert.rejects(sb.extract([{ name, body: 'pwned' }]), climbs, name);
    }
    assert.deepEqual(readdirSync(sb.target), []);
  });

  it('rejects climbing names from pax path and GNU long name records too', async () => {
    const pax = encodePax(new Map([['path', '../sentinel']]));
    const viaPax = Buffer.concat([rawBlock({ name: 'P', typeflag: 'x', size: pax.length }), pad(pax), rawBlock({ name: 'innocent', size: 5 }), pad(Buffer.from('pwned')), END]);
    await assert.rejects(sb.extract(viaPax), climbs);
    const long = Buffer.from(`${'a/'.repeat(60)}${'../'.repeat(62)}sentinel\0`);
    const viaGnu = Buffer.concat([rawBlock({ name: '././@LongLink', typeflag: 'L', size: long.length }), pad(long), rawBlock({ name: 'innocent', size: 5 }), pad(Buffer.from('pwned')), END]);
    await assert.rejects(sb.extract(viaGnu), climbs);
  });

  it('takes absolute names relative to the root, as Docker does', async () => {
    await sb.extract([{ name: `${sb.sentinel}`, body: 'inside' }, { name: '/../../etc/x', body: 'inside' }, { name: '//dev/y', body: 'y' }]);
    assert.equal(readFileSync(t(sb.sentinel), 'utf8'), 'inside');
    assert.equal(readFileSync(t('etc/x'), 'utf8'), 'inside');
    assert.ok(existsSync(t('dev/y')));
  });

  it('resolves .. that stays inside the root', async () => {
    await sb.extract([{ name: 'a/b/../c', body: 'c' }]);
    assert.equal(readFileSync(t('a/c'), 'utf8'), 'c');
  });
});

describe('extractTar() against symlinks planted by earlier members', () => {
  it('an absolute symlink in a parent position resolves inside the root', async () => {
    await sb.extract([
      { name: 'evil', type: 'symlink', linkname: sb.outside },
      { name: 'evil/passwd', body: 'pwned' },
      { name: 'evil/sub/keep', body: 'pwned' },
      { name: 'evil/newdir', type: 'dir', mode: 0o777 },
    ]);
    assert.equal(readlinkSync(t('evil')), sb.outside, 'symlink members are stored verbatim');
    assert.equal(readFileSync(t(sb.outside, 'passwd'), 'utf8'), 'pwned');
    assert.equal(readFileSync(t(sb.outside, 'sub/keep'), 'utf8'), 'pwned');
    assert.ok(lstatSync(t(sb.outside, 'newdir')).isDirectory());
  });

  it('a relative ../.. symlink stops at the root', async () => {
    await sb.extract([
      { name: 'a/up', type: 'symlink', linkname: '../../../../../../..' },
      { name: 'a/up/outside/passwd', body: 'pwned' },
      { name: 'a/up/sentinel', body: 'pwned' },
    ]);
    assert.equal(readFileSync(t('outside/passwd'), 'utf8'), 'pwned');
    assert.equal(readFileSync(t('sentinel'), 'utf8'), 'pwned');
  });

  it('chained symlinks are followed inside the root, and loops are an error', async () => {
    await sb.extract([
      { name: 'one', type: 'symlink', linkname: 'two/x' },
      { name: 'two', type: 'symlink', linkname: '/three' },
      { name: 'three', type: 'symlink', linkname: '../..' },
      { name: 'one/passwd', body: 'pwned' },
    ]);
    assert.equal(readFileSync(t('x/passwd'), 'utf8'), 'pwned');
    await assert.rejects(sb.extract([
      { name: 'loop1', type: 'symlink', linkname: 'loop2' },
      { name: 'loop2', type: 'symlink', linkname: 'loop1' },
      { name: 'loop1/f', body: 'x' },
    ]), (e) => isInvalidArgument(e) && /too many levels of symbolic links/.test((e as Error).message));
  });

  it('a directory replaced by a symlink does not redirect later members or the deferred chmod', async () => {
    await sb.extract([
      { name: 'd', type: 'dir', mode: 0o777 },
      { name: 'd', type: 'symlink', linkname: sb.outside },
      { name: 'd/passwd', body: 'pwned', mode: 0o777 },
    ]);
    assert.ok(lstatSync(t('d')).isSymbolicLink());
    assert.equal(readFileSync(t(sb.outside, 'passwd'), 'utf8'), 'pwned');
    // and the other way round: the deferred metadata of "d2" is not applied through a symlink
    await sb.extract([
      { name: 'd2', type: 'dir', mode: 0o700, mtime: 0 },
      { name: 'd2', type: 'symlink', linkname: sb.outside },
    ]);
  });

  it('a symlink in the final position is replaced, never written through', async () => {
    symlinkSync(join(sb.outside, 'passwd'), t('file'));
    symlinkSync(sb.outside, t('dir'));
    symlinkSync(join(sb.outside, 'passwd'), t('fifo'));
    symlinkSync(join(sb.outside, 'sub'), t('link'));
    await sb.extract([
      { name: 'file', body: 'pwned', mode: 0o777, uid: 1234 },
      { name: 'dir', type: 'dir', mode: 0o777, uid: 1234 },
      { name: 'fifo', type: 'fifo', mode: 0o777 },
      { name: 'link', type: 'symlink', linkname: 'elsewhere' },
    ]);
    assert.ok(lstatSync(t('file')).isFile());
    assert.ok(lstatSync(t('dir')).isDirectory());
    assert.ok(lstatSync(t('fifo')).isFIFO());
    assert.equal(readlinkSync(t('link')), 'elsewhere');
  });

  it('chown and xattrs go to the member, not through a planted symlink', async () => {
    await sb.extract([
      { name: 'p', type: 'symlink', linkname: join(sb.outside, 'passwd') },
      { name: 'p', type: 'dir', uid: 4242, xattrs: { 'user.pwn': 'x' } },
      { name: 'q', type: 'symlink', linkname: sb.outside },
      { name: 'q/sub', type: 'dir', uid: 4242, mode: 0o777, xattrs: { 'user.pwn': 'x' } },
    ]);
    assert.equal(lgetxattr(join(sb.outside, 'passwd'), 'user.pwn'), undefined);
    assert.equal(lgetxattr(join(sb.outside, 'sub'), 'user.pwn'), undefined);
    assert.equal(lstatSync(t(sb.outside, 'sub')).uid, 4242);
  });

  it('device members through a symlinked parent stay inside the root', async () => {
    await sb.extract([
      { name: 'devs', type: 'symlink', linkname: sb.outside },
      { name: 'devs/null', type: 'char', devmajor: 1, devminor: 3 },
      { name: 'devs/fifo', type: 'fifo' },
    ]);
    assert.ok(lstatSync(t(sb.outside, 'null')).isCharacterDevice());
    assert.ok(lstatSync(t(sb.outside, 'fifo')).isFIFO());
  });
});

describe('extractTar() against hostile hard links', () => {
  it('rejects hard links whose target climbs above the root', async () => {
    for (const linkname of ['../sentinel', '../outside/passwd', 'a/../../sentinel']) {
      await assert.rejects(sb.extract([{ name: 'h', type: 'hardlink', linkname }]),
        (e) => isInvalidArgument(e) && /outside the extraction root/.test((e as Error).message), linkname);
    }
  });

  it('resolves absolute hard link targets and targets through symlinks inside the root', async () => {
    await assert.rejects(sb.extract([{ name: 'h', type: 'hardlink', linkname: join(sb.outside, 'passwd') }]),
      (e) => isInvalidArgument(e) && /does not exist/.test((e as Error).message));
    await assert.rejects(sb.extract([
      { name: 'out', type: 'symlink', linkname: sb.outside },
      { name: 'h', type: 'hardlink', linkname: 'out/passwd' },
    ]), (e) => isInvalidArgument(e) && /does not exist/.test((e as Error).message));
    await sb.extract([{ name: 'real', body: 'r' }, { name: 'via', type: 'symlink', linkname: '/' }, { name: 'h2', type: 'hardlink', linkname: 'via/real' }]);
    assert.equal(lstatSync(t('h2')).ino, lstatSync(t('real')).ino);
  });

  it('a hard link to a symlink that points outside links the symlink itself', async () => {
    await sb.extract([
      { name: 's', type: 'symlink', linkname: join(sb.outside, 'passwd') },
      { name: 'h', type: 'hardlink', linkname: 's' },
    ]);
    assert.ok(lstatSync(t('h')).isSymbolicLink());
    assert.equal(lstatSync(t('h')).ino, lstatSync(t('s')).ino);
    // writing "h" afterwards replaces the link; outside passwd is untouched (checked after each test)
    await sb.extract([{ name: 'h', body: 'pwned', mode: 0o777 }]);
    assert.equal(readFileSync(t('h'), 'utf8'), 'pwned');
  });

  it('refuses hard links to directories and to missing files', async () => {
    mkdirSync(t('d'));
    await assert.rejects(sb.extract([{ name: 'h', type: 'hardlink', linkname: 'd' }]), (e) => isInvalidArgument(e) && /is a directory/.test((e as Error).message));
    await assert.rejects(sb.extract([{ name: 'h', type: 'hardlink', linkname: 'nope' }]), (e) => isInvalidArgument(e) && /does not exist/.test((e as Error).message));
    await assert.rejects(sb.extract([{ name: 'h', type: 'hardlink', linkname: '/' }]), (e) => isInvalidArgument(e) && /extraction root/.test((e as Error).message));
  });
});

describe('extractTar() against hostile whiteouts', () => {
  it("'delete' ignores whiteouts whose parent is a symlink (to outside or inside)", async () => {
    const warnings: string[] = [];
    await sb.extract([
      { name: 'out', type: 'symlink', linkname: sb.outside },
      { name: 'up', type: 'symlink', linkname: '../..' },
      { name: 'in', type: 'dir' },
      { name: 'in/keep', body: 'k' },
      { name: 'alias', type: 'symlink', linkname: 'in' },
    ]);
    await sb.extract([
      { name: 'out/.wh.passwd' }, { name: 'out/.wh.sub' }, { name: 'out/.wh..wh..opq' },
      { name: 'up/.wh.sentinel' }, { name: 'up/.wh.outside' },
      { name: 'alias/.wh.keep' },
    ], { whiteouts: 'delete', onWarning: (m) => warnings.push(m) });
    assert.ok(existsSync(t('in/keep')));
    assert.equal(warnings.length, 6);
  });

  it("'overlay' ignores whiteouts whose parent is a symlink and replaces a final symlink", async () => {
    await sb.extract([
      { name: 'out', type: 'symlink', linkname: sb.outside },
      { name: 'pw', type: 'symlink', linkname: join(sb.outside, 'passwd') },
    ]);
    await sb.extract([{ name: 'out/.wh.passwd' }, { name: 'out/.wh..wh..opq' }, { name: '.wh.pw' }], { whiteouts: 'overlay' });
    assert.equal(lgetxattr(sb.outside, 'trusted.overlay.opaque'), undefined);
    assert.ok(lstatSync(t('pw')).isCharacterDevice());
  });

  it("'delete' whiteouts cannot name the parent or the root", async () => {
    await sb.extract([{ name: 'a/b', body: 'x' }]);
    for (const name of ['a/.wh..', '.wh..', '.wh...', 'a/.wh...']) {
      await assert.rejects(sb.extract([{ name }], { whiteouts: 'delete' }), isInvalidArgument, name);
    }
    await assert.rejects(sb.extract([{ name: '../.wh.sentinel' }], { whiteouts: 'delete' }), climbs);
    assert.ok(existsSync(t('a/b')));
  });

  it("an opaque whiteout at the root only empties the root", async () => {
    await sb.extract([{ name: 'lower', body: 'x' }]);
    await sb.extract([{ name: 'upper', body: 'y' }, { name: '.wh..wh..opq' }], { whiteouts: 'delete' });
    assert.deepEqual(readdirSync(sb.target), ['upper']);
  });
});

describe('extractTar() leaves no writable holes', () => {
  it('a read-only directory from the archive still gets its content, and outside modes stay', async () => {
    chmodSync(sb.outside, 0o755);
    await sb.extract([
      { name: 'x', type: 'symlink', linkname: sb.outside },
      { name: 'x', type: 'dir', mode: 0o500 },
      { name: 'x/f', body: 'f' },
    ]);
    assert.equal(lstatSync(t('x')).mode & 0o7777, 0o500);
    assert.equal(readFileSync(t('x/f'), 'utf8'), 'f');
    chmodSync(t('x'), 0o755);
  });
});
