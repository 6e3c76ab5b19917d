/**
 * `pier load [-i FILE] [-q]`: POST /images/load with the tar as the body; prints the
 * progress stream ("Loaded image: …"). Quiet when asked or when stdout is not a terminal.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { flagBool, flagString, type ParsedFlags } from '../../flags/index.js';
import { StatusError, type CommandEnv, type CommandSpec } from '../command.js';
import { displayJsonMessages, StreamMessageError } from '../progress.js';

export const command: CommandSpec = {
  usage: '[OPTIONS]',
  description: 'Load an image from a tar archive or STDIN',
  aliases: ['pier image load', 'pier load'],
  flags: [
    { long: 'input', short: 'i', kind: 'string', usage: 'Read from tar archive file, instead of STDIN' },
    { long: 'quiet', short: 'q', kind: 'bool', usage: 'Suppress the load output' },
  ],
  args: { kind: 'none' },
  async run(env: CommandEnv, p: ParsedFlags): Promise<number> {
    const input = flagString(p, 'input');
    let body: Readable;
    if (input) {
      try {
        await stat(input);
      } catch {
        throw new StatusError(1, `open ${input}: no such file or directory`);
      }
      body = createReadStream(input, { highWaterMark: 1 << 20 });
    } else {
      if (env.io.stdin.isTTY) throw new StatusError(1, 'requested load from stdin, but stdin is empty');
      body = env.io.stdin;
    }
    const quiet = flagBool(p, 'quiet') || !env.io.stdout.isTTY;
    const res = await env.client().request('POST', '/images/load', { query: { quiet: quiet ? '1' : '0' }, body, headers: { 'Content-Type': 'application/x-tar' } });
    try {
      await displayJsonMessages(res, env.io.stdout);
    } catch (e) {
      if (e instanceof StreamMessageError) throw new StatusError(e.code, e.message);
      throw e;
    }
    return 0;
  },
};
