/** IPv4 addresses and CIDR blocks as numbers: parsing, containment, overlap. Pure. */
import { invalidArgument } from '../../lib/errdefs.js';

export interface Cidr { base: number; prefix: number }

export function ipToInt(ip: string): number {
  const p = ip.split('.');
  if (p.length !== 4 || p.some((x) => !/^\d{1,3}$/.test(x) || Number(x) > 255)) throw invalidArgument(`invalid IP address: ${ip}`);
  return ((Number(p[0]) << 24) >>> 0) + (Number(p[1]) << 16) + (Number(p[2]) << 8) + Number(p[3]);
}

export function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export const isIPv4 = (s: string): boolean => { try { ipToInt(s); return true; } catch { return false; } };

const mask = (prefix: number): number => (prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0);

/** `10.1.2.0/24` → base (masked) and prefix; `strict` refuses host bits. */
export function parseCidr(s: string): Cidr {
  const m = /^([0-9.]+)\/(\d{1,2})$/.exec(s);
  if (!m || Number(m[2]) > 32) throw invalidArgument(`invalid CIDR address: ${s}`);
  const prefix = Number(m[2]);
  return { base: (ipToInt(m[1]!) & mask(prefix)) >>> 0, prefix };
}

export const cidrString = (c: Cidr): string => `${intToIp(c.base)}/${c.prefix}`;
export const cidrSize = (c: Cidr): number => 2 ** (32 - c.prefix);
export const cidrContains = (c: Cidr, ip: number): boolean => ((ip & mask(c.prefix)) >>> 0) === c.base;
export const cidrOverlaps = (a: Cidr, b: Cidr): boolean => cidrContains(a, b.base) || cidrContains(b, a.base);
/** Whether `inner` lies inside `outer`. */
export const cidrWithin = (inner: Cidr, outer: Cidr): boolean => inner.prefix >= outer.prefix && cidrContains(outer, inner.base);

/** Splits `pool` into blocks of `/size` in order. */
export function* subnetsOf(pool: Cidr, size: number): Iterable<Cidr> {
  const step = 2 ** (32 - size);
  for (let b = pool.base; b < pool.base + cidrSize(pool); b += step) yield { base: b >>> 0, prefix: size };
}
