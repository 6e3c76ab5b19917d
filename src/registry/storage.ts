/**
 * pier registry's data root:
 *
 *   content/blobs/sha256/<hex>        every blob and manifest, content-addressed (the ContentStore)
 *   repos/<name>/_blobs/<hex>         blob linked into a repository (by upload, mount or manifest)
 *   repos/<name>/_manifests/<hex>     manifest of the repository; the file holds its media type
 *   repos/<name>/_tags/<tag>          the tag's manifest digest
 *   repos/<name>/_referrers/<subject hex>/<hex>  descriptor JSON of a manifest naming `subject`
 *   uploads/<uuid>/{data,repo}        uploads in progress
 *
 * Every file becomes visible by rename (writeFileAtomic / ContentStore.ingest), and a manifest
 * is only linked after all the blobs it names are present, so a crash at any point never
 * leaves a tag or manifest pointing at a missing blob; at worst an unreferenced blob or an
 * upload directory stays behind for `pier registry gc`.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { ContentStore } from '../core/ports/index.js';
import { errnoCode } from '../lib/errdefs.js';
import { writeFileAtomic } from '../lib/fs/index.js';

export const NAME_RE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;
export const TAG_RE = /^[\w][\w.-]{0,127}$/;
export const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;

const hex = (digest: string): string => digest.slice(7);

async function exists(p: string): Promise<boolean> {
  try { await stat(p); return true; } catch { return false; }
}

async function list(dir: string): Promise<string[]> {
  try { return await readdir(dir); } catch (e) { if (errnoCode(e) === 'ENOENT') return []; throw e; }
}

export class RegistryStorage {
  constructor(readonly root: string, readonly content: ContentStore) {}

  private repo(name: string): string { return join(this.root, 'repos', name); }

  blobPath(digest: string): string { return this.content.path(digest); }

  async blobSize(digest: string): Promise<number | undefined> {
    try { return (await stat(this.content.path(digest))).size; } catch { return undefined; }
  }

  async hasBlobIn(name: string, digest: string): Promise<boolean> {
    return (await this.content.has(digest)) && exists(join(this.repo(name), '_blobs', hex(digest)));
  }

  async linkBlob(name: string, digest: string): Promise<void> {
    const dir = join(this.repo(name), '_blobs');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, hex(digest)), '');
  }

  async unlinkBlob(name: string, digest: string): Promise<boolean> {
    const p = join(this.repo(name), '_blobs', hex(digest));
    if (!(await exists(p))) return false;
    await rm(p, { force: true });
    return true;
  }

  async repoExists(name: string): Promise<boolean> {
    return exists(this.repo(name));
  }

  // ---- uploads

  async startUpload(name: string): Promise<string> {
    const id = randomUUID();
    const dir = join(this.root, 'uploads', id);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'data'), '');
    await writeFile(join(dir, 'repo'), name);
    return id;
  }

  /** Bytes received so far, or undefined when there is no such upload for the repository. */
  async uploadSize(name: string, id: string): Promise<number | undefined> {
    if (!/^[a-f0-9-]{36}$/.test(id)) return undefined;
    const dir = join(this.root, 'uploads', id);
    try {
      if ((await readFile(join(dir, 'repo'), 'utf8')) !== name) return undefined;
      return (await stat(join(dir, 'data'))).size;
    } catch {
      return undefined;
    }
  }

  async appendUpload(id: string, data: AsyncIterable<Buffer>): Promise<number> {
    const out = createWriteStream(join(this.root, 'uploads', id, 'data'), { flags: 'a' });
    await pipeline(data, out);
    return (await stat(join(this.root, 'uploads', id, 'data'))).size;
  }

  /** Verifies the upload against `digest` and commits it; the upload is gone afterwards either way. */
  async finishUpload(name: string, id: string, digest: string): Promise<void> {
    const dir = join(this.root, 'uploads', id);
    try {
      await this.content.ingest(createReadStream(join(dir, 'data'), { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>, { digest });
      await this.linkBlob(name, digest);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  async cancelUpload(id: string): Promise<void> {
    await rm(join(this.root, 'uploads', id), { recursive: true, force: true });
  }

  async ingestBlob(name: string, data: AsyncIterable<Buffer>, digest: string): Promise<void> {
    await this.content.ingest(data, { digest });
    await this.linkBlob(name, digest);
  }

  // ---- manifests and tags

  async resolve(name: string, reference: string): Promise<string | undefined> {
    if (DIGEST_RE.test(reference)) return (await exists(join(this.repo(name), '_manifests', hex(reference)))) ? reference : undefined;
    try { return (await readFile(join(this.repo(name), '_tags', reference), 'utf8')).trim(); } catch { return undefined; }
  }

  async manifestType(name: string, digest: string): Promise<string | undefined> {
    try { return (await readFile(join(this.repo(name), '_manifests', hex(digest)), 'utf8')).trim(); } catch { return undefined; }
  }

  async putManifest(name: string, opts: { digest: string; bytes: Buffer; mediaType: string; tag?: string; blobs: string[]; subject?: string; descriptor: object }): Promise<void> {
    await this.content.put(opts.bytes);
    for (const b of opts.blobs) await this.linkBlob(name, b);
    const mdir = join(this.repo(name), '_manifests');
    await mkdir(mdir, { recursive: true });
    await writeFileAtomic(join(mdir, hex(opts.digest)), opts.mediaType);
    if (opts.subject) {
      const rdir = join(this.repo(name), '_referrers', hex(opts.subject));
      await mkdir(rdir, { recursive: true });
      await writeFileAtomic(join(rdir, hex(opts.digest)), JSON.stringify(opts.descriptor));
    }
    if (opts.tag) {
      await mkdir(join(this.repo(name), '_tags'), { recursive: true });
      await writeFileAtomic(join(this.repo(name), '_tags', opts.tag), opts.digest);
    }
  }

  async deleteManifest(name: string, digest: string): Promise<boolean> {
    const p = join(this.repo(name), '_manifests', hex(digest));
    if (!(await exists(p))) return false;
    for (const t of await this.tags(name)) if ((await this.resolve(name, t)) === digest) await rm(join(this.repo(name), '_tags', t), { force: true });
    for (const s of await list(join(this.repo(name), '_referrers'))) await rm(join(this.repo(name), '_referrers', s, hex(digest)), { force: true });
    await rm(p, { force: true });
    return true;
  }

  async deleteTag(name: string, tag: string): Promise<boolean> {
    const p = join(this.repo(name), '_tags', tag);
    if (!(await exists(p))) return false;
    await rm(p, { force: true });
    return true;
  }

  async tags(name: string): Promise<string[]> {
    return (await list(join(this.repo(name), '_tags'))).filter((t) => !t.startsWith('.')).sort();
  }

  async referrers(name: string, subject: string): Promise<object[]> {
    const dir = join(this.repo(name), '_referrers', hex(subject));
    const out: object[] = [];
    for (const f of (await list(dir)).sort()) {
      if (f.startsWith('.')) continue;
      try { out.push(JSON.parse(await readFile(join(dir, f), 'utf8')) as object); } catch { /* gone */ }
    }
    return out;
  }

  /** Repository names (those with at least one manifest), sorted. */
  async catalog(): Promise<string[]> {
    const out: string[] = [];
    const walk = async (rel: string): Promise<void> => {
      for (const n of await list(join(this.root, 'repos', rel))) {
        if (n.startsWith('_')) { if (n === '_manifests' && (await list(join(this.root, 'repos', rel, n))).length) out.push(rel); continue; }
        await walk(rel ? `${rel}/${n}` : n);
      }
    };
    await walk('');
    return out.sort();
  }

  /** Removes blobs no manifest references and stale uploads; returns what was removed. */
  async gc(opts: { dryRun?: boolean } = {}): Promise<{ blobs: string[]; uploads: string[] }> {
    const keep = new Set<string>();
    for (const name of await this.catalog()) {
      const linked = new Set<string>();
      for (const h of await list(join(this.repo(name), '_manifests'))) {
        if (h.startsWith('.')) continue;
        const d = `sha256:${h}`;
        keep.add(d);
        linked.add(d);
        try {
          const m = JSON.parse(await readFile(this.content.path(d), 'utf8')) as { config?: { digest: string }; layers?: Array<{ digest: string }>; manifests?: Array<{ digest: string }>; blobs?: Array<{ digest: string }> };
          for (const x of [m.config, ...(m.layers ?? []), ...(m.blobs ?? [])]) if (x?.digest) { keep.add(x.digest); linked.add(x.digest); }
        } catch { /* unreadable manifest: keep nothing more */ }
      }
      if (!opts.dryRun) for (const h of await list(join(this.repo(name), '_blobs'))) if (!linked.has(`sha256:${h}`)) await rm(join(this.repo(name), '_blobs', h), { force: true });
    }
    const blobs: string[] = [];
    for (const d of await this.content.list()) {
      if (keep.has(d)) continue;
      blobs.push(d);
      if (!opts.dryRun) await this.content.remove(d);
    }
    const uploads: string[] = [];
    for (const u of await list(join(this.root, 'uploads'))) {
      const st = await stat(join(this.root, 'uploads', u)).catch(() => undefined);
      if (st && Date.now() - st.mtimeMs > 60 * 60 * 1000) {
        uploads.push(u);
        if (!opts.dryRun) await rm(join(this.root, 'uploads', u), { recursive: true, force: true });
      }
    }
    return { blobs, uploads };
  }
}
