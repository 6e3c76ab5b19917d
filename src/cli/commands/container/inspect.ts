/** `pier container inspect [-f FORMAT] [-s] CONTAINER...`: GET /containers/{id}/json. */
import { isNotFound } from '../../../lib/errdefs.js';
import { encodeQuery, isDaemonResponseError } from '../../../client/index.js';
import { flagBool, flagString, type ParsedFlags } from '../../flags/index.js';
import type { CommandEnv, CommandSpec } from '../command.js';
import { writeInspect } from '../inspect-writer.js';

export const command: CommandSpec = {
  usage: '[OPTIONS] CONTAINER [CONTAINER...]',
  description: 'Display detailed information on one or more containers',
  flags: [
    { long: 'format', short: 'f', kind: 'string', usage: 'Format output using a custom template' },
    { long: 'size', short: 's', kind: 'bool', usage: 'Display total file sizes' },
  ],
  args: { kind: 'min', n: 1 },
  async run(env: CommandEnv, p: ParsedFlags): Promise<number> {
    const client = env.client();
    const size = flagBool(p, 'size');
    return writeInspect(env, p.args, flagString(p, 'format'), async (name) => {
      try {
        return { raw: await client.rawInspect(`/containers/${encodeURIComponent(name)}/json${encodeQuery({ size: size || undefined })}`) };
      } catch (e) {
        if (isNotFound(e) && isDaemonResponseError(e)) return { raw: undefined, error: `Error response from daemon: ${e.message}` };
        throw e;
      }
    });
  },
};
