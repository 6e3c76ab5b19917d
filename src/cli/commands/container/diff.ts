/** `pier diff CONTAINER`: GET /containers/{id}/changes, one `K /path` line each (C, A, D). */
import type { ParsedFlags } from '../../flags/index.js';
import { StatusError, type CommandEnv, type CommandSpec } from '../command.js';
import { errorLine } from './each.js';

const LETTERS = ['C', 'A', 'D'];

export const command: CommandSpec = {
  usage: 'CONTAINER',
  description: "Inspect changes to files or directories on a container's filesystem",
  aliases: ['pier container diff', 'pier diff'],
  flags: [],
  args: { kind: 'exact', n: 1 },
  async run(env: CommandEnv, p: ParsedFlags): Promise<number> {
    const [name] = p.args as [string];
    let changes: Array<{ Path: string; Kind: number }> | null;
    try {
      changes = await env.client().json('GET', `/containers/${encodeURIComponent(name)}/changes`);
    } catch (e) {
      throw new StatusError(1, errorLine(e));
    }
    env.io.stdout.write((changes ?? []).map((c) => `${LETTERS[c.Kind] ?? '?'} ${c.Path}\n`).join(''));
    return 0;
  },
};
