/** `pier volume rm [-f] VOLUME...`: DELETE /volumes/{name}; prints each name. */
import { flagBool, type ParsedFlags } from '../../flags/index.js';
import { removeEach, type CommandEnv, type CommandSpec } from '../command.js';

export const command: CommandSpec = {
  usage: '[OPTIONS] VOLUME [VOLUME...]',
  description: 'Remove one or more volumes',
  aliases: ['pier volume rm', 'pier volume remove'],
  flags: [{ long: 'force', short: 'f', kind: 'bool', usage: 'Force the removal of one or more volumes' }],
  args: { kind: 'min', n: 1 },
  async run(env: CommandEnv, p: ParsedFlags): Promise<number> {
    const force = flagBool(p, 'force') ? '1' : undefined;
    return removeEach(env, p.args, (n) => env.client().call('DELETE', `/volumes/${encodeURIComponent(n)}`, { query: { force } }));
  },
};
