/** `pier rename CONTAINER NEW_NAME`: POST /containers/{id}/rename?name=. */
import type { ParsedFlags } from '../../flags/index.js';
import { StatusError, type CommandEnv, type CommandSpec } from '../command.js';
import { errorLine } from './each.js';

export const command: CommandSpec = {
  usage: 'CONTAINER NEW_NAME',
  description: 'Rename a container',
  aliases: ['pier container rename', 'pier rename'],
  flags: [],
  args: { kind: 'exact', n: 2 },
  async run(env: CommandEnv, p: ParsedFlags): Promise<number> {
    const [oldName, newName] = p.args as [string, string];
    if (oldName.trim() === '' || newName.trim() === '') throw new StatusError(1, 'Error: Neither old nor new names may be empty');
    try {
      await env.client().containerRename(oldName, newName.trim());
    } catch (e) {
      env.io.stderr.write(`${errorLine(e)}\n`);
      throw new StatusError(1, `Error: failed to rename container named ${oldName}`);
    }
    return 0;
  },
};
