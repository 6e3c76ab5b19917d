/**
 * The HTTP front: version prefix, common headers, routing, and the one place that turns
 * thrown errors into status codes (moby's makeHTTPHandler). Built by a factory so tests
 * can run it on any socket; only main.ts listens.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { API_VERSION, MIN_API_VERSION, compareVersions } from '../../api/index.js';
import { EngineError, kindOf, type ErrorKind } from '../../lib/errdefs.js';
import { Ctx } from './context.js';
import { commonHeaders, sendEmpty, sendJson, writeRawResponse } from './respond.js';
import type { Router } from './router.js';

const statusOf: Record<ErrorKind, number> = {
  'invalid-argument': 400,
  'not-found': 404,
  'already-exists': 409,
  conflict: 409,
  'failed-precondition': 412,
  unauthenticated: 401,
  'permission-denied': 403,
  'not-modified': 304,
  'not-implemented': 501,
  unavailable: 503,
  canceled: 500,
  internal: 500,
};

export type Logger = (level: 'debug' | 'info' | 'warn' | 'error', msg: string) => void;

export function createApiServer(router: Router, log: Logger): Server {
  const server = createServer({ requestTimeout: 0, headersTimeout: 60_000, keepAliveTimeout: 5_000 });
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    for (const [k, v] of Object.entries(commonHeaders())) res.setHeader(k, v);
    void dispatch(router, req, res, undefined, undefined, log);
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => {});
    void dispatch(router, req, undefined, socket, head, log);
  });
  server.on('clientError', (_err, socket) => {
    if ((socket as Duplex).writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
  });
  return server;
}

async function dispatch(router: Router, req: IncomingMessage, res: ServerResponse | undefined, socket: Duplex | undefined, head: Buffer | undefined, log: Logger): Promise<void> {
  let ctx: Ctx | undefined;
  try {
    const url = new URL(req.url ?? '/', 'http://pier');
    let path = url.pathname;
    let version = API_VERSION;
    const m = /^\/v([0-9.]+)(\/.*)$/.exec(path);
    if (m) {
      version = m[1]!;
      path = m[2]!;
      if (compareVersions(version, API_VERSION) > 0) throw new EngineError('invalid-argument', `client version ${version} is too new. Maximum supported API version is ${API_VERSION}`);
      if (compareVersions(version, MIN_API_VERSION) < 0) throw new EngineError('invalid-argument', `client version ${version} is too old. Minimum supported API version is ${MIN_API_VERSION}, please upgrade your client to a newer version`);
    }
    const method = req.method ?? 'GET';
    const hit = router.match(method, path);
    ctx = new Ctx(req, res, hit?.params ?? {}, url.searchParams, version);
    if (socket) { ctx.upgradeSocket = socket; ctx.upgradeHead = head; }
    if (!hit) throw new EngineError('not-found', 'page not found');
    await hit.handler(ctx);
  } catch (err) {
    const kind = kindOf(err) ?? 'internal';
    const status = statusOf[kind];
    const message = err instanceof Error ? err.message : String(err);
    if (status >= 500) log(kindOf(err) ? 'error' : 'warn', `${req.method} ${req.url}: ${kind === 'internal' && !kindOf(err) ? `unclassified ${(err as Error)?.constructor?.name}: ` : ''}${message}`);
    else log('debug', `${req.method} ${req.url}: ${status} ${message}`);
    try {
      if (ctx?.hijacked) { ctx.socket.destroy(); return; }
      if (res) {
        if (res.headersSent) { res.destroy(); return; }
        const c = ctx ?? new Ctx(req, res, {}, new URLSearchParams(), API_VERSION);
        if (status === 304) sendEmpty(c, 304); else sendJson(c, status, { message });
      } else if (socket) {
        writeRawResponse(socket, status, { 'Content-Type': 'application/json' }, status === 304 ? '' : JSON.stringify({ message }) + '\n');
      }
    } catch { /* the client is gone */ }
  }
}
