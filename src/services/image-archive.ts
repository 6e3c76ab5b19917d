/**
 * `docker save` and `docker load`: image archives in and out.
 *
 * Load reads the tar once and unpacks layers as they stream. Members can come in any order,
 * so each file is handled as it passes: a layer (a tar or gzip member) goes in one pass into
 * the content store (which computes its diff ID and checks the digest its name promises) and
 * into a staging directory of the snapshotter (an overlay layer does not depend on its
 * parent); small metadata (manifest.json, index.json, configs) stays in memory; anything else
 * is spooled into the content store. Only then is the manifest resolved, every path it names
 * checked (nothing outside the archive, nothing missing, layer count = diff IDs), and each
 * staged layer whose diff ID matches the config moved into place under its chain ID (what was
 * not staged goes through `ImageService.addLayer` from the stored blob). The image record
 * comes last, so a failed load leaves no image; what it staged or spooled and no image
 * references is removed again.
 *
 * Save writes moby ≥25's layout, which docker 20.10's `load`, skopeo's docker-archive and
 * oci-archive transports all read: `blobs/sha256/<hex>` (uncompressed layers whose digest is
 * the diff ID, configs, OCI manifests), `index.json`, `oci-layout`, `manifest.json` and
 * `repositories`, streamed from the content store.
 */
import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import {
  type Reference, parseReference, withDefaultTag, familiarString, familiarName, canonicalString,
} from '../api/index.js';
import {
  type ImageRecord, type LoadPlan, type SaveImage, sha256, chainIds, memberKey, digestOfBlobPath, blobPath,
  parseDockerManifest, resolveOciIndex, saveManifest, saveMetadata, OCI_LAYOUT,
} from '../core/image/index.js';
import type { ContentStore, StagedLayer } from '../core/ports/index.js';
import { invalidArgument, EngineError, kindOf } from '../lib/errdefs.js';
import { detectCompression, looksLikeTar, readTar, type TarWriterEntry } from '../lib/tar/index.js';
import { coalesce, tee } from '../lib/streams/index.js';
import type { ImageService } from './images.js';

export interface ImageArchiveDeps {
  images: ImageService;
  content: ContentStore;
  readBlob: (digest: string) => AsyncIterable<Buffer>;
  blobSize: (digest: string) => Promise<number>;
  /** GOARCH of this host (amd64, arm64): which entry of a multi-platform index loads. */
  arch: string;
}

/** One JSON progress message of a load (docker's jsonmessage). */
export interface LoadMessage {
  stream?: string;
  status?: string;
  id?: string;
  progressDetail?: { current?: number; total?: number };
}

/** Small members kept in memory instead of the content store (each, and all of one load). */
const MAX_METADATA = 16 << 20;
const MAX_IN_MEMORY = 64 << 20;

/** A layer-like member once spooled: its blob in the content store and, when unpacked as it streamed, the staged layer. */
interface SpooledLayer { digest: string; diffId?: string; staged?: StagedLayer; stageError?: unknown }

type Member = SpooledLayer | { data: Buffer };

/** The first `n` bytes (or all, if fewer) and the whole stream again. */
async function peek(body: AsyncIterable<Buffer>, n: number): Promise<{ head: Buffer; body: AsyncIterable<Buffer> }> {
  const it = body[Symbol.asyncIterator]();
  const parts: Buffer[] = [];
  let got = 0;
  let ended = false;
  while (got < n) {
    const r = await it.next();
    if (r.done) { ended = true; break; }
    parts.push(r.value);
    got += r.value.length;
  }
  const head = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  async function* all(): AsyncGenerator<Buffer> {
    yield* parts;
    if (ended) return;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      yield r.value;
    }
  }
  return { head, body: all() };
}

async function collect(body: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of body) parts.push(c);
  return Buffer.concat(parts);
}

const isMetadataName = (key: string): boolean => {
  const base = posix.basename(key);
  return ['manifest.json', 'repositories', 'index.json', 'oci-layout', 'json', 'VERSION'].includes(key) || base === 'json' || base === 'VERSION' || base.endsWith('.json');
};

export interface SavePlan {
  images: Array<{ image: ImageRecord; tags: Reference[] }>;
}

export class ImageArchiveService {
  constructor(private readonly d: ImageArchiveDeps) {}

  /** POST /images/load. Emits progress messages; throws (in-stream for the caller) on a bad archive. */
  async load(tar: AsyncIterable<Buffer>, opts: { quiet: boolean; emit: (m: LoadMessage) => void }): Promise<string[]> {
    const files = new Map<string, Member>();
    const links = new Map<string, string | null>();
    const spooled: string[] = [];
    const touchedChains: string[] = [];
    const staged: StagedLayer[] = [];
    const placed = new Set<StagedLayer>();
    const unpins: Array<() => void> = [];
    let inMemory = 0;
    // what this load wrote stays out of a concurrent rmi's sweep (and another load's clean-up) until the end
    const track = (id: string): void => { spooled.push(id); unpins.push(this.d.images.pin([id])); };
    try {
      // 1. spool every member once; layers are unpacked as they pass (staged by diff ID)
      for await (const e of readTar(coalesce(tar))) {
        const key = memberKey(e.name);
        if (!key) continue;
        if (e.type === 'symlink' || e.type === 'hardlink') {
          const target = e.type === 'symlink' ? posix.join(posix.dirname(key), e.linkname) : e.linkname;
          links.set(key, e.linkname.startsWith('/') ? null : memberKey(target) ?? null);
          continue;
        }
        if (e.type !== 'file') continue;
        const promised = digestOfBlobPath(key);
        try {
          if (promised && (await this.d.content.has(promised))) {
            files.set(key, { digest: promised });
            continue;
          }
          const fitsInMemory = e.size <= MAX_METADATA && inMemory + e.size <= MAX_IN_MEMORY;
          if (!promised && isMetadataName(key) && fitsInMemory) {
            inMemory += e.size;
            files.set(key, { data: await e.buffer() });
            continue;
          }
          const { head, body } = await peek(e.body, 512);
          const gzip = detectCompression(head) === 'gzip';
          if (gzip || looksLikeTar(head)) {
            files.set(key, await this.spoolLayer(body, { promised, size: e.size, gzip }, track, staged));
          } else if (promised && fitsInMemory) {
            inMemory += e.size;
            // configs and manifests: small, kept in memory, checked against their name
            const data = await collect(body);
            if (sha256(data) !== promised) throw invalidArgument(`digest mismatch: expected ${promised}, got ${sha256(data)}`);
            files.set(key, { data });
          } else {
            const r = await this.d.content.ingest(body, promised ? { digest: promised, size: e.size } : { size: e.size });
            track(r.digest);
            files.set(key, { digest: r.digest });
          }
        } catch (err) {
          throw new EngineError(kindOf(err) ?? 'internal', `invalid archive: ${key}: ${(err as Error).message}`, { cause: err });
        }
      }

      const lookup = (path: string, what: string): Member => {
        let p = path;
        for (let hops = 0; hops < 16; hops++) {
          const f = files.get(p);
          if (f) return f;
          if (!links.has(p)) break;
          const next = links.get(p);
          if (next === null || next === undefined) throw invalidArgument(`invalid archive: ${what} ${JSON.stringify(path)} is a link that points outside the archive`);
          p = next;
        }
        throw invalidArgument(`invalid archive: ${what} ${JSON.stringify(path)} not found in the archive`);
      };
      const bytesOf = async (m: Member, what: string): Promise<Buffer> => {
        if ('data' in m) return m.data;
        if ((await this.d.blobSize(m.digest)) > MAX_METADATA) throw invalidArgument(`invalid archive: ${what} is too large`);
        const parts: Buffer[] = [];
        for await (const c of this.d.readBlob(m.digest)) parts.push(c);
        return Buffer.concat(parts);
      };

      // 2. resolve the manifest(s); check everything before unpacking anything
      let plans: LoadPlan[];
      if (files.has('manifest.json') || links.has('manifest.json')) {
        plans = parseDockerManifest(await bytesOf(lookup('manifest.json', 'file'), 'manifest.json'));
      } else if (files.has('index.json') || links.has('index.json')) {
        plans = await resolveOciIndex(await bytesOf(lookup('index.json', 'file'), 'index.json'), this.d.arch, async (desc) => {
          const path = blobPath(desc.digest);
          const bytes = await bytesOf(lookup(path, 'blob'), path);
          if (sha256(bytes) !== desc.digest) throw invalidArgument(`invalid archive: ${path} does not match its digest`);
          return bytes;
        });
      } else {
        throw invalidArgument('invalid archive: found neither manifest.json nor index.json (not a docker save or OCI image layout tarball)');
      }
      if (plans.length === 0) throw invalidArgument('invalid archive: no image in it');

      const prepared = [];
      for (const plan of plans) {
        const config = await bytesOf(lookup(plan.configPath, 'config'), plan.configPath);
        let diffIds: unknown;
        try {
          diffIds = (JSON.parse(config.toString('utf8')) as { rootfs?: { diff_ids?: unknown } }).rootfs?.diff_ids;
        } catch {
          throw invalidArgument(`invalid archive: config ${plan.configPath} is not valid JSON`);
        }
        if (!Array.isArray(diffIds) || diffIds.some((x) => typeof x !== 'string' || !/^sha256:[a-f0-9]{64}$/.test(x))) {
          throw invalidArgument(`invalid archive: config ${plan.configPath} has no valid rootfs.diff_ids`);
        }
        if (diffIds.length !== plan.layerPaths.length) {
          throw invalidArgument(`invalid archive: ${plan.layerPaths.length} layers for ${diffIds.length} diff IDs in ${plan.configPath}`);
        }
        const layers: SpooledLayer[] = [];
        for (const lp of plan.layerPaths) {
          const m = lookup(lp, 'layer');
          if ('data' in m) {
            const digest = await this.d.content.put(m.data);
            track(digest);
            layers.push({ digest });
          } else layers.push(m);
        }
        const tags = plan.names.map((n) => {
          try {
            return withDefaultTag(parseReference(n));
          } catch {
            throw invalidArgument(`invalid archive: invalid image name ${JSON.stringify(n)}`);
          }
        });
        prepared.push({ config, diffIds: diffIds as string[], layers, tags });
        const chains = chainIds(diffIds as string[]);
        touchedChains.push(...chains);
        unpins.push(this.d.images.pin(chains));
        spooled.push(...(diffIds as string[]));
      }

      // 3. unpack, then record each image
      const out: string[] = [];
      for (const p of prepared) {
        let parent: string | undefined;
        const chains = chainIds(p.diffIds);
        for (let i = 0; i < p.layers.length; i++) {
          const m = p.layers[i]!;
          const want = p.diffIds[i]!;
          const chainId = chains[i]!;
          const failed = (err: unknown): EngineError => new EngineError(kindOf(err) ?? 'internal', `invalid archive: layer ${i + 1} of ${sha256(p.config).slice(7, 19)}: ${(err as Error).message}`, { cause: err });
          let size: number;
          if (m.diffId !== undefined && m.diffId !== want) throw failed(invalidArgument(`digest mismatch: expected ${want}, got ${m.diffId}`));
          if (m.diffId !== undefined && (await this.d.images.hasLayer(chainId))) {
            size = await this.d.images.layerSize(chainId);
          } else if (m.stageError !== undefined) {
            throw failed(m.stageError);
          } else if (m.staged && !placed.has(m.staged)) {
            // unpacked while the archive streamed: its diff ID is checked, move it into place
            placed.add(m.staged);
            await this.d.images.commitStagedLayer(m.staged, chainId);
            size = m.staged.size;
          } else {
            const readBlob = this.d.readBlob;
            const blob = m.digest;
            const lazy = (async function* () { yield* readBlob(blob); })();
            size = (await this.d.images.addLayer(lazy, parent, want).catch((err: unknown) => { throw failed(err); })).size;
          }
          parent = chainId;
          if (!opts.quiet) opts.emit({ status: 'Loading layer', progressDetail: { current: size, total: size }, id: want.slice(7, 19) });
        }
        const id = sha256(p.config);
        const replaced = p.tags.map((t) => ({ t, old: this.d.images.find(canonicalString(t)) })).filter((x) => x.old && x.old.id !== id);
        await this.d.images.addImage({ config: p.config, tags: p.tags, event: { action: 'load', name: p.tags[0] ? familiarString(p.tags[0]) : id } });
        for (const { t, old } of replaced) {
          opts.emit({ stream: `The image ${familiarString(t)} already exists, renaming the old one with ID ${old!.id} to empty string\n` });
        }
        if (p.tags.length === 0) {
          opts.emit({ stream: `Loaded image ID: ${id}\n` });
          out.push(id);
        }
        for (const t of p.tags) {
          opts.emit({ stream: `Loaded image: ${familiarString(t)}\n` });
          out.push(familiarString(t));
        }
      }
      return out;
    } finally {
      for (const st of staged) if (!placed.has(st)) await this.d.images.discardStagedLayer(st).catch(() => undefined);
      for (const unpin of unpins) unpin();
      await this.d.images.discardUnreferenced(spooled, touchedChains).catch(() => undefined);
    }
  }

  /**
   * One layer member as it streams: its (decompressed) bytes go both into the content store,
   * which computes the diff ID, and into a staging directory of the snapshotter, in one pass.
   * A gzip member named by digest has its compressed bytes checked too. An unpack failure is
   * kept, not thrown: the member may be no layer at all; it is reported if the manifest uses it.
   */
  private async spoolLayer(body: AsyncIterable<Buffer>, o: { promised: string | undefined; size: number; gzip: boolean }, track: (id: string) => void, staged: StagedLayer[]): Promise<SpooledLayer> {
    const rawHash = o.gzip && o.promised ? createHash('sha256') : undefined;
    const rawIt = body[Symbol.asyncIterator]();
    const raw: AsyncIterable<Buffer> = {
      [Symbol.asyncIterator]: () => ({
        next: async () => {
          const r = await rawIt.next();
          if (!r.done) rawHash?.update(r.value);
          return r;
        },
      }),
    };
    const plain = o.gzip ? this.d.images.decompress(raw) : raw;
    const expected = o.gzip ? {} : { ...(o.promised ? { digest: o.promised } : {}), size: o.size };
    let diffId: string;
    let stage: StagedLayer | undefined;
    let stageError: unknown;
    if (!this.d.images.canStageLayers) {
      diffId = (await this.d.content.ingest(plain, expected)).digest;
    } else {
      const [toBlob, toLayer] = tee(plain);
      const layerIt = toLayer[Symbol.asyncIterator]();
      // the unpacker's early stop must not cut the blob write off: it gets a branch it cannot close
      const detached: AsyncIterable<Buffer> = { [Symbol.asyncIterator]: () => ({ next: () => layerIt.next() }) };
      const staging = this.d.images.stageLayer(detached).then((st) => { stage = st; staged.push(st); }, async (err: unknown) => {
        stageError = err;
        try { while (!(await layerIt.next()).done) { /* drain */ } } catch { /* the blob side reports it */ }
      });
      const [ingested] = await Promise.allSettled([this.d.content.ingest(toBlob, expected), staging]);
      if (ingested.status === 'rejected') throw ingested.reason;
      diffId = ingested.value.digest;
    }
    track(diffId);
    if (rawHash) {
      for await (const chunk of raw) void chunk; // whatever follows the gzip stream
      const got = 'sha256:' + rawHash.digest('hex');
      if (got !== o.promised) throw invalidArgument(`digest mismatch: expected ${o.promised}, got ${got}`);
    }
    return { digest: diffId, diffId, ...(stage ? { staged: stage } : {}), ...(stageError !== undefined ? { stageError } : {}) };
  }

  /** Resolves the names of a save; throws not-found before anything is written. */
  prepareSave(names: string[]): SavePlan {
    if (names.length === 0) throw invalidArgument('no image names given');
    const byId = new Map<string, { image: ImageRecord; tags: Reference[] }>();
    const add = (image: ImageRecord, tag?: Reference): void => {
      let e = byId.get(image.id);
      if (!e) byId.set(image.id, (e = { image, tags: [] }));
      if (tag && !e.tags.some((t) => canonicalString(t) === canonicalString(tag))) e.tags.push(tag);
    };
    for (const name of names) {
      const hex = name.replace(/^sha256:/, '');
      if (/^[a-f0-9]{6,64}$/.test(hex)) {
        const img = this.d.images.find(name);
        if (img && img.id.slice(7).startsWith(hex)) { add(img); continue; }
      }
      const ref = parseReference(name);
      if (ref.tag === undefined && ref.digest === undefined) {
        // a bare repository: every tag of it, as docker does
        let found = false;
        for (const img of this.d.images.list()) {
          for (const t of this.d.images.tagsOf(img.id)) {
            const tr = parseReference(t);
            if (tr.domain === ref.domain && tr.path === ref.path) { add(img, tr); found = true; }
          }
        }
        if (found) continue;
      }
      const { image } = this.d.images.resolve(name);
      add(image, ref.digest ? undefined : withDefaultTag(ref));
    }
    return { images: [...byId.values()] };
  }

  /** The archive's members, streamed from the content store. */
  async *saveEntries(plan: SavePlan): AsyncGenerator<TarWriterEntry> {
    const written = new Set<string>();
    const infos: Array<SaveImage & { manifestDigest: string; manifestSize: number }> = [];
    const first = plan.images[0]?.image.config.created;
    const mtime = Math.max(0, Math.floor((Date.parse(first ?? '') || 0) / 1000));
    yield { name: 'blobs/', type: 'dir', mtime };
    yield { name: 'blobs/sha256/', type: 'dir', mtime };
    for (const { image, tags } of plan.images) {
      const layers: SaveImage['layers'] = [];
      for (const diffId of image.config.rootfs.diff_ids) {
        const size = await this.d.blobSize(diffId);
        layers.push({ digest: diffId, size });
        if (written.has(diffId)) continue;
        written.add(diffId);
        yield { name: blobPath(diffId), size, body: this.d.readBlob(diffId), mtime };
      }
      const configSize = await this.d.blobSize(image.id);
      if (!written.has(image.id)) {
        written.add(image.id);
        yield { name: blobPath(image.id), size: configSize, body: this.d.readBlob(image.id), mtime };
      }
      const info: SaveImage = {
        id: image.id, configSize, layers,
        tags: tags.map((t) => ({ familiar: familiarString(t), canonical: canonicalString(t), tag: t.tag ?? 'latest', repo: familiarName(t) })),
      };
      const manifest = saveManifest(info);
      const manifestDigest = sha256(manifest);
      if (!written.has(manifestDigest)) {
        written.add(manifestDigest);
        yield { name: blobPath(manifestDigest), body: manifest, mtime };
      }
      infos.push({ ...info, manifestDigest, manifestSize: manifest.length });
    }
    const meta = saveMetadata(infos);
    yield { name: 'index.json', body: meta.index, mtime };
    yield { name: 'manifest.json', body: meta.manifest, mtime };
    yield { name: 'oci-layout', body: OCI_LAYOUT, mtime };
    yield { name: 'repositories', body: meta.repositories, mtime };
  }
}
