/** Answers: JSON, empty, streams (chunked, headers flushed at once), and hijacked sockets. */
import type { Duplex } from 'node:stream';
import type { Ctx } from './context.js';
import { API_VERSION, ENGINE_VERSION } from '../../api/index.js';

export const commonHeaders = (apiVersion = API_VERSION): Record<string, string> => ({
  'Api-Version': apiVersion,
  'Docker-Experimental': 'false',
  'Ostype': 'linux',
  'Server': `Docker/${ENGINE_VERSION} (linux) pier`,
});

export function sendJson(ctx: Ctx, status: number, body: unknown): void {
  const data = JSON.stringify(body) + '\n';
  if (ctx.res) {
    ctx.res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data) });
    ctx.res.end(data);
  } else {
    writeRawResponse(ctx.socket, status, { 'Content-Type': 'application/json' }, data);
  }
}

export function sendEmpty(ctx: Ctx, status: number): void {
  if (ctx.res) {
    ctx.res.writeHead(status, status === 204 || status === 304 ? {} : { 'Content-Length': 0 });
    ctx.res.end();
  } else {
    writeRawResponse(ctx.socket, status, {}, '');
  }
}

export function sendText(ctx: Ctx, status: number, text: string, contentType = 'text/plain; charset=utf-8'): void {
  ctx.res!.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(text) });
  ctx.res!.end(text);
}

const reasons: Record<number, string> = {
  200: 'OK', 201: 'Created', 204: 'No Content', 304: 'Not Modified', 400: 'Bad Request', 401: 'Unauthorized',
  403: 'Forbidden', 404: 'Not Found', 409: 'Conflict', 500: 'Internal Server Error', 501: 'Not Implemented',
  503: 'Service Unavailable',
};

export function writeRawResponse(sock: Duplex, status: number, headers: Record<string, string>, body: string): void {
  const all = { ...commonHeaders(), ...headers, 'Content-Length': String(Buffer.byteLength(body)), Connection: 'close' };
  const head = `HTTP/1.1 ${status} ${reasons[status] ?? 'Status'}\r\n` + Object.entries(all).map(([k, v]) => `${k}: ${v}\r\n`).join('') + '\r\n';
  sock.end(head + body);
}

/** A chunked stream with headers sent at once (wait, events, logs -f, progress). */
export function startStream(ctx: Ctx, contentType: string | undefined, status = 200): { write: (d: string | Buffer) => boolean; end: () => void; closed: AbortSignal } {
  const res = ctx.res!;
  const ac = new AbortController();
  res.on('close', () => ac.abort());
  res.writeHead(status, contentType ? { 'Content-Type': contentType } : {});
  res.flushHeaders();
  return {
    write: (d) => (res.writableEnded || res.destroyed ? false : res.write(d)),
    end: () => { if (!res.writableEnded) res.end(); },
    closed: ac.signal,
  };
}

/**
 * Takes over the connection: `101 UPGRADED` when the client asked for an upgrade, else
 * `200 OK` with a close-delimited body (dockerode's exec start).
 */
export function hijack(ctx: Ctx, contentType: string): Duplex {
  ctx.hijacked = true;
  const sock = ctx.socket;
  if (ctx.res) {
    // A plain request: detach the socket from Node's HTTP machinery.
    ctx.res.detachSocket?.(sock as never);
  }
  // moby copies the headers set so far (Api-Version, Ostype...) into both answers.
  const common = Object.entries(commonHeaders()).map(([k, v]) => `${k}: ${v}`);
  const lines = ctx.wantsUpgrade
    ? ['HTTP/1.1 101 UPGRADED', `Content-Type: ${contentType}`, 'Connection: Upgrade', 'Upgrade: tcp', ...common]
    : ['HTTP/1.1 200 OK', `Content-Type: ${contentType}`, ...common, 'Connection: close'];
  (sock as Duplex & { setNoDelay?: (b: boolean) => void }).setNoDelay?.(true);
  sock.write(lines.join('\r\n') + '\r\n\r\n');
  return sock;
}

/** Docker's stdcopy frame: [stream, 0, 0, 0, size(4, big-endian)] + payload. */
export function frame(stream: 1 | 2, data: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h[0] = stream;
  h.writeUInt32BE(data.length, 4);
  return Buffer.concat([h, data]);
}
