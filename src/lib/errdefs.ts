/**
 * Error kinds shared by every layer (containerd's errdefs, in TypeScript).
 *
 * An error is born with its kind where the fact is known ("no such container" is
 * `not-found` in the container store); the HTTP layer maps kinds to status codes in one
 * place, and the CLI maps status codes back to kinds. Check kinds with the `is*` helpers,
 * never with `instanceof`, so that wrapped errors still classify.
 */
export type ErrorKind =
  | 'invalid-argument'
  | 'not-found'
  | 'already-exists'
  | 'conflict'
  | 'failed-precondition'
  | 'unauthenticated'
  | 'permission-denied'
  | 'not-modified'
  | 'not-implemented'
  | 'unavailable'
  | 'canceled'
  | 'internal';

export class EngineError extends Error {
  readonly code: string | undefined;
  constructor(
    readonly kind: ErrorKind,
    message: string,
    opts: { cause?: unknown; code?: string } = {},
  ) {
    super(message, { cause: opts.cause });
    this.name = 'EngineError';
    this.code = opts.code;
  }
}

export const invalidArgument = (msg: string, code?: string): EngineError => new EngineError('invalid-argument', msg, { code });
export const notFound = (msg: string, code?: string): EngineError => new EngineError('not-found', msg, { code });
export const conflict = (msg: string, code?: string): EngineError => new EngineError('conflict', msg, { code });
export const notModified = (msg = ''): EngineError => new EngineError('not-modified', msg);
export const internal = (msg: string, cause?: unknown): EngineError => new EngineError('internal', msg, { cause });
export const unavailable = (msg: string, cause?: unknown): EngineError => new EngineError('unavailable', msg, { cause });

/** The outermost classified error in the cause chain (moby's httpstatus.FromError order). */
export function kindOf(err: unknown): ErrorKind | undefined {
  const seen = new Set<unknown>();
  let cur: unknown = err;
  while (cur && typeof cur === 'object' && !seen.has(cur)) {
    seen.add(cur);
    if (cur instanceof EngineError) return cur.kind;
    if (cur instanceof AggregateError) {
      for (const e of cur.errors) {
        const k = kindOf(e);
        if (k) return k;
      }
    }
    cur = (cur as { cause?: unknown }).cause;
  }
  return undefined;
}

export const isNotFound = (e: unknown): boolean => kindOf(e) === 'not-found';
export const isConflict = (e: unknown): boolean => kindOf(e) === 'conflict';
export const isInvalidArgument = (e: unknown): boolean => kindOf(e) === 'invalid-argument';
export const isNotModified = (e: unknown): boolean => kindOf(e) === 'not-modified';

/** Adds context to an error while keeping its kind: `wrap(e, 'mount rootfs')`. */
export function wrap(err: unknown, context: string): EngineError {
  const msg = err instanceof Error ? err.message : String(err);
  return new EngineError(kindOf(err) ?? 'internal', `${context}: ${msg}`, { cause: err });
}

/** Node's system errors carry `code` (ENOENT...). */
export function errnoCode(err: unknown): string | undefined {
  return err && typeof err === 'object' && 'code' in err ? String((err as { code: unknown }).code) : undefined;
}
