/** What a route handler gets: the parsed request, and ways to answer, stream or hijack. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { invalidArgument } from '../../lib/errdefs.js';
import { queryBool } from '../../api/index.js';

export type Handler = (ctx: Ctx) => Promise<void>;

const MAX_JSON_BODY = 16 * 1024 * 1024;

export class Ctx {
  /** Set for requests that arrived through Node's 'upgrade' event. */
  upgradeHead: Buffer | undefined;
  upgradeSocket: Duplex | undefined;
  /** True once a handler took over the raw socket. */
  hijacked = false;

  constructor(
    readonly req: IncomingMessage,
    readonly res: ServerResponse | undefined,
    readonly params: Record<string, string>,
    readonly query: URLSearchParams,
    readonly apiVersion: string,
  ) {}

  q(name: string): string | undefined {
    const v = this.query.get(name);
    return v === null ? undefined : v;
  }

  bool(name: string, dflt = false): boolean {
    return queryBool(this.query.get(name), dflt);
  }

  int(name: string): number | undefined {
    const v = this.query.get(name);
    if (v === null || v === '') return undefined;
    const n = Number(v);
    if (!Number.isFinite(n)) throw invalidArgument(`invalid value for ${name}: ${v}`);
    return Math.trunc(n);
  }

  /** The JSON body (undefined when empty). For upgraded requests the body sits in `head`. */
  async json<T>(): Promise<T | undefined> {
    const raw = await this.rawBody();
    if (raw.length === 0) return undefined;
    try {
      return JSON.parse(raw.toString('utf8')) as T;
    } catch (e) {
      throw invalidArgument(`invalid JSON: ${(e as Error).message}`);
    }
  }

  private bodyCache: Buffer | undefined;
  async rawBody(): Promise<Buffer> {
    if (this.bodyCache) return this.bodyCache;
    if (this.upgradeSocket) {
      const len = Number(this.req.headers['content-length'] ?? 0);
      let buf = this.upgradeHead ?? Buffer.alloc(0);
      while (buf.length < len) {
        const chunk = await readOnce(this.upgradeSocket);
        if (!chunk) break;
        buf = Buffer.concat([buf, chunk]);
      }
      this.bodyCache = buf.subarray(0, len);
      const rest = buf.subarray(len);
      if (rest.length) this.upgradeSocket.unshift(rest);
      this.upgradeHead = undefined;
      return this.bodyCache;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of this.req) {
      size += (c as Buffer).length;
      if (size > MAX_JSON_BODY) throw invalidArgument('request body too large');
      chunks.push(c as Buffer);
    }
    this.bodyCache = Buffer.concat(chunks);
    return this.bodyCache;
  }

  /** The request body as a stream (import, load, build, archive upload). */
  bodyStream(): AsyncIterable<Buffer> {
    return this.req as AsyncIterable<Buffer>;
  }

  /** Whether the client asked for `Connection: Upgrade` + `Upgrade: tcp`. */
  get wantsUpgrade(): boolean {
    return this.upgradeSocket !== undefined;
  }

  /** The raw socket for hijacking (upgrade or plain). */
  get socket(): Duplex {
    return this.upgradeSocket ?? this.req.socket;
  }
}

function readOnce(s: Duplex): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const onData = (d: Buffer): void => { cleanup(); s.pause(); resolve(d); };
    const onEnd = (): void => { cleanup(); resolve(undefined); };
    const cleanup = (): void => { s.off('data', onData); s.off('end', onEnd); s.off('close', onEnd); };
    s.on('data', onData); s.once('end', onEnd); s.once('close', onEnd);
    s.resume();
  });
}
