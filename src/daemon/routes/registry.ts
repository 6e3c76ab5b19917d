/**
 * Registry endpoints: pull (`POST /images/create?fromImage=`, handed over by the images
 * routes), push, `POST /auth` (login) and `GET /images/search`. Credentials arrive in
 * X-Registry-Auth (base64 JSON, either alphabet, padding optional).
 */
import { type Reference, parseReference, withDefaultTag } from '../../api/index.js';
import type { RegistryCredentials, RegistryRemote } from '../../core/ports/index.js';
import { EngineError, invalidArgument, kindOf } from '../../lib/errdefs.js';
import type { ProgressMessage, RegistryPuller, RegistryPusher } from '../../services/index.js';
import type { Ctx, Router } from '../http/index.js';
import { sendJson, startStream } from '../http/index.js';

export interface RegistryRoutesDeps {
  puller: RegistryPuller;
  pusher: RegistryPusher;
  remote: RegistryRemote;
}

/** Decodes X-Registry-Auth: base64url or standard base64, with or without padding; `{}` or garbage → none. */
export function decodeRegistryAuth(header: string | undefined): RegistryCredentials | undefined {
  if (!header) return undefined;
  try {
    const b64 = header.trim().replace(/-/g, '+').replace(/_/g, '/');
    const j = JSON.parse(Buffer.from(b64 + '='.repeat((4 - (b64.length % 4)) % 4), 'base64').toString('utf8')) as Record<string, unknown>;
    const out: RegistryCredentials = {};
    for (const k of ['username', 'password', 'identitytoken', 'registrytoken'] as const) {
      const v = j[k] ?? j[k.charAt(0).toUpperCase() + k.slice(1)];
      if (typeof v === 'string' && v !== '') out[k] = v;
    }
    if (typeof j.auth === 'string' && j.auth && !out.username) {
      const plain = Buffer.from(j.auth, 'base64').toString('utf8');
      const i = plain.indexOf(':');
      if (i > 0) { out.username = plain.slice(0, i); out.password = plain.slice(i + 1); }
    }
    return Object.keys(out).length ? out : undefined;
  } catch {
    return undefined;
  }
}

/** `https://127.0.0.1:5000/v2/` → `127.0.0.1:5000`; Docker Hub's addresses → `docker.io`. */
export function normalizeServerAddress(addr: string | undefined): string {
  let a = (addr ?? '').trim();
  if (!a) return 'docker.io';
  a = a.replace(/^[a-z]+:\/\//i, '').replace(/\/.*$/, '');
  if (a === 'index.docker.io' || a === 'registry-1.docker.io' || a === 'docker.io' || a === 'registry.hub.docker.com') return 'docker.io';
  return a;
}

const line = (m: ProgressMessage | Record<string, unknown>): string => JSON.stringify(m) + '\r\n';

export function registryRoutes(r: Router, d: RegistryRoutesDeps): { pull: (ctx: Ctx) => Promise<void> } {
  const auth = (ctx: Ctx): RegistryCredentials | undefined => decodeRegistryAuth(ctx.req.headers['x-registry-auth'] as string | undefined);

  const pull = async (ctx: Ctx): Promise<void> => {
    const fromImage = ctx.q('fromImage')!;
    const tag = ctx.q('tag');
    let ref: Reference = parseReference(fromImage);
    if (tag) {
      if (ref.tag !== undefined || ref.digest !== undefined) throw invalidArgument('invalid reference format');
      ref = parseReference(tag.startsWith('sha256:') ? `${fromImage}@${tag}` : `${fromImage}:${tag}`);
    }
    if (!ref.digest) ref = withDefaultTag(ref);
    // Manifest and config first: failures there answer as plain HTTP errors, like moby.
    // moby answers 500 here, never 401: a 401 makes the docker CLI prompt for a login.
    const plan = await d.puller.resolve(ref, { auth: auth(ctx), platform: ctx.q('platform') || undefined }).catch((e: unknown) => {
      throw kindOf(e) === 'unauthenticated' ? new EngineError('internal', (e as Error).message, { cause: e }) : e;
    });
    const s = startStream(ctx, 'application/json');
    try {
      await d.puller.pull(plan, (m) => s.write(line(m)));
    } catch (e) {
      const msg = (e as Error).message;
      s.write(line({ errorDetail: { message: msg }, error: msg }));
    }
    s.end();
  };

  r.post('/images/*name/push', async (ctx) => {
    const refs = (() => {
      try { return d.pusher.tagsToPush(ctx.params.name!, ctx.q('tag') || undefined); } catch (e) { return e as Error; }
    })();
    const s = startStream(ctx, 'application/json');
    try {
      if (refs instanceof Error) throw refs;
      await d.pusher.push(refs, auth(ctx), (m) => s.write(line(m)));
    } catch (e) {
      const msg = (e as Error).message;
      s.write(line({ errorDetail: { message: msg }, error: msg }));
    }
    s.end();
  });

  r.post('/auth', async (ctx) => {
    const body = (await ctx.json<Record<string, string>>()) ?? {};
    const domain = normalizeServerAddress(body.serveraddress);
    const creds: RegistryCredentials = {};
    if (body.username) creds.username = body.username;
    if (body.password) creds.password = body.password;
    if (body.identitytoken) creds.identitytoken = body.identitytoken;
    await d.remote.login(domain, creds);
    sendJson(ctx, 200, { IdentityToken: '', Status: 'Login Succeeded' });
  });

  r.get('/images/search', async (ctx) => {
    const term = ctx.q('term') ?? '';
    if (!term) throw invalidArgument('term is required');
    const limit = Math.min(100, Math.max(1, Number(ctx.q('limit') ?? 25) || 25));
    let domain = 'docker.io';
    let q = term;
    const slash = term.indexOf('/');
    if (slash > 0) {
      const first = term.slice(0, slash);
      if (first.includes('.') || first.includes(':') || first === 'localhost') { domain = normalizeServerAddress(first); q = term.slice(slash + 1); }
    }
    const results = await d.remote.search(domain, q, limit, auth(ctx));
    sendJson(ctx, 200, results);
  });

  return { pull };
}
