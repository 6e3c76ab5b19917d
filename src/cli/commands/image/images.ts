/**
 * `pier images [-a] [-q] [--digests] [--no-trunc] [-f FILTER] [--format] [REPOSITORY[:TAG]]`:
 * GET /images/json, one row per repository:tag.
 */
import { flagBool, flagString, type ParsedFlags } from '../../flags/index.js';
import {
  DEFAULT_IMAGE_TABLE,
  DEFAULT_IMAGE_TABLE_DIGESTS,
  FormatError,
  imageHeader,
  imageRows,
  prepareFormat,
  renderRows,
} from '../../format/index.js';
import { StatusError, type CommandEnv, type CommandSpec, filterFlag, filtersQuery } from '../command.js';

export const command: CommandSpec = {
  usage: '[OPTIONS] [REPOSITORY[:TAG]]',
  description: 'List images',
  aliases: ['pier image ls', 'pier image list', 'pier images'],
  flags: [
    { long: 'all', short: 'a', kind: 'bool', usage: 'Show all images (default hides intermediate images)' },
    { long: 'digests', kind: 'bool', usage: 'Show digests' },
    { long: 'filter', short: 'f', kind: 'stringArray', valueName: 'filter', usage: 'Filter output based on conditions provided' },
    { long: 'format', kind: 'string', usage: 'Format output using a custom template' },
    { long: 'no-trunc', kind: 'bool', usage: "Don't truncate output" },
    { long: 'quiet', short: 'q', kind: 'bool', usage: 'Only show image IDs' },
  ],
  args: { kind: 'max', n: 1 },
  async run(env: CommandEnv, p: ParsedFlags): Promise<number> {
    const digests = flagBool(p, 'digests');
    let format = flagString(p, 'format');
    if (flagBool(p, 'quiet')) format = '{{.ID}}';
    else if (format === '' || format === 'table') format = digests ? DEFAULT_IMAGE_TABLE_DIGESTS : DEFAULT_IMAGE_TABLE;
    const filters = filterFlag(p);
    if (p.args[0]) (filters['reference'] ??= {})[p.args[0]] = true;
    try {
      const prepared = prepareFormat(format);
      const list = await env.client().imageList({
        all: flagBool(p, 'all'),
        filters: filtersQuery(filters),
      });
      const rows = imageRows(list, { trunc: !flagBool(p, 'no-trunc'), digests: digests || /\.Digest\b/.test(format), now: env.now });
      env.io.stdout.write(renderRows(prepared, rows, imageHeader()));
    } catch (e) {
      if (e instanceof FormatError) throw new StatusError(1, e.message);
      throw e;
    }
    return 0;
  },
};
