/** `pier network rm NETWORK...`: DELETE /networks/{id}; prints each name. */
import type { ParsedFlags } from '../../flags/index.js';
import { StatusError, type CommandEnv, type CommandSpec } from '../command.js';
import { daemonError } from './network-request.js';

export const command: CommandSpec = {
  usage: 'NETWORK [NETWORK...]',
  description: 'Remove one or more networks',
  aliases: ['pier network rm', 'pier network remove'],
  flags: [{ long: 'force', short: 'f', kind: 'bool', usage: 'Do not error if the network does not exist' }],
  args: { kind: 'min', n: 1 },
  async run(env: CommandEnv, p: ParsedFlags): Promise<number> {
    let failed = false;
    for (const n of p.args) {
      try {
        await env.client().call('DELETE', `/networks/${encodeURIComponent(n)}`);
        env.io.stdout.write(`${n}\n`);
      } catch (e) {
        env.io.stderr.write(`${daemonError(e)}\n`);
        failed = true;
      }
    }
    if (failed) throw new StatusError(1, '');
    return 0;
  },
};
