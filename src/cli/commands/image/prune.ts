/**
 * `pier image prune [-a] [-f] [--filter]`: POST /images/prune (the CLI adds dangling=true
 * unless -a), after asking like docker unless -f.
 */
import { humanSize } from '../../../api/units.js';
import { flagBool,  type ParsedFlags } from '../../flags/index.js';
import { type CommandEnv, type CommandSpec, confirm, filterFlag } from '../command.js';

const WARN_DANGLING = 'WARNING! This will remove all dangling images.';
const WARN_ALL = 'WARNING! This will remove all images without at least one container associated to them.';

export const command: CommandSpec = {
  usage: '[OPTIONS]',
  description: 'Remove unused images',
  aliases: ['pier image prune'],
  flags: [
    { long: 'all', short: 'a', kind: 'bool', usage: 'Remove all unused images, not just dangling ones' },
    { long: 'filter', kind: 'stringArray', valueName: 'filter', usage: 'Provide filter values (e.g. "until=<timestamp>")' },
    { long: 'force', short: 'f', kind: 'bool', usage: 'Do not prompt for confirmation' },
  ],
  args: { kind: 'none' },
  async run(env: CommandEnv, p: ParsedFlags): Promise<number> {
    const filters = filterFlag(p);
    const all = flagBool(p, 'all');
    filters['dangling'] = { [all ? 'false' : 'true']: true };
    if (!flagBool(p, 'force') && !(await confirm(env, all ? WARN_ALL : WARN_DANGLING))) return 0;
    const r = await env.client().json<{ ImagesDeleted: Array<{ Untagged?: string; Deleted?: string }> | null; SpaceReclaimed: number }>(
      'POST', '/images/prune', { query: { filters: JSON.stringify(filters) } });
    let out = '';
    if (r.ImagesDeleted?.length) {
      out += 'Deleted Images:\n';
      for (const d of r.ImagesDeleted) {
        if (d.Untagged) out += `untagged: ${d.Untagged}\n`;
        if (d.Deleted) out += `deleted: ${d.Deleted}\n`;
      }
      out += '\n';
    }
    out += `Total reclaimed space: ${humanSize(r.SpaceReclaimed)}\n`;
    env.io.stdout.write(out);
    return 0;
  },
};
