/**
 * Blobs by sha256 under <root>/blobs/sha256/<hex>. Writes go to <root>/ingest/ while the
 * digest is computed, are checked against the expected digest and size, then renamed into
 * place: a blob that fails verification never becomes visible. Ingest leftovers from a
 * crash are removed when the store opens.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { access, rename, rm, mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { once } from 'node:events';
import type { ContentStore } from '../../core/ports/index.js';
import { invalidArgument } from '../../lib/errdefs.js';
import { writeFileAtomic } from '../../lib/fs/index.js';
import { BackgroundHash } from '../../lib/hashing/index.js';

export class FsContentStore implements ContentStore {
  private constructor(private readonly root: string) {}

  static async open(root: string): Promise<FsContentStore> {
    await mkdir(join(root, 'blobs', 'sha256'), { recursive: true, mode: 0o700 });
    await rm(join(root, 'ingest'), { recursive: true, force: true });
    await mkdir(join(root, 'ingest'), { recursive: true, mode: 0o700 });
    return new FsContentStore(root);
  }

  path(digest: string): string {
    const [alg, hex] = digest.split(':');
    if (alg !== 'sha256' || !hex || !/^[a-f0-9]{64}$/.test(hex)) throw invalidArgument(`invalid digest: ${digest}`);
    return join(this.root, 'blobs', 'sha256', hex);
  }

  async has(digest: string): Promise<boolean> {
    try { await access(this.path(digest)); return true; } catch { return false; }
  }

  async ingest(data: AsyncIterable<Buffer>, expected: { digest?: string; size?: number } = {}): Promise<{ digest: string; size: number }> {
    const tmp = join(this.root, 'ingest', randomBytes(8).toString('hex'));
    const out = createWriteStream(tmp, { mode: 0o600 });
    const hash = new BackgroundHash();
    let size = 0;
    try {
      for await (const chunk of data) {
        hash.update(chunk);
        size += chunk.length;
        if (expected.size !== undefined && size > expected.size) throw invalidArgument(`blob larger than its expected size ${expected.size}`);
        if (!out.write(chunk)) await once(out, 'drain');
      }
      out.end();
      await once(out, 'finish');
      const digest = 'sha256:' + (await hash.digest());
      if (expected.digest && expected.digest !== digest) throw invalidArgument(`digest mismatch: expected ${expected.digest}, got ${digest}`);
      if (expected.size !== undefined && expected.size !== size) throw invalidArgument(`size mismatch: expected ${expected.size}, got ${size}`);
      await rename(tmp, this.path(digest));
      return { digest, size };
    } catch (e) {
      hash.dispose();
      out.destroy();
      await rm(tmp, { force: true });
      throw e;
    }
  }

  async put(data: Buffer): Promise<string> {
    const digest = 'sha256:' + createHash('sha256').update(data).digest('hex');
    if (!(await this.has(digest))) await writeFileAtomic(this.path(digest), data, { mode: 0o600 });
    return digest;
  }

  async remove(digest: string): Promise<void> {
    await rm(this.path(digest), { force: true });
  }

  async list(): Promise<string[]> {
    return (await readdir(join(this.root, 'blobs', 'sha256'))).map((h) => `sha256:${h}`);
  }
}
