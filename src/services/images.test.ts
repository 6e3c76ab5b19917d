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
