import { test } from 'node:test';
import assert from 'node:assert/strict';
import http, { type Server } from 'node:http';
import net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EngineError, type ErrorKind } from '../../lib/errdefs.js';
import { createApiServer } from './server.js';
import { Router } from './router.js';
import { frame, hijack, sendJson, startStream } from './respond.js';

interface Reply { status: number; headers: http.IncomingHttpHeaders; body: string }

function testRouter(): Router {
  return new Router()
    .get('/x', async (ctx) => sendJson(ctx, 200, { ok: true, version: ctx.apiVersion, q: ctx.q('a') ?? null }))
    .get('/err/:kind', async (ctx) => { throw new EngineError(ctx.params.kind as ErrorKind, `boom ${ctx.params.kind}`); })
    .get('/wrapped', async () => { throw new Error('outer', { cause: new EngineError('not-found', 'inner') }); })
    .get('/plain', async () => { throw new Error('kaput'); })
    .get('/string', async () => { throw 'just a string'; }) // eslint-disable-line no-throw-literal
    .get('/late', async (ctx) => {
      const s = startStream(ctx, 'application/json');
      s.write('{"partial":');
      throw new EngineError('internal', 'failed mid-stream');
    })
    .post('/echo', async (ctx) => sendJson(ctx, 200, { body: (await ctx.json()) ?? null }))
    .post('/hijack', async (ctx) => {
      const body = await ctx.json<{ say?: string }>();
      const sock = hijack(ctx, 'application/vnd.docker.raw-stream');
      sock.write(frame(1, Buffer.from(body?.say ?? 'out')));
      sock.write(frame(2, Buffer.from('err')));
      sock.end();
    });
}

async function withServer(fn: (sock: string, logs: string[]) => Promise<void>, router = testRouter()): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'pier-server-'));
  const sock = join(dir, 'api.sock');
  const logs: string[] = [];
  const server: Server = createApiServer(router, (level, msg) => logs.push(`${level} ${msg}`));
  await new Promise<void>((resolve) => server.listen(sock, resolve));
  try {
    await fn(sock, logs);
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  }
}

function request(sock: string, method: string, path: string, opts: { body?: string; headers?: Record<string, string> } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: sock, method, path, agent: false, headers: opts.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** Sends raw bytes and collects everything until the server closes the connection. */
function rawExchange(sock: string, data: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const c = net.createConnection(sock);
    const chunks: Buffer[] = [];
    c.on('data', (d) => chunks.push(d));
    c.on('end', () => { c.end(); resolve(Buffer.concat(chunks)); });
    c.on('error', reject);
    c.write(data);
  });
}

function splitResponse(buf: Buffer): { statusLine: string; headers: Map<string, string>; body: Buffer } {
  const end = buf.indexOf('\r\n\r\n');
  assert.ok(end > 0, `no header terminator in ${JSON.stringify(buf.toString())}`);
  const [statusLine = '', ...lines] = buf.subarray(0, end).toString().split('\r\n');
  const headers = new Map(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
  return { statusLine, headers, body: buf.subarray(end + 4) };
}

test('createApiServer() routes /v1.41/x and /x to the same handler', async () => {
  await withServer(async (sock) => {
    const a = await request(sock, 'GET', '/x?a=1');
    const b = await request(sock, 'GET', '/v1.41/x?a=1');
    assert.equal(a.status, 200);
    assert.equal(b.status, 200);
    assert.deepEqual(JSON.parse(a.body), { ok: true, version: '1.41', q: '1' });
    assert.deepEqual(JSON.parse(b.body), JSON.parse(a.body));
  });
});

test('createApiServer() hands the requested API version to the handler', async () => {
  await withServer(async (sock) => {
    assert.equal(JSON.parse((await request(sock, 'GET', '/v1.24/x')).body).version, '1.24');
    assert.equal(JSON.parse((await request(sock, 'GET', '/v1.40/x')).body).version, '1.40');
  });
});

test('createApiServer() rejects a too new API version with Docker\'s message', async () => {
  await withServer(async (sock) => {
    const r = await request(sock, 'GET', '/v1.99/x');
    assert.equal(r.status, 400);
    assert.deepEqual(JSON.parse(r.body), { message: 'client version 1.99 is too new. Maximum supported API version is 1.41' });
  });
});

test('createApiServer() rejects a too old API version with Docker\'s message', async () => {
  await withServer(async (sock) => {
    const r = await request(sock, 'GET', '/v1.12/x');
    assert.equal(r.status, 400);
    assert.deepEqual(JSON.parse(r.body), { message: 'client version 1.12 is too old. Minimum supported API version is 1.24, please upgrade your client to a newer version' });
  });
});

test('createApiServer() answers an unknown path with 404 page not found as application/json', async () => {
  await withServer(async (sock) => {
    for (const [method, path] of [['GET', '/nope'], ['GET', '/v1.41/nope'], ['DELETE', '/x'], ['GET', '/']]) {
      const r = await request(sock, method!, path!);
      assert.equal(r.status, 404, `${method} ${path}`);
      assert.equal(r.headers['content-type'], 'application/json');
      assert.deepEqual(JSON.parse(r.body), { message: 'page not found' });
    }
  });
});

test('createApiServer() maps each error kind to its HTTP status with a {"message"} body', async () => {
  const want: Record<ErrorKind, number> = {
    'invalid-argument': 400, unauthenticated: 401, 'permission-denied': 403, 'not-found': 404, conflict: 409,
    'already-exists': 409, 'failed-precondition': 412, 'not-implemented': 501, unavailable: 503, canceled: 500,
    internal: 500, 'not-modified': 304,
  };
  await withServer(async (sock) => {
    for (const [kind, status] of Object.entries(want)) {
      const r = await request(sock, 'GET', `/err/${kind}`);
      assert.equal(r.status, status, kind);
      if (status === 304) continue;
      assert.equal(r.headers['content-type'], 'application/json', kind);
      assert.deepEqual(JSON.parse(r.body), { message: `boom ${kind}` }, kind);
    }
  });
});

test('createApiServer() answers not-modified with an empty 304', async () => {
  await withServer(async (sock) => {
    const r = await request(sock, 'GET', '/err/not-modified');
    assert.equal(r.status, 304);
    assert.equal(r.body, '');
    assert.equal(r.headers['content-type'], undefined);
  });
});

test('createApiServer() classifies a wrapped error by the kind in its cause chain', async () => {
  await withServer(async (sock) => {
    const r = await request(sock, 'GET', '/wrapped');
    assert.equal(r.status, 404);
    assert.deepEqual(JSON.parse(r.body), { message: 'outer' });
  });
});

test('createApiServer() answers an unclassified error with 500 and logs it', async () => {
  await withServer(async (sock, logs) => {
    const r = await request(sock, 'GET', '/plain');
    assert.equal(r.status, 500);
    assert.deepEqual(JSON.parse(r.body), { message: 'kaput' });
    assert.ok(logs.some((l) => l.includes('GET /plain') && l.includes('unclassified Error: kaput')), logs.join('\n'));
    const s = await request(sock, 'GET', '/string');
    assert.equal(s.status, 500);
    assert.deepEqual(JSON.parse(s.body), { message: 'just a string' });
  });
});

test('createApiServer() logs 5xx answers but not 4xx ones above debug', async () => {
  await withServer(async (sock, logs) => {
    await request(sock, 'GET', '/err/not-found');
    await request(sock, 'GET', '/err/unavailable');
    assert.deepEqual(logs.filter((l) => !l.startsWith('debug ')), ['error GET /err/unavailable: boom unavailable']);
  });
});

test('createApiServer() sets Api-Version, Ostype and Server on every response', async () => {
  await withServer(async (sock) => {
    for (const path of ['/x', '/nope', '/err/conflict', '/err/not-modified', '/plain', '/v1.99/x']) {
      const r = await request(sock, 'GET', path);
      assert.equal(r.headers['api-version'], '1.41', path);
      assert.equal(r.headers['ostype'], 'linux', path);
      assert.match(String(r.headers['server']), /^Docker\/\S+ \(linux\)/, path);
    }
  });
});

test('createApiServer() answers a malformed JSON body with 400', async () => {
  await withServer(async (sock) => {
    const r = await request(sock, 'POST', '/echo', { body: '{"Image": ', headers: { 'Content-Type': 'application/json' } });
    assert.equal(r.status, 400);
    assert.match(JSON.parse(r.body).message, /^invalid JSON/);
    const ok = await request(sock, 'POST', '/echo', { body: '{"Image":"busybox"}', headers: { 'Content-Type': 'application/json' } });
    assert.deepEqual(JSON.parse(ok.body), { body: { Image: 'busybox' } });
    const empty = await request(sock, 'POST', '/echo');
    assert.deepEqual(JSON.parse(empty.body), { body: null });
  });
});

test('createApiServer() keeps serving after handler errors, including one after headers were sent', async () => {
  await withServer(async (sock) => {
    await request(sock, 'GET', '/plain');
    await assert.rejects(request(sock, 'GET', '/late'), 'a stream that fails is cut off, not completed');
    await request(sock, 'GET', '/err/internal');
    const r = await request(sock, 'GET', '/x');
    assert.equal(r.status, 200);
    assert.equal(JSON.parse(r.body).ok, true);
  });
});

test('hijack() answers 101 UPGRADED with Docker\'s headers when the client asks for an upgrade', async () => {
  await withServer(async (sock) => {
    const raw = await rawExchange(sock, 'POST /v1.41/hijack HTTP/1.1\r\nHost: docker\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n');
    const { statusLine, headers, body } = splitResponse(raw);
    assert.equal(statusLine, 'HTTP/1.1 101 UPGRADED');
    assert.equal(headers.get('content-type'), 'application/vnd.docker.raw-stream');
    assert.equal(headers.get('connection'), 'Upgrade');
    assert.equal(headers.get('upgrade'), 'tcp');
    // moby copies the response headers set so far (Api-Version, Ostype...) into the 101.
    assert.equal(headers.get('api-version'), '1.41');
    assert.equal(headers.get('ostype'), 'linux');
    assert.deepEqual(body, Buffer.concat([frame(1, Buffer.from('out')), frame(2, Buffer.from('err'))]));
  });
});

test('hijack() reads a JSON body sent with an upgrade request', async () => {
  await withServer(async (sock) => {
    const json = '{"say":"hello"}';
    const raw = await rawExchange(sock, `POST /hijack HTTP/1.1\r\nHost: docker\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Type: application/json\r\nContent-Length: ${json.length}\r\n\r\n${json}`);
    const { statusLine, body } = splitResponse(raw);
    assert.equal(statusLine, 'HTTP/1.1 101 UPGRADED');
    assert.deepEqual(body.subarray(0, 13), frame(1, Buffer.from('hello')));
  });
});

test('hijack() answers 200 OK with a close-delimited stream to a plain request', async () => {
  await withServer(async (sock) => {
    const raw = await rawExchange(sock, 'POST /hijack HTTP/1.1\r\nHost: docker\r\nContent-Length: 0\r\n\r\n');
    const { statusLine, headers, body } = splitResponse(raw);
    assert.equal(statusLine, 'HTTP/1.1 200 OK');
    assert.equal(headers.get('content-type'), 'application/vnd.docker.raw-stream');
    assert.equal(headers.get('api-version'), '1.41');
    assert.equal(headers.get('connection'), 'close');
    assert.equal(headers.has('content-length'), false);
    assert.equal(headers.has('transfer-encoding'), false);
    assert.deepEqual(body, Buffer.concat([frame(1, Buffer.from('out')), frame(2, Buffer.from('err'))]));
  });
});

test('createApiServer() answers an error on an upgrade request as a plain HTTP response', async () => {
  await withServer(async (sock) => {
    const raw = await rawExchange(sock, 'POST /v1.41/err/not-found HTTP/1.1\r\nHost: docker\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n');
    const { statusLine, headers, body } = splitResponse(raw);
    assert.equal(statusLine, 'HTTP/1.1 404 Not Found');
    assert.equal(headers.get('content-type'), 'application/json');
    assert.equal(headers.get('api-version'), '1.41');
    assert.deepEqual(JSON.parse(body.toString()), { message: 'page not found' });
  });
});

test('frame() writes the 8-byte stdcopy header: stream, three zeros, big-endian size', () => {
  assert.deepEqual(frame(1, Buffer.from('hi')), Buffer.from([1, 0, 0, 0, 0, 0, 0, 2, 0x68, 0x69]));
  assert.deepEqual(frame(2, Buffer.alloc(0)), Buffer.from([2, 0, 0, 0, 0, 0, 0, 0]));
  const big = frame(1, Buffer.alloc(70000, 0x61));
  assert.deepEqual(big.subarray(0, 8), Buffer.from([1, 0, 0, 0, 0x00, 0x01, 0x11, 0x70]));
  assert.equal(big.length, 70008);
});
