/**
 * The build cache: step key → image ID, one JSON file in the data root (so it survives
 * restarts). A key is the sha256 of the parent image, the step's history text with the
 * build args it sees, the resulting config and, for COPY/ADD, the sources' checksum.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureDir, writeJsonAtomic } from '../lib/fs/index.js';

export interface StepKeyInput {
  parent: string;
  createdBy: string;
  config: unknown;
  /** COPY/ADD: checksum of the copied files (content, mode, owner) */
  sources?: string;
}

/** Stable JSON: object keys sorted. */
function stable(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stable).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v).sort().filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${stable((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

export function stepKey(i: StepKeyInput): string {
  return createHash('sha256').update(stable(i)).digest('hex');
}

export class BuildCache {
  private map: Record<string, string> = {};
  private loaded = false;
  private saving: Promise<void> = Promise.resolve();

  constructor(private readonly dir: string) {}

  private async load(): Promise<void> {
    if (this.loaded) return;
    this.loaded = true;
    try { this.map = JSON.parse(await readFile(join(this.dir, 'cache.json'), 'utf8')) as Record<string, string>; } catch { this.map = {}; }
  }

  async get(key: string): Promise<string | undefined> {
    await this.load();
    return this.map[key];
  }

  async set(key: string, imageId: string): Promise<void> {
    await this.load();
    this.map[key] = imageId;
    await this.persist();
  }

  /** Drops every entry (or those whose image is gone); returns the image IDs dropped. */
  async prune(keep: (imageId: string) => boolean = () => false): Promise<string[]> {
    await this.load();
    const dropped: string[] = [];
    for (const [k, v] of Object.entries(this.map)) if (!keep(v)) { dropped.push(v); delete this.map[k]; }
    await this.persist();
    return dropped;
  }

  private persist(): Promise<void> {
    const snapshot = { ...this.map };
    this.saving = this.saving.then(async () => {
      await ensureDir(this.dir);
      await writeJsonAtomic(join(this.dir, 'cache.json'), snapshot, { fsync: false });
    });
    return this.saving;
  }
}
