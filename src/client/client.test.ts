import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isNotFound, isConflict } from '../lib/errdefs.js';
import { EngineClient, encodeFrame, encodeQuery, JsonStreamDecoder, parseDaemonHost, resolveDaemonHost, StreamDemuxer } from './index.js';

async function withServer(handler: http.RequestListener, fn: (client: EngineClient, log: string[]) => Promise<void>, upgrade?: (req: http.IncomingMessage, sock: import('node:net').Socket) => void): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'pier-client-'));
  const sock = join(dir, 's.sock');
  const log: string[] = [];
  const server = http.createServer((req, res) => {
    log.push(`${req.method} ${req.url}`);
    if (req.url === '/_ping') {
      res.writeHead(200, { 'Api-Version': '1.41', 'Content-Length': '0' });
      res.end();
      return;
    }
    handler(req, res);
  });
  if (upgrade) server.on('upgrade', (req, s) => { log.push(`${req.method} ${req.url} upgrade`); upgrade(req, s as import('node:net').Socket); });
  await new Promise<void>((r) => server.listen(sock, r));
  const client = new EngineClient({ host: `unix://${sock}` });
  try {
    await fn(client, log);
  } finally {
    client.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    rmSync(dir, { recursive: true, force: true });
  }
}

test('EngineClient negotiates with HEAD /_ping and prefixes the version', async () => {
  await withServer(
    (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('[]\n');
    },
    async (client, log) => {
      assert.deepEqual(await client.containerList({ all: true }), []);
      assert.deepEqual(log, ['HEAD /_ping', 'GET /v1.41/containers/json?all=1']);
    },
  );
});

test('EngineClient maps error statuses to kinds and keeps the daemon message', async () => {
  await withServer(
    (req, res) => {
      const status = req.url?.includes('nosuch') ? 404 : 409;
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ message: status === 404 ? 'No such container: nosuch' : 'conflict!' }));
    },
    async (client) => {
      await assert.rejects(client.containerInspect('nosuch'), (e: unknown) => isNotFound(e) && (e as Error).message === 'No such container: nosuch');
      await assert.rejects(client.containerRemove('x'), (e: unknown) => isConflict(e) && (e as Error).message === 'conflict!');
    },
  );
});

test('EngineClient treats 304 as success and hijacks with 101', async () => {
  await withServer(
    (_req, res) => {
      res.writeHead(304);
      res.end();
    },
    async (client, log) => {
      assert.equal(await client.containerStart('x'), 304);
      const s = await client.containerAttach('x', { stream: true, stdout: true, stderr: true });
      const chunks: Buffer[] = [];
      for await (const c of s) chunks.push(c as Buffer);
      assert.deepEqual(Buffer.concat(chunks), encodeFrame(1, 'hi\n'));
      assert.ok(log.includes('POST /v1.41/containers/x/attach?stderr=1&stdout=1&stream=1 upgrade'));
    },
    (_req, sock) => {
      sock.write('HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n');
      sock.end(encodeFrame(1, 'hi\n'));
    },
  );
});

test('StreamDemuxer splits frames across chunk boundaries', () => {
  const out: string[] = [];
  const d = new StreamDemuxer({ stdout: (b) => out.push(`o:${b}`), stderr: (b) => out.push(`e:${b}`) });
  const all = Buffer.concat([encodeFrame(1, 'abc'), encodeFrame(2, 'de')]);
  d.push(all.subarray(0, 5));
  d.push(all.subarray(5, 12));
  d.push(all.subarray(12));
  assert.deepEqual(out, ['o:abc', 'e:de']);
  assert.throws(() => d.push(encodeFrame(3, 'bad')), /error from daemon in stream: bad/);
});

test('JsonStreamDecoder reads concatenated values split anywhere', () => {
  const d = new JsonStreamDecoder();
  assert.deepEqual(d.push('{"a":"}{"}{"b'), [{ a: '}{' }]);
  assert.deepEqual(d.push('":[1]}\n'), [{ b: [1] }]);
});

test('hosts, env precedence and query encoding', () => {
  assert.deepEqual(parseDaemonHost('unix:///run/x.sock'), { kind: 'unix', socketPath: '/run/x.sock' });
  assert.deepEqual(parseDaemonHost('tcp://127.0.0.1:2375'), { kind: 'tcp', hostname: '127.0.0.1', port: 2375 });
  assert.equal(resolveDaemonHost(undefined, { PIER_HOST: 'unix:///a', DOCKER_HOST: 'unix:///b' }), 'unix:///a');
  assert.equal(resolveDaemonHost(undefined, { DOCKER_HOST: 'unix:///b' }), 'unix:///b');
  assert.equal(resolveDaemonHost(undefined, {}), 'unix:///run/pier/pier.sock');
  assert.equal(encodeQuery({ a: true, b: undefined, c: ['x', 'y'], d: 'a b' }), '?a=1&c=x&c=y&d=a%20b');
});
