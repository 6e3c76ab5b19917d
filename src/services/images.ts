/**
 * Images: lookup by ID, prefix or reference; import of rootfs tarballs; tags; removal.
 * Layers live in the content store (uncompressed tar, digest = diff ID), or, when pulled, only
 * as a tar-split record beside their files (readBlob rebuilds the tar), and are unpacked once
 * into the snapshotter, keyed by chain ID.
 */
import {
  type Reference, parseReference, withDefaultTag, canonicalString, familiarString, familiarName, isFullHexId,
  type ImageConfigFile, type ContainerConfigWire,
} from '../api/index.js';
import { type ImageRecord, chainIds, sha256, applyChanges } from '../core/image/index.js';
import type { ContentStore, ImageStore, LeaseRecord, Snapshotter, StagedLayer } from '../core/ports/index.js';
import { createReadStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { conflict, errnoCode, invalidArgument, notFound } from '../lib/errdefs.js';
import { BackgroundHash } from '../lib/hashing/index.js';
import { tee, TeeAbortedError } from '../lib/streams/index.js';
import { detectCompression, TarSplitRecorder, type BlobFetch } from '../lib/tar/index.js';
import type { EventBus } from './events.js';

export interface ImageServiceDeps {
  store: ImageStore;
  content: ContentStore;
  snapshotter: Snapshotter;
  events: EventBus;
  /** Turns a possibly compressed stream into the plain tar bytes. */
  decompress: (src: AsyncIterable<Buffer>) => AsyncIterable<Buffer>;
  /** Reads a committed blob back. */
  readBlob: (digest: string) => AsyncIterable<Buffer>;
  /** Size of a committed blob. */
  blobSize?: (digest: string) => Promise<number>;
  /**
   * A directory for a layer's whole tar when its tar-split record had to be given up (on the
   * content store's filesystem, emptied at start). Without it layers keep their tar as a blob.
   */
  spillDir?: string;
}

export interface ResolvedImage { image: ImageRecord; chain: string[] }

export type DeleteResult = Array<{ Untagged?: string; Deleted?: string }>;

export class ImageService {
  private images = new Map<string, ImageRecord>();
  /** canonical `domain/path:tag` → image ID */
  private tags: Record<string, string> = {};
  /** blob digests and chain IDs held by operations in flight → how many hold each */
  private readonly pinned = new Map<string, number>();
  /**
   * Diff IDs and chains addLayer made or reused whose image is not recorded yet (commit,
   * pull, build between addLayer and addImage): a concurrent rmi's sweep leaves them alone.
   * A failed operation's entries stay until restart, whose sweep (before serving) removes
   * what nobody references.
   */
  private readonly fresh = new Set<string>();
  /**
   * Leases kept on disk (containerd's idea): what an unfinished pull completed stays for reuse
   * by the next pull, even across a kill -9 and the start-up sweep, until the lease expires.
   */
  private readonly leases = new Map<string, LeaseRecord>();
  /** Answers how many containers use an image (set by the container service). */
  containersUsing: (imageId: string) => { running: number; total: number; example?: string; runningExample?: string } = () => ({ running: 0, total: 0 });

  constructor(private readonly d: ImageServiceDeps) {}

  async load(): Promise<void> {
    const { images, tags } = await this.d.store.loadAll();
    for (const i of images) this.images.set(i.id, i);
    this.tags = Object.fromEntries(Object.entries(tags).filter(([, id]) => this.images.has(id)));
    for (const l of await this.d.store.loadLeases()) this.leases.set(l.id, l);
  }

  /** Holds `ids` (blob digests, chain IDs) for `ttlMs` under lease `id`, on disk. */
  async lease(id: string, ids: Iterable<string>, ttlMs = LEASE_TTL_MS): Promise<void> {
    const l: LeaseRecord = { id, ids: [...new Set(ids)], expires: Date.now() + ttlMs };
    await this.d.store.saveLease(l);
    this.leases.set(id, l);
  }

  async releaseLease(id: string): Promise<void> {
    if (!this.leases.delete(id)) return;
    await this.d.store.removeLease(id);
  }

  /** IDs held by unexpired leases; expired leases are dropped. */
  private async leased(): Promise<Set<string>> {
    const held = new Set<string>();
    const now = Date.now();
    for (const l of [...this.leases.values()]) {
      if (l.expires <= now) { await this.releaseLease(l.id); continue; }
      for (const x of l.ids) held.add(x);
    }
    return held;
  }

  list(): ImageRecord[] {
    return [...this.images.values()];
  }

  tagsOf(id: string): string[] {
    return Object.entries(this.tags).filter(([, v]) => v === id).map(([k]) => familiarString(parseReference(k))).sort();
  }

  chainOf(img: ImageRecord): string[] {
    return chainIds(img.config.rootfs.diff_ids);
  }

  /** Finds an image by `sha256:<id>`, ID prefix, `name[:tag]` or `name@digest`; throws not-found. */
  resolve(input: string): ResolvedImage {
    const img = this.find(input);
    if (!img) {
      let shown = input;
      try { shown = familiarString(withDefaultTag(parseReference(input))); } catch { /* keep input */ }
      throw notFound(`No such image: ${shown}`);
    }
    return { image: img, chain: this.chainOf(img) };
  }

  find(input: string): ImageRecord | undefined {
    if (input.startsWith('sha256:')) {
      const hex = input.slice(7);
      return this.byPrefix(hex);
    }
    if (/^[a-f0-9]{6,64}$/.test(input)) {
      const byId = this.byPrefix(input);
      if (byId) return byId;
      if (isFullHexId(input)) return undefined;
    }
    let ref: Reference;
    try { ref = withDefaultTag(parseReference(input)); } catch { return undefined; }
    if (ref.digest) {
      const repo = `${familiarName(ref)}@${ref.digest}`;
      return [...this.images.values()].find((i) => i.repoDigests.includes(repo));
    }
    const id = this.tags[canonicalString(ref)];
    return id ? this.images.get(id) : undefined;
  }

  private byPrefix(hex: string): ImageRecord | undefined {
    if (!/^[a-f0-9]+$/.test(hex)) return undefined;
    const full = this.images.get(`sha256:${hex}`);
    if (full) return full;
    const matches = [...this.images.values()].filter((i) => i.id.slice(7).startsWith(hex));
    return matches.length === 1 ? matches[0] : undefined;
  }

  /** Parses `repo` + `tag` the way the tag and import endpoints receive them. */
  static parseRepoTag(repo: string, tag: string | undefined): Reference {
    let ref = parseReference(repo);
    if (tag) {
      if (ref.tag !== undefined || ref.digest !== undefined) throw invalidArgument('invalid reference format');
      ref = parseReference(`${repo}:${tag}`);
    }
    if (ref.digest) throw invalidArgument('refusing to create a tag with a digest reference');
    return withDefaultTag(ref);
  }

  async tag(source: string, target: Reference): Promise<void> {
    const { image } = this.resolve(source);
    this.tags[canonicalString(target)] = image.id;
    await this.d.store.saveTags(this.tags);
    this.d.events.publish({ type: 'image', action: 'tag', actorId: image.id, attributes: { name: familiarString(target) } });
  }

  /**
   * Adds one layer: the (possibly compressed) tar is stored uncompressed in the content
   * store (its digest is the diff ID, checked against `expectedDiffId` when given) and
   * unpacked once on top of `parentChain`; with an expected diff ID on a snapshotter that
   * keeps tar-split records, the tar is only hashed and the record replaces it. Idempotent: a layer already unpacked is reused.
   * `onUnpacked` (single-pass path only) hears how far the unpack is, in bytes of `tar` as
   * given: for a compressed stream, its bytes read so far scaled by the share of their
   * uncompressed output already unpacked (docker pull's Extracting counts).
   */
  async addLayer(tar: AsyncIterable<Buffer> | BlobFetch, parentChain: string | undefined, expectedDiffId?: string, onUnpacked?: (inputBytes: number) => void): Promise<{ diffId: string; chainId: string; size: number }> {
    const r = await this.addLayerUnmarked(tar, parentChain, expectedDiffId, onUnpacked);
    this.fresh.add(r.diffId).add(r.chainId);
    return r;
  }

  private async addLayerUnmarked(tar: AsyncIterable<Buffer> | BlobFetch, parentChain: string | undefined, expectedDiffId?: string, onUnpacked?: (inputBytes: number) => void): Promise<{ diffId: string; chainId: string; size: number }> {
    if (expectedDiffId) {
      // The diff ID is known (pull, load): one pass over the data feeds both the verified
      // blob write and the unpack. A digest mismatch removes the layer it unpacked.
      const chainId = parentChain === undefined ? expectedDiffId : sha256(`${parentChain} ${expectedDiffId}`);
      // marked before the checks below, so a layer found present is not swept away meanwhile
      this.fresh.add(expectedDiffId).add(chainId);
      if (!(await this.d.content.has(expectedDiffId)) && !(await this.d.snapshotter.hasLayer(chainId))) {
        const { applyLayerBlob } = this.d.snapshotter;
        if (applyLayerBlob && this.d.spillDir !== undefined) {
          // The blob goes to the snapshotter as it is: gunzip, the diff ID check, the unpack
          // and the tar-split record run off the event loop there.
          const spillPath = join(this.d.spillDir, `split-${randomBytes(8).toString('hex')}`);
          try {
            const { spilled } = await applyLayerBlob.call(this.d.snapshotter, chainId, tar, { diffId: expectedDiffId, spillPath, ...(onUnpacked ? { onConsumed: onUnpacked } : {}) });
            if (spilled) await this.ingestSpill(spillPath, expectedDiffId, chainId);
          } finally {
            await rm(spillPath, { force: true });
          }
          return { diffId: expectedDiffId, chainId, size: await this.d.snapshotter.layerSize(chainId) };
        }
        if (!(Symbol.asyncIterator in tar)) throw new Error('addLayer: a BlobFetch needs a snapshotter with applyLayerBlob (see unpacksBlobs)');
        let read = 0, produced = 0, unpacked = 0;
        const plain = this.d.decompress(onUnpacked ? counted(tar, (n) => { read += n; }) : tar);
        const [toBlob, toLayer] = tee(onUnpacked ? counted(plain, (n) => { produced += n; }) : plain);
        // With a tar-split record the tar is not stored: the layer's files and the record
        // rebuild it (docs/design/storage.md); the stream is only hashed to check the diff ID.
        const split = this.d.snapshotter.layerTar && this.d.spillDir !== undefined
          ? new TarSplitRecorder(expectedDiffId, join(this.d.spillDir, `split-${randomBytes(8).toString('hex')}`))
          : undefined;
        try {
          const results = await Promise.allSettled([
            split ? checkDigest(toBlob, expectedDiffId) : this.d.content.ingest(toBlob, { digest: expectedDiffId }),
            this.d.snapshotter.applyLayer(chainId, parentChain, !onUnpacked ? toLayer : counted(toLayer, (n) => {
              unpacked += n;
              onUnpacked(produced > 0 ? Math.round((read * unpacked) / produced) : 0);
            }, true), split),
          ]);
          const failures = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason as unknown);
          if (failures.length) {
            if (results[1].status === 'fulfilled') await this.d.snapshotter.removeLayer(chainId).catch(() => {});
            // The branch that failed first says why; the other only saw the stream cut off.
            throw failures.find((e) => !(e instanceof TeeAbortedError)) ?? failures[0];
          }
          // Exact rebuilding was not guaranteed (a path written twice, a whiteout of this
          // layer's own file...): the recorder wrote the whole tar aside; it becomes the blob.
          const spill = split?.spilled;
          if (spill) await this.ingestSpill(spill, expectedDiffId, chainId);
        } finally {
          if (split) {
            split.dispose();
            await rm(split.spillPath, { force: true });
          }
        }
        return { diffId: expectedDiffId, chainId, size: await this.d.snapshotter.layerSize(chainId) };
      }
    }
    if (!(Symbol.asyncIterator in tar)) {
      // A BlobFetch whose layer is there already (another pull made it meanwhile) or whose
      // tar is stored: the blob itself is not needed.
      if (!expectedDiffId) throw new Error('addLayer: a BlobFetch needs the diff ID');
      const chainId = parentChain === undefined ? expectedDiffId : sha256(`${parentChain} ${expectedDiffId}`);
      if (!(await this.d.snapshotter.hasLayer(chainId))) await this.d.snapshotter.applyLayer(chainId, parentChain, this.d.readBlob(expectedDiffId));
      return { diffId: expectedDiffId, chainId, size: await this.d.snapshotter.layerSize(chainId) };
    }
    if (!expectedDiffId && this.canStageLayers) {
      // commit, import, build: the diff ID is learnt at the end, but an overlay layer does not
      // depend on it, so the same single pass writes the blob and unpacks into a staging dir.
      const [toBlob, toLayer] = tee(this.d.decompress(tar));
      const [blob, staged] = await Promise.allSettled([this.d.content.ingest(toBlob), this.stageLayer(toLayer)]);
      if (blob.status === 'rejected' || staged.status === 'rejected') {
        if (staged.status === 'fulfilled') await this.discardStagedLayer(staged.value).catch(() => {});
        const failures = [blob, staged].filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason as unknown);
        throw failures.find((e) => !(e instanceof TeeAbortedError)) ?? failures[0];
      }
      const diffId = blob.value.digest;
      const chainId = parentChain === undefined ? diffId : sha256(`${parentChain} ${diffId}`);
      this.fresh.add(diffId).add(chainId);
      if (await this.d.snapshotter.hasLayer(chainId)) await this.discardStagedLayer(staged.value);
      else await this.commitStagedLayer(staged.value, chainId);
      return { diffId, chainId, size: await this.d.snapshotter.layerSize(chainId) };
    }
    // A plain tar already stored under the expected diff ID is that very layer: no second
    // write. (A compressed blob whose own digest is claimed as the diff ID is not.)
    const { digest: diffId } = expectedDiffId && (await this.d.content.has(expectedDiffId)) && (await this.isPlainTar(expectedDiffId))
      ? { digest: expectedDiffId }
      : await this.d.content.ingest(this.d.decompress(tar), expectedDiffId ? { digest: expectedDiffId } : {});
    const chainId = parentChain === undefined ? diffId : sha256(`${parentChain} ${diffId}`);
    if (!(await this.d.snapshotter.hasLayer(chainId))) await this.d.snapshotter.applyLayer(chainId, parentChain, this.d.readBlob(diffId));
    return { diffId, chainId, size: await this.d.snapshotter.layerSize(chainId) };
  }

  /** Whether layers can be unpacked before their chain is known (stageLayer); not with vfs. */
  get canStageLayers(): boolean {
    return !!(this.d.snapshotter.stageLayer && this.d.snapshotter.commitStaged && this.d.snapshotter.discardStaged);
  }

  /** A spilled tar-split recording (the whole layer tar) stored as the layer's blob; on failure the layer goes too. */
  private async ingestSpill(path: string, diffId: string, chainId: string): Promise<void> {
    await this.d.content.ingest(createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>, { digest: diffId }).catch(async (e: unknown) => {
      await this.d.snapshotter.removeLayer(chainId).catch(() => {});
      throw e;
    });
  }

  /** addLayer takes a registry BlobFetch (with the diff ID): the snapshotter fetches and unpacks it off the event loop. */
  get unpacksBlobs(): boolean {
    return !!this.d.snapshotter.applyLayerBlob && this.d.spillDir !== undefined;
  }

  /** Unpacks a plain layer tar into a staging directory (see Snapshotter.stageLayer). */
  stageLayer(tar: AsyncIterable<Buffer>): Promise<StagedLayer> {
    return this.d.snapshotter.stageLayer!(tar);
  }

  /** Places a staged layer as `chainId` (its diff ID must have been checked by the caller). */
  commitStagedLayer(staged: StagedLayer, chainId: string): Promise<void> {
    return this.d.snapshotter.commitStaged!(staged, chainId);
  }

  discardStagedLayer(staged: StagedLayer): Promise<void> {
    return this.d.snapshotter.discardStaged!(staged);
  }

  /** The plain tar of a possibly gzipped layer stream. */
  decompress(src: AsyncIterable<Buffer>): AsyncIterable<Buffer> {
    return this.d.decompress(src);
  }

  /**
   * Keeps blobs and layers of an operation in flight (a load before its image is recorded)
   * out of garbage collection until the returned function is called.
   */
  pin(ids: Iterable<string>): () => void {
    const mine = [...ids];
    for (const id of mine) this.pinned.set(id, (this.pinned.get(id) ?? 0) + 1);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      for (const id of mine) {
        const n = (this.pinned.get(id) ?? 1) - 1;
        if (n <= 0) this.pinned.delete(id);
        else this.pinned.set(id, n);
      }
    };
  }

  /**
   * Adds a layer whose files are already in `dir` (as an overlay upper dir holds them) and
   * whose tar `tar` was made from it: the tar is stored (its digest is the diff ID) and `dir`
   * becomes the unpacked layer where the snapshotter can adopt it, instead of a second unpack.
   * `size()` is read once the tar is consumed. `dir` may be gone afterwards.
   */
  async addLayerDir(dir: string, tar: AsyncIterable<Buffer>, size: () => number, parentChain: string | undefined): Promise<{ diffId: string; chainId: string; size: number }> {
    const { digest: diffId } = await this.d.content.ingest(tar);
    const chainId = parentChain === undefined ? diffId : sha256(`${parentChain} ${diffId}`);
    if (!(await this.d.snapshotter.hasLayer(chainId))) {
      let done = false;
      if (this.d.snapshotter.adoptLayer) {
        try { done = (await this.d.snapshotter.adoptLayer(chainId, dir, size())) !== undefined; } catch (e) {
          if (errnoCode(e) !== 'EXDEV') throw e;
        }
      }
      if (!done) await this.d.snapshotter.applyLayer(chainId, parentChain, this.d.readBlob(diffId));
    }
    this.fresh.add(diffId).add(chainId);
    return { diffId, chainId, size: await this.d.snapshotter.layerSize(chainId) };
  }

  /**
   * Records an image whose layers were added with addLayer: stores the config bytes as
   * given (their digest is the image ID, so loaded and pulled images keep Docker's IDs),
   * the record and the tags. Throws invalid-argument when a layer is missing.
   */
  async addImage(opts: { config: Buffer | ImageConfigFile; tags?: Reference[]; parent?: string; repoDigests?: string[]; event?: { action: string; name?: string } }): Promise<ImageRecord> {
    const bytes = Buffer.isBuffer(opts.config) ? opts.config : Buffer.from(JSON.stringify(opts.config));
    let config: ImageConfigFile;
    try { config = JSON.parse(bytes.toString('utf8')) as ImageConfigFile; } catch { throw invalidArgument('invalid image config: not JSON'); }
    if (!config.rootfs || !Array.isArray(config.rootfs.diff_ids)) throw invalidArgument('invalid image config: no rootfs.diff_ids');
    const chain = chainIds(config.rootfs.diff_ids);
    let size = 0;
    for (const c of chain) {
      if (!(await this.d.snapshotter.hasLayer(c))) throw invalidArgument(`layer ${c} of the image is missing`);
      size += await this.d.snapshotter.layerSize(c);
    }
    const id = await this.d.content.put(bytes);
    const prev = this.images.get(id);
    const img: ImageRecord = {
      id, config, size,
      parent: opts.parent ?? prev?.parent ?? '',
      repoDigests: [...new Set([...(prev?.repoDigests ?? []), ...(opts.repoDigests ?? [])])],
    };
    await this.d.store.saveImage(img);
    this.images.set(id, img);
    for (const x of [...config.rootfs.diff_ids, ...chain]) this.fresh.delete(x);
    if (opts.tags?.length) {
      for (const t of opts.tags) this.tags[canonicalString(t)] = id;
      await this.d.store.saveTags(this.tags);
    }
    if (opts.event) this.d.events.publish({ type: 'image', action: opts.event.action, actorId: id, attributes: { name: opts.event.name ?? id } });
    return img;
  }

  /** POST /images/create?fromSrc=-: one layer from a rootfs tarball. */
  async importTarball(opts: { tar: AsyncIterable<Buffer>; ref?: Reference; message?: string; changes?: string[]; source?: string }): Promise<string> {
    const baseConfig: ContainerConfigWire = applyChanges({}, opts.changes ?? []);
    const { diffId } = await this.addLayer(opts.tar, undefined);
    const created = new Date().toISOString();
    const config: ImageConfigFile = {
      architecture: hostArch(),
      os: 'linux',
      created,
      config: baseConfig,
      rootfs: { type: 'layers', diff_ids: [diffId] },
      history: [{ created, comment: opts.message || `Imported from ${opts.source ?? '-'}` }],
    };
    if (opts.message) config.comment = opts.message;
    const img = await this.addImage({ config, tags: opts.ref ? [opts.ref] : [], event: { action: 'import' } });
    return img.id;
  }

  /** DELETE /images/{name}: untag, or delete when the last reference goes (docker rmi). */
  async remove(input: string, opts: { force: boolean; noprune: boolean }): Promise<DeleteResult> {
    const img = this.find(input);
    if (!img) {
      let shown = input;
      try { shown = familiarString(withDefaultTag(parseReference(input))); } catch { /* keep */ }
      throw notFound(`No such image: ${shown}`);
    }
    const out: DeleteResult = [];
    const myTags = Object.entries(this.tags).filter(([, v]) => v === img.id).map(([k]) => k);
    const byId = input.startsWith('sha256:') || (/^[a-f0-9]{6,64}$/.test(input) && img.id.slice(7).startsWith(input) && !this.tags[canonicalString(withDefaultTag(parseReference(input)))]);
    const usage = this.containersUsing(img.id);
    if (!byId && myTags.length > 1) {
      // Removing one of several names only untags.
      const ref = withDefaultTag(parseReference(input));
      delete this.tags[canonicalString(ref)];
      await this.d.store.saveTags(this.tags);
      out.push({ Untagged: familiarString(ref) });
      this.d.events.publish({ type: 'image', action: 'untag', actorId: img.id, attributes: { name: familiarString(ref) } });
      return out;
    }
    if (byId && myTags.length > 1 && !opts.force) {
      throw conflict(`conflict: unable to delete ${img.id.slice(7, 19)} (must be forced) - image is referenced in multiple repositories`);
    }
    const short = img.id.slice(7, 19);
    if (usage.running > 0 && (byId || opts.force)) {
      throw conflict(`conflict: unable to delete ${short} (cannot be forced) - image is being used by running container ${usage.runningExample!.slice(0, 12)}`);
    }
    if (usage.total > 0 && !opts.force) {
      if (byId) throw conflict(`conflict: unable to delete ${short} (must be forced) - image is being used by stopped container ${usage.example!.slice(0, 12)}`);
      const ref = familiarString(withDefaultTag(parseReference(input)));
      throw conflict(`conflict: unable to remove repository reference "${ref}" (must force) - container ${usage.example!.slice(0, 12)} is using its referenced image ${short}`);
    }
    if (this.list().some((i) => i.parent === img.id)) {
      if (byId) throw conflict(`conflict: unable to delete ${img.id.slice(7, 19)} (cannot be forced) - image has dependent child images`);
      // moby: the last name of an image with children is only untagged; the image stays as
      // an intermediate (hidden from `images` without -a).
      for (const t of myTags) {
        delete this.tags[t];
        const fam = familiarString(parseReference(t));
        out.push({ Untagged: fam });
        this.d.events.publish({ type: 'image', action: 'untag', actorId: img.id, attributes: { name: fam } });
      }
      await this.d.store.saveTags(this.tags);
      return out;
    }
    for (const t of myTags) {
      delete this.tags[t];
      const fam = familiarString(parseReference(t));
      out.push({ Untagged: fam });
      this.d.events.publish({ type: 'image', action: 'untag', actorId: img.id, attributes: { name: fam } });
    }
    for (const rd of img.repoDigests) out.push({ Untagged: rd });
    await this.d.store.saveTags(this.tags);
    if (usage.total > 0) return out; // forced untag of an image in use keeps the image
    this.images.delete(img.id);
    await this.d.store.removeImage(img.id);
    out.push({ Deleted: img.id });
    this.d.events.publish({ type: 'image', action: 'delete', actorId: img.id, attributes: { name: img.id } });
    // moby prunes the parents too (unless --no-prune): each untagged parent no other image
    // and no container uses goes, up to the first one still needed.
    for (let p = opts.noprune ? undefined : this.images.get(img.parent); p; p = this.images.get(p.parent)) {
      if (this.tagsOf(p.id).length > 0 || p.repoDigests.length > 0) break;
      if (this.list().some((i) => i.parent === p!.id) || this.containersUsing(p.id).total > 0) break;
      this.images.delete(p.id);
      await this.d.store.removeImage(p.id);
      out.push({ Deleted: p.id });
      this.d.events.publish({ type: 'image', action: 'delete', actorId: p.id, attributes: { name: p.id } });
    }
    await this.collectLayers();
    return out;
  }

  /**
   * A blob's bytes: the stored blob, or a layer tar rebuilt from the tar-split record of an
   * unpacked layer with that diff ID (verified while it streams). Save and push read layers so.
   */
  readBlob(digest: string): AsyncIterable<Buffer> {
    const self = this;
    return (async function* () {
      // pinned while it streams: an rmi meanwhile must not sweep the blob or the layer away
      const unpin = self.pin([digest]);
      try {
        if (!(await self.d.content.has(digest))) {
          const rebuilt = await self.rebuiltLayer(digest);
          if (rebuilt) {
            try { yield* rebuilt.open(); } finally { rebuilt.release(); }
            return;
          }
        }
        yield* self.d.readBlob(digest);
      } finally {
        unpin();
      }
    })();
  }

  /** A blob's size, stored or rebuildable (see readBlob). */
  async blobSize(digest: string): Promise<number> {
    if (!(await this.d.content.has(digest))) {
      const rebuilt = await this.rebuiltLayer(digest);
      rebuilt?.release();
      if (rebuilt) return rebuilt.size;
    }
    if (!this.d.blobSize) throw new Error('blobSize: not configured');
    return this.d.blobSize(digest);
  }

  /** Whether a blob is stored or can be rebuilt from an unpacked layer. */
  async hasBlob(digest: string): Promise<boolean> {
    return (await this.d.content.has(digest)) || (await this.rebuiltLayer(digest)) !== undefined;
  }

  /** The first unpacked layer with diff ID `diffId` that has a tar-split record naming it. */
  /** The layer tar of `diffId` from a tar-split record; its layer stays pinned until `release()`. */
  private async rebuiltLayer(diffId: string): Promise<{ size: number; open(): AsyncIterable<Buffer>; release(): void } | undefined> {
    if (!this.d.snapshotter.layerTar) return undefined;
    const tried = new Set<string>();
    let broken: unknown;
    for (const img of this.images.values()) {
      const ids = img.config.rootfs.diff_ids;
      if (!ids.includes(diffId)) continue;
      const chain = this.chainOf(img);
      for (let i = 0; i < ids.length; i++) {
        if (ids[i] !== diffId || tried.has(chain[i]!)) continue;
        tried.add(chain[i]!);
        const release = this.pin([chain[i]!]);
        try {
          const t = await this.d.snapshotter.layerTar(chain[i]!);
          if (t && t.digest === diffId) return { size: t.size, open: () => t.open(), release };
        } catch (e) {
          broken ??= e; // an unreadable record: another layer may still have a good one
        }
        release();
      }
    }
    if (broken !== undefined) throw broken;
    return undefined;
  }

  private async isPlainTar(digest: string): Promise<boolean> {
    const it = this.d.readBlob(digest)[Symbol.asyncIterator]();
    try {
      const first = await it.next();
      return first.done ? true : detectCompression(first.value) === 'none';
    } finally {
      await it.return?.();
    }
  }

  hasLayer(chainId: string): Promise<boolean> {
    return this.d.snapshotter.hasLayer(chainId);
  }

  /** Unpacked bytes of one layer (history, system df). */
  layerSize(chainId: string): Promise<number> {
    return this.d.snapshotter.layerSize(chainId);
  }

  /** Chain IDs of every unpacked layer. */
  listLayers(): Promise<string[]> {
    return this.d.snapshotter.listLayers();
  }

  /**
   * Removes the given blobs and layers unless an image references them: what a failed or
   * finished load spooled but no image kept.
   */
  async discardUnreferenced(blobs: Iterable<string>, chains: Iterable<string> = []): Promise<void> {
    const { blobs: usedBlobs, chains: usedChains } = this.referenced();
    const leased = await this.leased();
    for (const x of leased) { usedBlobs.add(x); usedChains.add(x); }
    for (const b of new Set(blobs)) {
      if (usedBlobs.has(b) || this.pinned.has(b)) continue;
      this.fresh.delete(b);
      await this.d.content.remove(b);
    }
    for (const c of new Set(chains)) {
      if (usedChains.has(c) || this.pinned.has(c)) continue;
      this.fresh.delete(c);
      await this.d.snapshotter.removeLayer(c);
    }
  }

  /** Blobs (layers, configs) and chains that recorded images reference. */
  private referenced(): { blobs: Set<string>; chains: Set<string> } {
    const blobs = new Set<string>();
    const chains = new Set<string>();
    for (const i of this.images.values()) {
      blobs.add(i.id);
      for (const d of i.config.rootfs.diff_ids) blobs.add(d);
      for (const c of this.chainOf(i)) chains.add(c);
    }
    return { blobs, chains };
  }

  /**
   * Removes unpacked layers and blobs no image references any more (and that no operation in
   * flight pinned). The layers of `keepChains` (containers' images) stay. Returns what went.
   */
  async collectLayers(keepChains: Iterable<string> = []): Promise<{ blobs: number; layers: number }> {
    const { blobs: used, chains: keep } = this.referenced();
    for (const c of keepChains) keep.add(c);
    for (const x of await this.leased()) { used.add(x); keep.add(x); }
    let blobs = 0;
    let layers = 0;
    for (const digest of await this.d.content.list()) {
      if (used.has(digest) || this.pinned.has(digest) || this.fresh.has(digest)) continue;
      await this.d.content.remove(digest);
      blobs++;
    }
    for (const chain of await this.d.snapshotter.listLayers()) {
      if (keep.has(chain) || this.pinned.has(chain) || this.fresh.has(chain)) continue;
      await this.d.snapshotter.removeLayer(chain);
      layers++;
    }
    return { blobs, layers };
  }
}

/** How long a lease keeps what an unfinished pull completed (containerd's default: 24 h). */
export const LEASE_TTL_MS = 24 * 3600_000;

export function hostArch(): string {
  switch (process.arch) {
    case 'x64': return 'amd64';
    case 'arm64': return 'arm64';
    case 'arm': return 'arm';
    case 'ia32': return '386';
    default: return process.arch;
  }
}

/** Hashes a stream (a layer tar kept as a tar-split record) and checks it is `digest`. */
async function checkDigest(src: AsyncIterable<Buffer>, digest: string): Promise<void> {
  const hash = new BackgroundHash();
  try {
    for await (const c of src) hash.update(c);
  } catch (e) {
    hash.dispose();
    throw e;
  }
  const got = 'sha256:' + (await hash.digest());
  if (got !== digest) throw invalidArgument(`digest mismatch: expected ${digest}, got ${got}`);
}

/** Passes a stream through, telling `add` each chunk's size as it is handed out, or (`afterUse`) once the reader asks for the next one. */
async function* counted(src: AsyncIterable<Buffer>, add: (n: number) => void, afterUse = false): AsyncGenerator<Buffer> {
  for await (const c of src) {
    if (!afterUse) add(c.length);
    yield c;
    if (afterUse) add(c.length);
  }
}
