/** `pier volume ls [-q] [-f FILTER]`: GET /volumes. */
import { flagBool, flagString, type ParsedFlags } from '../../flags/index.js';
import { tabwrite } from '../../format/index.js';
import { StatusError, type CommandEnv, type CommandSpec, filterFlag, filtersQuery } from '../command.js';
import { listVolumes } from './volume-request.js';

export const command: CommandSpec = {
  usage: '[OPTIONS]',
  description: 'List volumes',
  aliases: ['pier volume ls', 'pier volume list'],
  flags: [
    { long: 'filter', short: 'f', kind: 'stringArray', valueName: 'filter', usage: "Provide filter values (e.g. 'dangling=true')" },
    { long: 'format', kind: 'string', usage: 'Format output using a custom template' },
    { long: 'quiet', short: 'q', kind: 'bool', usage: 'Only display volume names' },
  ],
  args: { kind: 'none' },
  async run(env: CommandEnv, p: ParsedFlags): Promise<number> {
    const filters = filterFlag(p);
    const list = (await listVolumes(env, filtersQuery(filters))).sort((a, b) => (a.Name < b.Name ? -1 : 1));
    if (flagBool(p, 'quiet')) { for (const v of list) env.io.stdout.write(`${v.Name}\n`); return 0; }
    if (flagString(p, 'format')) throw new StatusError(1, 'pier volume ls: --format is not supported yet');
    const rows = ['DRIVER\tVOLUME NAME', ...list.map((v) => `${v.Driver}\t${v.Name}`)];
    env.io.stdout.write(tabwrite(rows.join('\n') + '\n'));
    return 0;
  },
};
