/** `pier wait CONTAINER...`: POST /containers/{id}/wait, prints each StatusCode. */
import type { ParsedFlags } from '../../flags/index.js';
import type { CommandEnv, CommandSpec } from '../command.js';
import { forEachContainer } from './each.js';

export const command: CommandSpec = {
  usage: 'CONTAINER [CONTAINER...]',
  description: 'Block until one or more containers stop, then print their exit codes',
  aliases: ['pier container wait', 'pier wait'],
  flags: [],
  args: { kind: 'min', n: 1 },
  async run(env: CommandEnv, p: ParsedFlags): Promise<number> {
    const client = env.client();
    return forEachContainer(env, p.args, async (n) => {
      const w = await client.containerWait(n);
      const r = await w.result;
      if (r.Error) throw new Error(r.Error.Message);
      return String(r.StatusCode);
    });
  },
};
