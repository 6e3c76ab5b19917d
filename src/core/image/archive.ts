/**
 * Image archives (`docker save` / `docker load`), the pure part: where members live, what
 * manifest.json and an OCI image layout say, and what `save` writes. Two formats:
 *
 * - docker-archive: `manifest.json` `[{"Config":"<path>","RepoTags":[…],"Layers":["<path>",…]}]`
 *   plus `repositories`; paths are archive-relative (legacy `<id>/layer.tar`, `<hex>.json`,
 *   or moby ≥25's `blobs/sha256/<hex>`).
 * - OCI image layout: `oci-layout`, `index.json` (descriptors, possibly of nested indexes),
 *   `blobs/<alg>/<hex>`; names from `io.containerd.image.name` or
 *   `org.opencontainers.image.ref.name` annotations.
 *
 * Every path an archive names is checked here: absolute paths and `..` that climb out of the
 * archive are errors, never lookups.
 */
import { posix } from 'node:path';
import { invalidArgument } from '../../lib/errdefs.js';

export const MEDIA = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
} as const;

export const ANNOTATION_REF_NAME = 'org.opencontainers.image.ref.name';
export const ANNOTATION_IMAGE_NAME = 'io.containerd.image.name';

const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;

export interface Descriptor {
  mediaType?: string;
  digest: string;
  size?: number;
  annotations?: Record<string, string>;
  platform?: { os?: string; architecture?: string; variant?: string };
}

/**
 * An archive member's name as a lookup key: `./a//b` → `a/b`. Names that are absolute or
 * climb out of the archive return undefined (such members are never looked up).
 */
export function memberKey(name: string): string | undefined {
  const n = posix.normalize(name.replace(/\/+$/, ''));
  if (n === '.' || n === '' || posix.isAbsolute(n) || n === '..' || n.startsWith('../')) return undefined;
  return n;
}

/** A path named by the archive's own metadata, checked: it must stay inside the archive. */
export function archivePath(p: unknown, what: string): string {
  if (typeof p !== 'string' || p === '') throw invalidArgument(`invalid archive: ${what} has no path`);
  if (p.includes('\0')) throw invalidArgument(`invalid archive: ${what} path ${JSON.stringify(p)} is invalid`);
  const n = posix.normalize(p);
  if (posix.isAbsolute(p) || n === '..' || n.startsWith('../')) {
    throw invalidArgument(`invalid archive: ${what} path ${JSON.stringify(p)} points outside the archive`);
  }
  return n.replace(/^\.\//, '');
}

/** `blobs/sha256/<hex>` of a descriptor digest (validated: a digest is never a path). */
export function blobPath(digest: unknown): string {
  if (typeof digest !== 'string' || !DIGEST_RE.test(digest)) throw invalidArgument(`invalid archive: unsupported or malformed digest ${JSON.stringify(digest)}`);
  return `blobs/sha256/${digest.slice(7)}`;
}

/** The digest a member's name promises, when it sits at `blobs/sha256/<hex>`. */
export function digestOfBlobPath(key: string): string | undefined {
  const m = /^blobs\/sha256\/([a-f0-9]{64})$/.exec(key);
  return m ? `sha256:${m[1]}` : undefined;
}

/** One image to load: where its config and layers are, and the names it gets. */
export interface LoadPlan {
  configPath: string;
  layerPaths: string[];
  /** Names as written in the archive (`busybox:latest`, `docker.io/x/y:1`); parsed by the caller. */
  names: string[];
}

function parseJson(data: Buffer, what: string): unknown {
  try {
    return JSON.parse(data.toString('utf8'));
  } catch {
    throw invalidArgument(`invalid archive: ${what} is not valid JSON`);
  }
}

/** manifest.json → load plans, every path checked. */
export function parseDockerManifest(data: Buffer): LoadPlan[] {
  const doc = parseJson(data, 'manifest.json');
  if (!Array.isArray(doc)) throw invalidArgument('invalid archive: manifest.json is not a list');
  return doc.map((e: unknown, i) => {
    if (!e || typeof e !== 'object') throw invalidArgument(`invalid archive: manifest.json entry ${i} is not an object`);
    const m = e as { Config?: unknown; RepoTags?: unknown; Layers?: unknown };
    if (!Array.isArray(m.Layers)) throw invalidArgument(`invalid archive: manifest.json entry ${i} has no Layers`);
    const tags = m.RepoTags == null ? [] : m.RepoTags;
    if (!Array.isArray(tags) || tags.some((t) => typeof t !== 'string')) throw invalidArgument(`invalid archive: manifest.json entry ${i} has invalid RepoTags`);
    return {
      configPath: archivePath(m.Config, 'config'),
      layerPaths: m.Layers.map((l: unknown) => archivePath(l, 'layer')),
      names: tags as string[],
    };
  });
}

/** Whether an index entry's platform can run here (no platform: yes). */
export function platformMatches(p: Descriptor['platform'], arch: string): boolean {
  if (!p) return true;
  return (p.os ?? 'linux') === 'linux' && (p.architecture ?? arch) === arch;
}

/** The name an index descriptor gives its image, if any. A bare ref.name ("latest") is only a tag: no name. */
export function descriptorName(d: Descriptor): string | undefined {
  const a = d.annotations ?? {};
  const full = a[ANNOTATION_IMAGE_NAME];
  if (full) return full;
  const ref = a[ANNOTATION_REF_NAME];
  if (ref && /[:/]/.test(ref)) return ref;
  return undefined;
}

const isIndex = (mt: string | undefined): boolean => mt === MEDIA.ociIndex || mt === MEDIA.dockerList;
const isManifest = (mt: string | undefined): boolean => mt === MEDIA.ociManifest || mt === MEDIA.dockerManifest;

/**
 * index.json (and nested indexes) → load plans. `read` returns a blob's bytes by digest (it
 * verifies them). Platforms other than linux/`arch` and unknown media types (attestations)
 * are skipped; nested indexes deeper than 8 levels are an error.
 */
export async function resolveOciIndex(indexJson: Buffer, arch: string, read: (d: Descriptor) => Promise<Buffer>): Promise<LoadPlan[]> {
  const plans = new Map<string, LoadPlan>();
  const walk = async (doc: unknown, inherited: string | undefined, depth: number, what: string): Promise<void> => {
    if (depth > 8) throw invalidArgument('invalid archive: image indexes nested too deep');
    const manifests = (doc as { manifests?: unknown })?.manifests;
    if (!Array.isArray(manifests)) throw invalidArgument(`invalid archive: ${what} has no manifests`);
    for (const raw of manifests as Descriptor[]) {
      if (!raw || typeof raw !== 'object') throw invalidArgument(`invalid archive: ${what} has an invalid descriptor`);
      if (!platformMatches(raw.platform, arch)) continue;
      const name = descriptorName(raw) ?? inherited;
      if (isIndex(raw.mediaType)) {
        await walk(parseJson(await read(raw), `index ${raw.digest}`), name, depth + 1, `index ${raw.digest}`);
        continue;
      }
      if (!isManifest(raw.mediaType) && raw.mediaType !== undefined) continue;
      const m = parseJson(await read(raw), `manifest ${raw.digest}`) as { config?: Descriptor; layers?: Descriptor[]; manifests?: unknown };
      if (raw.mediaType === undefined && Array.isArray(m.manifests)) {
        await walk(m, name, depth + 1, `index ${raw.digest}`);
        continue;
      }
      if (!m.config || !Array.isArray(m.layers)) throw invalidArgument(`invalid archive: manifest ${raw.digest} has no config or layers`);
      const configPath = blobPath(m.config.digest);
      const prev = plans.get(configPath);
      if (prev) {
        if (name && !prev.names.includes(name)) prev.names.push(name);
        continue;
      }
      plans.set(configPath, { configPath, layerPaths: m.layers.map((l) => blobPath(l?.digest)), names: name ? [name] : [] });
    }
  };
  await walk(parseJson(indexJson, 'index.json'), undefined, 0, 'index.json');
  return [...plans.values()];
}

/** What `save` writes for one image. */
export interface SaveImage {
  id: string;
  configSize: number;
  layers: Array<{ digest: string; size: number }>;
  /** Familiar names (`busybox:latest`) and their canonical forms (`docker.io/library/busybox:latest`). */
  tags: Array<{ familiar: string; canonical: string; tag: string; repo: string }>;
}

/** The OCI manifest of a saved image (uncompressed layers: blob digest = diff ID). */
export function saveManifest(img: SaveImage): Buffer {
  return Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: MEDIA.ociManifest,
    config: { mediaType: MEDIA.ociConfig, digest: img.id, size: img.configSize },
    layers: img.layers.map((l) => ({ mediaType: MEDIA.ociLayer, digest: l.digest, size: l.size })),
  }));
}

/** index.json, manifest.json and repositories of a save, as moby ≥25 writes them. */
export function saveMetadata(images: Array<SaveImage & { manifestDigest: string; manifestSize: number }>): { index: Buffer; manifest: Buffer; repositories: Buffer } {
  const descriptors: Descriptor[] = [];
  const repositories: Record<string, Record<string, string>> = {};
  for (const img of images) {
    const base = { mediaType: MEDIA.ociManifest, digest: img.manifestDigest, size: img.manifestSize };
    if (img.tags.length === 0) descriptors.push(base);
    for (const t of img.tags) {
      descriptors.push({ ...base, annotations: { [ANNOTATION_IMAGE_NAME]: t.canonical, [ANNOTATION_REF_NAME]: t.tag } });
      (repositories[t.repo] ??= {})[t.tag] = img.id.slice(7);
    }
  }
  const index = { schemaVersion: 2, mediaType: MEDIA.ociIndex, manifests: descriptors };
  const manifest = images.map((img) => ({
    Config: blobPath(img.id),
    RepoTags: img.tags.length ? img.tags.map((t) => t.familiar) : null,
    Layers: img.layers.map((l) => blobPath(l.digest)),
  }));
  return {
    index: Buffer.from(JSON.stringify(index)),
    manifest: Buffer.from(JSON.stringify(manifest)),
    repositories: Buffer.from(JSON.stringify(repositories)),
  };
}

export const OCI_LAYOUT = Buffer.from('{"imageLayoutVersion":"1.0.0"}');

/** One row of `docker history`, before wire mapping. */
export interface HistoryRow {
  id: string;
  created: number;
  createdBy: string;
  tags: string[];
  size: number;
  comment: string;
}

/**
 * History rows, newest first, as moby builds them: one per history entry, each non-empty
 * entry consuming the next layer's size; the top row carries the image ID and tags, the
 * others `<missing>`. An image without history gets one row per layer.
 */
export function historyRows(opts: {
  id: string;
  tags: string[];
  history: Array<{ created?: string; created_by?: string; comment?: string; empty_layer?: boolean }> | undefined;
  layerSizes: number[];
  created?: string;
}): HistoryRow[] {
  const secs = (t: string | undefined): number => {
    const ms = Date.parse(t ?? '');
    return Number.isFinite(ms) ? Math.floor(ms / 1000) : 0;
  };
  let entries = opts.history ?? [];
  if (entries.length === 0) entries = opts.layerSizes.map(() => ({ created: opts.created }));
  let layer = 0;
  const rows: HistoryRow[] = entries.map((h) => {
    let size = 0;
    if (!h.empty_layer) size = opts.layerSizes[layer++] ?? 0;
    return { id: '<missing>', created: secs(h.created), createdBy: h.created_by ?? '', tags: [], size, comment: h.comment ?? '' };
  });
  rows.reverse();
  if (rows[0]) {
    rows[0].id = opts.id;
    rows[0].tags = opts.tags;
  }
  return rows;
}
