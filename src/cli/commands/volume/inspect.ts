/** `pier volume inspect [-f FORMAT] VOLUME...`: GET /volumes/{name}. */
import { flagString, type ParsedFlags } from '../../flags/index.js';
import { type CommandEnv, type CommandSpec, daemonError } from '../command.js';
import { writeInspect } from '../inspect-writer.js';

export const command: CommandSpec = {
  usage: '[OPTIONS] VOLUME [VOLUME...]',
  description: 'Display detailed information on one or more volumes',
  aliases: ['pier volume inspect'],
  flags: [{ long: 'format', short: 'f', kind: 'string', usage: 'Format output using a custom template' }],
  args: { kind: 'min', n: 1 },
  async run(env: CommandEnv, p: ParsedFlags): Promise<number> {
    return writeInspect(env, p.args, flagString(p, 'format'), async (name) => {
      try {
        return { raw: JSON.stringify(await env.client().json<unknown>('GET', `/volumes/${encodeURIComponent(name)}`)) };
      } catch (e) {
        return { raw: undefined, error: daemonError(e) };
      }
    });
  },
};
