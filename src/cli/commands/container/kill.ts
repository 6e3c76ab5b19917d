/** `pier kill [-s SIGNAL] CONTAINER...`: POST /containers/{id}/kill[?signal=]. */
import { flagString, type ParsedFlags } from '../../flags/index.js';
import type { CommandEnv, CommandSpec } from '../command.js';
import { forEachContainer } from './each.js';

export const command: CommandSpec = {
  usage: '[OPTIONS] CONTAINER [CONTAINER...]',
  description: 'Kill one or more running containers',
  aliases: ['pier container kill', 'pier kill'],
  flags: [{ long: 'signal', short: 's', kind: 'string', usage: 'Signal to send to the container' }],
  args: { kind: 'min', n: 1 },
  async run(env: CommandEnv, p: ParsedFlags): Promise<number> {
    const sig = flagString(p, 'signal');
    const client = env.client();
    return forEachContainer(env, p.args, async (n) => {
      await client.containerKill(n, sig || undefined);
    });
  },
};
