/**
 * A layer blob (gzip or plain tar) unpacked on a worker thread: gunzip, the tar's sha256,
 * the tar reader, the extractor and the tar-split record run there. unpackBlobInWorker goes
 * further and has the worker fetch a registry blob itself (the main thread keeps the
 * registry's auth, retries and error words, see BlobFetch), so no byte of the layer crosses
 * threads. Measured on a 250 MB pull: the event loop was ~70% busy with this work, and its
 * fresh buffers (socket reads, pieces, gunzip output, hash copies) made V8 run a full GC every
 * ~50 ms for their external memory; now it relays a few progress messages per MiB.
 *
 * unpackInWorker's input chunks over shared memory are passed without a copy and must not
 * change afterwards; other chunks are copied. At most WINDOW bytes are on their way to the
 * worker at once: the source is read no faster than the disk takes it.
 * A few long-lived workers take all jobs (see WORKERS); one with jobs keeps the process up.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { EngineError, type ErrorKind } from '../errdefs.js';

export interface UnpackJob {
  /** Extraction root (exists). */
  dir: string;
  whiteouts: 'overlay' | 'delete' | 'none';
  /** Record a tar-split against `digest` (the expected sha256 of the tar), spilling to `spillPath`. */
  split?: { digest: string; spillPath: string };
  /** Set by unpackBlobInWorker: the worker fetches the blob itself and checks it is `digest`. */
  fetch?: { digest: string; size?: number };
}

export interface UnpackResult {
  /** Body bytes written (ExtractStats.bytes). */
  bytes: number;
  /** Length of the (decompressed) tar. */
  tarSize: number;
  /** `sha256:<hex>` of the (decompressed) tar. */
  digest: string;
  /** The tar-split record, when one was asked for, the tar matched `split.digest` and nothing spilled. */
  record?: Uint8Array;
  /** The recorder gave up and wrote the whole tar to `split.spillPath`. */
  spilled: boolean;
}

/** One HTTP(S) GET as the worker makes it (redirects followed, Authorization kept to the same host). */
export interface FetchSpec {
  url: string;
  headers: Record<string, string>;
  /** https options: ca, cert, key, rejectUnauthorized. */
  tls?: { ca?: Buffer[]; cert?: Buffer; key?: Buffer; rejectUnauthorized?: boolean };
}

/**
 * What to do after a failed request: send another at once (`fresh`: with new credentials),
 * after a pause (`backoff`, counted against the retries; `error` is reported once they run
 * out), or stop with `error`.
 */
export type FetchVerdict = { retry: 'now' | 'fresh' } | { retry: 'backoff'; error: Error } | { error: Error };

/**
 * A registry blob for unpackBlobInWorker: the registry adapter says how to ask for it and
 * what a failed answer means (its auth, mirrors and error words stay on the main thread);
 * the worker does the transfer, resumes it with Range and checks the digest.
 */
export interface BlobFetch {
  digest: string;
  size?: number;
  /** Failed requests retried after a pause (each success resets the count). */
  retries: number;
  retryDelayMs: number;
  request(fresh: boolean): Promise<FetchSpec>;
  /** An answer other than 200/206 (after redirects), `got` bytes into the blob. */
  answered(status: number, headers: Record<string, string>, body: Buffer, got: number): FetchVerdict;
  /** The connection failed or ended early, `got` bytes into the blob. */
  lost(error: Error, got: number): FetchVerdict;
  /** Running total of bytes downloaded. */
  onBytes?(got: number): void;
  /** The whole blob is in and matched its digest. */
  onComplete?(): void;
}

export type WireError = { message: string; kind?: string; code?: string };

export type ToUnpackWorker =
  | { op: 'start'; job: UnpackJob }
  | { op: 'chunk'; data: Uint8Array }
  | { op: 'end' }
  | { op: 'abort'; reason: string }
  | { op: 'fetch'; spec: FetchSpec }
  | { op: 'give-up'; error: WireError };

export type FromUnpackWorker =
  | { op: 'ack'; bytes: number }
  | { op: 'done'; result: UnpackResult }
  | { op: 'error'; error: WireError }
  | { op: 'got'; bytes: number }
  | { op: 'fetched' }
  | { op: 'http-error'; status: number; headers: Record<string, string>; body: Uint8Array; got: number }
  | { op: 'fetch-error'; error: WireError; got: number };

const WINDOW = 8 << 20;
/**
 * Workers: one per core (at least two, at most four), each running any number of jobs. More
 * threads than cores only compete, and each new thread compiles the same code again: its
 * first layers run several times slower than later ones.
 */
const WORKERS = Math.min(4, Math.max(2, availableParallelism()));

interface Slot { worker: Worker; jobs: Map<number, Session> }
const slots: Slot[] = [];
let nextJob = 1;

/** The least busy worker (a new one while there are fewer than WORKERS). */
function pick(): Slot {
  let best = slots.reduce<Slot | undefined>((b, s) => (!b || s.jobs.size < b.jobs.size ? s : b), undefined);
  if (!best || (best.jobs.size > 0 && slots.length < WORKERS)) {
    const worker = new Worker(new URL('./unpack-worker.js', import.meta.url));
    const slot: Slot = { worker, jobs: new Map() };
    worker.on('message', (m: FromUnpackWorker & { id: number }) => slot.jobs.get(m.id)?.receive(m));
    const died = (e: Error): void => {
      slots.splice(slots.indexOf(slot), 1);
      for (const j of slot.jobs.values()) j.died(e);
      slot.jobs.clear();
    };
    worker.on('error', died);
    worker.on('exit', (code) => { if (slots.includes(slot)) died(new Error(`unpack worker exited (code ${code})`)); });
    worker.unref();
    slots.push(slot);
    best = slot;
  }
  return best;
}

function revive(e: WireError): Error {
  if (e.kind) return new EngineError(e.kind as ErrorKind, e.message, e.code ? { code: e.code } : {});
  return Object.assign(new Error(e.message), e.code ? { code: e.code } : {});
}

/** One job on a worker: its messages and its outcome. A worker with jobs keeps the process up. */
class Session {
  private readonly slot = pick();
  private readonly id = nextJob++;
  outcome?: { ok: UnpackResult } | { err: Error };
  private wake?: () => void;

  constructor(private readonly onMessage: (m: FromUnpackWorker) => void) {
    if (this.slot.jobs.size === 0) this.slot.worker.ref();
    this.slot.jobs.set(this.id, this);
  }

  receive(m: FromUnpackWorker): void {
    if (m.op === 'done') this.outcome ??= { ok: m.result };
    else if (m.op === 'error') this.outcome ??= { err: revive(m.error) };
    else this.onMessage(m);
    this.poke();
  }

  died(e: Error): void {
    this.outcome ??= { err: e };
    this.poke();
  }

  post(m: ToUnpackWorker, transfer: ArrayBuffer[] = []): void {
    if (this.slot.jobs.has(this.id)) this.slot.worker.postMessage({ ...m, id: this.id }, transfer);
  }

  /** Resolves at the next message. */
  changed(): Promise<void> {
    return new Promise((r) => { this.wake = r; });
  }

  poke(): void {
    const f = this.wake;
    this.wake = undefined;
    f?.();
  }

  /** Waits for the worker's outcome. */
  async end(): Promise<UnpackResult> {
    while (!this.outcome) await this.changed();
    if (this.slot.jobs.delete(this.id) && this.slot.jobs.size === 0) this.slot.worker.unref();
    if ('err' in this.outcome) throw this.outcome.err;
    return this.outcome.ok;
  }
}

/**
 * Unpacks `source` into `job.dir` on a worker; `onConsumed` hears the running total of input
 * bytes the worker has taken. Errors from the source win over the worker's (which then only
 * saw its input cut off). The caller checks `digest` and cleans `dir` up on failure.
 */
export async function unpackInWorker(source: AsyncIterable<Buffer>, job: UnpackJob, onConsumed?: (bytes: number) => void): Promise<UnpackResult> {
  let consumed = 0;
  const s = new Session((m) => {
    if (m.op === 'ack') { consumed = m.bytes; onConsumed?.(consumed); }
  });
  let sent = 0;
  s.post({ op: 'start', job });
  try {
    for await (const chunk of source) {
      if (s.outcome) break; // the worker failed: stop reading
      if (chunk.buffer instanceof SharedArrayBuffer) {
        s.post({ op: 'chunk', data: chunk });
      } else {
        const copy = new Uint8Array(chunk.length);
        copy.set(chunk);
        s.post({ op: 'chunk', data: copy }, [copy.buffer]);
      }
      sent += chunk.length;
      while (!s.outcome && sent - consumed > WINDOW) await s.changed();
    }
    if (!s.outcome) s.post({ op: 'end' });
  } catch (e) {
    if (!s.outcome) s.post({ op: 'abort', reason: (e as Error).message ?? String(e) });
    await s.end().catch(() => undefined);
    throw e;
  }
  return s.end();
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Fetches a registry blob on a worker and unpacks it there as it arrives (see BlobFetch):
 * the event loop sees a few messages per MiB instead of every byte. The blob's digest is
 * checked by the worker; a blob that does not match fails with "filesystem layer
 * verification failed", even when the unpacking failed first on its bytes.
 */
export async function unpackBlobInWorker(blob: BlobFetch, job: Omit<UnpackJob, 'fetch'>, onConsumed?: (bytes: number) => void): Promise<UnpackResult> {
  let failures = 0;
  let lastGot = 0;
  let stopped = false;
  // Requests are sent one at a time: the worker reports each failure once.
  let chain: Promise<void> = Promise.resolve();
  const ask = (fresh: boolean, delayMs = 0): void => {
    chain = chain.then(async () => {
      if (delayMs) await sleep(delayMs);
      if (stopped || s.outcome) return;
      let spec: FetchSpec;
      try {
        spec = await blob.request(fresh);
      } catch (e) {
        // the registry cannot be reached or refused credentials: like a lost connection
        follow(blob.lost(e as Error, lastGot));
        return;
      }
      s.post({ op: 'fetch', spec });
    }).catch((e: unknown) => stop(e as Error));
  };
  const stop = (e: Error): void => {
    if (stopped) return;
    stopped = true;
    s.post({ op: 'give-up', error: { message: e.message, ...((e as EngineError).kind ? { kind: (e as EngineError).kind } : {}), ...(typeof (e as EngineError).code === 'string' ? { code: (e as EngineError).code! } : {}) } });
  };
  const follow = (v: FetchVerdict): void => {
    if (!('retry' in v)) return stop(v.error);
    if (v.retry !== 'backoff') return ask(v.retry === 'fresh');
    if (++failures > blob.retries) return stop(v.error);
    ask(false, blob.retryDelayMs * 2 ** (failures - 1));
  };
  const s = new Session((m) => {
    if (stopped) return;
    switch (m.op) {
      case 'ack': onConsumed?.(m.bytes); break;
      case 'got':
        if (m.bytes > lastGot) failures = 0;
        lastGot = m.bytes;
        blob.onBytes?.(m.bytes);
        break;
      case 'fetched': blob.onComplete?.(); break;
      case 'http-error': follow(blob.answered(m.status, m.headers, Buffer.from(m.body.buffer, m.body.byteOffset, m.body.byteLength), m.got)); break;
      case 'fetch-error': follow(blob.lost(revive(m.error), m.got)); break;
    }
  });
  s.post({ op: 'start', job: { ...job, fetch: { digest: blob.digest, ...(blob.size !== undefined ? { size: blob.size } : {}) } } });
  ask(false);
  return s.end();
}
