/**
 * Docker-format credentials in `$DOCKER_CONFIG/config.json` (default `~/.docker`): `auths`
 * entries (`auth` = base64 user:password, or `identitytoken`), and `credsStore` /
 * `credHelpers` naming `docker-credential-<helper>` programs spoken to with get/store/erase.
 */
import { spawn } from 'node:child_process';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface AuthConfig { username?: string; password?: string; identitytoken?: string; serveraddress?: string }

interface ConfigFile {
  auths?: Record<string, { auth?: string; identitytoken?: string; username?: string; password?: string }>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
  [k: string]: unknown;
}

export const INDEX_SERVER = 'https://index.docker.io/v1/';

/** `docker.io` → Docker Hub's key in config.json; anything else is the host[:port] itself. */
export function serverKey(domain: string): string {
  const d = domain.replace(/^[a-z]+:\/\//i, '').replace(/\/.*$/, '');
  return ['docker.io', 'index.docker.io', 'registry-1.docker.io'].includes(d) ? INDEX_SERVER : d;
}

export function configDir(env: Readonly<Record<string, string | undefined>>): string {
  return env.DOCKER_CONFIG || join(env.HOME || '/root', '.docker');
}

async function load(dir: string): Promise<ConfigFile> {
  try { return JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as ConfigFile; } catch { return {}; }
}

async function save(dir: string, c: ConfigFile): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = join(dir, `.config.json.${process.pid}.tmp`);
  await writeFile(tmp, JSON.stringify(c, null, '\t') + '\n', { mode: 0o600 });
  await rename(tmp, join(dir, 'config.json'));
}

function helperFor(c: ConfigFile, key: string): string | undefined {
  return c.credHelpers?.[key] ?? c.credHelpers?.[key.replace(/^https?:\/\//, '')] ?? c.credsStore;
}

function runHelper(helper: string, verb: 'get' | 'store' | 'erase', input: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(`docker-credential-${helper}`, [verb], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    p.stdout.on('data', (b: Buffer) => out.push(b));
    p.stderr.on('data', (b: Buffer) => out.push(b));
    p.on('error', (e) => reject(new Error(`error getting credentials - err: ${e.message}, out: \`\``)));
    p.on('close', (code) => {
      const text = Buffer.concat(out).toString('utf8').trim();
      if (code === 0) resolve(text);
      else reject(new Error(text || `docker-credential-${helper} ${verb} exited with ${code}`));
    });
    p.stdin.end(input);
  });
}

export async function getCredentials(env: Readonly<Record<string, string | undefined>>, domain: string): Promise<AuthConfig | undefined> {
  const dir = configDir(env);
  const c = await load(dir);
  const key = serverKey(domain);
  const helper = helperFor(c, key);
  if (helper) {
    try {
      const j = JSON.parse(await runHelper(helper, 'get', key)) as { Username?: string; Secret?: string };
      if (!j.Secret) return undefined;
      return j.Username === '<token>' ? { identitytoken: j.Secret, serveraddress: key } : { username: j.Username, password: j.Secret, serveraddress: key };
    } catch {
      return undefined;
    }
  }
  const a = c.auths?.[key] ?? c.auths?.[`https://${key}`] ?? c.auths?.[`http://${key}`];
  if (!a) return undefined;
  if (a.identitytoken) return { identitytoken: a.identitytoken, serveraddress: key };
  if (a.auth) {
    const plain = Buffer.from(a.auth, 'base64').toString('utf8');
    const i = plain.indexOf(':');
    if (i > 0) return { username: plain.slice(0, i), password: plain.slice(i + 1), serveraddress: key };
  }
  if (a.username) return { username: a.username, password: a.password, serveraddress: key };
  return undefined;
}

/** Stores credentials; returns the file they went to when stored in plain text. */
export async function storeCredentials(env: Readonly<Record<string, string | undefined>>, domain: string, a: AuthConfig): Promise<string | undefined> {
  const dir = configDir(env);
  const c = await load(dir);
  const key = serverKey(domain);
  const helper = helperFor(c, key);
  if (helper) {
    await runHelper(helper, 'store', JSON.stringify({ ServerURL: key, Username: a.identitytoken ? '<token>' : a.username, Secret: a.identitytoken ?? a.password }));
    c.auths = { ...(c.auths ?? {}), [key]: {} };
    await save(dir, c);
    return undefined;
  }
  c.auths = { ...(c.auths ?? {}), [key]: a.identitytoken ? { identitytoken: a.identitytoken } : { auth: Buffer.from(`${a.username ?? ''}:${a.password ?? ''}`).toString('base64') } };
  await save(dir, c);
  return join(dir, 'config.json');
}

export async function eraseCredentials(env: Readonly<Record<string, string | undefined>>, domain: string): Promise<boolean> {
  const dir = configDir(env);
  const c = await load(dir);
  const key = serverKey(domain);
  const helper = helperFor(c, key);
  let had = false;
  if (helper) {
    try { await runHelper(helper, 'erase', key); had = true; } catch { /* not stored */ }
  }
  for (const k of [key, `https://${key}`, `http://${key}`]) if (c.auths?.[k]) { delete c.auths[k]; had = true; }
  if (had) await save(dir, c);
  return had;
}

/** X-Registry-Auth: base64url JSON; `e30=` (`{}`) when there are no credentials. */
export function encodeAuthHeader(a: AuthConfig | undefined): string {
  const s = Buffer.from(JSON.stringify(a ?? {})).toString('base64url');
  return s + '='.repeat((4 - (s.length % 4)) % 4);
}
