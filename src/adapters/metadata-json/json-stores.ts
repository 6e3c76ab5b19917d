/**
 * Container and image records as small JSON files under the data root, each replaced
 * atomically (lib/fs). Leftover temp files from a crash are removed at load.
 */
import { readdir, readFile, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { ContainerRecord } from '../../core/container/index.js';
import type { ImageRecord } from '../../core/image/index.js';
import type { ContainerStore, ImageStore, LeaseRecord } from '../../core/ports/index.js';
import { ensureDir, isAtomicTemp, writeJsonAtomic } from '../../lib/fs/index.js';

async function readJsonDir<T>(dir: string, file: (name: string) => string | undefined): Promise<T[]> {
  await ensureDir(dir);
  const out: T[] = [];
  for (const name of await readdir(dir)) {
    if (isAtomicTemp(name)) { await unlink(join(dir, name)).catch(() => {}); continue; }
    const p = file(name);
    if (!p) continue;
    try {
      out.push(JSON.parse(await readFile(p, 'utf8')) as T);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') process.emitWarning(`skipping unreadable record ${p}: ${(e as Error).message}`);
    }
  }
  return out;
}

export class JsonContainerStore implements ContainerStore {
  constructor(private readonly root: string) {}

  dir(id: string): string {
    return join(this.root, id);
  }

  async loadAll(): Promise<ContainerRecord[]> {
    const all = await readJsonDir<ContainerRecord>(this.root, (name) => (/^[0-9a-f]{64}$/.test(name) ? join(this.root, name, 'container.json') : undefined));
    // A directory without a record is a create that died half-way: remove it.
    const known = new Set(all.map((c) => c.id));
    for (const name of await readdir(this.root)) {
      if (/^[0-9a-f]{64}$/.test(name) && !known.has(name)) await rm(join(this.root, name), { recursive: true, force: true });
    }
    return all;
  }

  async save(c: ContainerRecord): Promise<void> {
    await ensureDir(this.dir(c.id));
    await writeJsonAtomic(join(this.dir(c.id), 'container.json'), c);
  }

  async remove(id: string): Promise<void> {
    await rm(this.dir(id), { recursive: true, force: true });
  }
}

export class JsonImageStore implements ImageStore {
  constructor(private readonly root: string) {}

  async loadAll(): Promise<{ images: ImageRecord[]; tags: Record<string, string> }> {
    const dbDir = join(this.root, 'db');
    const images = await readJsonDir<ImageRecord>(dbDir, (name) => (name.endsWith('.json') ? join(dbDir, name) : undefined));
    let tags: Record<string, string> = {};
    try {
      tags = JSON.parse(await readFile(join(this.root, 'repositories.json'), 'utf8')) as Record<string, string>;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    return { images, tags };
  }

  async saveImage(img: ImageRecord): Promise<void> {
    await ensureDir(join(this.root, 'db'));
    await writeJsonAtomic(join(this.root, 'db', `${img.id.replace('sha256:', '')}.json`), img);
  }

  async removeImage(id: string): Promise<void> {
    await rm(join(this.root, 'db', `${id.replace('sha256:', '')}.json`), { force: true });
  }

  async saveTags(tags: Record<string, string>): Promise<void> {
    await ensureDir(this.root);
    await writeJsonAtomic(join(this.root, 'repositories.json'), tags);
  }

  loadLeases(): Promise<LeaseRecord[]> {
    const dir = join(this.root, 'leases');
    return readJsonDir<LeaseRecord>(dir, (name) => (name.endsWith('.json') ? join(dir, name) : undefined));
  }

  async saveLease(lease: LeaseRecord): Promise<void> {
    await ensureDir(join(this.root, 'leases'));
    await writeJsonAtomic(join(this.root, 'leases', `${leaseFile(lease.id)}.json`), lease);
  }

  async removeLease(id: string): Promise<void> {
    await rm(join(this.root, 'leases', `${leaseFile(id)}.json`), { force: true });
  }
}

/** A lease ID as a file name (IDs carry `sha256:` and may carry `/`). */
const leaseFile = (id: string): string => id.replace(/[^A-Za-z0-9_.-]/g, '_');
