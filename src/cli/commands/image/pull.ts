/** `pier pull [-q] [--platform] NAME[:TAG|@DIGEST]`: POST /images/create?fromImage=<full>&tag=. */
import { fullRepository, parseImageName } from '../../../api/image-name.js';
import { flagBool, flagString, type ParsedFlags } from '../../flags/index.js';
import { StatusError, type CommandEnv, type CommandSpec } from '../command.js';
import { displayJsonMessages, StreamMessageError } from '../progress.js';
import { encodeAuthHeader, getCredentials } from '../registry/credentials.js';

export const command: CommandSpec = {
  usage: '[OPTIONS] NAME[:TAG|@DIGEST]',
  description: 'Download an image from a registry',
  aliases: ['pier image pull', 'pier pull'],
  flags: [
    { long: 'all-tags', short: 'a', kind: 'bool', usage: 'Download all tagged images in the repository' },
    { long: 'platform', kind: 'string', usage: 'Set platform if server is multi-platform capable' },
    { long: 'quiet', short: 'q', kind: 'bool', usage: 'Suppress verbose output' },
  ],
  args: { kind: 'exact', n: 1 },
  async run(env: CommandEnv, p: ParsedFlags): Promise<number> {
    const n = parseImageName(p.args[0] as string);
    const tag = n.digest ?? n.tag ?? 'latest';
    if (!n.tag && !n.digest && !flagBool(p, 'all-tags')) env.io.stdout.write('Using default tag: latest\n');
    const auth = await getCredentials(env.env, n.domain);
    const res = await env.client().request('POST', '/images/create', {
      query: { fromImage: fullRepository(n), tag: flagBool(p, 'all-tags') ? undefined : tag, platform: flagString(p, 'platform') || undefined },
      headers: { 'X-Registry-Auth': encodeAuthHeader(auth) },
    });
    try {
      await displayJsonMessages(res, flagBool(p, 'quiet') ? undefined : env.io.stdout);
    } catch (e) {
      if (e instanceof StreamMessageError) throw new StatusError(e.code, e.message);
      throw e;
    }
    env.io.stdout.write(`${fullRepository(n)}${n.digest ? `@${n.digest}` : `:${tag}`}\n`);
    return 0;
  },
};
