import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { linkSync, lstatSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lgetxattr, lsetxattr, makedev, mknod } from '../sys/index.js';
import { extractTar } from './extract-tar.js';
import { chunked, readAll, collect } from './fixture-kit.js';
import { packDirectory, walkDirectory } from './pack-directory.js';
import { readTar } from './tar-reader.js';

let base: string;
let dir: string;
before(async () => {
  base = mkdtempSync(join(tmpdir(), 'pier-pack-'));
  dir = join(base, 'tree');
  mkdirSync(join(dir, 'a/b'), { recursive: true });
  writeFileSync(join(dir, 'a/b/file'), 'content');
  writeFileSync(join(dir, 'a/skip.log'), 'log');
  linkSync(join(dir, 'a/b/file'), join(dir, 'a/hard'));
  symlinkSync('/etc/passwd', join(dir, 'abs-link'));
  const server = createServer();
  await new Promise<void>((r) => server.listen(join(dir, 'sock'), r));
  server.close();
});
after(() => rmSync(base, { recursive: true, force: true }));

const names = async (stream: NodeJS.ReadableStream): Promise<string[]> => (await readAll(await collect(stream))).map((e) => `${e.type}:${e.name}${e.linkname ? `->${e.linkname}` : ''}`);

describe('packDirectory()', () => {
  it('walks in name order without the root, keeps symlinks as links, finds hard links, leaves sockets out', async () => {
    assert.deepEqual(await names(packDirectory(dir)), [
      'dir:a', 'dir:a/b', 'file:a/b/file', 'hardlink:a/hard->a/b/file', 'file:a/skip.log', 'symlink:abs-link->/etc/passwd',
    ]);
  });

  it('adds a prefix with a root entry, and applies filter and rename', async () => {
    const got = await names(packDirectory(dir, {
      prefix: '/copy/',
      filter: (name) => !name.endsWith('.log') && name !== 'copy/abs-link',
      rename: (name) => name.replace(/^copy/, 'renamed'),
    }));
    assert.deepEqual(got, ['dir:renamed', 'dir:renamed/a', 'dir:renamed/a/b', 'file:renamed/a/b/file', 'hardlink:renamed/a/hard->renamed/a/b/file']);
    assert.deepEqual(await names(packDirectory(dir, { filter: (name) => name !== 'a' })), ['symlink:abs-link->/etc/passwd']);
  });

  it('packs a single file under its basename or the prefix', async () => {
    assert.deepEqual(await names(packDirectory(join(dir, 'a/b/file'))), ['file:file']);
    assert.deepEqual(await names(packDirectory(join(dir, 'abs-link'), { prefix: 'x' })), ['symlink:x->/etc/passwd']);
  });

  it('pads a file that shrank after it was listed, so the archive stays valid', async () => {
    const p = join(base, 'shrinks');
    mkdirSync(p);
    writeFileSync(join(p, 'f'), 'twelve bytes');
    const it = walkDirectory(p);
    const first = (await it.next()).value!;
    writeFileSync(join(p, 'f'), 'tw');
    const buf = await collect(readTarOf([first]));
    assert.equal(buf.length, 12);
  });

  it('turns an overlay upper dir into a layer with whiteouts and back', async () => {
    const upper = join(base, 'upper');
    mkdirSync(join(upper, 'etc/opaque'), { recursive: true });
    writeFileSync(join(upper, 'etc/opaque/new'), 'n');
    lsetxattr(join(upper, 'etc/opaque'), 'trusted.overlay.opaque', Buffer.from('y'));
    lsetxattr(join(upper, 'etc/opaque'), 'user.kept', Buffer.from('k'));
    mknod(join(upper, 'etc/gone'), 0o020000, makedev(0, 0));
    mknod(join(upper, 'real-null'), 0o020666, makedev(1, 3));
    const layer = await collect(packDirectory(upper, { overlayWhiteouts: true }));
    const entries = await readAll(layer);
    assert.deepEqual(entries.map((e) => `${e.type}:${e.name}`), [
      'dir:etc', 'file:etc/.wh.gone', 'dir:etc/opaque', 'file:etc/opaque/.wh..wh..opq', 'file:etc/opaque/new', 'char:real-null',
    ]);
    assert.deepEqual(Object.keys(entries[2]!.xattrs), ['user.kept'], 'trusted.* never leaves the host');
    // applied to a fresh upper dir with overlay whiteouts, the layer reproduces the original
    const again = mkdtempSync(join(base, 'again-'));
    await extractTar(readTar(chunked(layer, 512)), again, { whiteouts: 'overlay' });
    assert.ok(lstatSync(join(again, 'etc/gone')).isCharacterDevice());
    assert.equal(lstatSync(join(again, 'etc/gone')).rdev, 0);
    assert.equal(lgetxattr(join(again, 'etc/opaque'), 'trusted.overlay.opaque')?.toString(), 'y');
    assert.equal(lstatSync(join(again, 'real-null')).rdev, lstatSync('/dev/null').rdev);
    // without the option a whiteout is just a device node
    assert.ok((await names(packDirectory(upper))).includes('char:etc/gone'));
  });
});

async function* readTarOf(entries: { body?: unknown }[]): AsyncGenerator<Buffer> {
  for (const e of entries) for await (const c of e.body as AsyncIterable<Buffer>) yield c;
}
