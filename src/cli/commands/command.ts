/**
 * What every verb file exports and what it receives: the command spec (usage line, flags, how
 * many arguments) and an environment (streams, env vars, a lazily created client, a clock).
 * Docker's error conventions live here too: StatusError (message + exit code) and the usage
 * errors cobra prints for bad argument counts.
 */
import type { Readable, Writable } from 'node:stream';
import type { EngineClient } from '../../client/index.js';
import { flagList, parseFilterList, type FlagDef, type ParsedFlags } from '../flags/index.js';

export const PROG = 'pier';

export interface OutStream extends Writable {
  isTTY?: boolean;
  columns?: number;
  rows?: number;
}

export interface InStream extends Readable {
  isTTY?: boolean;
  setRawMode?(mode: boolean): unknown;
}

export interface CliStreams {
  readonly stdout: OutStream;
  readonly stderr: OutStream;
  readonly stdin: InStream;
}

export interface CommandEnv {
  readonly io: CliStreams;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** the client, created (and version-negotiated) on first use */
  client(): EngineClient;
  /** ms since the epoch */
  now(): number;
  /** the command path as typed, e.g. `pier container ls` */
  readonly commandPath: string;
  /** hooks for process-level behaviour; absent in tests */
  readonly process?: {
    on(signal: NodeJS.Signals, fn: () => void): void;
    off(signal: NodeJS.Signals, fn: () => void): void;
  };
  /** reads a local file (env files, import tarballs) */
  readFile?(path: string): Promise<Buffer>;
}

/** How many positional arguments a verb takes (docker/cli's cli.RequiresMinArgs & co). */
export type ArgsRule =
  | { readonly kind: 'none' }
  | { readonly kind: 'exact'; readonly n: number }
  | { readonly kind: 'min'; readonly n: number }
  | { readonly kind: 'max'; readonly n: number }
  | { readonly kind: 'any' };

export interface CommandSpec {
  /** usage after the command path: `[OPTIONS] IMAGE [COMMAND] [ARG...]` */
  readonly usage: string;
  readonly description: string;
  readonly flags: readonly FlagDef[];
  readonly args: ArgsRule;
  /** false: flags stop at the first positional argument */
  readonly interspersed?: boolean;
  /** aliases shown in help */
  readonly aliases?: readonly string[];
  run(env: CommandEnv, parsed: ParsedFlags): Promise<number>;
}

/** An error with the exit status docker would use; an empty message prints nothing. */
export class StatusError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'StatusError';
  }
}

const plural = (n: number): string => (n === 1 ? 'argument' : 'arguments');

/** The message for a wrong argument count, or undefined if the count is fine. */
export function checkArgs(rule: ArgsRule, count: number, path: string, usage: string): StatusError | undefined {
  const usageBlock = `\n\nUsage:  ${path} ${usage}\n\n`;
  switch (rule.kind) {
    case 'none':
      return count === 0 ? undefined : new StatusError(1, `${PROG}: '${path}' accepts no arguments${usageBlock}Run '${path} --help' for more information`);
    case 'exact':
      return count === rule.n ? undefined : new StatusError(1, `${PROG}: '${path}' requires ${rule.n} ${plural(rule.n)}${usageBlock}Run '${path} --help' for more information`);
    case 'min':
      return count >= rule.n ? undefined : new StatusError(1, `${PROG}: '${path}' requires at least ${rule.n} ${plural(rule.n)}${usageBlock}See '${path} --help' for more information`);
    case 'max':
      // docker 28 really prints "SRun" here
      return count <= rule.n ? undefined : new StatusError(1, `${PROG}: '${path}' requires at most ${rule.n} ${plural(rule.n)}${usageBlock}SRun '${path} --help' for more information`);
    case 'any':
      return undefined;
  }
}

/** Output of a flag error: message, usage line, hint; exit 125. */
export function flagErrorText(message: string, path: string, usage: string): string {
  return `${message}\n\nUsage:  ${path} ${usage}\n\nRun '${path} --help' for more information`;
}

export function writeOut(s: OutStream, text: string): void {
  if (text.length) s.write(text);
}

/** Docker's error line for a failed call: `Error response from daemon: …`. */
export function daemonError(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return m.startsWith('Error') ? m : `Error response from daemon: ${m}`;
}

/** The repeated `--filter key=value` flag as Engine API filters; a malformed one is exit 125. */
export function filterFlag(p: ParsedFlags): Record<string, Record<string, boolean>> {
  try {
    return parseFilterList(flagList(p, 'filter'));
  } catch (e) {
    throw new StatusError(125, (e as Error).message);
  }
}

/** The `filters` query parameter: the JSON of the filters, or none when empty. */
export const filtersQuery = (f: Record<string, Record<string, boolean>>): string | undefined =>
  Object.keys(f).length ? JSON.stringify(f) : undefined;

/**
 * Removes named objects one after another (volume rm, network rm): each name is printed on
 * success, the daemon's error line otherwise; exit 1 once any failed.
 */
/**
 * Removes each name in turn, printing it; failures go to stderr and make the exit status 1.
 * `skip`: errors that are not failures (`network rm -f` and a missing network): nothing printed.
 */
export async function removeEach(env: CommandEnv, names: readonly string[], remove: (name: string) => Promise<unknown>, skip?: (e: unknown) => boolean): Promise<number> {
  let failed = false;
  for (const n of names) {
    try {
      await remove(n);
      env.io.stdout.write(`${n}\n`);
    } catch (e) {
      if (skip?.(e)) continue;
      env.io.stderr.write(`${daemonError(e)}\n`);
      failed = true;
    }
  }
  if (failed) throw new StatusError(1, '');
  return 0;
}

/** Docker's prune prompt: prints `warning` and asks; y or yes (any case) agrees. */
export async function confirm(env: CommandEnv, warning: string): Promise<boolean> {
  env.io.stdout.write(`${warning}\nAre you sure you want to continue? [y/N] `);
  let line = '';
  for await (const chunk of env.io.stdin) {
    line += chunk.toString();
    if (line.includes('\n')) break;
  }
  return /^y(es)?$/i.test(line.split('\n')[0]!.trim());
}
