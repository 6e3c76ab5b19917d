/** `pier network ls [-q] [-f FILTER] [--no-trunc]`: GET /networks. */
import { flagBool, flagString, type ParsedFlags } from '../../flags/index.js';
import { tabwrite } from '../../format/index.js';
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
    const filters = filterFlag(p);
    const list = (await listNetworks(env, filtersQuery(filters))).sort((a, b) => (a.Name < b.Name ? -1 : 1));
    const id = (s: string): string => (flagBool(p, 'no-trunc') ? s : s.slice(0, 12));
    if (flagBool(p, 'quiet')) { for (const n of list) env.io.stdout.write(`${id(n.Id)}\n`); return 0; }
    if (flagString(p, 'format')) throw new StatusError(1, 'pier network ls: --format is not supported yet');
    const rows = ['NETWORK ID\tNAME\tDRIVER\tSCOPE', ...list.map((n) => `${id(n.Id)}\t${n.Name}\t${n.Driver}\t${n.Scope}`)];
    env.io.stdout.write(tabwrite(rows.join('\n') + '\n'));
    return 0;
  },
};
