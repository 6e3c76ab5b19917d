/**
 * Published ports: HostConfig.PortBindings (`"80/tcp": [{HostIp, HostPort}]`, host port
 * empty/"0" = ephemeral, ranges `8000-8001` on both sides) expanded into one mapping per port.
 */
import { invalidArgument } from '../../lib/errdefs.js';

export interface PortMapping {
  proto: 'tcp' | 'udp' | 'sctp';
  containerPort: number;
  /** '' = all addresses (shown as 0.0.0.0) */
  hostIp: string;
  /** 0 = pick an ephemeral port */
  hostPort: number;
  /** For a host range with one container port: candidates [from, to]. */
  hostRange?: [number, number];
  /** No host IP given: published on `0.0.0.0` and, when the host has IPv6, on `::` too. */
  anyFamily?: boolean;
}

/** Whether a host address is IPv6 (`::`, `::1`, …); '' stands for 0.0.0.0. */
export const isIPv6Host = (hostIp: string): boolean => hostIp.includes(':');

function parseRange(s: string, what: string): [number, number] {
  const m = /^(\d+)(?:-(\d+))?$/.exec(s);
  if (!m) throw invalidArgument(`invalid ${what}: ${s}`);
  const a = Number(m[1]), b = m[2] === undefined ? a : Number(m[2]);
  if (a < 0 || b > 65535 || b < a) throw invalidArgument(`invalid ${what}: ${s}`);
  return [a, b];
}

export function expandPortBindings(bindings: Record<string, Array<{ HostIp?: string; HostPort?: string }> | null> | null | undefined): PortMapping[] {
  const out: PortMapping[] = [];
  for (const [key, list] of Object.entries(bindings ?? {})) {
    const [portPart = '', protoPart = 'tcp'] = key.split('/');
    const proto = (protoPart || 'tcp').toLowerCase();
    if (proto !== 'tcp' && proto !== 'udp' && proto !== 'sctp') throw invalidArgument(`invalid proto: ${proto}`);
    const [cFrom, cTo] = parseRange(portPart, 'containerPort');
    for (const b of list ?? [{}]) {
      const hostIp = b.HostIp === '0.0.0.0' ? '' : (b.HostIp ?? '').replace(/^\[(.*)\]$/, '$1');
      const any = b.HostIp ? {} : { anyFamily: true };
      const hp = b.HostPort ?? '';
      if (hp === '' || hp === '0') {
        for (let p = cFrom; p <= cTo; p++) out.push({ proto, containerPort: p, hostIp, hostPort: 0, ...any });
        continue;
      }
      const [hFrom, hTo] = parseRange(hp, 'hostPort');
      if (cFrom === cTo && hTo > hFrom) { out.push({ proto, containerPort: cFrom, hostIp, hostPort: 0, hostRange: [hFrom, hTo], ...any }); continue; }
      if (hTo - hFrom !== cTo - cFrom) throw invalidArgument(`invalid ranges specified for container and host Ports: ${portPart} and ${hp}`);
      for (let i = 0; i <= cTo - cFrom; i++) out.push({ proto, containerPort: cFrom + i, hostIp, hostPort: hFrom + i, ...any });
    }
  }
  return out;
}

/** Exposed ports (`"80/tcp": {}`) as `-P` publishes them: each to an ephemeral port. */
export function publishAll(exposed: Record<string, unknown> | null | undefined): Record<string, Array<{ HostIp: string; HostPort: string }>> {
  const out: Record<string, Array<{ HostIp: string; HostPort: string }>> = {};
  for (const k of Object.keys(exposed ?? {})) out[k.includes('/') ? k : `${k}/tcp`] = [{ HostIp: '', HostPort: '' }];
  return out;
}
