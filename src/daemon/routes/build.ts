/** POST /build (classic builder: tar context in, JSON progress out) and POST /build/prune. */
import { BUILD_CONTEXT_MEDIA_TYPE, isDigest, parseReference, withDefaultTag, type HostConfigWire, type Reference } from '../../api/index.js';
import { invalidArgument } from '../../lib/errdefs.js';
import { BuildError, type BuildService, type BuildRequest } from '../../services/index.js';
import type { RegistryCredentials } from '../../core/ports/index.js';
import type { Router } from '../http/index.js';
import { decodeRegistryAuth, normalizeServerAddress } from './registry.js';
import type { Ctx } from '../http/index.js';
import { sendJson, startStream } from '../http/index.js';

export interface BuildRoutesDeps { builds: BuildService }

function jsonParam<T>(ctx: Ctx, name: string, fallback: T): T {
  const v = ctx.q(name);
  if (v === undefined || v === '') return fallback;
  try { return JSON.parse(v) as T; } catch { throw invalidArgument(`invalid ${name} parameter: ${v}`); }
}

/** X-Registry-Config: base64url JSON of {server address: auth config}, as the CLI sends it. */
function registryConfig(header: string | undefined): Record<string, RegistryCredentials> {
  if (!header) return {};
  const out: Record<string, RegistryCredentials> = {};
  try {
    const b64 = header.trim().replace(/-/g, '+').replace(/_/g, '/');
    const map = JSON.parse(Buffer.from(b64, 'base64').toString('utf8')) as Record<string, unknown>;
    for (const [server, conf] of Object.entries(map ?? {})) {
      const creds = decodeRegistryAuth(Buffer.from(JSON.stringify(conf)).toString('base64'));
      if (creds) out[normalizeServerAddress(server)] = creds;
    }
  } catch { /* no credentials */ }
  return out;
}

export function buildRequestFrom(ctx: Ctx): BuildRequest {
  const tags: Reference[] = ctx.query.getAll('t').filter(Boolean).map((t) => {
    try { return withDefaultTag(parseReference(t)); } catch { throw invalidArgument(`invalid reference format: ${t}`); }
  });
  const hostConfig: HostConfigWire = {};
  const num = (q: string, field: keyof HostConfigWire): void => { const v = ctx.int(q); if (v) (hostConfig as Record<string, unknown>)[field] = v; };
  num('shmsize', 'ShmSize'); num('memory', 'Memory'); num('memswap', 'MemorySwap'); num('cpushares', 'CpuShares');
  num('cpuquota', 'CpuQuota' as keyof HostConfigWire); num('cpuperiod', 'CpuPeriod' as keyof HostConfigWire);
  const cpuset = ctx.q('cpusetcpus');
  if (cpuset) (hostConfig as Record<string, unknown>).CpusetCpus = cpuset;
  const extra = ctx.q('extrahosts');
  return {
    dockerfile: ctx.q('dockerfile') || undefined,
    tags,
    buildArgs: jsonParam<Record<string, string | null>>(ctx, 'buildargs', {}),
    labels: jsonParam<Record<string, string>>(ctx, 'labels', {}),
    noCache: ctx.bool('nocache'),
    quiet: ctx.bool('q'),
    pull: ctx.bool('pull'),
    target: ctx.q('target') || undefined,
    networkMode: ctx.q('networkmode') || undefined,
    platform: ctx.q('platform') || undefined,
    extraHosts: extra ? extra.split(/[,\s]+/).filter(Boolean) : [],
    hostConfig,
    registryAuth: registryConfig(ctx.req.headers['x-registry-config'] as string | undefined),
  };
}

export function buildRoutes(r: Router, d: BuildRoutesDeps): void {
  const build = (format: 'tar' | 'manifest') => async (ctx: Ctx): Promise<void> => {
    const req = buildRequestFrom(ctx);
    if (format === 'manifest' && ctx.req.headers['content-type'] !== BUILD_CONTEXT_MEDIA_TYPE) throw invalidArgument(`Content-Type must be ${BUILD_CONTEXT_MEDIA_TYPE}`);
    const prepared = await d.builds.prepare(ctx.bodyStream(), req, format);
    const s = startStream(ctx, 'application/json');
    const send = (m: object): void => { s.write(JSON.stringify(m) + '\r\n'); };
    try {
      await d.builds.run(prepared, (m) => send(m));
    } catch (e) {
      const message = (e as Error).message;
      const code = e instanceof BuildError ? e.exitCode : undefined;
      send({ errorDetail: { ...(code !== undefined ? { code } : {}), message }, error: message });
    }
    s.end();
  };
  r.post('/build', build('tar'));
  // pier's incremental context (api/build-manifest.ts): which contents to send, then the build
  r.post('/pier/build', build('manifest'));
  r.post('/pier/build/context/missing', async (ctx) => {
    const body = await ctx.json<{ Digests?: unknown }>();
    const digests = body?.Digests;
    if (!Array.isArray(digests) || !digests.every(isDigest)) throw invalidArgument('Digests must be a list of sha256 hex digests');
    sendJson(ctx, 200, { Missing: await d.builds.missingContents(digests) });
  });

  r.post('/build/prune', async (ctx) => {
    const { deleted, reclaimed } = await d.builds.prune();
    sendJson(ctx, 200, { CachesDeleted: deleted.length ? deleted : null, SpaceReclaimed: reclaimed });
  });

  r.post('/build/cancel', async (ctx) => {
    sendJson(ctx, 200, {});
  });
}
