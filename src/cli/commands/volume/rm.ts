/** `pier volume rm [-f] VOLUME...`: DELETE /volumes/{name}; prints each name. */
import { flagBool, type ParsedFlags } from '../../flags/index.js';
import { StatusError, type CommandEnv, type CommandSpec } from '../command.js';
import { daemonError } from './volume-request.js';

export const command: CommandSpec = {
  usage: '[OPTIONS] VOLUME [VOLUME...]',
  description: 'Remove one or more volumes',
  aliases: ['pier volume rm', 'pier volume remove'],
  flags: [{ long: 'force', short: 'f', kind: 'bool', usage: 'Force the removal of one or more volumes' }],
  args: { kind: 'min', n: 1 },
  async run(env: CommandEnv, p: ParsedFlags): Promise<number> {
    let failed = false;
    for (const n of p.args) {
      try {
        await env.client().call('DELETE', `/volumes/${encodeURIComponent(n)}`, { query: { force: flagBool(p, 'force') ? '1' : undefined } });
        env.io.stdout.write(`${n}\n`);
      } catch (e) {
        env.io.stderr.write(`${daemonError(e)}\n`);
        failed = true;
      }
    }
    if (failed) throw new StatusError(1, '');
    return 0;
  },
};
