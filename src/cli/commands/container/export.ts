/** `pier export [-o FILE] CONTAINER`: GET /containers/{id}/export, the root filesystem as a tar. */
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { flagString, type ParsedFlags } from '../../flags/index.js';
import { StatusError, type CommandEnv, type CommandSpec } from '../command.js';
import { errorLine } from './each.js';
import { copyToStream } from './cp.js';

export const command: CommandSpec = {
  usage: '[OPTIONS] CONTAINER',
  description: "Export a container's filesystem as a tar archive",
  aliases: ['pier container export', 'pier export'],
  flags: [{ long: 'output', short: 'o', kind: 'string', usage: 'Write to a file, instead of STDOUT' }],
  args: { kind: 'exact', n: 1 },
  async run(env: CommandEnv, p: ParsedFlags): Promise<number> {
    const [name] = p.args as [string];
    const output = flagString(p, 'output');
    if (!output && env.io.stdout.isTTY) throw new StatusError(1, 'cowardly refusing to save to a terminal. Use the -o flag or redirect');
    let res;
    try {
      res = await env.client().request('GET', `/containers/${encodeURIComponent(name)}/export`);
    } catch (e) {
      throw new StatusError(1, errorLine(e));
    }
    if (output) await pipeline(res, createWriteStream(output));
    else await copyToStream(res, env.io.stdout);
    return 0;
  },
};
