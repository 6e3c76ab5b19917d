/** `pier network rm [-f] NETWORK...`: DELETE /networks/{id}; prints each name (-f: a missing one is no error). */
import { isNotFound } from '../../../lib/errdefs.js';
import { flagBool, type ParsedFlags } from '../../flags/index.js';
import { removeEach, type CommandEnv, type CommandSpec } from '../command.js';

export const command: CommandSpec = {
  usage: 'NETWORK [NETWORK...]',
  description: 'Remove one or more networks',
  aliases: ['pier network rm', 'pier network remove'],
  flags: [{ long: 'force', short: 'f', kind: 'bool', usage: 'Do not error if the network does not exist' }],
  args: { kind: 'min', n: 1 },
  async run(env: CommandEnv, p: ParsedFlags): Promise<number> {
    const force = flagBool(p, 'force');
    return removeEach(env, p.args, (n) => env.client().call('DELETE', `/networks/${encodeURIComponent(n)}`), (e) => force && isNotFound(e));
  },
};
