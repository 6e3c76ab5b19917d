/**
 * The `filters` query parameter: URL-decoded JSON in two shapes, the current map form
 * `{"label":{"a=b":true}}` (docker CLI) and the legacy list form `{"label":["a=b"]}`
 * (docker-py, dockerode). Both become `Map<key, values[]>`.
 */
import { invalidArgument } from '../lib/errdefs.js';

export type Filters = Map<string, string[]>;

export function parseFilters(raw: string | undefined | null): Filters {
  const out: Filters = new Map();
  if (!raw) return out;
  let obj: unknown;
  try {
    obj = JSON.parse(raw);
  } catch {
    throw invalidArgument(`invalid filter '${raw}'`);
  }
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) throw invalidArgument(`invalid filter '${raw}'`);
  for (const [k, v] of Object.entries(obj as Record<string, unknown>)) {
    if (Array.isArray(v)) out.set(k, v.map(String));
    else if (v && typeof v === 'object') out.set(k, Object.entries(v).filter(([, on]) => on !== false).map(([x]) => x));
    else throw invalidArgument(`invalid filter '${k}'`);
  }
  return out;
}

/** Rejects keys a list endpoint does not support, with moby's wording. */
export function validateFilterKeys(f: Filters, accepted: readonly string[]): void {
  for (const k of f.keys()) if (!accepted.includes(k)) throw invalidArgument(`invalid filter '${k}'`);
}

/** `label` filter: each value `k` or `k=v` must match. */
export function matchLabels(f: Filters, labels: Record<string, string> | null | undefined): boolean {
  const want = f.get('label');
  if (!want) return true;
  return want.every((w) => {
    const eq = w.indexOf('=');
    if (eq < 0) return labels != null && w in labels;
    return labels != null && labels[w.slice(0, eq)] === w.slice(eq + 1);
  });
}

/** Moby's query booleans: "", 0, no, false, none (any case, spaces trimmed) are false; anything else true. */
export function queryBool(v: string | null | undefined, dflt = false): boolean {
  if (v === null || v === undefined) return dflt;
  return !['', '0', 'no', 'false', 'none'].includes(v.trim().toLowerCase());
}
