/** `pier volume prune [-f] [-a] [--filter]`: POST /volumes/prune. */
import { flagBool, type ParsedFlags } from '../../flags/index.js';
import { humanSize } from '../../../api/units.js';
import { type CommandEnv, type CommandSpec, confirm, filterFlag, filtersQuery } from '../command.js';

export const command: CommandSpec = {
  usage: '[OPTIONS]',
  description: 'Remove unused local volumes',
  aliases: ['pier volume prune'],
  flags: [
    { long: 'all', short: 'a', kind: 'bool', usage: 'Remove all unused volumes, not just anonymous ones' },
    { long: 'filter', kind: 'stringArray', valueName: 'filter', usage: "Provide filter values (e.g. 'label=<label>')" },
    { long: 'force', short: 'f', kind: 'bool', usage: 'Do not prompt for confirmation' },
  ],
  args: { kind: 'none' },
  async run(env: CommandEnv, p: ParsedFlags): Promise<number> {
    const all = flagBool(p, 'all');
    const warning = all ? 'WARNING! This will remove all local volumes not used by at least one container.' : 'WARNING! This will remove anonymous local volumes not used by at least one container.';
    if (!flagBool(p, 'force') && !(await confirm(env, warning))) return 0;
    const filters = filterFlag(p);
    if (all) filters.all = { true: true };
    const r = await env.client().json<{ VolumesDeleted: string[] | null; SpaceReclaimed: number }>('POST', '/volumes/prune', {
      query: { filters: filtersQuery(filters) },
    });
    let out = '';
    if (r.VolumesDeleted?.length) out += `Deleted Volumes:\n${r.VolumesDeleted.join('\n')}\n\n`;
    out += `Total reclaimed space: ${humanSize(r.SpaceReclaimed ?? 0)}\n`;
    env.io.stdout.write(out);
    return 0;
  },
};
