/**
 * A typed Docker Engine API client over HTTP/1.1 on a unix socket (or TCP), built on node:http.
 *
 * Like the Go client it negotiates the API version on first use (`HEAD /_ping`, header
 * `Api-Version`, capped at the version this client speaks) and then prefixes every path with
 * `/v1.41`. Non-2xx answers become EngineErrors carrying the daemon's message; 304 is success.
 * Streams (events, logs, pull progress) come back as readable responses; attach and exec start
 * use a hijacked connection (`Connection: Upgrade`, `Upgrade: tcp`, 101) returned as a socket.
 */
import http from 'node:http';
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { EngineError } from '../lib/errdefs.js';
import type {
  ContainerCreateRequest,
  ContainerCreateResponse,
  ContainerInspect,
  ContainerSummary,
  ContainerTopResponse,
  ContainerWaitResponse,
  ExecCreateRequest,
  ExecInspect,
  ImageDeleteResponseItem,
  ImageSummary,
  InfoResponse,
  VersionResponse,
} from '../api/client-types.js';
import { ERR_CLIENT_CONNECT, errorFromResponse } from './errors.js';
import { parseDaemonHost, type DaemonAddress } from './host.js';

/** The newest API version this client speaks. */
export const CLIENT_API_VERSION = '1.41';
/** What the Go client assumes when the daemon sends no Api-Version. */
const FALLBACK_API_VERSION = '1.24';

export type QueryValue = string | number | boolean | undefined | null | readonly string[];
export type Query = Readonly<Record<string, QueryValue>>;

export interface RequestOptions {
  readonly query?: Query;
  /** JSON-encoded unless it is a Readable (sent chunked) */
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface PingResult {
  readonly apiVersion: string | undefined;
  readonly osType: string | undefined;
  readonly experimental: boolean;
  /** pier's incremental build context protocol (`Pier-Build-Context`), absent on other engines */
  readonly pierBuildContext?: string;
}

export interface EngineClientOptions {
  readonly host: string;
  /** pin the API version (DOCKER_API_VERSION); skips negotiation */
  readonly apiVersion?: string;
  readonly userAgent?: string;
}

export interface WaitHandle {
  /** resolves with the wait body once the condition is met */
  readonly result: Promise<ContainerWaitResponse>;
  /** abandons the wait (closes its connection) */
  cancel(): void;
}

function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

export function encodeQuery(q: Query | undefined): string {
  if (!q) return '';
  const parts: string[] = [];
  for (const [k, v] of Object.entries(q)) {
    if (v === undefined || v === null) continue;
    const vals = Array.isArray(v) ? v : [v];
    for (const one of vals) {
      const s = typeof one === 'boolean' ? (one ? '1' : '0') : String(one);
      parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(s)}`);
    }
  }
  return parts.length ? `?${parts.join('&')}` : '';
}

const isReadable = (v: unknown): v is Readable =>
  typeof v === 'object' && v !== null && typeof (v as Readable).pipe === 'function' && typeof (v as Readable).on === 'function';

async function readBody(res: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export class EngineClient {
  readonly host: string;
  private readonly address: DaemonAddress;
  private readonly agent: http.Agent;
  private readonly userAgent: string;
  private version: string | undefined;
  private negotiation: Promise<void> | undefined;
  private pingResult: PingResult | undefined;

  constructor(opts: EngineClientOptions) {
    this.host = opts.host;
    this.address = parseDaemonHost(opts.host);
    this.agent = new http.Agent({ keepAlive: true });
    this.userAgent = opts.userAgent ?? 'pier-client';
    this.version = opts.apiVersion;
  }

  /** The negotiated API version (after the first request). */
  get apiVersion(): string {
    return this.version ?? CLIENT_API_VERSION;
  }

  get lastPing(): PingResult | undefined {
    return this.pingResult;
  }

  private connectError(err: unknown): EngineError {
    const msg =
      this.address.kind === 'unix'
        ? `Cannot connect to the Docker daemon at ${this.host}. Is the docker daemon running?`
        : `Cannot connect to the Docker daemon at ${this.host}. Is the docker daemon running?`;
    return new EngineError('unavailable', msg, { cause: err, code: ERR_CLIENT_CONNECT });
  }

  private baseOptions(method: string, path: string, headers: Record<string, string>): http.RequestOptions {
    const common = { method, path, headers: { 'User-Agent': this.userAgent, ...headers } };
    return this.address.kind === 'unix'
      ? { ...common, socketPath: this.address.socketPath, host: 'api.moby.localhost' }
      : { ...common, hostname: this.address.hostname, port: this.address.port };
  }

  /** Sends one request on a raw path; resolves on response headers (any status). */
  private send(method: string, fullPath: string, opts: RequestOptions, agent: http.Agent | false): Promise<http.IncomingMessage> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = { ...(opts.headers ?? {}) };
      let payload: Buffer | undefined;
      const body = opts.body;
      if (body !== undefined && !isReadable(body)) {
        payload = Buffer.from(JSON.stringify(body));
        headers['Content-Type'] ??= 'application/json';
        headers['Content-Length'] = String(payload.length);
      } else if (isReadable(body)) {
        headers['Content-Type'] ??= 'text/plain';
        headers['Transfer-Encoding'] = 'chunked';
      }
      const req = http.request({ ...this.baseOptions(method, fullPath, headers), agent });
      req.on('response', resolve);
      req.on('error', (err) => reject(this.connectError(err)));
      if (isReadable(body)) {
        body.on('error', (e) => req.destroy(e));
        body.pipe(req);
      } else req.end(payload);
    });
  }

  /** HEAD /_ping (then GET on failure), reading the API version like the Go client. */
  async ping(): Promise<PingResult> {
    let res = await this.send('HEAD', '/_ping', {}, this.agent);
    res.resume();
    if (res.statusCode !== 200 && res.statusCode !== 500) {
      res = await this.send('GET', '/_ping', {}, this.agent);
      res.resume();
    }
    const h = (n: string): string | undefined => {
      const v = res.headers[n];
      return Array.isArray(v) ? v[0] : v;
    };
    this.pingResult = {
      apiVersion: h('api-version'),
      osType: h('ostype'),
      experimental: h('docker-experimental') === 'true',
      pierBuildContext: h('pier-build-context'),
    };
    return this.pingResult;
  }

  /** Version negotiation, once per client. */
  negotiate(): Promise<void> {
    if (this.version !== undefined) return Promise.resolve();
    this.negotiation ??= this.ping().then((p) => {
      const server = p.apiVersion ?? FALLBACK_API_VERSION;
      this.version = compareVersions(server, CLIENT_API_VERSION) < 0 ? server : CLIENT_API_VERSION;
    });
    return this.negotiation;
  }

  private async versioned(path: string, query?: Query): Promise<string> {
    await this.negotiate();
    return `/v${this.apiVersion}${path}${encodeQuery(query)}`;
  }

  /** Sends a request; throws an EngineError for a status >= 400. The body is left unread. */
  async request(method: string, path: string, opts: RequestOptions = {}): Promise<http.IncomingMessage> {
    const full = await this.versioned(path, opts.query);
    const res = await this.send(method, full, opts, this.agent);
    const status = res.statusCode ?? 0;
    if (status >= 400) {
      const body = await readBody(res);
      throw errorFromResponse({
        status,
        statusText: res.statusMessage ?? '',
        contentType: res.headers['content-type'],
        body,
        url: `http://${this.address.kind === 'unix' ? 'api.moby.localhost' : `${this.address.hostname}:${this.address.port}`}${full}`,
      });
    }
    return res;
  }

  /** A request whose answer is JSON (or empty, giving undefined). */
  async json<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const res = await this.request(method, path, opts);
    const text = await readBody(res);
    return (text.trim() === '' ? undefined : JSON.parse(text)) as T;
  }

  /** A request whose answer is ignored; returns the status (204, 304...). */
  async call(method: string, path: string, opts: RequestOptions = {}): Promise<number> {
    const res = await this.request(method, path, opts);
    res.resume();
    await new Promise<void>((r) => (res.complete ? r() : res.once('end', r).once('close', r)));
    return res.statusCode ?? 0;
  }

  /**
   * Hijacks a connection: sends `Connection: Upgrade`/`Upgrade: tcp`, expects 101 and returns
   * the raw socket (bytes that arrived with the 101 are pushed back into it).
   */
  async hijack(path: string, opts: RequestOptions = {}): Promise<Socket> {
    const full = await this.versioned(path, opts.query);
    const headers: Record<string, string> = { Connection: 'Upgrade', Upgrade: 'tcp', ...(opts.headers ?? {}) };
    let payload: Buffer;
    if (opts.body !== undefined) {
      payload = Buffer.from(JSON.stringify(opts.body));
      headers['Content-Type'] = 'application/json';
    } else {
      payload = Buffer.alloc(0);
      headers['Content-Type'] = 'text/plain';
    }
    headers['Content-Length'] = String(payload.length);
    return new Promise<Socket>((resolve, reject) => {
      const req = http.request({ ...this.baseOptions('POST', full, headers), agent: false });
      req.on('upgrade', (_res, socket, head) => {
        if (head.length) socket.unshift(head);
        resolve(socket);
      });
      req.on('response', (res) => {
        const status = res.statusCode ?? 0;
        void readBody(res).then((body) => {
          if (status >= 400)
            reject(
              errorFromResponse({ status, statusText: res.statusMessage ?? '', contentType: res.headers['content-type'], body, url: full }),
            );
          else reject(new Error(`unable to upgrade to tcp, received ${status}`));
        }, reject);
      });
      req.on('error', (err) => reject(this.connectError(err)));
      req.end(payload);
    });
  }

  // -------------------------------------------------------------------------------------------
  // System

  serverVersion(): Promise<VersionResponse> {
    return this.json<VersionResponse>('GET', '/version');
  }

  info(): Promise<InfoResponse> {
    return this.json<InfoResponse>('GET', '/info');
  }

  /** GET /events as a stream; read it with readJsonStream. */
  events(query: { since?: string; until?: string; filters?: string }): Promise<http.IncomingMessage> {
    return this.request('GET', '/events', { query });
  }

  // -------------------------------------------------------------------------------------------
  // Containers

  containerCreate(body: ContainerCreateRequest, name?: string): Promise<ContainerCreateResponse> {
    return this.json<ContainerCreateResponse>('POST', '/containers/create', { query: { name: name || undefined }, body });
  }

  containerInspect(id: string, size = false): Promise<ContainerInspect> {
    return this.json<ContainerInspect>('GET', `/containers/${encodeURIComponent(id)}/json`, { query: { size: size || undefined } });
  }

  containerList(query: { all?: boolean; limit?: number; size?: boolean; filters?: string }): Promise<ContainerSummary[]> {
    return this.json<ContainerSummary[]>('GET', '/containers/json', {
      query: { all: query.all || undefined, limit: query.limit, size: query.size || undefined, filters: query.filters },
    });
  }

  containerStart(id: string, opts: { detachKeys?: string } = {}): Promise<number> {
    return this.call('POST', `/containers/${encodeURIComponent(id)}/start`, { query: { detachKeys: opts.detachKeys } });
  }

  containerStop(id: string, timeout?: number): Promise<number> {
    return this.call('POST', `/containers/${encodeURIComponent(id)}/stop`, { query: { t: timeout } });
  }

  containerRestart(id: string, timeout?: number): Promise<number> {
    return this.call('POST', `/containers/${encodeURIComponent(id)}/restart`, { query: { t: timeout } });
  }

  containerKill(id: string, signal?: string): Promise<number> {
    return this.call('POST', `/containers/${encodeURIComponent(id)}/kill`, { query: { signal: signal || undefined } });
  }

  containerPause(id: string): Promise<number> {
    return this.call('POST', `/containers/${encodeURIComponent(id)}/pause`);
  }

  containerUnpause(id: string): Promise<number> {
    return this.call('POST', `/containers/${encodeURIComponent(id)}/unpause`);
  }

  containerRemove(id: string, opts: { force?: boolean; volumes?: boolean; link?: boolean } = {}): Promise<number> {
    return this.call('DELETE', `/containers/${encodeURIComponent(id)}`, {
      query: { v: opts.volumes || undefined, link: opts.link || undefined, force: opts.force || undefined },
    });
  }

  containerRename(id: string, name: string): Promise<number> {
    return this.call('POST', `/containers/${encodeURIComponent(id)}/rename`, { query: { name } });
  }

  containerResize(id: string, height: number, width: number): Promise<number> {
    return this.call('POST', `/containers/${encodeURIComponent(id)}/resize`, { query: { h: height, w: width } });
  }

  containerTop(id: string, psArgs?: string): Promise<ContainerTopResponse> {
    return this.json<ContainerTopResponse>('GET', `/containers/${encodeURIComponent(id)}/top`, { query: { ps_args: psArgs || undefined } });
  }

  /** GET /containers/{id}/logs as a stream (multiplexed unless the container has a TTY). */
  containerLogs(
    id: string,
    q: { follow?: boolean; stdout?: boolean; stderr?: boolean; since?: string; until?: string; timestamps?: boolean; tail?: string; details?: boolean },
  ): Promise<http.IncomingMessage> {
    return this.request('GET', `/containers/${encodeURIComponent(id)}/logs`, {
      query: {
        stdout: q.stdout || undefined,
        stderr: q.stderr || undefined,
        since: q.since || undefined,
        until: q.until || undefined,
        timestamps: q.timestamps || undefined,
        follow: q.follow || undefined,
        tail: q.tail,
        details: q.details || undefined,
      },
    });
  }

  containerAttach(
    id: string,
    q: { stream?: boolean; stdin?: boolean; stdout?: boolean; stderr?: boolean; logs?: boolean; detachKeys?: string },
  ): Promise<Socket> {
    return this.hijack(`/containers/${encodeURIComponent(id)}/attach`, {
      query: {
        detachKeys: q.detachKeys || undefined,
        logs: q.logs || undefined,
        stderr: q.stderr || undefined,
        stdin: q.stdin || undefined,
        stdout: q.stdout || undefined,
        stream: q.stream || undefined,
      },
    });
  }

  /**
   * POST /containers/{id}/wait; resolves once the response headers arrive (the daemon flushes
   * them at once), so callers can start the container while the wait is pending.
   */
  async containerWait(id: string, condition?: 'not-running' | 'next-exit' | 'removed'): Promise<WaitHandle> {
    const res = await this.request('POST', `/containers/${encodeURIComponent(id)}/wait`, { query: { condition } });
    const result = readBody(res).then((text) => {
      if (text.trim() === '') throw new Error('wait: empty response');
      return JSON.parse(text) as ContainerWaitResponse;
    });
    result.catch(() => undefined);
    return {
      result,
      cancel: () => res.destroy(),
    };
  }

  // -------------------------------------------------------------------------------------------
  // Exec

  execCreate(container: string, body: ExecCreateRequest): Promise<{ Id: string }> {
    return this.json<{ Id: string }>('POST', `/containers/${encodeURIComponent(container)}/exec`, { body });
  }

  /** Detached start: a normal request. */
  execStartDetached(id: string, tty: boolean): Promise<number> {
    return this.call('POST', `/exec/${encodeURIComponent(id)}/start`, { body: { Detach: true, Tty: tty } });
  }

  execStartAttached(id: string, tty: boolean): Promise<Socket> {
    return this.hijack(`/exec/${encodeURIComponent(id)}/start`, { body: { Detach: false, Tty: tty } });
  }

  execInspect(id: string): Promise<ExecInspect> {
    return this.json<ExecInspect>('GET', `/exec/${encodeURIComponent(id)}/json`);
  }

  execResize(id: string, height: number, width: number): Promise<number> {
    return this.call('POST', `/exec/${encodeURIComponent(id)}/resize`, { query: { h: height, w: width } });
  }

  // -------------------------------------------------------------------------------------------
  // Images

  imageList(q: { all?: boolean; digests?: boolean; filters?: string }): Promise<ImageSummary[]> {
    return this.json<ImageSummary[]>('GET', '/images/json', {
      query: { all: q.all || undefined, filters: q.filters, digests: q.digests || undefined },
    });
  }

  imageInspect(name: string): Promise<Record<string, unknown>> {
    return this.json<Record<string, unknown>>('GET', `/images/${name}/json`);
  }

  imageTag(source: string, repo: string, tag: string | undefined): Promise<number> {
    return this.call('POST', `/images/${source}/tag`, { query: { repo, tag } });
  }

  imageRemove(name: string, opts: { force?: boolean; noprune?: boolean } = {}): Promise<ImageDeleteResponseItem[]> {
    return this.json<ImageDeleteResponseItem[]>('DELETE', `/images/${name}`, {
      query: { force: opts.force || undefined, noprune: opts.noprune || undefined },
    });
  }

  /** POST /images/create?fromImage= (pull): a JSON progress stream. */
  imagePull(fromImage: string, tag: string | undefined, platform?: string): Promise<http.IncomingMessage> {
    return this.request('POST', '/images/create', {
      query: { fromImage, tag, platform: platform || undefined },
      headers: { 'X-Registry-Auth': 'e30=' },
    });
  }

  /** POST /images/create?fromSrc=- (import) with the tarball as body: a JSON progress stream. */
  imageImport(source: Readable, q: { repo?: string; tag?: string; message?: string; changes?: readonly string[]; platform?: string }): Promise<http.IncomingMessage> {
    return this.request('POST', '/images/create', {
      query: {
        fromSrc: '-',
        repo: q.repo || undefined,
        tag: q.tag || undefined,
        message: q.message || undefined,
        changes: q.changes && q.changes.length ? q.changes : undefined,
        platform: q.platform || undefined,
      },
      body: source,
    });
  }

  /** Raw JSON of any object (inspect prints it verbatim). */
  async rawInspect(path: string): Promise<string> {
    const res = await this.request('GET', path);
    return readBody(res);
  }

  /** Releases kept-alive sockets. */
  close(): void {
    this.agent.destroy();
  }
}
