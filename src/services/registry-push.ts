/**
 * docker push: for each layer (top first, as docker lists them) a HEAD for a compressed blob
 * already known for its diff ID, a cross-repository mount from another repository of the same
 * registry, or a gzip upload whose digest is learnt while streaming (and recorded, so the
 * next push names the same blob); then the config and a Docker schema 2 manifest.
 */
import { createHash } from 'node:crypto';
import { createGzip } from 'node:zlib';
import { Readable } from 'node:stream';
import { type Reference, canonicalString, familiarName, familiarString, parseReference } from '../api/index.js';
import type { BlobDigestMap, RegistryCredentials, RegistryRemote, RegistryRepo } from '../core/ports/index.js';
import { notFound } from '../lib/errdefs.js';
import type { ImageService } from './images.js';
import { shortId, type ProgressSink } from './registry-pull.js';

export interface RegistryPushDeps {
  images: ImageService;
  remote: RegistryRemote;
  digests: BlobDigestMap;
  readBlob: (digest: string) => AsyncIterable<Buffer>;
  blobSize: (digest: string) => Promise<number>;
  concurrency?: number;
}

const MT_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
const MT_CONFIG = 'application/vnd.docker.container.image.v1+json';
const MT_LAYER = 'application/vnd.docker.image.rootfs.diff.tar.gzip';

export class RegistryPusher {
  constructor(private readonly d: RegistryPushDeps) {}

  /** Tags to push: the one given, or every tag of the repository. Throws Docker's message when none. */
  tagsToPush(name: string, tag: string | undefined): Reference[] {
    const base = parseReference(name);
    const repo = `${base.domain}/${base.path}`;
    if (tag || base.tag) {
      const ref = parseReference(`${repo}:${tag || base.tag}`);
      if (!this.d.images.find(canonicalString(ref))) throw notFound(`An image does not exist locally with the tag: ${familiarString(ref)}`);
      return [ref];
    }
    const refs = this.d.images.list().flatMap((i) => this.d.images.tagsOf(i.id)).map((t) => parseReference(t)).filter((r) => `${r.domain}/${r.path}` === repo && r.tag);
    if (refs.length === 0) throw notFound(`An image does not exist locally with the tag: ${familiarName(base)}`);
    return refs;
  }

  async push(refs: Reference[], auth: RegistryCredentials | undefined, progress: ProgressSink): Promise<void> {
    const first = refs[0]!;
    progress({ status: `The push refers to repository [${familiarName(first)}]` });
    for (const ref of refs) await this.pushOne(ref, auth, progress);
  }

  private async pushOne(ref: Reference, auth: RegistryCredentials | undefined, progress: ProgressSink): Promise<void> {
    const { image } = this.d.images.resolve(canonicalString(ref));
    const repo: RegistryRepo = { domain: ref.domain, path: ref.path, ...(auth ? { auth } : {}) };
    const repoName = `${ref.domain}/${ref.path}`;
    const diffIds = image.config.rootfs.diff_ids;
    const order = diffIds.map((_, i) => diffIds.length - 1 - i); // top layer first
    for (const i of order) progress({ status: 'Preparing', progressDetail: {}, id: shortId(diffIds[i]!) });
    const limit = Math.max(1, this.d.concurrency ?? 5);
    for (const i of order.slice(limit)) progress({ status: 'Waiting', progressDetail: {}, id: shortId(diffIds[i]!) });
    const layers: Array<{ digest: string; size: number }> = new Array(diffIds.length);
    let next = 0;
    let failed: unknown;
    const worker = async (): Promise<void> => {
      while (next < order.length && failed === undefined) {
        const i = order[next++]!;
        try { layers[i] = await this.layer(repo, repoName, diffIds[i]!, progress); } catch (e) { failed ??= e; }
      }
    };
    await Promise.all(Array.from({ length: Math.min(limit, order.length) }, worker));
    if (failed !== undefined) throw failed;

    const configBytes = await readAll(this.d.readBlob(image.id));
    if (!(await this.d.remote.hasBlob(repo, image.id))) {
      await this.d.remote.pushBlob(repo, Readable.from([configBytes]), () => image.id);
    }
    const manifest = {
      schemaVersion: 2,
      mediaType: MT_MANIFEST,
      config: { mediaType: MT_CONFIG, size: configBytes.length, digest: image.id },
      layers: layers.map((l) => ({ mediaType: MT_LAYER, size: l.size, digest: l.digest })),
    };
    const bytes = Buffer.from(JSON.stringify(manifest, null, 3));
    const digest = await this.d.remote.putManifest(repo, ref.tag ?? 'latest', MT_MANIFEST, bytes);
    await this.d.images.addImage({ config: configBytes, repoDigests: [`${familiarName(ref)}@${digest}`], event: { action: 'push', name: familiarString(ref) } });
    progress({ status: `${ref.tag ?? 'latest'}: digest: ${digest} size: ${bytes.length}` });
    progress({ progressDetail: {}, aux: { Tag: ref.tag ?? 'latest', Digest: digest, Size: bytes.length } });
  }

  private async layer(repo: RegistryRepo, repoName: string, diffId: string, progress: ProgressSink): Promise<{ digest: string; size: number }> {
    const id = shortId(diffId);
    const known = await this.d.digests.compressedFor(diffId);
    for (const k of known.filter((e) => e.repo === repoName)) {
      if (await this.d.remote.hasBlob(repo, k.digest)) {
        progress({ status: 'Layer already exists', progressDetail: {}, id });
        return { digest: k.digest, size: k.size };
      }
    }
    for (const k of known.filter((e) => e.repo !== repoName && e.repo.startsWith(`${repo.domain}/`))) {
      const from = k.repo.slice(repo.domain.length + 1);
      if (await this.d.remote.mountBlob(repo, k.digest, from)) {
        await this.d.digests.record(diffId, { digest: k.digest, repo: repoName, size: k.size });
        progress({ status: `Mounted from ${from}`, progressDetail: {}, id });
        return { digest: k.digest, size: k.size };
      }
    }
    for (const k of known.filter((e) => !e.repo.startsWith(`${repo.domain}/`))) {
      if (await this.d.remote.hasBlob(repo, k.digest)) {
        await this.d.digests.record(diffId, { digest: k.digest, repo: repoName, size: k.size });
        progress({ status: 'Layer already exists', progressDetail: {}, id });
        return { digest: k.digest, size: k.size };
      }
    }
    // Compress while uploading; the digest of the gzip stream is known once it ends.
    const total = await this.d.blobSize(diffId);
    const hash = createHash('sha256');
    let size = 0;
    let read = 0;
    let last = 0;
    const src = this.d.readBlob(diffId);
    const counted = (async function* () {
      for await (const c of src) {
        read += c.length;
        const now = Date.now();
        if (now - last >= 100) { last = now; progress({ status: 'Pushing', progressDetail: { current: read, total }, id }); }
        yield c;
      }
    })();
    const gz = Readable.from(counted).pipe(createGzip({ level: 1 }));
    const hashed = (async function* () {
      for await (const c of gz) { hash.update(c as Buffer); size += (c as Buffer).length; yield c as Buffer; }
    })();
    let digest = '';
    await this.d.remote.pushBlob(repo, hashed, () => (digest = 'sha256:' + hash.digest('hex')));
    await this.d.digests.record(diffId, { digest, repo: repoName, size });
    progress({ status: 'Pushed', progressDetail: {}, id });
    return { digest, size };
  }
}

async function readAll(src: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of src) parts.push(c);
  return Buffer.concat(parts);
}
