/**
 * A streaming hash that runs on a worker thread once the data is big enough to be worth it.
 * A pull hashes every layer twice (compressed digest, diff ID): on the event loop's thread
 * that was a third of its CPU time, while the other core idled. The first `localBytes` are
 * kept here, so a small blob (a config, a tiny layer) is hashed in place at `digest()`
 * without a message; past that, the kept bytes and every later chunk are copied to one of
 * a few shared workers. Chunks must not change after update() (kept ones are hashed later).
 * Call `digest()` once, or `dispose()` to abandon the hash.
 */
import { createHash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

/** One worker per spare core, at most two (one hashes ~1.5 GB/s with SHA-NI). */
const WORKERS = Math.min(2, Math.max(1, availableParallelism() - 1));
const DEFAULT_LOCAL_BYTES = 1 << 20;

interface Slot { worker: Worker; users: number }
type Reply = { id: number; hex?: string; error?: string };

let pool: Slot[] | undefined;
let nextId = 1;
let turn = 0;
const waiting = new Map<number, { resolve: (hex: string) => void; reject: (e: Error) => void }>();

function slot(): Slot {
  pool ??= Array.from({ length: WORKERS }, () => {
    const worker = new Worker(new URL('./hash-worker.js', import.meta.url));
    worker.unref();
    worker.on('message', (m: Reply) => {
      const w = waiting.get(m.id);
      if (!w) return;
      waiting.delete(m.id);
      if (m.hex !== undefined) w.resolve(m.hex);
      else w.reject(new Error(m.error ?? 'hash worker failed'));
    });
    worker.on('error', (e) => {
      for (const [id, w] of waiting) { waiting.delete(id); w.reject(e); }
      pool = undefined; // the next hash starts fresh workers
    });
    return { worker, users: 0 };
  });
  return pool[turn++ % pool.length]!;
}

export class BackgroundHash {
  private kept: Buffer[] = [];
  private keptBytes = 0;
  private remote?: { slot: Slot; id: number };
  private finished = false;

  constructor(private readonly algorithm = 'sha256', private readonly localBytes = DEFAULT_LOCAL_BYTES) {}

  update(chunk: Buffer): void {
    if (this.finished) throw new Error('BackgroundHash: update after digest');
    if (!this.remote) {
      this.kept.push(chunk);
      this.keptBytes += chunk.length;
      if (this.keptBytes <= this.localBytes) return;
      const s = slot();
      s.users++;
      if (s.users === 1) s.worker.ref(); // a pending hash keeps the process alive
      this.remote = { slot: s, id: nextId++ };
      this.post('start', Buffer.concat(this.kept, this.keptBytes));
      this.kept = [];
      this.keptBytes = 0;
      return;
    }
    this.post('update', chunk);
  }

  /** The hex digest of everything given to update(). */
  async digest(): Promise<string> {
    if (this.finished) throw new Error('BackgroundHash: digest called twice');
    this.finished = true;
    if (!this.remote) {
      const h = createHash(this.algorithm);
      for (const c of this.kept) h.update(c);
      this.kept = [];
      return h.digest('hex');
    }
    const { id } = this.remote;
    const p = new Promise<string>((resolve, reject) => waiting.set(id, { resolve, reject }));
    this.remote.slot.worker.postMessage({ op: 'digest', id });
    try { return await p; } finally { this.release(); }
  }

  /** Abandons the hash (a failed stream): frees its state on the worker. */
  dispose(): void {
    if (this.finished) return;
    this.finished = true;
    this.kept = [];
    if (this.remote) {
      this.remote.slot.worker.postMessage({ op: 'drop', id: this.remote.id });
      this.release();
    }
  }

  private post(op: 'start' | 'update', chunk: Buffer): void {
    const msg = { op, id: this.remote!.id, algorithm: this.algorithm, data: chunk as Uint8Array };
    // Shared memory goes as it is (see sharedBuffer); anything else as a private copy whose
    // memory moves to the worker, since the caller keeps using its buffer.
    if (chunk.buffer instanceof SharedArrayBuffer) return this.remote!.slot.worker.postMessage(msg);
    const copy = Buffer.allocUnsafeSlow(chunk.length);
    chunk.copy(copy);
    msg.data = new Uint8Array(copy.buffer, copy.byteOffset, copy.length);
    this.remote!.slot.worker.postMessage(msg, [copy.buffer]);
  }

  private release(): void {
    const s = this.remote!.slot;
    if (--s.users === 0) s.worker.unref();
  }
}

/**
 * A Buffer over shared memory: given to BackgroundHash.update it reaches the worker without
 * a copy (so it must not change afterwards; nothing here writes into a chunk once passed on).
 */
export function sharedBuffer(size: number): Buffer {
  return Buffer.from(new SharedArrayBuffer(size));
}
