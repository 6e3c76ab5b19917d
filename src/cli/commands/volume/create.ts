/** `pier volume create [OPTIONS] [VOLUME]`: POST /volumes/create; prints the name. */
import { flagList, flagString, kvListToMap, type ParsedFlags } from '../../flags/index.js';
import { StatusError, type CommandEnv, type CommandSpec, daemonError } from '../command.js';

export const command: CommandSpec = {
  usage: '[OPTIONS] [VOLUME]',
  description: 'Create a volume',
  aliases: ['pier volume create'],
  flags: [
    { long: 'driver', short: 'd', kind: 'string', usage: 'Specify volume driver name', defaultValue: 'local' },
    { long: 'label', kind: 'stringArray', valueName: 'list', usage: 'Set metadata for a volume' },
    { long: 'name', kind: 'string', usage: 'Specify volume name' },
    { long: 'opt', short: 'o', kind: 'stringArray', valueName: 'map', usage: 'Set driver specific options' },
  ],
  args: { kind: 'max', n: 1 },
  async run(env: CommandEnv, p: ParsedFlags): Promise<number> {
    const name = p.args[0] ?? flagString(p, 'name');
    if (p.args[0] && flagString(p, 'name') && flagString(p, 'name') !== p.args[0]) {
      throw new StatusError(1, `conflicting options: either specify --name or provide positional arg, not both`);
    }
    try {
      const v = await env.client().json<{ Name: string }>('POST', '/volumes/create', {
        body: { Name: name, Driver: flagString(p, 'driver'), DriverOpts: kvListToMap(flagList(p, 'opt')), Labels: kvListToMap(flagList(p, 'label')) },
      });
      env.io.stdout.write(`${v.Name}\n`);
    } catch (e) {
      throw new StatusError(1, daemonError(e));
    }
    return 0;
  },
};
