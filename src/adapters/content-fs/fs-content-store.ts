/**
 * Blobs by sha256 under <root>/blobs/sha256/<hex>. Writes go to <root>/ingest/ while the
 * digest is computed, are checked against the expected digest and size, then renamed into
 * place: a blob that fails verification never becomes visible. Two writers of one digest
 * share one write (see ingest). Ingest leftovers from a crash are removed when the store opens.
 */
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, constants as fsc, openSync, writevSync } from 'node:fs';
import { access, rename, rm, mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { ContentStore } from '../../core/ports/index.js';
import { invalidArgument } from '../../lib/errdefs.js';
import { isAtomicTemp, writeFileAtomic } from '../../lib/fs/index.js';
import { BackgroundHash } from '../../lib/hashing/index.js';

const WRITE_BATCH = 1 << 20;

function writeAllSync(fd: number, bufs: Buffer[]): void {
  let left = bufs;
  while (left.length > 0) {
    let written = writevSync(fd, left);
    while (left.length > 0 && written >= left[0]!.length) { written -= left[0]!.length; left = left.slice(1); }
    if (written > 0) left = [left[0]!.subarray(written), ...left.slice(1)];
  }
}

/** Hashes a stream without storing it: the data of a blob another writer committed. */
async function verify(data: AsyncIterable<Buffer>, expected: { digest?: string; size?: number }): Promise<{ digest: string; size: number }> {
  const hash = new BackgroundHash();
  let size = 0;
  try {
    for await (const chunk of data) {
      hash.update(chunk);
      size += chunk.length;
      if (expected.size !== undefined && size > expected.size) throw invalidArgument(`blob larger than its expected size ${expected.size}`);
    }
  } catch (e) {
    hash.dispose();
    throw e;
  }
  return { digest: await checkDigest(hash, size, expected), size };
}

async function checkDigest(hash: BackgroundHash, size: number, expected: { digest?: string; size?: number }): Promise<string> {
  const digest = 'sha256:' + (await hash.digest());
  if (expected.digest && expected.digest !== digest) throw invalidArgument(`digest mismatch: expected ${expected.digest}, got ${digest}`);
  if (expected.size !== undefined && expected.size !== size) throw invalidArgument(`size mismatch: expected ${expected.size}, got ${size}`);
  return digest;
}

export class FsContentStore implements ContentStore {
  /** digest → the ingest writing it now */
  private readonly writers = new Map<string, Promise<{ digest: string; size: number }>>();

  private constructor(private readonly root: string) {}

  static async open(root: string): Promise<FsContentStore> {
    const blobs = join(root, 'blobs', 'sha256');
    await mkdir(blobs, { recursive: true, mode: 0o700 });
    // a put() killed before its rename leaves `.<hex>.<rand>.tmp` beside the blobs
    for (const name of await readdir(blobs)) if (isAtomicTemp(name)) await rm(join(blobs, name), { force: true });
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

  /**
   * Writes a stream. With an expected digest, concurrent writers of one blob share one write:
   * while another ingest of that digest runs, this one waits; once the blob is committed
   * (or already was) its own data is only hashed, to check it is that blob, and not written
   * again; if the other writer fails, this one writes. Without an expected digest the digest
   * is learnt at the end, and a blob committed meanwhile is kept (the temp file goes).
   */
  async ingest(data: AsyncIterable<Buffer>, expected: { digest?: string; size?: number } = {}): Promise<{ digest: string; size: number }> {
    const want = expected.digest;
    if (want === undefined) return this.write(data, expected);
    this.path(want); // validates the digest before anything waits on it
    for (;;) {
      const running = this.writers.get(want);
      if (running) {
        await running.catch(() => undefined);
        continue; // committed or failed: look again
      }
      // registered before any await, so a second writer arriving now waits for this one
      const mine = this.has(want).then((there) => (there ? verify(data, expected) : this.write(data, expected)));
      this.writers.set(want, mine);
      try {
        return await mine;
      } finally {
        if (this.writers.get(want) === mine) this.writers.delete(want);
      }
    }
  }

  /**
   * Chunks are gathered into 1 MiB writev calls, made synchronously: page-cache writes of that
   * size are short, and a thread-pool round trip per write (or a WriteStream's per-chunk
   * callbacks) cost more than the write on this 2-core machine (docs/design/storage.md). The
   * sha256 runs on a worker thread (BackgroundHash).
   */
  private async write(data: AsyncIterable<Buffer>, expected: { digest?: string; size?: number }): Promise<{ digest: string; size: number }> {
    const tmp = join(this.root, 'ingest', randomBytes(8).toString('hex'));
    const fd = openSync(tmp, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, 0o600);
    const hash = new BackgroundHash();
    let size = 0;
    let batch: Buffer[] = [];
    let batched = 0;
    const flush = (): void => {
      if (batched > 0) writeAllSync(fd, batch);
      batch = [];
      batched = 0;
    };
    let closed = false;
    try {
      for await (const chunk of data) {
        hash.update(chunk);
        size += chunk.length;
        if (expected.size !== undefined && size > expected.size) throw invalidArgument(`blob larger than its expected size ${expected.size}`);
        batch.push(chunk);
        batched += chunk.length;
        if (batched >= WRITE_BATCH) flush();
      }
      flush();
      closeSync(fd);
      closed = true;
      const digest = await checkDigest(hash, size, expected);
      if (expected.digest === undefined && (await this.has(digest))) await rm(tmp, { force: true });
      else await rename(tmp, this.path(digest));
      return { digest, size };
    } catch (e) {
      hash.dispose();
      if (!closed) closeSync(fd);
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
    return (await readdir(join(this.root, 'blobs', 'sha256'))).filter((h) => /^[a-f0-9]{64}$/.test(h)).map((h) => `sha256:${h}`);
  }
}
