/**
 * The client side of the OCI distribution protocol over node:http/https.
 *
 * - Endpoint per registry host, found once: `certs.d/<host>/` (ca.crt, client.cert/.key)
 *   means verified TLS with those; an insecure host (127.0.0.0/8, localhost, ::1, or an
 *   `--insecure-registry` entry) tries TLS without verification and falls back to plain HTTP;
 *   anything else is TLS with the system CAs. docker.io is served by registry-1.docker.io.
 * - Auth from the `/v2/` probe's `WWW-Authenticate`: Basic (credentials sent as is) or
 *   Bearer (a token from the realm for the request's scopes, anonymous when there are no
 *   credentials, cached until it expires and fetched again on a 401).
 * - Blobs stream with their sha256 checked as they pass; a dropped connection is resumed
 *   with `Range: bytes=N-` after a backoff (5 tries); a wrong digest throws before the
 *   stream ends, so nothing downstream commits it.
 */
import http from 'node:http';
import https from 'node:https';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isIP } from 'node:net';
import type { RegistryCredentials, RegistryRemote, RegistryRepo, RemoteManifest } from '../../core/ports/index.js';
import type { BlobFetch, FetchSpec, FetchVerdict } from '../../lib/tar/index.js';
import { EngineError, invalidArgument, notFound } from '../../lib/errdefs.js';
import { BackgroundHash, sharedBuffer } from '../../lib/hashing/index.js';

export const MANIFEST_TYPES = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
];

export interface HttpRegistryRemoteOptions {
  /** `host[:port]` entries or CIDRs (`10.0.0.0/8`) reached without TLS verification / over HTTP. */
  insecure?: string[];
  /** certs.d root: `<dir>/<host[:port]>/ca.crt`, `*.cert` + `*.key` */
  certsDir?: string;
  userAgent?: string;
  /** Docker Hub mirrors (`http[s]://host[:port]/`), tried in order for pulls of docker.io images. */
  mirrors?: string[];
  /** Retries of one blob download before giving up (default 5). */
  retries?: number;
  retryDelayMs?: number;
}

interface Endpoint {
  base: string;
  tls?: https.AgentOptions;
  challenge?: Challenge;
}

interface Challenge { scheme: 'basic' | 'bearer'; params: Record<string, string> }

interface SendOpts { headers?: Record<string, string>; body?: Buffer | AsyncIterable<Buffer> }

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function parseChallenge(h: string | undefined): Challenge | undefined {
  if (!h) return undefined;
  const m = /^\s*(\w+)\s*(.*)$/.exec(h);
  if (!m) return undefined;
  const scheme = m[1]!.toLowerCase();
  if (scheme !== 'basic' && scheme !== 'bearer') return undefined;
  const params: Record<string, string> = {};
  for (const p of m[2]!.matchAll(/(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g)) params[p[1]!.toLowerCase()] = p[2] ?? p[3] ?? '';
  return { scheme, params };
}

function ipv4InCidr(ip: string, cidr: string): boolean {
  const [net, bitsS] = cidr.split('/');
  const bits = Number(bitsS ?? 32);
  const toN = (s: string): number => s.split('.').reduce((a, o) => (a << 8) + Number(o), 0) >>> 0;
  if (isIP(ip) !== 4 || isIP(net ?? '') !== 4) return false;
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
  return ((toN(ip) & mask) >>> 0) === ((toN(net!) & mask) >>> 0);
}

function hostOnly(domain: string): string {
  if (domain.startsWith('[')) return domain.slice(1, domain.indexOf(']'));
  const i = domain.lastIndexOf(':');
  return i > 0 && domain.indexOf(':') === i ? domain.slice(0, i) : domain;
}

/** Prefix of the endpoint keys of registry mirrors (`mirror:https://m.example/`). */
const MIRROR = 'mirror:';

/** Size of the pieces openBlob hands out. */
const YIELD_BYTES = 1 << 20;

const isRetryable = (e: unknown): boolean => !(e instanceof EngineError) || e.kind === 'unavailable';

export class HttpRegistryRemote implements RegistryRemote {
  private endpoints = new Map<string, Promise<Endpoint>>();
  private tokens = new Map<string, { header: string; expires: number }>();

  constructor(private readonly o: HttpRegistryRemoteOptions = {}) {}

  isInsecure(domain: string): boolean {
    const host = hostOnly(domain);
    if (host === 'localhost' || host === '::1' || ipv4InCidr(host, '127.0.0.0/8')) return true;
    return (this.o.insecure ?? []).some((e) => e === domain || e === host || (e.includes('/') && ipv4InCidr(host, e)));
  }

  private tlsFor(domain: string): https.AgentOptions | undefined {
    if (!this.o.certsDir) return undefined;
    const dir = join(this.o.certsDir, domain.replace(/^docker\.io$/, 'registry-1.docker.io'));
    if (!existsSync(dir)) return undefined;
    const opts: https.AgentOptions = {};
    const names = readdirSync(dir);
    const cas = names.filter((n) => n.endsWith('.crt')).map((n) => readFileSync(join(dir, n)));
    if (cas.length) opts.ca = cas;
    const cert = names.find((n) => n.endsWith('.cert'));
    if (cert) {
      opts.cert = readFileSync(join(dir, cert));
      opts.key = readFileSync(join(dir, cert.replace(/\.cert$/, '.key')));
    }
    return opts;
  }

  /** Finds how to reach a registry (scheme, TLS) and its auth challenge, once per host. */
  private endpoint(domain: string): Promise<Endpoint> {
    let p = this.endpoints.get(domain);
    if (!p) {
      p = this.probe(domain);
      this.endpoints.set(domain, p);
      p.catch(() => this.endpoints.delete(domain));
    }
    return p;
  }

  private async probe(domain: string): Promise<Endpoint> {
    const candidates: Endpoint[] = [];
    if (domain.startsWith(MIRROR)) {
      // A mirror is reached the way its URL says; https verifies unless the host is insecure.
      const u = new URL(domain.slice(MIRROR.length));
      const base = `${u.protocol}//${u.host}${u.pathname.replace(/\/+$/, '')}`;
      if (u.protocol === 'http:') candidates.push({ base });
      else candidates.push({ base, tls: this.tlsFor(u.host) ?? (this.isInsecure(u.host) ? { rejectUnauthorized: false } : {}) });
      return this.probeCandidates(candidates);
    }
    const host = domain === 'docker.io' ? 'registry-1.docker.io' : domain;
    const tls = this.tlsFor(domain);
    if (tls) candidates.push({ base: `https://${host}`, tls });
    else if (this.isInsecure(domain)) candidates.push({ base: `https://${host}`, tls: { rejectUnauthorized: false } }, { base: `http://${host}` });
    else candidates.push({ base: `https://${host}`, tls: {} });
    return this.probeCandidates(candidates);
  }

  private async probeCandidates(candidates: Endpoint[]): Promise<Endpoint> {
    let lastErr: unknown;
    for (const ep of candidates) {
      try {
        const res = await this.send(ep, 'GET', `${ep.base}/v2/`, {});
        res.resume();
        if (res.statusCode === 401) ep.challenge = parseChallenge(res.headers['www-authenticate'] as string | undefined);
        return ep;
      } catch (e) {
        lastErr = e;
      }
    }
    const msg = (lastErr as Error)?.message ?? String(lastErr);
    throw new EngineError('unavailable', `Get "${candidates[candidates.length - 1]!.base}/v2/": ${msg}`, { cause: lastErr });
  }

  /** One HTTP exchange; follows redirects (without our Authorization when the host changes). */
  private send(ep: Endpoint, method: string, url: string, opts: SendOpts, redirects = 0): Promise<http.IncomingMessage> {
    return new Promise((resolve, reject) => {
      const u = new URL(url);
      const isTls = u.protocol === 'https:';
      const mod = isTls ? https : http;
      const headers: Record<string, string> = { 'User-Agent': this.o.userAgent ?? 'pier', ...(opts.headers ?? {}) };
      if (Buffer.isBuffer(opts.body)) headers['Content-Length'] = String(opts.body.length);
      const req = mod.request(u, { method, headers, ...(isTls ? (ep.tls ?? {}) : {}), timeout: 60_000 }, (res) => {
        const loc = res.headers.location;
        if (res.statusCode && [301, 302, 303, 307, 308].includes(res.statusCode) && loc && redirects < 5 && (method === 'GET' || method === 'HEAD')) {
          res.resume();
          const next = new URL(loc, url);
          const h = { ...(opts.headers ?? {}) };
          if (next.host !== u.host) delete h.Authorization;
          this.send(ep, method, next.toString(), { headers: h }, redirects + 1).then(resolve, reject);
          return;
        }
        resolve(res);
      });
      req.on('timeout', () => req.destroy(new Error('timeout awaiting response headers')));
      req.on('error', reject);
      const body = opts.body;
      if (body === undefined) req.end();
      else if (Buffer.isBuffer(body)) req.end(body);
      else {
        void (async () => {
          try {
            for await (const chunk of body) if (!req.write(chunk)) await new Promise((r) => req.once('drain', r));
            req.end();
          } catch (e) {
            req.destroy(e as Error);
          }
        })();
      }
    });
  }

  private async token(ep: Endpoint, domain: string, scopes: string[], auth: RegistryCredentials | undefined, force = false): Promise<string | undefined> {
    const ch = ep.challenge;
    if (!ch) return undefined;
    const basic = auth?.username !== undefined || auth?.password !== undefined
      ? 'Basic ' + Buffer.from(`${auth?.username ?? ''}:${auth?.password ?? ''}`).toString('base64') : undefined;
    if (auth?.registrytoken) return `Bearer ${auth.registrytoken}`;
    if (ch.scheme === 'basic') return basic;
    const key = `${domain}\n${scopes.join(' ')}\n${auth?.username ?? ''}\n${auth?.identitytoken ?? ''}`;
    const cached = this.tokens.get(key);
    if (cached && !force && cached.expires > Date.now()) return cached.header;
    const realm = new URL(ch.params.realm ?? '');
    if (ch.params.service) realm.searchParams.set('service', ch.params.service);
    for (const s of scopes) realm.searchParams.append('scope', s);
    let res: http.IncomingMessage;
    if (auth?.identitytoken) {
      const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: auth.identitytoken, service: ch.params.service ?? '', scope: scopes.join(' '), client_id: 'pier' });
      res = await this.send(ep, 'POST', `${realm.origin}${realm.pathname}`, { headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: Buffer.from(form.toString()) });
    } else {
      res = await this.send(ep, 'GET', realm.toString(), { headers: basic ? { Authorization: basic } : {} });
    }
    const body = await readAll(res);
    if (res.statusCode === 401 || res.statusCode === 403) {
      throw new EngineError('unauthenticated', `Get "${realm.toString()}": ${res.statusCode === 401 ? 'unauthorized: authentication required' : 'denied: access forbidden'}`);
    }
    if (res.statusCode !== 200) throw new EngineError('unavailable', `token request to ${realm.origin}${realm.pathname} failed with status: ${res.statusCode}`);
    const j = JSON.parse(body.toString('utf8')) as { token?: string; access_token?: string; expires_in?: number };
    const tok = j.token ?? j.access_token;
    if (!tok) throw new EngineError('unavailable', `token server at ${realm.origin} answered without a token`);
    const header = `Bearer ${tok}`;
    this.tokens.set(key, { header, expires: Date.now() + Math.max(10, (j.expires_in ?? 60) - 5) * 1000 });
    return header;
  }

  /** An authorised request to a repository's registry; on a 401 the token is fetched again once. */
  private async call(repo: RegistryRepo | { domain: string; auth?: RegistryCredentials }, scopes: string[], method: string, path: string, opts: SendOpts = {}): Promise<{ res: http.IncomingMessage; url: string; ep: Endpoint }> {
    const ep = await this.endpoint(repo.domain);
    const url = path.startsWith('http') ? path : `${ep.base}${path}`;
    for (let attempt = 0; ; attempt++) {
      const authz = await this.token(ep, repo.domain, scopes, repo.auth, attempt > 0);
      const res = await this.send(ep, method, url, { ...opts, headers: { ...(opts.headers ?? {}), ...(authz ? { Authorization: authz } : {}) } });
      if (res.statusCode === 401 && attempt === 0 && !(opts.body && !Buffer.isBuffer(opts.body))) {
        const ch = parseChallenge(res.headers['www-authenticate'] as string | undefined);
        if (ch && (!ep.challenge || ch.scheme !== ep.challenge.scheme || ep.challenge.scheme === 'bearer')) {
          res.resume();
          ep.challenge = ch;
          continue;
        }
      }
      return { res, url, ep };
    }
  }

  private authError(method: string, url: string, repo: RegistryRepo, headers: http.IncomingHttpHeaders, body: Buffer): EngineError {
    const ch = parseChallenge(headers['www-authenticate'] as string | undefined);
    const verb = method === 'HEAD' ? 'Head' : method === 'GET' ? 'Get' : method === 'PUT' ? 'Put' : method === 'PATCH' ? 'Patch' : 'Post';
    if (ch?.scheme === 'basic' && !repo.auth?.username) return new EngineError('unauthenticated', `${verb} "${url}": no basic auth credentials`);
    return new EngineError('unauthenticated', `${verb} "${url}": ${registryErrorText(body) || 'unauthorized: authentication required'}`);
  }

  private repoScope(repo: RegistryRepo, actions: string): string {
    return `repository:${repo.path}:${actions}`;
  }

  /**
   * Where a pull looks: for docker.io images the mirrors first (the same repository path,
   * `library/busybox`, on each), then Docker Hub itself; any other registry alone.
   */
  private pullSources(repo: RegistryRepo): RegistryRepo[] {
    if (repo.domain !== 'docker.io' || !this.o.mirrors?.length) return [repo];
    return [...this.o.mirrors.map((m) => ({ ...repo, domain: MIRROR + m })), repo];
  }

  async getManifest(repo: RegistryRepo, reference: string): Promise<RemoteManifest> {
    const sources = this.pullSources(repo);
    for (const mirror of sources.slice(0, -1)) {
      try {
        return await this.getManifestFrom(mirror, reference, repo);
      } catch {
        // a mirror that fails or lacks the image: the next one, then the registry itself
      }
    }
    return this.getManifestFrom(sources[sources.length - 1]!, reference, repo);
  }

  private async getManifestFrom(from: RegistryRepo, reference: string, repo: RegistryRepo): Promise<RemoteManifest> {
    const { res, url } = await this.call(from, [this.repoScope(repo, 'pull')], 'GET', `/v2/${repo.path}/manifests/${reference}`, { headers: { Accept: MANIFEST_TYPES.join(', ') } });
    const body = await readAll(res);
    const shown = `${repo.domain}/${repo.path}${reference.startsWith('sha256:') ? '@' : ':'}${reference}`;
    if (res.statusCode === 401) throw this.authError('GET', url, repo, res.headers, body);
    if (res.statusCode === 404) throw notFound(`manifest for ${shown} not found: ${registryErrorText(body) || 'manifest unknown: manifest unknown'}`);
    if (res.statusCode === 403) throw new EngineError('permission-denied', `pull access denied for ${repo.domain}/${repo.path}, repository does not exist or may require 'docker login': ${registryErrorText(body) || 'denied'}`);
    if (res.statusCode !== 200) throw new EngineError('unavailable', `error fetching manifest ${shown}: status ${res.statusCode}: ${registryErrorText(body)}`);
    const digest = 'sha256:' + createHash('sha256').update(body).digest('hex');
    if (reference.startsWith('sha256:') && reference !== digest) throw invalidArgument(`manifest verification failed for digest ${reference}`);
    let mediaType = String(res.headers['content-type'] ?? '').split(';')[0]!.trim();
    try {
      const j = JSON.parse(body.toString('utf8')) as { mediaType?: string; manifests?: unknown };
      if (j.mediaType) mediaType = j.mediaType;
      else if (!MANIFEST_TYPES.includes(mediaType)) mediaType = j.manifests ? MANIFEST_TYPES[0]! : MANIFEST_TYPES[2]!;
    } catch {
      throw invalidArgument(`manifest ${shown} is not JSON`);
    }
    return { digest, mediaType, bytes: body };
  }

  async *openBlob(repo: RegistryRepo, digest: string, opts: { size?: number; onBytes?: (n: number) => void } = {}): AsyncGenerator<Buffer> {
    const hash = new BackgroundHash();
    let got = 0;
    let failures = 0;
    // Socket reads are 64 KiB; handing out ~1 MiB pieces makes every stage downstream
    // (hashing, generators, gunzip's thread-pool round trips, tee, writes) run 16 times less
    // often. The last piece goes out only once the digest is checked.
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    const takePending = (): Buffer => {
      const out = sharedBuffer(pendingBytes); // reaches the hash worker without a copy
      let at = 0;
      for (const c of pending) at += c.copy(out, at);
      hash.update(out);
      pending = [];
      pendingBytes = 0;
      return out;
    };
    const retries = this.o.retries ?? 5;
    const sources = this.pullSources(repo);
    let from = 0;
    try {
      for (;;) {
        try {
          const { res, url } = await this.call(sources[from]!, [this.repoScope(repo, 'pull')], 'GET', `/v2/${repo.path}/blobs/${digest}`, { headers: got > 0 ? { Range: `bytes=${got}-` } : {} });
          if (res.statusCode === 401) throw this.authError('GET', url, repo, res.headers, await readAll(res));
          if (res.statusCode === 404) { await readAll(res); throw notFound(`blob ${digest} not found in ${repo.domain}/${repo.path}`); }
          if (res.statusCode !== 200 && res.statusCode !== 206) {
            const b = await readAll(res);
            throw new EngineError(res.statusCode! >= 500 ? 'unavailable' : 'invalid-argument', `error fetching blob ${digest}: status ${res.statusCode}: ${registryErrorText(b)}`);
          }
          let skip = res.statusCode === 200 ? got : 0; // a server that ignores Range resends from 0
          for await (const raw of res) {
            let chunk = raw as Buffer;
            if (skip > 0) {
              if (chunk.length <= skip) { skip -= chunk.length; continue; }
              chunk = chunk.subarray(skip);
              skip = 0;
            }
            got += chunk.length;
            if (opts.size !== undefined && got > opts.size) throw invalidArgument(`filesystem layer verification failed for digest ${digest}: larger than its size ${opts.size}`);
            opts.onBytes?.(got);
            failures = 0;
            pending.push(chunk);
            pendingBytes += chunk.length;
            if (pendingBytes >= YIELD_BYTES) yield takePending();
          }
          if (opts.size !== undefined && got < opts.size) throw new EngineError('unavailable', `unexpected EOF after ${got} of ${opts.size} bytes of ${digest}`);
          break;
        } catch (e) {
          // A mirror that fails before the first byte: the next source. After that, resume here.
          if (got === 0 && from < sources.length - 1) { from++; continue; }
          if (!isRetryable(e) || ++failures > retries) throw e;
          await sleep((this.o.retryDelayMs ?? 200) * 2 ** (failures - 1));
        }
      }
      const last = pendingBytes > 0 ? takePending() : undefined;
      const actual = 'sha256:' + (await hash.digest());
      if (actual !== digest) throw invalidArgument(`filesystem layer verification failed for digest ${digest}`);
      if (last) yield last;
    } finally {
      hash.dispose(); // a failed or abandoned download: nothing left on the hash worker
    }
  }

  /**
   * openBlob's transfer made by a worker (lib/tar unpackBlobInWorker): the same sources
   * (mirrors first), auth, retries and errors; the worker fetches, resumes and verifies.
   */
  blobFetch(repo: RegistryRepo, digest: string, opts: { size?: number; onBytes?: (n: number) => void; onComplete?: () => void } = {}): BlobFetch {
    const sources = this.pullSources(repo);
    const scopes = [this.repoScope(repo, 'pull')];
    let from = 0;
    let refreshed = false;
    let ep: Endpoint | undefined;
    let url = '';
    // A mirror that fails before the first byte: the next source (as openBlob).
    const nextSource = (got: number): FetchVerdict | undefined => {
      if (got > 0 || from >= sources.length - 1) return undefined;
      from++;
      refreshed = false;
      return { retry: 'now' };
    };
    return {
      digest,
      ...(opts.size !== undefined ? { size: opts.size } : {}),
      retries: this.o.retries ?? 5,
      retryDelayMs: this.o.retryDelayMs ?? 200,
      request: async (fresh) => {
        const src = sources[from]!;
        ep = await this.endpoint(src.domain);
        const authz = await this.token(ep, src.domain, scopes, src.auth, fresh);
        url = `${ep.base}/v2/${repo.path}/blobs/${digest}`;
        const spec: FetchSpec = { url, headers: { 'User-Agent': this.o.userAgent ?? 'pier', ...(authz ? { Authorization: authz } : {}) } };
        if (ep.tls) spec.tls = ep.tls as FetchSpec['tls'];
        return spec;
      },
      answered: (status, headers, body, got) => {
        const next = nextSource(got);
        if (next) return next;
        if (status === 401 && !refreshed && ep) {
          // as call(): a new challenge, or a bearer token that expired, gets one fresh token
          const ch = parseChallenge(headers['www-authenticate']);
          if (ch && (!ep.challenge || ch.scheme !== ep.challenge.scheme || ep.challenge.scheme === 'bearer')) {
            ep.challenge = ch;
            refreshed = true;
            return { retry: 'fresh' };
          }
        }
        if (status === 401) return { error: this.authError('GET', url, repo, headers, body) };
        if (status === 404) return { error: notFound(`blob ${digest} not found in ${repo.domain}/${repo.path}`) };
        const error = new EngineError(status >= 500 ? 'unavailable' : 'invalid-argument', `error fetching blob ${digest}: status ${status}: ${registryErrorText(body)}`);
        return status >= 500 ? { retry: 'backoff', error } : { error };
      },
      lost: (error, got) => {
        refreshed = false; // the request was accepted: a later 401 may be an expired token
        return nextSource(got) ?? (isRetryable(error) ? { retry: 'backoff', error } : { error });
      },
      ...(opts.onBytes ? { onBytes: opts.onBytes } : {}),
      ...(opts.onComplete ? { onComplete: opts.onComplete } : {}),
    };
  }

  async hasBlob(repo: RegistryRepo, digest: string): Promise<boolean> {
    const { res, url } = await this.call(repo, [this.repoScope(repo, 'pull,push')], 'HEAD', `/v2/${repo.path}/blobs/${digest}`);
    res.resume();
    if (res.statusCode === 401) throw this.authError('HEAD', url, repo, res.headers, Buffer.alloc(0));
    return res.statusCode === 200;
  }

  async mountBlob(repo: RegistryRepo, digest: string, fromPath: string): Promise<boolean> {
    const { res, url } = await this.call(repo, [this.repoScope(repo, 'pull,push'), `repository:${fromPath}:pull`], 'POST',
      `/v2/${repo.path}/blobs/uploads/?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(fromPath)}`, { body: Buffer.alloc(0) });
    const body = await readAll(res);
    if (res.statusCode === 201) return true;
    if (res.statusCode === 401) throw this.authError('POST', url, repo, res.headers, body);
    if (res.statusCode === 202 && res.headers.location) {
      const loc = new URL(res.headers.location, url).toString();
      const c = await this.call(repo, [this.repoScope(repo, 'pull,push')], 'DELETE', loc);
      c.res.resume();
    }
    return false;
  }

  async pushBlob(repo: RegistryRepo, data: AsyncIterable<Buffer>, digest: () => string): Promise<void> {
    const scopes = [this.repoScope(repo, 'pull,push')];
    const start = await this.call(repo, scopes, 'POST', `/v2/${repo.path}/blobs/uploads/`, { body: Buffer.alloc(0) });
    const sb = await readAll(start.res);
    if (start.res.statusCode === 401) throw this.authError('POST', start.url, repo, start.res.headers, sb);
    if (start.res.statusCode !== 202 || !start.res.headers.location) throw uploadError(start.res.statusCode, sb, repo);
    let loc = new URL(start.res.headers.location, start.url).toString();
    const patch = await this.call(repo, scopes, 'PATCH', loc, { headers: { 'Content-Type': 'application/octet-stream' }, body: data });
    const pb = await readAll(patch.res);
    if (patch.res.statusCode !== 202) throw uploadError(patch.res.statusCode, pb, repo);
    if (patch.res.headers.location) loc = new URL(patch.res.headers.location, loc).toString();
    const put = new URL(loc);
    put.searchParams.set('digest', digest());
    const fin = await this.call(repo, scopes, 'PUT', put.toString(), { body: Buffer.alloc(0) });
    const fb = await readAll(fin.res);
    if (fin.res.statusCode !== 201) throw uploadError(fin.res.statusCode, fb, repo);
  }

  async putManifest(repo: RegistryRepo, tag: string, mediaType: string, bytes: Buffer): Promise<string> {
    const { res, url } = await this.call(repo, [this.repoScope(repo, 'pull,push')], 'PUT', `/v2/${repo.path}/manifests/${tag}`, { headers: { 'Content-Type': mediaType }, body: bytes });
    const body = await readAll(res);
    if (res.statusCode === 401) throw this.authError('PUT', url, repo, res.headers, body);
    if (res.statusCode !== 201 && res.statusCode !== 200) throw uploadError(res.statusCode, body, repo);
    return String(res.headers['docker-content-digest'] ?? 'sha256:' + createHash('sha256').update(bytes).digest('hex'));
  }

  async login(domain: string, auth: RegistryCredentials): Promise<void> {
    this.endpoints.delete(domain);
    const ep = await this.endpoint(domain);
    const fail = (status: string): EngineError => new EngineError('unauthenticated', `login attempt to ${ep.base}/v2/ failed with status: ${status}`);
    if (!ep.challenge) return;
    if (ep.challenge.scheme === 'bearer') {
      try {
        await this.token(ep, domain, [], auth, true);
      } catch (e) {
        if (e instanceof EngineError && e.kind === 'unauthenticated') throw fail('401 Unauthorized');
        throw e;
      }
      return;
    }
    const basic = 'Basic ' + Buffer.from(`${auth.username ?? ''}:${auth.password ?? ''}`).toString('base64');
    const res = await this.send(ep, 'GET', `${ep.base}/v2/`, { headers: { Authorization: basic } });
    res.resume();
    if (res.statusCode === 401) throw fail('401 Unauthorized');
    if (res.statusCode !== 200) throw fail(`${res.statusCode} ${res.statusMessage ?? ''}`.trim());
  }

  async search(domain: string, term: string, limit: number, auth?: RegistryCredentials): Promise<Array<{ name: string; description: string; star_count: number; is_official: boolean; is_automated: boolean }>> {
    const d = domain === 'docker.io' ? 'index.docker.io' : domain;
    const path = `/v1/search?q=${encodeURIComponent(term)}&n=${limit}`;
    const { res, url } = await this.call({ domain: d, auth }, [], 'GET', path);
    const body = await readAll(res);
    if (res.statusCode === 401) throw new EngineError('unauthenticated', `Get "${url}": unauthorized: authentication required`);
    if (res.statusCode !== 200) throw new EngineError('unavailable', `Unexpected status code ${res.statusCode}`);
    const j = JSON.parse(body.toString('utf8')) as { results?: Array<Record<string, unknown>> };
    return (j.results ?? []).slice(0, limit).map((r) => ({
      name: String(r.name ?? ''), description: String(r.description ?? ''), star_count: Number(r.star_count ?? 0),
      is_official: Boolean(r.is_official), is_automated: Boolean(r.is_automated),
    }));
  }
}

async function readAll(res: http.IncomingMessage): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of res) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

/** `manifest unknown: manifest unknown`, the way docker's errcode prints a registry error body. */
export function registryErrorText(body: Buffer): string {
  try {
    const j = JSON.parse(body.toString('utf8')) as { errors?: Array<{ code?: string; message?: string }> };
    return (j.errors ?? []).map((e) => `${String(e.code ?? '').toLowerCase().replace(/_/g, ' ')}: ${e.message ?? ''}`).join(', ');
  } catch {
    return body.toString('utf8').slice(0, 200).trim();
  }
}

function uploadError(status: number | undefined, body: Buffer, repo: RegistryRepo): EngineError {
  const text = registryErrorText(body);
  if (status === 403) return new EngineError('permission-denied', text || 'denied: requested access to the resource is denied');
  if (status === 404) return notFound(text || `name unknown: repository ${repo.path} not known to registry`);
  return new EngineError(status !== undefined && status >= 500 ? 'unavailable' : 'invalid-argument', text || `unexpected status ${status} from ${repo.domain}`);
}
