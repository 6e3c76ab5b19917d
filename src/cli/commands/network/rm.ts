/** `pier network rm NETWORK...`: DELETE /networks/{id}; prints each name. */
import type { ParsedFlags } from '../../flags/index.js';
import { removeEach, type CommandEnv, type CommandSpec } from '../command.js';

export const command: CommandSpec = {
  usage: 'NETWORK [NETWORK...]',
  description: 'Remove one or more networks',
  aliases: ['pier network rm', 'pier network remove'],
  flags: [{ long: 'force', short: 'f', kind: 'bool', usage: 'Do not error if the network does not exist' }],
  args: { kind: 'min', n: 1 },
  async run(env: CommandEnv, p: ParsedFlags): Promise<number> {
    return removeEach(env, p.args, (n) => env.client().call('DELETE', `/networks/${encodeURIComponent(n)}`));
  },
};
