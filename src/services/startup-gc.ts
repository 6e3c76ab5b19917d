/**
 * Garbage collection when pierd starts, before it serves any request: nothing can be in the
 * middle of creating an image then, so whatever a commit, load, import, pull or build killed
 * midway (kill -9 of pierd) left behind and no record references goes: unpacked layers and
 * blobs no image references (the layers of containers' images stay), and container snapshots
 * whose container was never recorded. Ingest and staging areas are emptied by the content
 * store and the snapshotter themselves when they open.
 */
import { chainIds } from '../core/image/index.js';
import type { Snapshotter } from '../core/ports/index.js';
import type { ImageService } from './images.js';

export interface StartupGcDeps {
  images: ImageService;
  snapshotter: Snapshotter;
  /** Image diff IDs of every container pierd knows. */
  containerLayers: () => string[][];
  /** Whether a snapshot key belongs to a container record on disk (loaded or not). */
  isContainer: (key: string) => boolean;
}

export async function collectAtStart(d: StartupGcDeps): Promise<{ blobs: number; layers: number; snapshots: number }> {
  let snapshots = 0;
  for (const key of (await d.snapshotter.idleSnapshots?.()) ?? []) {
    if (d.isContainer(key)) continue;
    await d.snapshotter.remove(key);
    snapshots++;
  }
  const { blobs, layers } = await d.images.collectLayers(d.containerLayers().flatMap((l) => chainIds(l)));
  return { blobs, layers, snapshots };
}
