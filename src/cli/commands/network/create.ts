/** `pier network create [OPTIONS] NETWORK`: POST /networks/create; prints the ID. */
import { flagBool, flagList, flagString, kvListToMap, type ParsedFlags } from '../../flags/index.js';
import { StatusError, type CommandEnv, type CommandSpec, daemonError } from '../command.js';

export const command: CommandSpec = {
  usage: '[OPTIONS] NETWORK',
  description: 'Create a network',
  aliases: ['pier network create'],
  flags: [
    { long: 'attachable', kind: 'bool', usage: 'Enable manual container attachment' },
    { long: 'driver', short: 'd', kind: 'string', usage: 'Driver to manage the Network', defaultValue: 'bridge' },
    { long: 'gateway', kind: 'stringArray', valueName: 'strings', usage: 'IPv4 or IPv6 Gateway for the master subnet' },
    { long: 'internal', kind: 'bool', usage: 'Restrict external access to the network' },
    { long: 'ip-range', kind: 'stringArray', valueName: 'strings', usage: 'Allocate container ip from a sub-range' },
    { long: 'label', kind: 'stringArray', valueName: 'list', usage: 'Set metadata on a network' },
    { long: 'opt', short: 'o', kind: 'stringArray', valueName: 'map', usage: 'Set driver specific options' },
    { long: 'subnet', kind: 'stringArray', valueName: 'strings', usage: 'Subnet in CIDR format that represents a network segment' },
  ],
  args: { kind: 'exact', n: 1 },
  async run(env: CommandEnv, p: ParsedFlags): Promise<number> {
    const subnets = flagList(p, 'subnet'), gws = flagList(p, 'gateway'), ranges = flagList(p, 'ip-range');
    const config = subnets.map((s, i) => ({ Subnet: s, ...(gws[i] ? { Gateway: gws[i] } : {}), ...(ranges[i] ? { IPRange: ranges[i] } : {}) }));
    try {
      const r = await env.client().json<{ Id: string }>('POST', '/networks/create', {
        body: {
          Name: p.args[0], Driver: flagString(p, 'driver'), Internal: flagBool(p, 'internal'), Attachable: flagBool(p, 'attachable'),
          IPAM: { Driver: 'default', Options: {}, Config: config }, Options: kvListToMap(flagList(p, 'opt')), Labels: kvListToMap(flagList(p, 'label')),
          CheckDuplicate: true,
        },
      });
      env.io.stdout.write(`${r.Id}\n`);
    } catch (e) {
      throw new StatusError(1, daemonError(e));
    }
    return 0;
  },
};
