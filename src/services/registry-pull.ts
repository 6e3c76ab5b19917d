/**
 * docker pull: manifest (an index resolved to the wanted platform), config, then the layers
 * N at a time (3 by default). Each layer's HTTP body goes straight into ImageService.addLayer
 * with the diff ID the config promises: the remote adapter checks the compressed digest as
 * the bytes pass, the content store checks the diff ID, and only then is the layer unpacked.
 * Two pulls needing one layer share its download. The image record and tag are written
 * last (addImage), so a pull killed midway leaves no image, only complete layers to reuse:
 * a lease on disk keeps them from garbage collection (the start-up sweep included) for 24 h.
 */
import { type Reference, familiarName, familiarString, type ImageConfigFile } from '../api/index.js';
import { chainIds } from '../core/image/index.js';
import type { BlobDigestMap, RegistryCredentials, RegistryRemote, RegistryRepo, Snapshotter } from '../core/ports/index.js';
import { EngineError, invalidArgument, notFound } from '../lib/errdefs.js';
import { hostArch, type ImageService } from './images.js';

export interface ProgressMessage {
  status?: string;
  id?: string;
  progressDetail?: { current?: number; total?: number };
  aux?: unknown;
}
export type ProgressSink = (m: ProgressMessage) => void;

export interface RegistryPullDeps {
  images: ImageService;
  remote: RegistryRemote;
  snapshotter: Snapshotter;
  digests: BlobDigestMap;
  /** Layers downloaded at once (default 3). */
  concurrency?: number;
}

interface Descriptor { mediaType?: string; digest: string; size: number; platform?: { os?: string; architecture?: string; variant?: string } }
interface Manifest { schemaVersion?: number; mediaType?: string; config?: Descriptor; layers?: Descriptor[]; manifests?: Descriptor[] }

export interface PullPlan {
  ref: Reference;
  repo: RegistryRepo;
  /** What Docker prints after "Digest:" and keeps in RepoDigests (the index's digest for a multi-platform image). */
  digest: string;
  manifest: Manifest;
  config: Buffer;
  configDigest: string;
}

const INDEX_TYPES = new Set(['application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.list.v2+json']);

export function parsePlatform(p: string | undefined): { os: string; architecture: string; variant?: string } {
  if (!p) return { os: 'linux', architecture: hostArch(), ...(hostArch() === 'arm64' ? { variant: 'v8' } : {}) };
  const [os, architecture, variant] = p.toLowerCase().split('/');
  if (!os || !architecture) throw invalidArgument(`"${p}": unknown operating system or architecture: invalid argument`);
  return { os, architecture: architecture === 'x86_64' ? 'amd64' : architecture === 'aarch64' ? 'arm64' : architecture, ...(variant ? { variant } : {}) };
}

export function selectPlatform(manifests: Descriptor[], want: { os: string; architecture: string; variant?: string }): Descriptor | undefined {
  const cands = manifests.filter((m) => m.platform?.os === want.os && m.platform?.architecture === want.architecture);
  return cands.find((m) => !want.variant || !m.platform?.variant || m.platform.variant === want.variant) ?? cands[0];
}

/** `sha256:abcdef…` → the 12-hex id docker prints per layer. */
export const shortId = (digest: string): string => digest.replace(/^sha256:/, '').slice(0, 12);

export class RegistryPuller {
  private inflight = new Map<string, Promise<void>>();

  constructor(private readonly d: RegistryPullDeps) {}

  /** Manifest and config: everything that can fail before the progress stream starts. */
  async resolve(ref: Reference, opts: { auth?: RegistryCredentials; platform?: string }): Promise<PullPlan> {
    const repo: RegistryRepo = { domain: ref.domain, path: ref.path, ...(opts.auth ? { auth: opts.auth } : {}) };
    const top = await this.d.remote.getManifest(repo, ref.digest ?? ref.tag ?? 'latest');
    let manifest = JSON.parse(top.bytes.toString('utf8')) as Manifest;
    if (INDEX_TYPES.has(top.mediaType) || manifest.manifests) {
      const want = parsePlatform(opts.platform);
      const pick = selectPlatform(manifest.manifests ?? [], want);
      if (!pick) throw notFound(`no matching manifest for ${want.os}/${want.architecture}${want.variant ? '/' + want.variant : ''} in the manifest list entries`);
      const m = await this.d.remote.getManifest(repo, pick.digest);
      manifest = JSON.parse(m.bytes.toString('utf8')) as Manifest;
    }
    if (manifest.schemaVersion === 1 || !manifest.config || !Array.isArray(manifest.layers)) {
      throw invalidArgument(`unsupported manifest format for ${familiarString(ref)}: ${top.mediaType || 'unknown'} (schema 1 manifests are not supported)`);
    }
    const chunks: Buffer[] = [];
    for await (const c of this.d.remote.openBlob(repo, manifest.config.digest, { size: manifest.config.size })) chunks.push(c);
    return { ref, repo, digest: top.digest, manifest, config: Buffer.concat(chunks), configDigest: manifest.config.digest };
  }

  /** Downloads and unpacks what is missing, then records the image; progress in Docker's words. */
  async pull(plan: PullPlan, progress: ProgressSink): Promise<{ id: string; upToDate: boolean }> {
    const { ref, repo, manifest } = plan;
    const idOrTag = ref.digest ?? ref.tag ?? 'latest';
    progress({ status: `Pulling from ${ref.path}`, id: idOrTag });
    let config: ImageConfigFile;
    try { config = JSON.parse(plan.config.toString('utf8')) as ImageConfigFile; } catch { throw invalidArgument('invalid image config: not JSON'); }
    const diffIds = config.rootfs?.diff_ids ?? [];
    const layers = manifest.layers ?? [];
    if (diffIds.length !== layers.length) throw invalidArgument(`image config has ${diffIds.length} diff IDs but the manifest lists ${layers.length} layers`);
    const chain = chainIds(diffIds);
    const repoDigest = `${familiarName(ref)}@${plan.digest}`;
    const existing = this.d.images.find(plan.configDigest);
    const tagged = !ref.digest && existing && this.d.images.find(familiarString(ref))?.id === existing.id;

    const todo: number[] = [];
    for (let i = 0; i < layers.length; i++) {
      if (await this.d.snapshotter.hasLayer(chain[i]!)) progress({ status: 'Already exists', progressDetail: {}, id: shortId(layers[i]!.digest) });
      else { todo.push(i); progress({ status: 'Pulling fs layer', progressDetail: {}, id: shortId(layers[i]!.digest) }); }
    }
    const limit = Math.max(1, this.d.concurrency ?? 3);
    for (const i of todo.slice(limit)) progress({ status: 'Waiting', progressDetail: {}, id: shortId(layers[i]!.digest) });

    // The layers completed so far stay for the next pull if this one dies (kill -9 included).
    const lease = `pull ${plan.digest}`;
    if (todo.length > 0) await this.d.images.lease(lease, [...diffIds, ...chain]);
    // `limit` downloads at a time; a layer frees its slot when its download ends, so the next
    // download overlaps the end of its unpacking (Docker's download manager does the same).
    let slots = limit;
    const queue: Array<() => void> = [];
    const download = async (): Promise<() => void> => {
      if (slots > 0) slots--;
      else await new Promise<void>((r) => queue.push(r));
      let held = true;
      return () => {
        if (!held) return;
        held = false;
        const nextUp = queue.shift();
        if (nextUp) nextUp();
        else slots++;
      };
    };
    let failed: unknown;
    await Promise.all(todo.map(async (i) => {
      const done = await download();
      try {
        if (failed !== undefined) return;
        await this.layer(repo, layers[i]!, diffIds[i]!, i === 0 ? undefined : chain[i - 1], chain[i]!, progress, done);
      } catch (e) {
        failed ??= e;
      } finally {
        done();
      }
    }));
    if (failed !== undefined) throw failed;

    const img = await this.d.images.addImage({
      config: plan.config,
      tags: ref.digest ? [] : [ref],
      repoDigests: [repoDigest],
      event: { action: 'pull', name: familiarString(ref) },
    });
    await this.d.images.releaseLease(lease);
    progress({ status: `Digest: ${plan.digest}` });
    const upToDate = todo.length === 0 && (ref.digest ? !!existing : !!tagged);
    progress({ status: `Status: ${upToDate ? 'Image is up to date' : 'Downloaded newer image'} for ${familiarString(ref)}` });
    return { id: img.id, upToDate };
  }

  /**
   * One layer: shared with a concurrent pull of the same chain, else downloaded and unpacked.
   * `downloaded` is called once the layer's bytes are all in (or it was shared with another pull).
   */
  private async layer(repo: RegistryRepo, desc: Descriptor, diffId: string, parent: string | undefined, chainId: string, progress: ProgressSink, downloaded: () => void): Promise<void> {
    const id = shortId(desc.digest);
    const running = this.inflight.get(chainId);
    if (running) {
      downloaded();
      await running;
      progress({ status: 'Download complete', progressDetail: {}, id });
      progress({ status: 'Pull complete', progressDetail: {}, id });
      return;
    }
    const p = (async () => {
      if (!isLayerType(desc.mediaType)) throw invalidArgument(`unsupported layer media type ${desc.mediaType}`);
      let last = 0;
      const total = desc.size;
      const onBytes = (n: number): void => {
        const now = Date.now();
        if (now - last >= 100 || n === total) { last = now; progress({ status: 'Downloading', progressDetail: { current: n, total }, id }); }
      };
      // The layer unpacks while it downloads; once the download is complete, Extracting shows
      // how much of it is unpacked, in compressed bytes like Docker, until it all is.
      let complete = false;
      let unpacked = 0;
      let shown = -1;
      let lastShown = 0;
      const extracting = (force: boolean): void => {
        const now = Date.now();
        if (unpacked === shown || (!force && now - lastShown < 100)) return;
        shown = unpacked;
        lastShown = now;
        progress({ status: 'Extracting', progressDetail: { current: unpacked, total }, id });
      };
      const downloadComplete = (): void => {
        complete = true;
        downloaded();
        progress({ status: 'Verifying Checksum', progressDetail: {}, id });
        progress({ status: 'Download complete', progressDetail: {}, id });
        extracting(true);
      };
      // Where the snapshotter can, a worker thread fetches, verifies and unpacks the blob
      // (the event loop only relays progress); else the bytes pass through here.
      const fetchInWorker = this.d.remote.blobFetch && this.d.images.unpacksBlobs;
      const announced = fetchInWorker
        ? this.d.remote.blobFetch!(repo, desc.digest, { size: desc.size, onBytes, onComplete: downloadComplete })
        : (async function* (body: AsyncIterable<Buffer>) {
          yield* body;
          downloadComplete();
        })(this.d.remote.openBlob(repo, desc.digest, { size: desc.size, onBytes }));
      try {
        await this.d.images.addLayer(announced, parent, diffId, (n) => {
          unpacked = Math.min(n, total);
          if (complete) extracting(false);
        });
        unpacked = total;
        extracting(true);
      } catch (e) {
        if (e instanceof EngineError && /digest mismatch/.test(e.message)) throw invalidArgument(`filesystem layer verification failed for digest ${desc.digest}`);
        // A gzip or tar error before the end of the stream may be a corrupted download: fetch the
        // blob again only to check its digest, so the error names the real cause.
        // (A worker's fetch has checked that already.)
        if (!fetchInWorker && !complete && e instanceof EngineError && e.kind === 'invalid-argument') {
          for await (const chunk of this.d.remote.openBlob(repo, desc.digest, { size: desc.size })) void chunk;
        }
        throw e;
      }
      await this.d.digests.record(diffId, { digest: desc.digest, repo: `${repo.domain}/${repo.path}`, size: desc.size });
      progress({ status: 'Pull complete', progressDetail: {}, id });
    })();
    this.inflight.set(chainId, p);
    try { await p; } finally { this.inflight.delete(chainId); }
  }
}

function isLayerType(t: string | undefined): boolean {
  return !t || /rootfs\.diff\.tar(\.gzip)?$|image\.layer\.v1\.tar(\+gzip)?$|nondistributable/.test(t);
}
