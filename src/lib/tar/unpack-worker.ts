/**
 * The worker side of unpackInWorker (unpack-in-worker.ts): one layer at a time. gunzip, the
 * sha256 of the tar, the tar reader, the extractor's file writes and the tar-split record
 * all run on this thread, with this thread's heap. The input either arrives as messages or,
 * for a registry blob, is fetched here over HTTP(S) from the URL the main thread gives
 * (which keeps auth, retries and error wording), hashed and checked against its digest.
 */
import { createHash, type Hash } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { parentPort } from 'node:worker_threads';
import { EngineError } from '../errdefs.js';
import { maybeDecompress } from './decompress.js';
import { extractTar } from './extract-tar.js';
import { readTar } from './tar-reader.js';
import { TarSplitRecorder } from './tar-split.js';
import type { FetchSpec, FromUnpackWorker, ToUnpackWorker, UnpackJob, UnpackResult, WireError } from './unpack-in-worker.js';

const port = parentPort!;
/** Messages for one job (several run at once on this thread). */
type Send = (m: FromUnpackWorker, transfer?: ArrayBuffer[]) => void;
const sender = (id: number): Send => (m, transfer = []) => port.postMessage({ ...m, id }, transfer);
const wire = (e: unknown): WireError => {
  const err = e as Error & { kind?: string; code?: string };
  return { message: err?.message ?? String(e), ...(err?.kind ? { kind: err.kind } : {}), ...(typeof err?.code === 'string' ? { code: err.code } : {}) };
};

/** Acknowledged input is reported in steps of at least this many bytes. */
const ACK_STEP = 1 << 20;
/** Fetched bytes not yet taken by the reader before the response is paused. */
const FETCH_AHEAD = 4 << 20;

/** The input as an async iterable; what the reader takes is acknowledged to the main thread. */
class Feed implements AsyncIterable<Buffer> {
  private readonly queue: Buffer[] = [];
  private queued = 0;
  private ended = false;
  private failure?: Error;
  private wake?: () => void;
  private roomWake?: () => void;
  private taken = 0;
  private acked = 0;
  /** Set once the reader is gone (finished or failed): pushes are dropped. */
  closed = false;

  constructor(private readonly ackEvery: number, private readonly send: Send) {}

  push(b: Buffer): void {
    if (this.closed) return;
    this.queue.push(b);
    this.queued += b.length;
    this.poke();
  }
  end(): void { this.ended = true; this.poke(); }
  fail(e: Error): void { this.failure ??= e; this.poke(); }
  close(): void {
    this.closed = true;
    this.queue.length = 0;
    this.queued = 0;
    this.poke();
  }

  /** Resolves once fewer than `limit` bytes wait for the reader (or nobody reads any more). */
  async room(limit: number): Promise<void> {
    while (!this.closed && this.queued >= limit) await new Promise<void>((r) => { this.roomWake = r; });
  }

  private poke(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
    const r = this.roomWake;
    this.roomWake = undefined;
    r?.();
  }

  private ack(force: boolean): void {
    if (this.taken > this.acked && (force || this.taken - this.acked >= this.ackEvery)) {
      this.send({ op: 'ack', bytes: this.taken });
      this.acked = this.taken;
    }
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Buffer> {
    for (;;) {
      if (this.failure) throw this.failure;
      const b = this.queue.shift();
      if (b) {
        this.queued -= b.length;
        this.taken += b.length;
        this.ack(false);
        this.poke();
        yield b;
        continue;
      }
      if (this.ended) { this.ack(true); return; }
      if (this.ackEvery === 0) this.ack(true);
      await new Promise<void>((r) => { this.wake = r; });
    }
  }
}

/** The unpacking itself: resolves with the result or rejects with the extraction's error. */
async function unpack(job: UnpackJob, input: Feed): Promise<UnpackResult & { transfer: ArrayBuffer[] }> {
  const split = job.split ? new TarSplitRecorder(job.split.digest, job.split.spillPath) : undefined;
  const hash = createHash('sha256');
  let size = 0;
  async function* hashed(): AsyncGenerator<Buffer> {
    // the tar's sha256 is checked against the diff ID (job.split.digest): gzip's CRC-32 adds nothing
    for await (const c of maybeDecompress(input, { crc: !job.split })) {
      hash.update(c);
      size += c.length;
      yield c;
    }
  }
  try {
    const plain = hashed();
    const stats = await extractTar(readTar(plain, split ? { split } : {}), job.dir, { whiteouts: job.whiteouts, ...(split ? { split } : {}) });
    for await (const rest of plain) void rest; // readTar drains after the end blocks; this is only a guard
    const digest = `sha256:${hash.digest('hex')}`;
    const out = split && digest === job.split?.digest ? split.finish() : {};
    const record = out.record ? new Uint8Array(out.record) : undefined;
    return { bytes: stats.bytes, tarSize: size, digest, spilled: !!out.spill, ...(record ? { record } : {}), transfer: record ? [record.buffer as ArrayBuffer] : [] };
  } finally {
    split?.dispose();
  }
}

/** A registry blob fetched here: resumed with Range on each new `fetch`, hashed as it passes. */
class Fetcher {
  private readonly hash: Hash = createHash('sha256');
  private got = 0;
  private reported = 0;
  /** Settles when the download is complete and verified, or fails for good. */
  readonly finished: Promise<void>;
  private settle!: { resolve: () => void; reject: (e: Error) => void };
  private current?: http.ClientRequest;
  private gen = 0;

  constructor(private readonly blob: NonNullable<UnpackJob['fetch']>, private readonly feed: Feed, private readonly send: Send) {
    this.finished = new Promise((resolve, reject) => { this.settle = { resolve, reject }; });
    this.finished.catch(() => undefined);
  }

  giveUp(e: Error): void {
    this.gen++;
    this.current?.destroy();
    this.settle.reject(e);
  }

  /** One request for the rest of the blob (the main thread sends the next one after a failure). */
  start(spec: FetchSpec): void {
    const gen = ++this.gen;
    let failed = false;
    // Reported once per request, and only while it is the current one.
    const lost = (error: WireError): void => {
      if (failed || gen !== this.gen) return;
      failed = true;
      this.send({ op: 'fetch-error', error, got: this.got });
    };
    const headers = { ...spec.headers, ...(this.got > 0 ? { Range: `bytes=${this.got}-` } : {}) };
    this.request(spec, spec.url, headers, 0, lost);
  }

  private request(spec: FetchSpec, url: string, headers: Record<string, string>, redirects: number, lost: (e: WireError) => void): void {
    const u = new URL(url);
    const tls = u.protocol === 'https:';
    const req = (tls ? https : http).request(u, { method: 'GET', headers, ...(tls ? (spec.tls ?? {}) : {}), timeout: 60_000 }, (res) => {
      const loc = res.headers.location;
      const status = res.statusCode ?? 0;
      if ([301, 302, 303, 307, 308].includes(status) && loc && redirects < 5) {
        res.resume();
        const next = new URL(loc, url);
        const h = { ...headers };
        if (next.host !== u.host) delete h.Authorization;
        this.request(spec, next.toString(), h, redirects + 1, lost);
        return;
      }
      if (status !== 200 && status !== 206) {
        const parts: Buffer[] = [];
        let n = 0;
        res.on('data', (c: Buffer) => { if (n < 65536) { parts.push(c); n += c.length; } });
        res.on('end', () => this.send({ op: 'http-error', status, headers: flatHeaders(res.headers), body: new Uint8Array(Buffer.concat(parts)), got: this.got }));
        res.on('error', (e) => lost(wire(e)));
        return;
      }
      void this.stream(res, status === 200 ? this.got : 0, lost);
    });
    this.current = req;
    req.on('timeout', () => req.destroy(new Error('timeout awaiting response headers')));
    req.on('error', (e) => lost(wire(e)));
    req.end();
  }

  private async stream(res: http.IncomingMessage, skip: number, lost: (e: WireError) => void): Promise<void> {
    const { digest, size } = this.blob;
    try {
      for await (const raw of res) {
        let chunk = raw as Buffer;
        if (skip > 0) { // a server that ignores Range resends from 0
          if (chunk.length <= skip) { skip -= chunk.length; continue; }
          chunk = chunk.subarray(skip);
          skip = 0;
        }
        this.got += chunk.length;
        if (size !== undefined && this.got > size) {
          this.giveUp(new EngineError('invalid-argument', `filesystem layer verification failed for digest ${digest}: larger than its size ${size}`));
          return;
        }
        this.hash.update(chunk);
        this.feed.push(chunk);
        if (this.got - this.reported >= ACK_STEP) { this.reported = this.got; this.send({ op: 'got', bytes: this.got }); }
        await this.feed.room(FETCH_AHEAD);
      }
    } catch (e) {
      lost(wire(e));
      return;
    }
    if (size !== undefined && this.got < size) {
      lost({ message: `unexpected EOF after ${this.got} of ${size} bytes of ${digest}`, kind: 'unavailable' });
      return;
    }
    this.send({ op: 'got', bytes: this.got });
    const actual = `sha256:${this.hash.digest('hex')}`;
    if (actual !== digest) {
      this.settle.reject(new EngineError('invalid-argument', `filesystem layer verification failed for digest ${digest}`));
      return;
    }
    this.send({ op: 'fetched' });
    this.settle.resolve();
  }
}

function flatHeaders(h: http.IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

/** The jobs running on this thread, by the id the main thread gave them. */
const jobs = new Map<number, { feed: Feed; fetcher?: Fetcher }>();

async function run(id: number, job: UnpackJob): Promise<void> {
  const send = sender(id);
  const input = new Feed(job.fetch ? ACK_STEP : 0, send);
  const f = job.fetch ? new Fetcher(job.fetch, input, send) : undefined;
  jobs.set(id, { feed: input, ...(f ? { fetcher: f } : {}) });
  const unpacking = unpack(job, input);
  try {
    if (!f) {
      const { transfer, ...result } = await unpacking;
      send({ op: 'done', result }, transfer);
      return;
    }
    // The download's outcome decides first: a corrupted blob is reported as such even when
    // the unpacking failed first on its garbage. The download goes on to its end for that.
    const unpacked = unpacking.then((r) => ({ r }), (e: unknown) => ({ e }));
    let fetchError: unknown;
    await Promise.race([
      f.finished.then(() => input.end(), (e: unknown) => { fetchError = e; input.fail(e as Error); }),
      unpacked.then((u) => { if ('e' in u) input.close(); }),
    ]);
    const u = await unpacked;
    if (fetchError === undefined) {
      try { await f.finished; } catch (e) { fetchError = e; }
    }
    if (fetchError !== undefined) throw fetchError;
    if ('e' in u) throw u.e;
    const { transfer, ...result } = u.r;
    send({ op: 'done', result }, transfer);
  } catch (e) {
    send({ op: 'error', error: wire(e) });
  } finally {
    input.close();
    jobs.delete(id);
  }
}

port.on('message', (m: ToUnpackWorker & { id: number }) => {
  if (m.op === 'start') { void run(m.id, m.job); return; }
  const j = jobs.get(m.id);
  if (!j) return;
  switch (m.op) {
    case 'chunk':
      j.feed.push(Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength));
      break;
    case 'end':
      j.feed.end();
      break;
    case 'abort':
      j.feed.fail(new Error(m.reason));
      break;
    case 'fetch':
      j.fetcher?.start(m.spec);
      break;
    case 'give-up':
      j.fetcher?.giveUp(revive(m.error));
      break;
  }
});

function revive(e: WireError): Error {
  return e.kind ? new EngineError(e.kind as never, e.message, e.code ? { code: e.code } : {}) : new Error(e.message);
}
