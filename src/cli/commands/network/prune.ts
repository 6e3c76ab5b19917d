/** `pier network prune [-f] [--filter]`: POST /networks/prune. */
import { flagBool, type ParsedFlags } from '../../flags/index.js';
import { type CommandEnv, type CommandSpec, confirm, filterFlag, filtersQuery } from '../command.js';

export const command: CommandSpec = {
  usage: '[OPTIONS]',
  description: 'Remove all unused networks',
  aliases: ['pier network prune'],
  flags: [
    { long: 'filter', kind: 'stringArray', valueName: 'filter', usage: 'Provide filter values (e.g. "until=<timestamp>")' },
    { long: 'force', short: 'f', kind: 'bool', usage: 'Do not prompt for confirmation' },
  ],
  args: { kind: 'none' },
  async run(env: CommandEnv, p: ParsedFlags): Promise<number> {
    if (!flagBool(p, 'force') && !(await confirm(env, 'WARNING! This will remove all custom networks not used by at least one container.'))) return 0;
    const filters = filterFlag(p);
    const r = await env.client().json<{ NetworksDeleted: string[] | null }>('POST', '/networks/prune', { query: { filters: filtersQuery(filters) } });
    if (r.NetworksDeleted?.length) env.io.stdout.write(`Deleted Networks:\n${r.NetworksDeleted.join('\n')}\n`);
    return 0;
  },
};
