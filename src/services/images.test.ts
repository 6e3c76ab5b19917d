import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ContentStore, ImageStore, LeaseRecord, Snapshotter } from '../core/ports/index.js';
import { EventBus } from './events.js';
import { ImageService } from './images.js';

/** An image store that keeps leases like the JSON one does (survive a "restart"). */
class LeaseStore implements ImageStore {
  leases = new Map<string, LeaseRecord>();
  async loadAll() { return { images: [], tags: {} }; }
  async saveImage() {}
  async removeImage() {}
  async saveTags() {}
  async loadLeases() { return [...this.leases.values()]; }
  async saveLease(l: LeaseRecord) { this.leases.set(l.id, l); }
  async removeLease(id: string) { this.leases.delete(id); }
}

function service(store: ImageStore, blobs: Set<string>, layers: Set<string>): ImageService {
  const content = { list: async () => [...blobs], remove: async (d: string) => { blobs.delete(d); } } as unknown as ContentStore;
  const snapshotter = { listLayers: async () => [...layers], removeLayer: async (c: string) => { layers.delete(c); } } as unknown as Snapshotter;
  return new ImageService({ store, content, snapshotter, events: new EventBus(), decompress: (s) => s, readBlob: async function* () {} });
}

describe('ImageService leases', () => {
  it('collection keeps what an unexpired lease holds, across a restart, and drops it once the lease is released or expired', async () => {
    const store = new LeaseStore();
    const blobs = new Set(['sha256:a', 'sha256:b']);
    const layers = new Set(['sha256:ca', 'sha256:cb']);
    const first = service(store, blobs, layers);
    await first.load();
    await first.lease('pull x', ['sha256:a', 'sha256:ca']);
    await first.lease('pull old', ['sha256:b', 'sha256:cb'], -1); // already expired
    // a new process (after kill -9) loads the leases before its start-up sweep
    const second = service(store, blobs, layers);
    await second.load();
    assert.deepEqual(await second.collectLayers(), { blobs: 1, layers: 1 });
    assert.deepEqual([...blobs, ...layers], ['sha256:a', 'sha256:ca']);
    assert.deepEqual([...store.leases.keys()], ['pull x'], 'the expired lease is dropped from disk');
    await second.releaseLease('pull x');
    assert.deepEqual(await second.collectLayers(), { blobs: 1, layers: 1 });
    assert.equal(store.leases.size, 0);
  });
});

describe('ImageService.readBlob with tar-split layers', () => {
  const d1 = `sha256:${'1'.repeat(64)}`;
  const d2 = `sha256:${'2'.repeat(64)}`;
  const image = { id: `sha256:${'c'.repeat(64)}`, config: { rootfs: { type: 'layers', diff_ids: [d1, d2] } }, size: 0, parent: '', repoDigests: [] };
  const collect = async (s: AsyncIterable<Buffer>): Promise<string> => { let o = ''; for await (const c of s) o += c.toString(); return o; };

  function withLayers(layerTar: (chain: string) => Promise<{ digest: string; size: number; open(): AsyncIterable<Buffer> } | undefined>, stored: Set<string>): ImageService {
    const store = new LeaseStore();
    store.loadAll = async () => ({ images: [image as never], tags: {} });
    const content = { has: async (d: string) => stored.has(d) } as unknown as ContentStore;
    const snapshotter = { layerTar } as unknown as Snapshotter;
    const svc = new ImageService({
      store, content, snapshotter, events: new EventBus(), decompress: (s) => s,
      readBlob: async function* (d) { if (!stored.has(d)) throw new Error(`ENOENT ${d}`); yield Buffer.from(`stored ${d.slice(7, 9)}`); },
      blobSize: async () => 9,
    });
    return svc;
  }

  it('serves a stored blob as is, and a layer without one from its record, with the record size', async () => {
    const svc = withLayers(async (chain) => chain === d1 ? { digest: d1, size: 7, open: async function* () { yield Buffer.from('rebuilt'); } } : undefined, new Set([d2]));
    await svc.load();
    assert.equal(await collect(svc.readBlob(d1)), 'rebuilt');
    assert.equal(await svc.blobSize(d1), 7);
    assert.equal(await collect(svc.readBlob(d2)), 'stored 22');
    assert.equal(await svc.blobSize(d2), 9);
    assert.equal(await svc.hasBlob(d1), true);
    assert.equal(await svc.hasBlob(`sha256:${'9'.repeat(64)}`), false);
  });

  it('a layer being rebuilt (save, push) is pinned: a sweep meanwhile keeps it, the next one does not', async () => {
    const layers = new Set([d1]);
    let swept: { blobs: number; layers: number } | undefined;
    const store = new LeaseStore();
    store.loadAll = async () => ({ images: [image as never], tags: {} });
    const content = { has: async () => false, list: async () => [], remove: async () => {} } as unknown as ContentStore;
    const snapshotter = {
      listLayers: async () => [...layers],
      removeLayer: async (c: string) => { layers.delete(c); },
      layerTar: async (chain: string) => chain === d1 ? {
        digest: d1, size: 2,
        open: async function* () {
          yield Buffer.from('a');
          // an rmi of the last image using the layer, mid-stream: its record goes, then a sweep
          (svc as unknown as { images: Map<string, unknown> }).images.clear();
          swept = await svc.collectLayers();
          yield Buffer.from('b');
        },
      } : undefined,
    } as unknown as Snapshotter;
    const svc = new ImageService({ store, content, snapshotter, events: new EventBus(), decompress: (s) => s, readBlob: async function* () {} });
    await svc.load();
    assert.equal(await collect(svc.readBlob(d1)), 'ab');
    assert.deepEqual(swept, { blobs: 0, layers: 0 });
    assert.deepEqual([...layers], [d1]);
    assert.deepEqual(await svc.collectLayers(), { blobs: 0, layers: 1 });
  });

  it('a record naming another digest is not used; an unreadable record is reported', async () => {
    let svc = withLayers(async () => ({ digest: d2, size: 1, open: async function* () { yield Buffer.from('x'); } }), new Set());
    await svc.load();
    await assert.rejects(collect(svc.readBlob(d1)), /ENOENT/);
    svc = withLayers(async () => { throw new Error('invalid tar split record: truncated'); }, new Set());
    await svc.load();
    await assert.rejects(collect(svc.readBlob(d1)), /invalid tar split record/);
  });
});
