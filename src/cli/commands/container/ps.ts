/**
 * `pier ps [-a] [-q] [-n N] [-l] [-s] [--no-trunc] [-f FILTER] [--format FORMAT]`:
 * GET /containers/json, printed with docker's container table or a template.
 */
import { flagBool, flagInt, flagList, flagString, parseFilterList, type ParsedFlags } from '../../flags/index.js';
import { ContainerContext, containerHeader, DEFAULT_CONTAINER_TABLE, prepareFormat, renderRows, FormatError } from '../../format/index.js';
import type { ContainerSummary } from '../../../api/client-types.js';
import { StatusError, type CommandEnv, type CommandSpec } from '../command.js';

export interface PsOptions {
  all: boolean;
  quiet: boolean;
  size: boolean;
  sizeChanged: boolean;
  last: number;
  latest: boolean;
  noTrunc: boolean;
  filters: string[];
  format: string;
}

export function psOptions(p: ParsedFlags): PsOptions {
  return {
    all: flagBool(p, 'all'),
    quiet: flagBool(p, 'quiet'),
    size: flagBool(p, 'size'),
    sizeChanged: p.changed.has('size'),
    last: flagInt(p, 'last'),
    latest: flagBool(p, 'latest'),
    noTrunc: flagBool(p, 'no-trunc'),
    filters: flagList(p, 'filter'),
    format: flagString(p, 'format'),
  };
}

/** Lists and renders; separated from flag parsing for tests. */
export async function runPs(env: CommandEnv, o: PsOptions): Promise<number> {
  let format = o.format;
  if (o.quiet) format = '{{.ID}}';
  else if (format === '' || format === 'table') format = DEFAULT_CONTAINER_TABLE + (o.size ? '\t{{.Size}}' : '');
  let prepared;
  try {
    prepared = prepareFormat(format);
  } catch (e) {
    if (e instanceof FormatError) throw new StatusError(1, e.message);
    throw e;
  }
  let size = o.size;
  if (!o.quiet && !o.sizeChanged && o.format !== '') {
    // docker asks for sizes when the template reads .Size
    const probe = new ContainerContext(
      { Id: '', Names: [], Image: '', ImageID: '', Command: '', Created: 0, Ports: [], Labels: {}, State: '', Status: '' } as ContainerSummary,
      true,
    );
    try {
      prepared.template.execute(probe);
    } catch {
      // errors surface when rendering the real rows
    }
    size = probe.sizeUsed;
  }
  let filters: string | undefined;
  try {
    const f = parseFilterList(o.filters);
    filters = Object.keys(f).length ? JSON.stringify(f) : undefined;
  } catch (e) {
    throw new StatusError(125, `invalid argument "${o.filters.find((x) => !x.includes('=')) ?? ''}" for "-f, --filter" flag: ${(e as Error).message}`);
  }
  const limit = o.latest ? 1 : o.last;
  const list = await env.client().containerList({ all: o.all, limit: limit > 0 ? limit : undefined, size, filters });
  const rows = list.map((c) => new ContainerContext(c, !o.noTrunc, env.now));
  try {
    env.io.stdout.write(renderRows(prepared, rows, containerHeader()));
  } catch (e) {
    if (e instanceof FormatError) throw new StatusError(1, e.message);
    throw e;
  }
  return 0;
}

export const command: CommandSpec = {
  usage: '[OPTIONS]',
  description: 'List containers',
  aliases: ['pier container ls', 'pier container list', 'pier container ps', 'pier ps'],
  flags: [
    { long: 'all', short: 'a', kind: 'bool', usage: 'Show all containers (default shows just running)' },
    { long: 'filter', short: 'f', kind: 'stringArray', valueName: 'filter', usage: 'Filter output based on conditions provided' },
    { long: 'format', kind: 'string', usage: 'Format output using a custom template' },
    { long: 'last', short: 'n', kind: 'int', usage: 'Show n last created containers (includes all states)', defaultValue: -1 },
    { long: 'latest', short: 'l', kind: 'bool', usage: 'Show the latest created container (includes all states)' },
    { long: 'no-trunc', kind: 'bool', usage: "Don't truncate output" },
    { long: 'quiet', short: 'q', kind: 'bool', usage: 'Only display container IDs' },
    { long: 'size', short: 's', kind: 'bool', usage: 'Display total file sizes' },
  ],
  args: { kind: 'none' },
  run: (env: CommandEnv, p: ParsedFlags) => runPs(env, psOptions(p)),
};
