/** `pier top CONTAINER [ps OPTIONS]`: GET /containers/{id}/top, printed as a table. */
import type { ParsedFlags } from '../../flags/index.js';
import type { CommandEnv, CommandSpec } from '../command.js';
import { tabwrite } from '../../format/index.js';

export const command: CommandSpec = {
  usage: 'CONTAINER [ps OPTIONS]',
  description: 'Display the running processes of a container',
  aliases: ['pier container top', 'pier top'],
  flags: [],
  args: { kind: 'min', n: 1 },
  interspersed: false,
  async run(env: CommandEnv, p: ParsedFlags): Promise<number> {
    const [name, ...ps] = p.args as [string, ...string[]];
    const top = await env.client().containerTop(name, ps.join(' '));
    let text = `${top.Titles.join('\t')}\n`;
    for (const row of top.Processes ?? []) text += `${row.join('\t')}\n`;
    env.io.stdout.write(tabwrite(text, { minWidth: 20, padding: 3 }));
    return 0;
  },
};
