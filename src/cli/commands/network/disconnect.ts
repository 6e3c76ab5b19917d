/** `pier network disconnect [-f] NETWORK CONTAINER`: POST /networks/{id}/disconnect. */
import { flagBool, type ParsedFlags } from '../../flags/index.js';
import { StatusError, type CommandEnv, type CommandSpec, daemonError } from '../command.js';

export const command: CommandSpec = {
  usage: '[OPTIONS] NETWORK CONTAINER',
  description: 'Disconnect a container from a network',
  aliases: ['pier network disconnect'],
  flags: [{ long: 'force', short: 'f', kind: 'bool', usage: 'Force the container to disconnect from a network' }],
  args: { kind: 'exact', n: 2 },
  async run(env: CommandEnv, p: ParsedFlags): Promise<number> {
    const [net, ctr] = p.args as [string, string];
    try {
      await env.client().call('POST', `/networks/${encodeURIComponent(net)}/disconnect`, { body: { Container: ctr, Force: flagBool(p, 'force') } });
    } catch (e) {
      throw new StatusError(1, daemonError(e));
    }
    return 0;
  },
};
