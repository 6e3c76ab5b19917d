/**
 * `--log-driver` and `--log-opt`: which drivers pier offers and what their options mean.
 * Every driver keeps conmon's k8s-file log (attach reads it); they differ in rotation and in
 * whether `docker logs` may read it back. Sizes use go-units' decimal FromHumanSize.
 */
import type { HostConfigWire } from '../../api/index.js';
import { invalidArgument } from '../../lib/errdefs.js';

export interface LogPolicy {
  driver: 'json-file' | 'local' | 'none';
  /** Rotate when the current file passes this many bytes (undefined: never). */
  maxSize?: number;
  /** Files kept, the current one included. */
  maxFile: number;
  /** Whether `docker logs` can read this driver. */
  readable: boolean;
}

const OPTS: Record<LogPolicy['driver'], string[]> = {
  'json-file': ['max-size', 'max-file', 'compress', 'labels', 'labels-regex', 'env', 'env-regex', 'tag'],
  local: ['max-size', 'max-file', 'compress'],
  none: [],
};

/** Parses "10m", "1k", "512" (bytes) as go-units FromHumanSize does (decimal units). */
export function parseHumanSize(s: string): number {
  const m = /^([0-9]+(?:\.[0-9]+)?)\s*([kmgtp]?)b?$/i.exec(s.trim());
  if (!m) throw invalidArgument(`invalid size: '${s}'`);
  const mult: Record<string, number> = { '': 1, k: 1e3, m: 1e6, g: 1e9, t: 1e12, p: 1e15 };
  return Math.round(Number(m[1]) * mult[m[2]!.toLowerCase()]!);
}

export function logPolicy(lc: HostConfigWire['LogConfig']): LogPolicy {
  const type = lc?.Type || 'json-file';
  if (type !== 'json-file' && type !== 'local' && type !== 'none') throw invalidArgument(`error looking up logging plugin ${type}: plugin "${type}" not found`);
  const cfg = lc?.Config ?? {};
  for (const k of Object.keys(cfg)) if (!OPTS[type].includes(k)) throw invalidArgument(`unknown log opt '${k}' for ${type} log driver`);
  const policy: LogPolicy = { driver: type, maxFile: 1, readable: type !== 'none' };
  if (type === 'local') { policy.maxSize = 20e6; policy.maxFile = 5; }
  if (type === 'none') { policy.maxSize = 1e6; policy.maxFile = 1; }
  if (cfg['max-size'] !== undefined) {
    const n = parseHumanSize(cfg['max-size']);
    if (n <= 0 && type !== 'json-file') throw invalidArgument('max-size must be a positive number');
    policy.maxSize = n > 0 ? n : undefined;
  }
  if (cfg['max-file'] !== undefined) {
    const n = Number(cfg['max-file']);
    if (!Number.isInteger(n) || n < 1) throw invalidArgument('max-file cannot be less than 1');
    if (n > 1 && policy.maxSize === undefined) throw invalidArgument("max-file cannot be set without max-size");
    policy.maxFile = n;
  }
  return policy;
}

/** The log files of a container, oldest first: ctr.log.N … ctr.log.1, ctr.log. */
export function logFiles(current: string, maxFile: number): string[] {
  const out: string[] = [];
  for (let i = maxFile - 1; i >= 1; i--) out.push(`${current}.${i}`);
  out.push(current);
  return out;
}
