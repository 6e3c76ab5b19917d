import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeManifestHeader, type ManifestEntry, type ManifestHeader } from '../api/index.js';
import { packTar, type TarWriterEntry } from '../lib/tar/index.js';
import { BuildContext, ContextStore } from './build-context.js';

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const A = Buffer.from('alpha\n');
const B = Buffer.alloc(70 << 10, 1); // above the kept-body size
const C = Buffer.from('changed\n');

async function* chunks(...bufs: Buffer[]): AsyncGenerator<Buffer> {
  // split in odd pieces: framing must not depend on chunk boundaries
  for (const b of bufs) for (let i = 0; i < b.length; i += 1000) yield b.subarray(i, i + 1000);
}
const body = (h: ManifestHeader, ...blobs: Buffer[]): AsyncGenerator<Buffer> => chunks(encodeManifestHeader(h), ...blobs);
const f = (Path: string, data: Buffer, Mode = 0o644, Mtime = 1700000000): ManifestEntry => ({ Path, Type: 'file', Mode, Uid: 0, Gid: 0, Mtime, Size: data.length, Digest: sha(data) });
const d = (Path: string): ManifestEntry => ({ Path, Type: 'dir', Mode: 0o755, Uid: 0, Gid: 0, Mtime: 1700000000 });
const l = (Path: string, Link: string): ManifestEntry => ({ Path, Type: 'symlink', Mode: 0o777, Uid: 0, Gid: 0, Mtime: 1700000000, Link });

describe('BuildContext.receiveManifest()', () => {
  let root: string;
  let store: ContextStore;
  const opened: BuildContext[] = [];
  before(() => { root = mkdtempSync(join(tmpdir(), 'bcx-')); store = new ContextStore(join(root, 'store')); });
  after(() => { for (const c of opened) c.close(); rmSync(root, { recursive: true, force: true }); });
  const recv = async (b: AsyncIterable<Buffer>) => { const r = await BuildContext.receiveManifest(b, store, join(root, 'ctx')); opened.push(r.ctx); return r; };
  const entries = [d('src'), f('src/a.txt', A), f('src/b.bin', B, 0o755), l('src/link', '../x'), f('Dockerfile', Buffer.from('FROM scratch\n'))];

  it('builds the same context as the tar of the same tree (entries and COPY checksum)', async () => {
    const df = Buffer.from('FROM scratch\n');
    const tarEntries: TarWriterEntry[] = [
      { name: 'src', type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: 1700000000 },
      { name: 'src/a.txt', type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 1700000000, size: A.length, body: A },
      { name: 'src/b.bin', type: 'file', mode: 0o755, uid: 0, gid: 0, mtime: 1700000000, size: B.length, body: B },
      { name: 'src/link', type: 'symlink', mode: 0o777, uid: 0, gid: 0, mtime: 1700000000, linkname: '../x' },
      { name: 'Dockerfile', type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 1700000000, size: df.length, body: df },
    ];
    const viaTar = await BuildContext.receive(packTar((async function* () { yield* tarEntries; })()), store, join(root, 'ctx'), 'Dockerfile');
    opened.push(viaTar);
    const { ctx, blobs } = await recv(body({ Entries: entries, Blobs: [] }));
    assert.equal(blobs, 0); // the tar put everything in the store
    assert.deepEqual([...ctx.entries].sort(), [...viaTar.entries].sort());
    assert.equal(ctx.checksum(['.']), viaTar.checksum(['.']));
    assert.equal(ctx.checksum(['src']), viaTar.checksum(['src']));
  });

  it('stores sent contents, and makes objects with other metadata from stored ones', async () => {
    const { ctx, blobs, blobBytes } = await recv(body({ Entries: [...entries, f('new.txt', C), f('again.txt', A, 0o600, 1)], Blobs: [[sha(C), C.length]] }, C));
    assert.equal(blobs, 1);
    assert.equal(blobBytes, C.length);
    assert.deepEqual(await ctx.read('new.txt'), C);
    assert.deepEqual(await ctx.read('again.txt'), A);
    assert.equal(ctx.entries.get('again.txt')!.obj, ContextStore.objectName(sha(A), { mode: 0o600, uid: 0, gid: 0, mtime: 1 }));
    assert.equal(await store.hasContent(sha(C)), true);
  });

  it('refuses content that is neither stored nor sent', async () => {
    const X = Buffer.from('never sent');
    await assert.rejects(recv(body({ Entries: [f('x', X)], Blobs: [] })), /neither in the store nor sent/);
  });

  it('refuses sent bytes that do not match their digest, and a body cut short or too long', async () => {
    const Y = Buffer.from('yyyy');
    await assert.rejects(recv(body({ Entries: [f('y', Y)], Blobs: [[sha(Y), 4]] }, Buffer.from('zzzz'))), /does not match its digest/);
    assert.equal(await store.hasContent(sha(Y)), false);
    assert.equal(await store.hasContent(sha(Buffer.from('zzzz'))), false);
    await assert.rejects(recv(body({ Entries: [f('y', Y)], Blobs: [[sha(Y), 4]] }, Buffer.from('yy'))), /body ended/);
    await assert.rejects(recv(body({ Entries: [f('y', Y)], Blobs: [[sha(Y), 4]] }, Y, Buffer.from('extra'))), /data after the last content/);
    await assert.rejects(recv(chunks(Buffer.from([0, 0, 1]))), /body ended/);
    const bad = Buffer.from('{not json');
    const frame = Buffer.alloc(4); frame.writeUInt32BE(bad.length);
    await assert.rejects(recv(chunks(frame, bad)), /invalid build context manifest/);
  });

  it('refuses a size that disagrees with the stored content', async () => {
    await assert.rejects(recv(body({ Entries: [{ ...f('a', A), Size: A.length + 1 }], Blobs: [] })), /has 7 bytes in the manifest.*has 6/);
  });

  it('refuses hostile paths (escapes, absolute, below a symlink)', async () => {
    await assert.rejects(recv(body({ Entries: [f('../a', A)], Blobs: [] })), /escapes the context/);
    await assert.rejects(recv(body({ Entries: [f('/a', A)], Blobs: [] })), /absolute path/);
    await assert.rejects(recv(body({ Entries: [l('e', '/etc'), f('e/passwd', A)], Blobs: [] })), /parent e is a symlink/);
  });

  it('streams a content above the in-memory limit to disk, and refuses it when it does not match', async () => {
    const big = Buffer.alloc((64 << 20) + 1, 3);
    const bad = Buffer.from(big); bad[bad.length - 1] = 4;
    await assert.rejects(recv(body({ Entries: [f('big', big)], Blobs: [[sha(big), big.length]] }, bad)), /does not match its digest/);
    const { ctx } = await recv(body({ Entries: [f('big', big)], Blobs: [[sha(big), big.length]] }, big));
    assert.equal(ctx.entries.get('big')!.size, big.length);
    assert.equal(sha(await ctx.read('big')), sha(big));
  });

  it('leaves no temporary files behind after refused contents', () => {
    assert.deepEqual(readdirSync(join(root, 'store', 'tmp')), []);
  });
});

describe('BuildContext.receive() (tar)', () => {
  it('refuses a member below a symlink', async () => {
    const root = mkdtempSync(join(tmpdir(), 'bct-'));
    try {
      const store = new ContextStore(join(root, 'store'));
      const tar = packTar((async function* (): AsyncGenerator<TarWriterEntry> {
        yield { name: 'a', type: 'symlink', mode: 0o777, uid: 0, gid: 0, mtime: 0, linkname: '/etc' };
        yield { name: 'a/x', type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0, size: 1, body: Buffer.from('x') };
      })());
      await assert.rejects(BuildContext.receive(tar, store, join(root, 'ctx'), 'Dockerfile'), /a\/x is below a, which is not a directory/);
    } finally { rmSync(root, { recursive: true, force: true }); }
  });
});

describe('ContextStore.prune()', () => {
  it('an object asked for while prune unlinks it is written again, not handed out and then lost', async () => {
    const root = mkdtempSync(join(tmpdir(), 'bcp-'));
    try {
      const store = new ContextStore(join(root, 'store'));
      const meta = { mode: 0o644, uid: 0, gid: 0, mtime: 1700000000 };
      const name = await store.put(A, sha(A), meta);
      store.release([name]);
      for (let round = 0; round < 200; round++) {
        // prune and a build's put of the same content, the put landing at varying points of the prune
        const pruning = store.prune();
        for (let k = 0; k < round % 8; k++) await new Promise<void>((r) => setImmediate(r));
        const again = await store.put(A, sha(A), meta);
        await pruning;
        assert.deepEqual(readdirSync(join(root, 'store', 'objects')), [again], `round ${round}: the object a build holds is gone`);
        store.release([again]);
      }
    } finally { rmSync(root, { recursive: true, force: true }); }
  });
});
