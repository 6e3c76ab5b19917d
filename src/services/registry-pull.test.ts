import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { parseReference } from '../api/index.js';
import type { BlobDigestMap, RegistryRemote, Snapshotter } from '../core/ports/index.js';
import type { ImageService } from './images.js';
import { RegistryPuller, type ProgressMessage } from './registry-pull.js';

const sha = (b: Buffer | string): string => 'sha256:' + createHash('sha256').update(b).digest('hex');

describe('RegistryPuller', () => {
  it('pull() reports Extracting with the unpacked share of the compressed size after Download complete, ending full before Pull complete', async () => {
    const blob = Buffer.alloc(3000, 7);
    const layer = { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha(blob), size: blob.length };
    const config = Buffer.from(JSON.stringify({ rootfs: { type: 'layers', diff_ids: [sha('diff')] } }));
    const remote = {
      async *openBlob(_repo: unknown, _d: string, o: { onBytes?: (n: number) => void } = {}) {
        for (let i = 1; i <= 3; i++) { o.onBytes?.(i * 1000); yield blob.subarray((i - 1) * 1000, i * 1000); }
      },
    } as unknown as RegistryRemote;
    const images = {
      find: () => undefined,
      // unpacks behind the download: a third when the stream ends, then more (100 ms apart
      // at most one message), then all of it
      async addLayer(tar: AsyncIterable<Buffer>, _p: unknown, _d: unknown, onUnpacked?: (n: number) => void) {
        let n = 0;
        for await (const c of tar) if (++n === 2) onUnpacked?.(c.length);
        onUnpacked?.(2000);
        await new Promise((r) => setTimeout(r, 120));
        onUnpacked?.(2500);
        return { diffId: sha('diff'), chainId: sha('diff'), size: 1 };
      },
      addImage: async () => ({ id: sha(config) }),
      lease: async () => {},
      releaseLease: async () => {},
    } as unknown as ImageService;
    const snapshotter = { hasLayer: async () => false } as unknown as Snapshotter;
    const digests = { record: async () => {}, compressedFor: async () => [] } as BlobDigestMap;
    const puller = new RegistryPuller({ images, remote, snapshotter, digests });
    const ref = parseReference('127.0.0.1:5000/x:1');
    const plan = { ref, repo: { domain: ref.domain, path: ref.path }, digest: sha('m'), manifest: { config: { digest: sha(config), size: config.length }, layers: [layer] }, config, configDigest: sha(config) };
    const seen: ProgressMessage[] = [];
    await puller.pull(plan, (m) => seen.push(m));
    const mine = seen.filter((m) => m.id === layer.digest.slice(7, 19)).map((m) => `${m.status}${m.progressDetail?.total ? ` ${m.progressDetail.current}/${m.progressDetail.total}` : ''}`);
    const from = mine.indexOf('Download complete');
    assert.deepEqual(mine.slice(from), ['Download complete', 'Extracting 1000/3000', 'Extracting 2500/3000', 'Extracting 3000/3000', 'Pull complete'], mine.join('\n'));
  });
});
