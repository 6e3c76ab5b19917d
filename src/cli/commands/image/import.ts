/**
 * `pier import [-c CHANGE] [-m MSG] [--platform] file|URL|- [REPOSITORY[:TAG]]`:
 * POST /images/create?fromSrc=-&repo=... with the tarball as a chunked body; prints the ID.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { flagList, flagString, type ParsedFlags } from '../../flags/index.js';
import { StatusError, type CommandEnv, type CommandSpec } from '../command.js';
import { displayJsonMessages, StreamMessageError } from '../progress.js';

export const command: CommandSpec = {
  usage: '[OPTIONS] file|URL|- [REPOSITORY[:TAG]]',
  description: 'Import the contents from a tarball to create a filesystem image',
  aliases: ['pier image import', 'pier import'],
  flags: [
    { long: 'change', short: 'c', kind: 'stringArray', valueName: 'list', usage: 'Apply Dockerfile instruction to the created image' },
    { long: 'message', short: 'm', kind: 'string', usage: 'Set commit message for imported image' },
    { long: 'platform', kind: 'string', usage: 'Set platform if server is multi-platform capable' },
  ],
  args: { kind: 'min', n: 1 },
  async run(env: CommandEnv, p: ParsedFlags): Promise<number> {
    const [src, repo] = p.args as [string, string | undefined];
    const client = env.client();
    let body: Readable;
    let fromSrc = '-';
    if (src === '-') body = env.io.stdin;
    else if (/^https?:\/\//.test(src)) {
      fromSrc = src;
      body = (await import('node:stream')).Readable.from([]);
    } else {
      try {
        await stat(src);
      } catch {
        throw new StatusError(1, `open ${src}: no such file or directory`);
      }
      body = createReadStream(src);
    }
    const res = await client.request('POST', '/images/create', {
      query: {
        fromSrc,
        repo: repo || undefined,
        message: flagString(p, 'message') || undefined,
        changes: flagList(p, 'change').length ? flagList(p, 'change') : undefined,
        platform: flagString(p, 'platform') || undefined,
      },
      body,
    });
    try {
      await displayJsonMessages(res, env.io.stdout);
    } catch (e) {
      if (e instanceof StreamMessageError) throw new StatusError(e.code, e.message);
      throw e;
    }
    return 0;
  },
};
