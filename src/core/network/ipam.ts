/**
 * Address management of one network, pure: the allocation table lives in the network's
 * record (persisted by the service before an address is used), so an address is never handed
 * out twice, also across restarts. Allocation continues after the last address handed out
 * (like libnetwork's bitseq) so a just-freed address is not reused at once.
 */
import { conflict, invalidArgument } from '../../lib/errdefs.js';
import { type Cidr, cidrContains, cidrSize, intToIp, ipToInt, parseCidr } from './cidr.js';

export interface IpamState {
  subnet: string;
  gateway: string;
  ipRange?: string;
  /** address → owner (endpoint key `<container id>`) */
  allocated: Record<string, string>;
  /** last address handed out by the sequential allocator */
  last?: string;
}

/** The usable range of a network: ip-range if given, else the subnet; minus network/broadcast. */
function range(s: IpamState): { first: number; last: number } {
  const c: Cidr = parseCidr(s.ipRange || s.subnet);
  const size = cidrSize(c);
  if (size <= 2) return { first: c.base, last: c.base + size - 1 };
  return { first: c.base + 1, last: c.base + size - 2 };
}

/** Reserves `want` (checked) or the next free address for `owner`; mutates and returns it. */
export function allocate(s: IpamState, owner: string, want?: string): string {
  const sub = parseCidr(s.subnet);
  if (want) {
    const n = ipToInt(want);
    if (!cidrContains(sub, n)) throw invalidArgument(`no configured subnet or ip-range contain the IP address ${want}`);
    if (want === s.gateway || s.allocated[want] !== undefined) throw conflict(`Address already in use`);
    s.allocated[want] = owner;
    return want;
  }
  const { first, last } = range(s);
  const total = last - first + 1;
  const start = s.last ? ipToInt(s.last) + 1 : first;
  for (let i = 0; i < total; i++) {
    let n = start + i;
    if (n > last || n < first) n = first + ((n - first) % total + total) % total;
    const ip = intToIp(n);
    if (ip === s.gateway || s.allocated[ip] !== undefined) continue;
    s.allocated[ip] = owner;
    s.last = ip;
    return ip;
  }
  throw conflict(`no available IPv4 addresses on this network's address pools: ${s.subnet}`);
}

/** Frees every address of `owner`; returns whether anything changed. */
export function release(s: IpamState, owner: string, ip?: string): boolean {
  let changed = false;
  for (const [a, o] of Object.entries(s.allocated)) {
    if (o === owner && (ip === undefined || a === ip)) { delete s.allocated[a]; changed = true; }
  }
  return changed;
}

/** Docker's MAC for an address: 02:42 + the four address bytes. */
export function macFor(ip: string): string {
  const n = ipToInt(ip);
  return ['02', '42', ...[n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].map((b) => b.toString(16).padStart(2, '0'))].join(':');
}
