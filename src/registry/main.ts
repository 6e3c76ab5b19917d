/**
 * `pier registry serve|gc`: the registry server's own process and composition root. Its data
 * root is its own (`--root`), never pierd's; blobs go through the same content-store code.
 */
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FsContentStore } from '../adapters/content-fs/index.js';
import { HtpasswdAuth } from './htpasswd.js';
import { createRegistryHandler } from './server.js';
import { RegistryStorage } from './storage.js';

export const USAGE = `Usage:	pier registry serve [--addr HOST:PORT] --root DIR [--htpasswd FILE] [--tls-cert FILE --tls-key FILE]
	pier registry gc --root DIR [--dry-run]

Run an OCI distribution registry, or remove the blobs no manifest references

Options:
      --addr string       Address to listen on (default "127.0.0.1:5000")
      --dry-run           gc: only list what would be removed
      --htpasswd string   htpasswd file with bcrypt entries: Basic auth on every request
      --root string       Directory holding the registry's data
      --tls-cert string   TLS certificate (PEM)
      --tls-key string    TLS key (PEM)
`;

interface Flags { cmd: string; addr: string; root?: string; htpasswd?: string; tlsCert?: string; tlsKey?: string; dryRun: boolean }

function parse(argv: string[]): Flags {
  const f: Flags = { cmd: argv[0] ?? '', addr: '127.0.0.1:5000', dryRun: false };
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i]!;
    const eq = a.indexOf('=');
    const name = a.startsWith('--') && eq > 0 ? a.slice(0, eq) : a;
    const value = (): string => {
      if (a.startsWith('--') && eq > 0) return a.slice(eq + 1);
      const v = argv[++i];
      if (v === undefined) throw new Error(`flag needs an argument: ${name}`);
      return v;
    };
    switch (name) {
      case '--addr': f.addr = value(); break;
      case '--root': f.root = value(); break;
      case '--htpasswd': f.htpasswd = value(); break;
      case '--tls-cert': f.tlsCert = value(); break;
      case '--tls-key': f.tlsKey = value(); break;
      case '--dry-run': f.dryRun = true; break;
      case '-h': case '--help': f.cmd = 'help'; break;
      default: throw new Error(`unknown flag: ${name}`);
    }
  }
  return f;
}

async function main(): Promise<void> {
  const f = parse(process.argv.slice(2));
  if (f.cmd === 'help' || !['serve', 'gc'].includes(f.cmd)) {
    process.stdout.write(USAGE);
    if (f.cmd !== 'help') process.exitCode = 1;
    return;
  }
  if (!f.root) throw new Error('--root is required');
  const storage = new RegistryStorage(f.root, await FsContentStore.open(join(f.root, 'content')));
  if (f.cmd === 'gc') {
    const r = await storage.gc({ dryRun: f.dryRun });
    for (const b of r.blobs) process.stdout.write(`${f.dryRun ? 'would delete' : 'deleted'} blob ${b}\n`);
    for (const u of r.uploads) process.stdout.write(`${f.dryRun ? 'would delete' : 'deleted'} upload ${u}\n`);
    process.stdout.write(`${r.blobs.length} blobs, ${r.uploads.length} uploads ${f.dryRun ? 'eligible for deletion' : 'deleted'}\n`);
    return;
  }
  if (!!f.tlsCert !== !!f.tlsKey) throw new Error('--tls-cert and --tls-key go together');
  const log = (m: string): void => void process.stderr.write(`${new Date().toISOString()} ${m}\n`);
  const handler = createRegistryHandler({ storage, auth: f.htpasswd ? new HtpasswdAuth(f.htpasswd) : undefined, log });
  const server: Server = f.tlsCert
    ? createHttpsServer({ cert: readFileSync(f.tlsCert), key: readFileSync(f.tlsKey!) }, handler)
    : createHttpServer(handler);
  server.keepAliveTimeout = 30_000;
  const m = /^(.*):(\d+)$/.exec(f.addr);
  if (!m) throw new Error(`invalid --addr ${f.addr}: want HOST:PORT`);
  const host = m[1]!.replace(/^\[|\]$/g, '') || '0.0.0.0';
  await new Promise<void>((res, rej) => { server.once('error', rej); server.listen(Number(m[2]), host, () => res()); });
  log(`pier registry listening on ${f.tlsCert ? 'https' : 'http'}://${f.addr} (root ${f.root}${f.htpasswd ? ', htpasswd auth' : ''})`);
  const stop = (): void => { server.close(); server.closeAllConnections?.(); setTimeout(() => process.exit(0), 1000).unref(); };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((e: Error) => {
  process.stderr.write(`pier registry: ${e.message}\n`);
  process.exit(1);
});
