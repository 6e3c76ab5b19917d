/**
 * Exact-segment routing. Patterns: literal segments, `:name` (one segment) and `*name`
 * (one or more segments, for image names holding '/' and ':'; the literal tail after it
 * is matched from the end). No regexes, so route order never matters; `overlaps()` lets a
 * test prove it.
 */
import type { Handler } from './context.js';

interface Route { method: string; pattern: string; parts: string[]; handler: Handler }

export class Router {
  private routes: Route[] = [];

  add(method: string, pattern: string, handler: Handler): this {
    this.routes.push({ method, pattern, parts: pattern.split('/').filter(Boolean), handler });
    return this;
  }

  get(p: string, h: Handler): this { return this.add('GET', p, h); }
  post(p: string, h: Handler): this { return this.add('POST', p, h); }
  put(p: string, h: Handler): this { return this.add('PUT', p, h); }
  delete(p: string, h: Handler): this { return this.add('DELETE', p, h); }
  head(p: string, h: Handler): this { return this.add('HEAD', p, h); }

  match(method: string, path: string): { handler: Handler; params: Record<string, string> } | undefined {
    const segs = path.split('/').filter(Boolean).map((s) => { try { return decodeURIComponent(s); } catch { return s; } });
    for (const r of this.routes) {
      if (r.method !== method) continue;
      const params = matchParts(r.parts, segs);
      if (params) return { handler: r.handler, params };
    }
    return undefined;
  }

  /** Whether some path matches two routes (a test asserts there is none). */
  overlaps(): Array<[string, string]> {
    const out: Array<[string, string]> = [];
    for (let i = 0; i < this.routes.length; i++) {
      for (let j = i + 1; j < this.routes.length; j++) {
        const a = this.routes[i]!, b = this.routes[j]!;
        if (a.method !== b.method) continue;
        if (unify(a.parts, b.parts)) out.push([`${a.method} ${a.pattern}`, `${b.method} ${b.pattern}`]);
      }
    }
    return out;
  }

  list(): string[] {
    return this.routes.map((r) => `${r.method} ${r.pattern}`);
  }
}

/** Whether some path matches both patterns: literals must agree, `:x` takes any one segment, `*x` one or more. */
function unify(a: string[], b: string[]): boolean {
  const [x, y] = [a[0], b[0]];
  if (x === undefined || y === undefined) return x === undefined && y === undefined;
  const ra = a.slice(1), rb = b.slice(1);
  const xs = x.startsWith('*'), ys = y.startsWith('*');
  // A star takes the other side's next segment, then stops or goes on taking more.
  if (xs && ys) return unify(ra, rb) || unify(a, rb) || unify(ra, b);
  if (xs) return unify(ra, rb) || unify(a, rb);
  if (ys) return unify(ra, rb) || unify(ra, b);
  return (x.startsWith(':') || y.startsWith(':') || x === y) && unify(ra, rb);
}

function matchParts(parts: string[], segs: string[]): Record<string, string> | undefined {
  const params: Record<string, string> = {};
  const star = parts.findIndex((p) => p.startsWith('*'));
  if (star < 0) {
    if (parts.length !== segs.length) return undefined;
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!, s = segs[i]!;
      if (p.startsWith(':')) params[p.slice(1)] = s;
      else if (p !== s) return undefined;
    }
    return params;
  }
  const head = parts.slice(0, star), tail = parts.slice(star + 1);
  if (segs.length < head.length + tail.length + 1) return undefined;
  for (let i = 0; i < head.length; i++) {
    const p = head[i]!, s = segs[i]!;
    if (p.startsWith(':')) params[p.slice(1)] = s; else if (p !== s) return undefined;
  }
  for (let i = 0; i < tail.length; i++) {
    const p = tail[tail.length - 1 - i]!, s = segs[segs.length - 1 - i]!;
    if (p.startsWith(':')) params[p.slice(1)] = s; else if (p !== s) return undefined;
  }
  params[parts[star]!.slice(1)] = segs.slice(head.length, segs.length - tail.length).join('/');
  return params;
}
