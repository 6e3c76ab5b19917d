/** `pier network ls [-q] [-f FILTER] [--no-trunc] [--format]`: GET /networks. */
import { flagBool, flagString, type ParsedFlags } from '../../flags/index.js';
import { DEFAULT_NETWORK_TABLE, FormatError, networkHeader, networkRow, prepareFormat, renderRows } from '../../format/index.js';
import { StatusError, type CommandEnv, type CommandSpec, filterFlag, filtersQuery } from '../command.js';
import { listNetworks } from './network-request.js';

export const command: CommandSpec = {
  usage: '[OPTIONS]',
  description: 'List networks',
  aliases: ['pier network ls', 'pier network list'],
  flags: [
    { long: 'filter', short: 'f', kind: 'stringArray', valueName: 'filter', usage: 'Provide filter values (e.g. "driver=bridge")' },
    { long: 'format', kind: 'string', usage: 'Format output using a custom template' },
    { long: 'no-trunc', kind: 'bool', usage: 'Do not truncate the output' },
    { long: 'quiet', short: 'q', kind: 'bool', usage: 'Only display network IDs' },
  ],
  args: { kind: 'none' },
  async run(env: CommandEnv, p: ParsedFlags): Promise<number> {
    let format = flagString(p, 'format');
    if (flagBool(p, 'quiet')) format = '{{.ID}}';
    else if (format === '' || format === 'table') format = DEFAULT_NETWORK_TABLE;
    try {
      const prepared = prepareFormat(format);
      const list = (await listNetworks(env, filtersQuery(filterFlag(p)))).sort((a, b) => (a.Name < b.Name ? -1 : 1));
      const trunc = !flagBool(p, 'no-trunc');
      env.io.stdout.write(renderRows(prepared, list.map((n) => networkRow(n, trunc)), networkHeader()));
    } catch (e) {
      if (e instanceof FormatError) throw new StatusError(1, e.message);
      throw e;
    }
    return 0;
  },
};
