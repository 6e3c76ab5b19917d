/** `pier unpause CONTAINER...`: POST /containers/{id}/unpause. */
import type { ParsedFlags } from '../../flags/index.js';
import type { CommandEnv, CommandSpec } from '../command.js';
import { forEachContainer } from './each.js';

export const command: CommandSpec = {
  usage: 'CONTAINER [CONTAINER...]',
  description: 'Unpause all processes within one or more containers',
  aliases: ['pier container unpause', 'pier unpause'],
  flags: [],
  args: { kind: 'min', n: 1 },
  async run(env: CommandEnv, p: ParsedFlags): Promise<number> {
    const client = env.client();
    return forEachContainer(env, p.args, async (n) => {
      await client.containerUnpause(n);
    });
  },
};
