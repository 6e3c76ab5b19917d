import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createReadStream, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { FsContentStore } from '../adapters/content-fs/index.js';
import type { ImageRecord } from '../core/image/index.js';
import type { ImageStore, Snapshotter, StagedLayer } from '../core/ports/index.js';
import { maybeDecompress, tarChunks, type TarWriterEntry } from '../lib/tar/index.js';
import { EventBus } from './events.js';
import { ImageArchiveService } from './image-archive.js';
import { ImageService } from './images.js';

const sha = (b: Buffer | string): string => 'sha256:' + createHash('sha256').update(b).digest('hex');

async function tarBuffer(entries: TarWriterEntry[]): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of tarChunks(entries)) parts.push(c);
  return Buffer.concat(parts);
}

/** A snapshotter fake that stages into memory and records what was staged, placed, applied and discarded. */
class FakeSnapshotter implements Partial<Snapshotter> {
  layers = new Map<string, number>();
  staged = 0;
  discarded = 0;
  applied: string[] = [];
  async hasLayer(c: string): Promise<boolean> { return this.layers.has(c); }
  async layerSize(c: string): Promise<number> { return this.layers.get(c) ?? 0; }
  async listLayers(): Promise<string[]> { return [...this.layers.keys()]; }
  async removeLayer(c: string): Promise<void> { this.layers.delete(c); }
  async applyLayer(c: string, _p: string | undefined, tar: AsyncIterable<Buffer>): Promise<{ size: number }> {
    let size = 0;
    for await (const x of tar) size += x.length;
    this.applied.push(c);
    this.layers.set(c, size);
    return { size };
  }
  async stageLayer(tar: AsyncIterable<Buffer>): Promise<StagedLayer> {
    let size = 0;
    for await (const x of tar) size += x.length;
    this.staged++;
    return { dir: `stage-${this.staged}`, size };
  }
  async commitStaged(s: StagedLayer, c: string): Promise<void> { this.layers.set(c, s.size); }
  async discardStaged(): Promise<void> { this.discarded++; }
}

class MemoryImageStore implements ImageStore {
  images = new Map<string, ImageRecord>();
  async loadAll() { return { images: [...this.images.values()], tags: {} }; }
  async saveImage(i: ImageRecord) { this.images.set(i.id, i); }
  async removeImage(id: string) { this.images.delete(id); }
  async saveTags() {}
  async loadLeases() { return []; }
  async saveLease() {}
  async removeLease() {}
}

async function archive(layers: Buffer[], o: { diffIds?: string[]; extra?: TarWriterEntry[] } = {}): Promise<Buffer> {
  const diffIds = o.diffIds ?? layers.map((l) => sha(l));
  const cfg = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: diffIds } }));
  return tarBuffer([
    ...layers.map((l, i) => ({ name: `l${i}/layer.tar`, body: l })),
    ...(o.extra ?? []),
    { name: 'config.json', body: cfg },
    { name: 'manifest.json', body: JSON.stringify([{ Config: 'config.json', RepoTags: ['x:1'], Layers: layers.map((_, i) => `l${i}/layer.tar`) }]) },
  ]);
}

async function* once(b: Buffer): AsyncIterable<Buffer> { yield b; }

describe('ImageArchiveService.load', () => {
  let root: string;
  let content: FsContentStore;
  let snap: FakeSnapshotter;
  let svc: ImageArchiveService;
  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'pier-load-'));
    content = await FsContentStore.open(root);
  });
  after(() => rmSync(root, { recursive: true, force: true }));
  const fresh = (): void => {
    snap = new FakeSnapshotter();
    const readBlob = (d: string): AsyncIterable<Buffer> => createReadStream(content.path(d)) as AsyncIterable<Buffer>;
    const images = new ImageService({ store: new MemoryImageStore(), content, snapshotter: snap as unknown as Snapshotter, events: new EventBus(), decompress: (s) => maybeDecompress(s), readBlob });
    svc = new ImageArchiveService({ images, content, readBlob, blobSize: async () => 0, arch: 'amd64' });
  };
  const blobs = (): string[] => readdirSync(join(root, 'blobs', 'sha256')).map((h) => `sha256:${h}`).sort();
  const quiet = { quiet: true, emit: () => {} };

  it('load stages each layer while it streams and places it under its chain, reading nothing back', async () => {
    fresh();
    const l0 = await tarBuffer([{ name: 'a.txt', body: 'a' }]);
    const l1 = gzipSync(await tarBuffer([{ name: 'b.txt', body: 'b' }]));
    const plain1 = await tarBuffer([{ name: 'b.txt', body: 'b' }]);
    const out = await svc.load(once(await archive([l0, l1], { diffIds: [sha(l0), sha(plain1)] })), quiet);
    assert.deepEqual(out, ['x:1']);
    assert.equal(snap.staged, 2);
    assert.deepEqual(snap.applied, [], 'a layer went the slow way');
    assert.deepEqual([...snap.layers.keys()], [sha(l0), sha(`${sha(l0)} ${sha(plain1)}`)]);
    // the uncompressed layers are the blobs (diff IDs), the gzip bytes are not stored
    for (const d of [sha(l0), sha(plain1)]) assert.ok(blobs().includes(d));
    assert.ok(!blobs().includes(sha(l1)));
  });

  it('a staged layer whose diff ID is not the config\'s fails the load and leaves nothing', async () => {
    fresh();
    const before = blobs();
    const l0 = await tarBuffer([{ name: 'evil.txt', body: 'e' }]);
    await assert.rejects(svc.load(once(await archive([l0], { diffIds: [sha('something else')] })), quiet), /digest mismatch/);
    assert.equal(snap.layers.size, 0);
    assert.equal(snap.discarded, 1);
    assert.deepEqual(blobs(), before);
    assert.deepEqual(readdirSync(join(root, 'ingest')), []);
  });

  it('a tar-looking member the manifest does not use is staged, then discarded with its blob', async () => {
    fresh();
    const l0 = await tarBuffer([{ name: 'a2.txt', body: 'a2' }]);
    const stray = await tarBuffer([{ name: 'stray.txt', body: 'stray' }]);
    await svc.load(once(await archive([l0], { extra: [{ name: 'junk/layer.tar', body: stray }] })), quiet);
    assert.equal(snap.staged, 2);
    assert.equal(snap.discarded, 1);
    assert.ok(!blobs().includes(sha(stray)));
    assert.ok(blobs().includes(sha(l0)));
  });
});
