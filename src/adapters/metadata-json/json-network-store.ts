/** Network records as `<root>/network/<id>.json`, each replaced atomically. */
import { readdir, readFile, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { NetworkRecord } from '../../core/network/index.js';
import type { NetworkStore } from '../../core/ports/index.js';
import { ensureDir, isAtomicTemp, writeJsonAtomic } from '../../lib/fs/index.js';

export class JsonNetworkStore implements NetworkStore {
  constructor(private readonly root: string) {}

  async loadAll(): Promise<NetworkRecord[]> {
    await ensureDir(this.root);
    const out: NetworkRecord[] = [];
    for (const name of await readdir(this.root)) {
      if (isAtomicTemp(name)) { await unlink(join(this.root, name)).catch(() => {}); continue; }
      if (!name.endsWith('.json')) continue;
      try { out.push(JSON.parse(await readFile(join(this.root, name), 'utf8')) as NetworkRecord); } catch { /* unreadable: skipped */ }
    }
    return out;
  }

  async save(n: NetworkRecord): Promise<void> {
    await ensureDir(this.root);
    await writeJsonAtomic(join(this.root, `${n.id}.json`), n);
  }

  async remove(id: string): Promise<void> {
    await rm(join(this.root, `${id}.json`), { force: true });
  }
}
