/**
 * `pier save [-o FILE] IMAGE...`: GET /images/get?names=… → a tar on stdout or in FILE
 * (written aside and renamed, like docker's CopyToFile). Refuses to write to a terminal.
 */
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { dirname, join, basename } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { flagString, type ParsedFlags } from '../../flags/index.js';
import { StatusError, type CommandEnv, type CommandSpec } from '../command.js';

export const command: CommandSpec = {
  usage: '[OPTIONS] IMAGE [IMAGE...]',
  description: 'Save one or more images to a tar archive (streamed to STDOUT by default)',
  aliases: ['pier image save', 'pier save'],
  flags: [{ long: 'output', short: 'o', kind: 'string', usage: 'Write to a file, instead of STDOUT' }],
  args: { kind: 'min', n: 1 },
  async run(env: CommandEnv, p: ParsedFlags): Promise<number> {
    const output = flagString(p, 'output');
    if (!output && env.io.stdout.isTTY) throw new StatusError(1, 'cowardly refusing to save to a terminal. Use the -o flag or redirect');
    const res = await env.client().request('GET', '/images/get', { query: { names: p.args } });
    if (!output) {
      await pipeline(res, env.io.stdout, { end: false });
      return 0;
    }
    const tmp = join(dirname(output), `.${basename(output)}.${process.pid}.tmp`);
    try {
      await pipeline(res, createWriteStream(tmp, { mode: 0o644 }));
      await rename(tmp, output);
    } catch (e) {
      await rm(tmp, { force: true });
      throw new StatusError(1, `failed to save image: ${(e as Error).message}`);
    }
    return 0;
  },
};
