/** `pier stop [-t N] CONTAINER...`: POST /containers/{id}/stop[?t=N]. */
import { flagInt, type ParsedFlags } from '../../flags/index.js';
import type { CommandEnv, CommandSpec } from '../command.js';
import { forEachContainer } from './each.js';

export const command: CommandSpec = {
  usage: '[OPTIONS] CONTAINER [CONTAINER...]',
  description: 'Stop one or more running containers',
  aliases: ['pier container stop', 'pier stop'],
  flags: [
    { long: 'signal', short: 's', kind: 'string', usage: 'Signal to send to the container' },
    { long: 'timeout', short: 't', kind: 'int', usage: 'Seconds to wait before killing the container' },
    { long: 'time', kind: 'int', hidden: true },
  ],
  args: { kind: 'min', n: 1 },
  async run(env: CommandEnv, p: ParsedFlags): Promise<number> {
    const t = p.changed.has('timeout') ? flagInt(p, 'timeout') : p.changed.has('time') ? flagInt(p, 'time') : undefined;
    const client = env.client();
    return forEachContainer(env, p.args, async (n) => {
      await client.containerStop(n, t);
    });
  },
};
