/** `pier network prune [-f] [--filter]`: POST /networks/prune. */
import { flagBool, flagList, parseFilterList, type ParsedFlags } from '../../flags/index.js';
import { StatusError, type CommandEnv, type CommandSpec } from '../command.js';

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
    if (!flagBool(p, 'force')) throw new StatusError(1, 'WARNING! This will remove all custom networks not used by at least one container.\nuse -f to confirm (pier does not prompt)');
    let filters: Record<string, Record<string, boolean>>;
    try { filters = parseFilterList(flagList(p, 'filter')); } catch (e) { throw new StatusError(125, (e as Error).message); }
    const r = await env.client().json<{ NetworksDeleted: string[] | null }>('POST', '/networks/prune', { query: { filters: Object.keys(filters).length ? JSON.stringify(filters) : undefined } });
    if (r.NetworksDeleted?.length) env.io.stdout.write(`Deleted Networks:\n${r.NetworksDeleted.join('\n')}\n`);
    return 0;
  },
};
