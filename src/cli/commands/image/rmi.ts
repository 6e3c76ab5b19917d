/** `pier rmi [-f] [--no-prune] IMAGE...`: DELETE /images/{name}; prints Untagged/Deleted lines. */
import { flagBool, type ParsedFlags } from '../../flags/index.js';
import { StatusError, type CommandEnv, type CommandSpec } from '../command.js';
import { errorLine } from '../container/each.js';

export const command: CommandSpec = {
  usage: '[OPTIONS] IMAGE [IMAGE...]',
  description: 'Remove one or more images',
  aliases: ['pier image rm', 'pier image remove', 'pier rmi'],
  flags: [
    { long: 'force', short: 'f', kind: 'bool', usage: 'Force removal of the image' },
    { long: 'no-prune', kind: 'bool', usage: 'Do not delete untagged parents' },
  ],
  args: { kind: 'min', n: 1 },
  async run(env: CommandEnv, p: ParsedFlags): Promise<number> {
    const client = env.client();
    const errs: string[] = [];
    for (const name of p.args) {
      try {
        const items = await client.imageRemove(name, { force: flagBool(p, 'force'), noprune: flagBool(p, 'no-prune') });
        for (const it of items ?? []) {
          if (it.Untagged) env.io.stdout.write(`Untagged: ${it.Untagged}\n`);
          if (it.Deleted) env.io.stdout.write(`Deleted: ${it.Deleted}\n`);
        }
      } catch (e) {
        errs.push(errorLine(e));
      }
    }
    if (errs.length) throw new StatusError(1, errs.join('\n'));
    return 0;
  },
};
