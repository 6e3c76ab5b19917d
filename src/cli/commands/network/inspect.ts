/** `pier network inspect [-f FORMAT] NETWORK...`: GET /networks/{id}. */
import { flagString, type ParsedFlags } from '../../flags/index.js';
import { type CommandEnv, type CommandSpec, daemonError } from '../command.js';
import { writeInspect } from '../inspect-writer.js';
import { inspectNetworkRaw } from './network-request.js';

export const command: CommandSpec = {
  usage: '[OPTIONS] NETWORK [NETWORK...]',
  description: 'Display detailed information on one or more networks',
  aliases: ['pier network inspect'],
  flags: [{ long: 'format', short: 'f', kind: 'string', usage: 'Format output using a custom template' }],
  args: { kind: 'min', n: 1 },
  async run(env: CommandEnv, p: ParsedFlags): Promise<number> {
    return writeInspect(env, p.args, flagString(p, 'format'), async (name) => {
      try { return { raw: await inspectNetworkRaw(env, name) }; } catch (e) { return { raw: undefined, error: daemonError(e) }; }
    });
  },
};
