import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { EngineError } from '../errdefs.js';
import { archive, chunked } from './fixture-kit.js';
import { decodeTarSplit } from './tar-split.js';
import { unpackBlobInWorker, unpackInWorker, type BlobFetch, type FetchVerdict } from './unpack-in-worker.js';

const sha = (b: Buffer): string => 'sha256:' + createHash('sha256').update(b).digest('hex');

describe('unpackInWorker / unpackBlobInWorker', () => {
  let base: string;
  let tar: Buffer;
  let gz: Buffer;
  let server: http.Server;
  let port: number;
  /** What the test server does with the next request for /blob. */
  let plan: Array<'cut' | '401' | '500' | 'garbage' | 'ok' | 'ignore-range'> = [];
  const seen: Array<{ range?: string; auth?: string }> = [];

  before(async () => {
    base = mkdtempSync(join(tmpdir(), 'pier-unpackw-'));
    tar = await archive([
      { name: 'etc/', type: 'dir', mode: 0o755 },
      { name: 'etc/hello', type: 'file', mode: 0o644, body: Buffer.from('hello\n') },
      { name: 'big', type: 'file', mode: 0o600, body: randomBytes(3 << 20) },
    ]);
    gz = gzipSync(tar, { level: 1 });
    server = http.createServer((req, res) => {
      seen.push({ ...(req.headers.range ? { range: req.headers.range } : {}), ...(req.headers.authorization ? { auth: req.headers.authorization } : {}) });
      if (req.url === '/moved') { res.writeHead(307, { Location: '/blob' }).end(); return; }
      const what = plan.shift() ?? 'ok';
      if (what === '401') { res.writeHead(401, { 'WWW-Authenticate': 'Bearer realm="x"' }).end('{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}'); return; }
      if (what === '500') { res.writeHead(500).end('busy'); return; }
      const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
      const from = m && what !== 'ignore-range' ? Number(m[1]) : 0;
      const body = what === 'garbage' ? Buffer.concat([gz.subarray(0, 1000), randomBytes(gz.length - 1000)]) : gz;
      res.writeHead(from ? 206 : 200, { 'Content-Length': String(body.length - from) });
      if (what === 'cut') { res.write(body.subarray(from, from + 500_000), () => res.destroy()); return; }
      res.end(body.subarray(from));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });

  after(() => {
    server.close();
    rmSync(base, { recursive: true, force: true });
  });

  const dir = (): string => mkdtempSync(join(base, 'd-'));

  type TestBlob = BlobFetch & { done: boolean; fresh: number };
  function blob(path = '/blob'): TestBlob {
    const b: TestBlob = {
      digest: sha(gz), size: gz.length, retries: 3, retryDelayMs: 10, done: false, fresh: 0,
      request: async (fresh) => {
        if (fresh) b.fresh++;
        return { url: `http://127.0.0.1:${port}${path}`, headers: { Authorization: `Bearer t${b.fresh}` } };
      },
      answered: (status: number, _h: Record<string, string>, body: Buffer): FetchVerdict =>
        status === 401 && b.fresh === 0 ? { retry: 'fresh' }
          : status >= 500 ? { retry: 'backoff', error: new EngineError('unavailable', `status ${status}`) }
            : { error: new EngineError('unauthenticated', `status ${status}: ${body.toString()}`) },
      lost: (error: Error): FetchVerdict => ({ retry: 'backoff', error }),
      onComplete: () => { b.done = true; },
    };
    return b;
  }

  it('unpacks a gzip stream fed from this thread, with its digest, size and tar-split record', async () => {
    const d = dir();
    const spillPath = join(base, 'spill-a');
    const r = await unpackInWorker(chunked(gz, 100_000), { dir: d, whiteouts: 'overlay', split: { digest: sha(tar), spillPath } });
    assert.equal(r.digest, sha(tar));
    assert.equal(r.tarSize, tar.length);
    assert.equal(r.bytes, 6 + (3 << 20));
    assert.equal(r.spilled, false);
    assert.equal(readFileSync(join(d, 'etc/hello'), 'utf8'), 'hello\n');
    assert.equal(decodeTarSplit(Buffer.from(r.record!)).digest, sha(tar));
    assert.equal(existsSync(spillPath), false);
  });

  it('a failing source wins over what the worker saw; a hostile archive fails with the extractor\'s error', async () => {
    async function* broken(): AsyncGenerator<Buffer> {
      yield gz.subarray(0, 200_000);
      throw new Error('connection reset');
    }
    await assert.rejects(unpackInWorker(broken(), { dir: dir(), whiteouts: 'overlay' }), /connection reset/);
    const evil = await archive([{ name: '../escape', type: 'file', mode: 0o644, body: Buffer.from('x') }]);
    await assert.rejects(unpackInWorker(chunked(evil, 512), { dir: dir(), whiteouts: 'overlay' }), (e: unknown) => e instanceof EngineError && e.kind === 'invalid-argument');
    assert.equal(existsSync(join(base, 'escape')), false);
  });

  it('fetches over HTTP on the worker, following redirects, and reports completion', async () => {
    plan = ['ok'];
    const b = blob('/moved');
    const got: number[] = [];
    b.onBytes = (n) => got.push(n);
    const r = await unpackBlobInWorker(b, { dir: dir(), whiteouts: 'overlay' });
    assert.equal(r.digest, sha(tar));
    assert.equal(b.done, true);
    assert.equal(got.at(-1), gz.length);
  });

  it('resumes a cut download with Range (and copes with a server that ignores it), retries a 500, refreshes credentials after a 401', async () => {
    seen.length = 0;
    plan = ['401', 'cut', '500', 'cut', 'ignore-range'];
    const b = blob();
    const r = await unpackBlobInWorker(b, { dir: dir(), whiteouts: 'overlay' });
    assert.equal(r.digest, sha(tar));
    assert.equal(b.fresh, 1);
    assert.deepEqual(seen.map((s) => s.range ?? '-'), ['-', '-', 'bytes=500000-', 'bytes=500000-', 'bytes=1000000-']);
    assert.equal(seen[1]!.auth, 'Bearer t1');
  });

  it('gives up after the retries with the last error, and refuses a blob whose digest does not match', async () => {
    plan = ['500', '500', '500', '500'];
    await assert.rejects(unpackBlobInWorker(blob(), { dir: dir(), whiteouts: 'overlay' }), /status 500/);
    plan = ['garbage'];
    const b = blob();
    await assert.rejects(unpackBlobInWorker(b, { dir: dir(), whiteouts: 'overlay' }), new RegExp(`filesystem layer verification failed for digest ${b.digest}`));
    assert.equal(b.done, false);
    plan = ['401', '401'];
    await assert.rejects(unpackBlobInWorker(blob(), { dir: dir(), whiteouts: 'overlay' }), /status 401: .*authentication required/);
  });
});
