/** `pier network connect [--alias A] [--ip IP] NETWORK CONTAINER`: POST /networks/{id}/connect. */
import { flagList, flagString, type ParsedFlags } from '../../flags/index.js';
import { StatusError, type CommandEnv, type CommandSpec, daemonError } from '../command.js';

export const command: CommandSpec = {
  usage: '[OPTIONS] NETWORK CONTAINER',
  description: 'Connect a container to a network',
  aliases: ['pier network connect'],
  flags: [
    { long: 'alias', kind: 'stringArray', valueName: 'strings', usage: 'Add network-scoped alias for the container' },
    { long: 'ip', kind: 'string', usage: 'IPv4 address (e.g., "172.30.100.104")' },
    { long: 'link', kind: 'stringArray', valueName: 'list', usage: 'Add link to another container' },
  ],
  args: { kind: 'exact', n: 2 },
  async run(env: CommandEnv, p: ParsedFlags): Promise<number> {
    const [net, ctr] = p.args as [string, string];
    const ip = flagString(p, 'ip');
    try {
      await env.client().call('POST', `/networks/${encodeURIComponent(net)}/connect`, {
        body: { Container: ctr, EndpointConfig: { IPAMConfig: ip ? { IPv4Address: ip } : null, Aliases: flagList(p, 'alias'), Links: flagList(p, 'link') } },
      });
    } catch (e) {
      throw new StatusError(1, daemonError(e));
    }
    return 0;
  },
};
