/** `pier image inspect [-f FORMAT] IMAGE...`: GET /images/{name}/json. */
import { isNotFound } from '../../../lib/errdefs.js';
import { isDaemonResponseError } from '../../../client/index.js';
import { flagString, type ParsedFlags } from '../../flags/index.js';
import type { CommandEnv, CommandSpec } from '../command.js';
import { writeInspect } from '../inspect-writer.js';

export const command: CommandSpec = {
  usage: '[OPTIONS] IMAGE [IMAGE...]',
  description: 'Display detailed information on one or more images',
  flags: [{ long: 'format', short: 'f', kind: 'string', usage: 'Format output using a custom template' }],
  args: { kind: 'min', n: 1 },
  async run(env: CommandEnv, p: ParsedFlags): Promise<number> {
    const client = env.client();
    return writeInspect(env, p.args, flagString(p, 'format'), async (name) => {
      try {
        return { raw: await client.rawInspect(`/images/${name}/json`) };
      } catch (e) {
        if (isNotFound(e) && isDaemonResponseError(e)) return { raw: undefined, error: `Error response from daemon: ${e.message}` };
        throw e;
      }
    });
  },
};
