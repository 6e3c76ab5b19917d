/** `pier volume ls [-q] [-f FILTER]`: GET /volumes. */
import { flagBool, flagList, flagString, parseFilterList, type ParsedFlags } from '../../flags/index.js';
import { tabwrite } from '../../format/index.js';
import { StatusError, type CommandEnv, type CommandSpec } from '../command.js';
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
    let filters: Record<string, Record<string, boolean>>;
    try { filters = parseFilterList(flagList(p, 'filter')); } catch (e) { throw new StatusError(125, (e as Error).message); }
    const list = (await listVolumes(env, Object.keys(filters).length ? JSON.stringify(filters) : undefined)).sort((a, b) => (a.Name < b.Name ? -1 : 1));
    if (flagBool(p, 'quiet')) { for (const v of list) env.io.stdout.write(`${v.Name}\n`); return 0; }
    if (flagString(p, 'format')) throw new StatusError(1, 'pier volume ls: --format is not supported yet');
    const rows = ['DRIVER\tVOLUME NAME', ...list.map((v) => `${v.Driver}\t${v.Name}`)];
    env.io.stdout.write(tabwrite(rows.join('\n') + '\n'));
    return 0;
  },
};
