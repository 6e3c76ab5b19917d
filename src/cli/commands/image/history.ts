/** `pier history [-H] [--no-trunc] [-q] [--format] IMAGE`: GET /images/{name}/history as docker prints it. */
import { humanDuration, humanSizeWithPrecision } from '../../../api/units.js';
import { flagBool, flagString, type ParsedFlags } from '../../flags/index.js';
import { FormatError, HeaderContext, ellipsis, prepareFormat, renderRows } from '../../format/index.js';
import { StatusError, type CommandEnv, type CommandSpec } from '../command.js';
import { RecordContext } from '../record-context.js';

interface HistoryItem { Id: string; Created: number; CreatedBy: string; Tags: string[] | null; Size: number; Comment: string }

export const DEFAULT_HISTORY_TABLE = 'table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}';

/** One history row's fields (docker/cli formatter historyContext). */
export function historyFields(h: HistoryItem, o: { trunc: boolean; human: boolean; now: number }): Record<string, unknown> {
  const id = h.Id.startsWith('sha256:') ? (o.trunc ? h.Id.slice(7, 19) : h.Id) : h.Id;
  let createdBy = h.CreatedBy.replace(/\t/g, ' ');
  if (o.trunc) createdBy = ellipsis(createdBy, 45);
  const createdAt = new Date(h.Created * 1000).toISOString().replace(/\.000Z$/, 'Z');
  return {
    ID: id,
    CreatedSince: o.human ? (h.Created > 0 ? `${humanDuration(o.now - h.Created * 1000)} ago` : 'N/A') : createdAt,
    CreatedAt: createdAt,
    CreatedBy: createdBy,
    Size: o.human ? humanSizeWithPrecision(h.Size, 3) : String(h.Size),
    Comment: h.Comment,
  };
}

export const command: CommandSpec = {
  usage: '[OPTIONS] IMAGE',
  description: 'Show the history of an image',
  aliases: ['pier image history', 'pier history'],
  flags: [
    { long: 'format', kind: 'string', usage: 'Format output using a custom template' },
    { long: 'human', short: 'H', kind: 'bool', defaultValue: true, usage: 'Print sizes and dates in human readable format' },
    { long: 'no-trunc', kind: 'bool', usage: "Don't truncate output" },
    { long: 'quiet', short: 'q', kind: 'bool', usage: 'Only show image IDs' },
  ],
  args: { kind: 'exact', n: 1 },
  async run(env: CommandEnv, p: ParsedFlags): Promise<number> {
    let format = flagString(p, 'format');
    if (flagBool(p, 'quiet')) format = '{{.ID}}';
    else if (format === '' || format === 'table') format = DEFAULT_HISTORY_TABLE;
    const items = await env.client().json<HistoryItem[]>('GET', `/images/${encodeURIComponent(p.args[0]!)}/history`);
    const o = { trunc: !flagBool(p, 'no-trunc'), human: flagBool(p, 'human'), now: env.now() };
    try {
      const rows = items.map((h) => new RecordContext('*formatter.historyContext', historyFields(h, o)));
      const header = new HeaderContext({ ID: 'IMAGE', CreatedSince: 'CREATED', CreatedAt: 'CREATED AT', CreatedBy: 'CREATED BY', Size: 'SIZE', Comment: 'COMMENT' });
      env.io.stdout.write(renderRows(prepareFormat(format), rows, header));
    } catch (e) {
      if (e instanceof FormatError) throw new StatusError(1, e.message);
      throw e;
    }
    return 0;
  },
};
