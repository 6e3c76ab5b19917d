/**
 * Daemon addresses as docker spells them: `unix:///path/to.sock`, `tcp://host:port`,
 * `http://host:port`, a bare `/path.sock`. Pure.
 */

export type DaemonAddress =
  | { readonly kind: 'unix'; readonly socketPath: string }
  | { readonly kind: 'tcp'; readonly hostname: string; readonly port: number };

export const DEFAULT_HOST = 'unix:///run/pier/pier.sock';

export function parseDaemonHost(host: string): DaemonAddress {
  if (host.startsWith('unix://')) {
    const p = host.slice('unix://'.length);
    if (p === '') throw new Error(`invalid bind address format: ${host}`);
    return { kind: 'unix', socketPath: p };
  }
  if (host.startsWith('/')) return { kind: 'unix', socketPath: host };
  const m = /^(?:tcp|http):\/\/(\[[^\]]+\]|[^:/]*)(?::(\d+))?\/?$/.exec(host);
  if (m) {
    const h = (m[1] ?? '').replace(/^\[|\]$/g, '') || '127.0.0.1';
    return { kind: 'tcp', hostname: h, port: m[2] ? Number(m[2]) : 2375 };
  }
  throw new Error(`unable to parse docker host \`${host}\``);
}

/** -H flag, then PIER_HOST, then DOCKER_HOST, then the default socket. */
export function resolveDaemonHost(flag: string | undefined, env: Readonly<Record<string, string | undefined>>): string {
  return flag || env['PIER_HOST'] || env['DOCKER_HOST'] || DEFAULT_HOST;
}
