/**
 * The OCI distribution API (v1.1) over RegistryStorage, as one node:http request handler:
 * `/v2/` probe; manifests GET/HEAD/PUT/DELETE by tag or digest; blobs GET (Range)/HEAD/DELETE;
 * uploads POST (monolithic with `digest=`, cross-repository `mount=&from=`), PATCH (chunked,
 * Content-Range checked), PUT (final), GET (status), DELETE (cancel); tags/list and _catalog
 * with `n`/`last`; referrers; and `/v1/search` over the catalog for `docker search`.
 * Errors are Docker's `{"errors":[{"code","message","detail"}]}`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createReadStream } from 'node:fs';
import { createHash } from 'node:crypto';
import { DIGEST_RE, NAME_RE, TAG_RE, type RegistryStorage } from './storage.js';
import type { HtpasswdAuth } from './htpasswd.js';

const MESSAGES: Record<string, [number, string]> = {
  BLOB_UNKNOWN: [404, 'blob unknown to registry'],
  BLOB_UPLOAD_INVALID: [400, 'blob upload invalid'],
  BLOB_UPLOAD_UNKNOWN: [404, 'blob upload unknown to registry'],
  DIGEST_INVALID: [400, 'provided digest did not match uploaded content'],
  MANIFEST_BLOB_UNKNOWN: [400, 'blob unknown to registry'],
  MANIFEST_INVALID: [400, 'manifest invalid'],
  MANIFEST_UNKNOWN: [404, 'manifest unknown'],
  NAME_INVALID: [400, 'invalid repository name'],
  NAME_UNKNOWN: [404, 'repository name not known to registry'],
  SIZE_INVALID: [400, 'provided length did not match content length'],
  UNAUTHORIZED: [401, 'authentication required'],
  DENIED: [403, 'requested access to the resource is denied'],
  UNSUPPORTED: [405, 'The operation is unsupported.'],
  RANGE_INVALID: [416, 'invalid content range'],
  TAG_INVALID: [400, 'manifest tag did not match URI'],
};

class RegistryError extends Error {
  constructor(readonly code: string, readonly detail?: unknown, message?: string) { super(message ?? MESSAGES[code]?.[1] ?? code); }
}

const MANIFEST_TYPES = new Set([
  'application/vnd.oci.image.manifest.v1+json', 'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json', 'application/vnd.docker.distribution.manifest.list.v2+json',
]);

export interface RegistryServerOptions {
  storage: RegistryStorage;
  auth?: HtpasswdAuth;
  log?: (msg: string) => void;
  /** Largest manifest accepted (default 4 MiB). */
  maxManifest?: number;
}

async function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const c of req) {
    n += (c as Buffer).length;
    if (n > max) throw new RegistryError('SIZE_INVALID', undefined, 'manifest too large');
    parts.push(c as Buffer);
  }
  return Buffer.concat(parts);
}

export function createRegistryHandler(o: RegistryServerOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const st = o.storage;
  return (req, res) => {
    res.setHeader('Docker-Distribution-API-Version', 'registry/2.0');
    handle(req, res).catch((e: unknown) => {
      if (e instanceof RegistryError) return sendError(res, e);
      o.log?.(`${req.method} ${req.url}: ${(e as Error).stack ?? String(e)}`);
      if (!res.headersSent) {
        const msg = (e as Error).message ?? String(e);
        if (/digest mismatch/.test(msg)) return sendError(res, new RegistryError('DIGEST_INVALID', msg));
        sendJson(res, 500, { errors: [{ code: 'UNKNOWN', message: 'unknown error', detail: msg }] });
      } else res.destroy();
    });
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://registry');
    const path = url.pathname;
    const method = req.method ?? 'GET';
    if (o.auth) {
      const user = await o.auth.check(req.headers.authorization);
      if (!user) {
        req.resume();
        res.setHeader('WWW-Authenticate', 'Basic realm="pier registry"');
        throw new RegistryError('UNAUTHORIZED');
      }
    }
    if (path === '/v2/' || path === '/v2') return sendJson(res, 200, {});
    if (path === '/v1/search' && method === 'GET') return search(url, res);
    if (path === '/v2/_catalog' && method === 'GET') return paginate(url, res, '/v2/_catalog', await st.catalog(), (l) => ({ repositories: l }));
    let m: RegExpExecArray | null;
    if ((m = /^\/v2\/(.+)\/tags\/list$/.exec(path))) {
      const name = checkName(m[1]!);
      if (!(await st.repoExists(name))) throw new RegistryError('NAME_UNKNOWN', { name });
      return paginate(url, res, `/v2/${name}/tags/list`, await st.tags(name), (l) => ({ name, tags: l }));
    }
    if ((m = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(path))) return manifest(req, res, checkName(m[1]!), m[2]!);
    if ((m = /^\/v2\/(.+)\/blobs\/uploads\/?$/.exec(path)) && method === 'POST') return startUpload(req, res, url, checkName(m[1]!));
    if ((m = /^\/v2\/(.+)\/blobs\/uploads\/([^/]+)$/.exec(path))) return upload(req, res, url, checkName(m[1]!), m[2]!);
    if ((m = /^\/v2\/(.+)\/blobs\/([^/]+)$/.exec(path))) return blob(req, res, checkName(m[1]!), m[2]!);
    if ((m = /^\/v2\/(.+)\/referrers\/([^/]+)$/.exec(path)) && method === 'GET') return referrers(res, url, checkName(m[1]!), m[2]!);
    req.resume();
    sendJson(res, 404, { errors: [{ code: 'UNSUPPORTED', message: '404 page not found', detail: null }] });
  }

  function checkName(n: string): string {
    if (!NAME_RE.test(n) || n.length > 255) throw new RegistryError('NAME_INVALID', { name: n });
    return n;
  }

  async function search(url: URL, res: ServerResponse): Promise<void> {
    const q = (url.searchParams.get('q') ?? '').toLowerCase();
    const n = Math.max(1, Math.min(100, Number(url.searchParams.get('n') ?? 25) || 25));
    const all = (await st.catalog()).filter((r) => r.includes(q));
    const results = all.slice(0, n).map((name) => ({ name, description: '', star_count: 0, is_official: false, is_automated: false }));
    sendJson(res, 200, { num_results: all.length, query: q, page: 1, num_pages: 1, page_size: n, results });
  }

  function paginate(url: URL, res: ServerResponse, base: string, items: string[], body: (l: string[]) => object): void {
    const last = url.searchParams.get('last');
    const nRaw = url.searchParams.get('n');
    let list = last ? items.filter((x) => x > last) : items;
    if (nRaw !== null) {
      const n = Number(nRaw);
      if (!Number.isInteger(n) || n < 0) throw new RegistryError('UNSUPPORTED', undefined, 'invalid n');
      if (list.length > n) {
        list = list.slice(0, n);
        if (n > 0) res.setHeader('Link', `<${base}?n=${n}&last=${encodeURIComponent(list[list.length - 1]!)}>; rel="next"`);
      }
    }
    sendJson(res, 200, body(list));
  }

  async function manifest(req: IncomingMessage, res: ServerResponse, name: string, ref: string): Promise<void> {
    const method = req.method;
    const isDigest = ref.startsWith('sha256:');
    if (isDigest ? !DIGEST_RE.test(ref) : !TAG_RE.test(ref)) throw new RegistryError(isDigest ? 'DIGEST_INVALID' : 'TAG_INVALID');
    if (method === 'GET' || method === 'HEAD') {
      const digest = await st.resolve(name, ref);
      const type = digest && (await st.manifestType(name, digest));
      const size = digest && (await st.blobSize(digest));
      if (!digest || !type || size === undefined) throw new RegistryError('MANIFEST_UNKNOWN', { name, reference: ref });
      res.writeHead(200, { 'Content-Type': type, 'Content-Length': size, 'Docker-Content-Digest': digest, Etag: `"${digest}"` });
      if (method === 'HEAD') return void res.end();
      createReadStream(st.blobPath(digest)).pipe(res);
      return;
    }
    if (method === 'PUT') {
      const bytes = await readBody(req, o.maxManifest ?? 4 << 20);
      const digest = 'sha256:' + createHash('sha256').update(bytes).digest('hex');
      if (isDigest && ref !== digest) throw new RegistryError('DIGEST_INVALID', { expected: ref, actual: digest });
      let m: { mediaType?: string; config?: { digest: string; size?: number }; layers?: Array<{ digest: string; size?: number }>; manifests?: Array<{ digest: string }>; subject?: { digest: string }; artifactType?: string; annotations?: object; schemaVersion?: number; blobs?: Array<{ digest: string }> };
      try { m = JSON.parse(bytes.toString('utf8')) as typeof m; } catch { throw new RegistryError('MANIFEST_INVALID', 'not JSON'); }
      const ctype = String(req.headers['content-type'] ?? '').split(';')[0]!.trim();
      const mediaType = m.mediaType ?? (MANIFEST_TYPES.has(ctype) ? ctype : m.manifests ? 'application/vnd.oci.image.index.v1+json' : 'application/vnd.oci.image.manifest.v1+json');
      if (m.schemaVersion !== 2) throw new RegistryError('MANIFEST_INVALID', 'schemaVersion must be 2');
      if (m.mediaType && ctype && MANIFEST_TYPES.has(ctype) && ctype !== m.mediaType) throw new RegistryError('MANIFEST_INVALID', 'mediaType does not match Content-Type');
      const blobs: string[] = [];
      if (m.manifests) {
        for (const c of m.manifests) if (!c?.digest || !(await st.resolve(name, c.digest))) throw new RegistryError('MANIFEST_UNKNOWN', { digest: c?.digest });
      } else {
        if (!m.config?.digest || !Array.isArray(m.layers)) throw new RegistryError('MANIFEST_INVALID', 'config and layers are required');
        for (const b of [m.config, ...m.layers, ...(m.blobs ?? [])]) {
          if (!b?.digest || !DIGEST_RE.test(b.digest)) throw new RegistryError('MANIFEST_INVALID', { digest: b?.digest });
          const size = await st.blobSize(b.digest);
          if (size === undefined) throw new RegistryError('MANIFEST_BLOB_UNKNOWN', { digest: b.digest });
          blobs.push(b.digest);
        }
      }
      const subject = m.subject?.digest && DIGEST_RE.test(m.subject.digest) ? m.subject.digest : undefined;
      const descriptor = { mediaType, digest, size: bytes.length, ...(m.artifactType ?? (m.config as { mediaType?: string } | undefined)?.mediaType ? { artifactType: m.artifactType ?? (m.config as { mediaType?: string }).mediaType } : {}), ...(m.annotations ? { annotations: m.annotations } : {}) };
      await st.putManifest(name, { digest, bytes, mediaType, tag: isDigest ? undefined : ref, blobs, subject, descriptor });
      const headers: Record<string, string> = { Location: `/v2/${name}/manifests/${digest}`, 'Docker-Content-Digest': digest, 'Content-Length': '0' };
      if (subject) headers['OCI-Subject'] = subject;
      res.writeHead(201, headers);
      return void res.end();
    }
    if (method === 'DELETE') {
      req.resume();
      const ok = isDigest ? await st.deleteManifest(name, ref) : await st.deleteTag(name, ref);
      if (!ok) throw new RegistryError('MANIFEST_UNKNOWN', { name, reference: ref });
      res.writeHead(202, { 'Content-Length': '0' });
      return void res.end();
    }
    req.resume();
    throw new RegistryError('UNSUPPORTED');
  }

  async function blob(req: IncomingMessage, res: ServerResponse, name: string, digest: string): Promise<void> {
    req.resume();
    if (!DIGEST_RE.test(digest)) throw new RegistryError('DIGEST_INVALID');
    const method = req.method;
    if (method === 'DELETE') {
      if (!(await st.unlinkBlob(name, digest))) throw new RegistryError('BLOB_UNKNOWN', { digest });
      res.writeHead(202, { 'Content-Length': '0' });
      return void res.end();
    }
    if (method !== 'GET' && method !== 'HEAD') throw new RegistryError('UNSUPPORTED');
    const size = (await st.hasBlobIn(name, digest)) ? await st.blobSize(digest) : undefined;
    if (size === undefined) {
      if (method === 'HEAD') { res.writeHead(404, { 'Content-Length': '0' }); return void res.end(); }
      throw new RegistryError('BLOB_UNKNOWN', { digest });
    }
    const range = /^bytes=(\d*)-(\d*)$/.exec(String(req.headers.range ?? ''));
    const base = { 'Docker-Content-Digest': digest, 'Accept-Ranges': 'bytes', Etag: `"${digest}"`, 'Content-Type': 'application/octet-stream' };
    if (range && (range[1] || range[2])) {
      let start = range[1] ? Number(range[1]) : size - Number(range[2]);
      let end = range[1] && range[2] ? Number(range[2]) : size - 1;
      if (start < 0) start = 0;
      if (end >= size) end = size - 1;
      if (start > end || start >= size) {
        res.writeHead(416, { 'Content-Range': `bytes */${size}`, 'Content-Length': '0' });
        return void res.end();
      }
      res.writeHead(206, { ...base, 'Content-Length': end - start + 1, 'Content-Range': `bytes ${start}-${end}/${size}` });
      if (method === 'HEAD') return void res.end();
      createReadStream(st.blobPath(digest), { start, end, highWaterMark: 1 << 20 }).pipe(res);
      return;
    }
    res.writeHead(200, { ...base, 'Content-Length': size });
    if (method === 'HEAD') return void res.end();
    createReadStream(st.blobPath(digest), { highWaterMark: 1 << 20 }).pipe(res);
  }

  function uploadHeaders(name: string, id: string, size: number): Record<string, string> {
    return { Location: `/v2/${name}/blobs/uploads/${id}`, 'Docker-Upload-UUID': id, Range: `0-${Math.max(0, size - 1)}`, 'Content-Length': '0' };
  }

  async function startUpload(req: IncomingMessage, res: ServerResponse, url: URL, name: string): Promise<void> {
    const mount = url.searchParams.get('mount');
    const from = url.searchParams.get('from');
    if (mount && from && DIGEST_RE.test(mount) && NAME_RE.test(from) && (await st.hasBlobIn(from, mount))) {
      req.resume();
      await st.linkBlob(name, mount);
      res.writeHead(201, { Location: `/v2/${name}/blobs/${mount}`, 'Docker-Content-Digest': mount, 'Content-Length': '0' });
      return void res.end();
    }
    const digest = url.searchParams.get('digest');
    if (digest) {
      if (!DIGEST_RE.test(digest)) { req.resume(); throw new RegistryError('DIGEST_INVALID'); }
      await st.ingestBlob(name, req as AsyncIterable<Buffer>, digest);
      res.writeHead(201, { Location: `/v2/${name}/blobs/${digest}`, 'Docker-Content-Digest': digest, 'Content-Length': '0' });
      return void res.end();
    }
    const id = await st.startUpload(name);
    const len = Number(req.headers['content-length'] ?? 0);
    const size = len > 0 || req.headers['transfer-encoding'] ? await st.appendUpload(id, req as AsyncIterable<Buffer>) : (req.resume(), 0);
    res.writeHead(202, uploadHeaders(name, id, size));
    res.end();
  }

  async function upload(req: IncomingMessage, res: ServerResponse, url: URL, name: string, id: string): Promise<void> {
    const method = req.method;
    const size = await st.uploadSize(name, id);
    if (size === undefined) { req.resume(); throw new RegistryError('BLOB_UPLOAD_UNKNOWN', { id }); }
    if (method === 'GET') {
      req.resume();
      res.writeHead(204, { ...uploadHeaders(name, id, size) });
      return void res.end();
    }
    if (method === 'DELETE') {
      req.resume();
      await st.cancelUpload(id);
      res.writeHead(204, {});
      return void res.end();
    }
    if (method === 'PATCH' || method === 'PUT') {
      const cr = req.headers['content-range'];
      if (cr) {
        const m = /^(?:bytes )?(\d+)-(\d+)$/.exec(String(cr));
        if (!m || Number(m[1]) !== size) {
          req.resume();
          res.writeHead(416, { ...uploadHeaders(name, id, size) });
          return void res.end();
        }
      }
      const hasBody = Number(req.headers['content-length'] ?? 0) > 0 || !!req.headers['transfer-encoding'];
      const newSize = hasBody ? await st.appendUpload(id, req as AsyncIterable<Buffer>) : (req.resume(), size);
      if (method === 'PATCH') {
        res.writeHead(202, uploadHeaders(name, id, newSize));
        return void res.end();
      }
      const digest = url.searchParams.get('digest');
      if (!digest || !DIGEST_RE.test(digest)) throw new RegistryError('DIGEST_INVALID', 'digest parameter missing or invalid');
      try {
        await st.finishUpload(name, id, digest);
      } catch (e) {
        if (/digest mismatch/.test((e as Error).message)) throw new RegistryError('DIGEST_INVALID', (e as Error).message);
        throw e;
      }
      res.writeHead(201, { Location: `/v2/${name}/blobs/${digest}`, 'Docker-Content-Digest': digest, 'Content-Length': '0' });
      return void res.end();
    }
    req.resume();
    throw new RegistryError('UNSUPPORTED');
  }

  async function referrers(res: ServerResponse, url: URL, name: string, digest: string): Promise<void> {
    if (!DIGEST_RE.test(digest)) throw new RegistryError('DIGEST_INVALID');
    const type = url.searchParams.get('artifactType');
    let manifests = (await st.referrers(name, digest)) as Array<{ artifactType?: string }>;
    if (type) {
      manifests = manifests.filter((d) => d.artifactType === type);
      res.setHeader('OCI-Filters-Applied', 'artifactType');
    }
    const body = JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests });
    res.writeHead(200, { 'Content-Type': 'application/vnd.oci.image.index.v1+json', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const data = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(data) });
  res.end(data);
}

function sendError(res: ServerResponse, e: RegistryError): void {
  if (res.headersSent) return void res.destroy();
  const status = MESSAGES[e.code]?.[0] ?? 400;
  sendJson(res, status, { errors: [{ code: e.code, message: e.message, detail: e.detail ?? null }] });
}
