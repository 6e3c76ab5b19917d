/**
 * Runs an API call per named container like docker's multi-object verbs: the name is printed
 * on success, each failure is collected, and the joined failures become the exit-1 message.
 */
import { isDaemonResponseError } from '../../../client/index.js';
import { StatusError, type CommandEnv } from '../command.js';

export const errorLine = (e: unknown): string =>
  isDaemonResponseError(e) ? `Error response from daemon: ${e.message}` : e instanceof Error ? e.message : String(e);

export async function forEachContainer(
  env: CommandEnv,
  names: readonly string[],
  fn: (name: string) => Promise<string | undefined | void>,
  opts: { ignore?: (e: unknown) => boolean; summary?: (failed: string[]) => string } = {},
): Promise<number> {
  const errs: string[] = [];
  const failed: string[] = [];
  // docker runs these in parallel but prints in argument order
  const results = await Promise.allSettled(names.map((n) => fn(n)));
  results.forEach((r, i) => {
    const name = names[i] as string;
    if (r.status === 'fulfilled') {
      env.io.stdout.write(`${r.value ?? name}\n`);
    } else if (opts.ignore?.(r.reason)) {
      // docker prints these but does not fail (rm -f on a missing container)
      env.io.stderr.write(`${errorLine(r.reason)}\n`);
    } else {
      errs.push(errorLine(r.reason));
      failed.push(name);
    }
  });
  if (errs.length === 0) return 0;
  if (opts.summary) {
    for (const e of errs) env.io.stderr.write(`${e}\n`);
    throw new StatusError(1, opts.summary(failed));
  }
  throw new StatusError(1, errs.join('\n'));
}
