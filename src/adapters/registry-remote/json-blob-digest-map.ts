/**
 * compressed digest ↔ diff ID, kept in one JSON file (`<root>/registry/digests.json`), so a
 * push of a pulled or already pushed layer is recognised by HEAD or mounted instead of being
 * compressed and uploaded again, and a re-push names the same blobs.
 */
import { readFile } from 'node:fs/promises';
import type { BlobDigestMap } from '../../core/ports/index.js';
import { errnoCode } from '../../lib/errdefs.js';
import { ensureDir, writeJsonAtomic } from '../../lib/fs/index.js';
import { dirname } from 'node:path';

type Entry = { digest: string; repo: string; size: number };

export class JsonBlobDigestMap implements BlobDigestMap {
  private data: Record<string, Entry[]> | undefined;
  private writing: Promise<void> = Promise.resolve();

  constructor(private readonly file: string) {}

  private async load(): Promise<Record<string, Entry[]>> {
    if (this.data) return this.data;
    try {
      this.data = JSON.parse(await readFile(this.file, 'utf8')) as Record<string, Entry[]>;
    } catch (e) {
      if (errnoCode(e) !== 'ENOENT' && !(e instanceof SyntaxError)) throw e;
      this.data = {};
    }
    return this.data;
  }

  async compressedFor(diffId: string): Promise<Entry[]> {
    return [...((await this.load())[diffId] ?? [])];
  }

  async record(diffId: string, entry: Entry): Promise<void> {
    const d = await this.load();
    const list = (d[diffId] ??= []);
    if (list.some((e) => e.digest === entry.digest && e.repo === entry.repo)) return;
    list.unshift(entry);
    if (list.length > 16) list.length = 16;
    this.writing = this.writing.then(async () => {
      await ensureDir(dirname(this.file));
      // A cache (a lost entry only means a blob is checked or uploaded again): replaced
      // atomically, not synced, so a pull does not wait for the disk once per layer.
      await writeJsonAtomic(this.file, this.data, { fsync: false });
    });
    await this.writing;
  }
}
