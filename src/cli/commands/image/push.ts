/** `pier push [-a] [-q] NAME[:TAG]`: POST /images/{name}/push?tag= with X-Registry-Auth. */
import { familiarRepository, parseImageName } from '../../../api/image-name.js';
import { flagBool, type ParsedFlags } from '../../flags/index.js';
import { StatusError, type CommandEnv, type CommandSpec } from '../command.js';
import { displayJsonMessages, StreamMessageError } from '../progress.js';
import { encodeAuthHeader, getCredentials } from '../registry/credentials.js';

export const command: CommandSpec = {
  usage: '[OPTIONS] NAME[:TAG]',
  description: 'Upload an image to a registry',
  aliases: ['pier image push', 'pier push'],
  flags: [
    { long: 'all-tags', short: 'a', kind: 'bool', usage: 'Push all tags of an image to the repository' },
    { long: 'quiet', short: 'q', kind: 'bool', usage: 'Suppress verbose output' },
  ],
  args: { kind: 'exact', n: 1 },
  async run(env: CommandEnv, p: ParsedFlags): Promise<number> {
    const n = parseImageName(p.args[0] as string);
    const all = flagBool(p, 'all-tags');
    if (all && n.tag) throw new StatusError(1, 'tag can\'t be used with --all-tags/-a');
    if (!all && !n.tag) env.io.stdout.write('Using default tag: latest\n');
    const tag = all ? undefined : n.tag ?? 'latest';
    const auth = await getCredentials(env.env, n.domain);
    const res = await env.client().request('POST', `/images/${familiarRepository(n)}/push`, { query: { tag }, headers: { 'X-Registry-Auth': encodeAuthHeader(auth) } });
    try {
      await displayJsonMessages(res, flagBool(p, 'quiet') ? undefined : env.io.stdout);
    } catch (e) {
      if (e instanceof StreamMessageError) throw new StatusError(e.code, e.message);
      throw e;
    }
    if (flagBool(p, 'quiet')) env.io.stdout.write(`${familiarRepository(n)}${tag ? `:${tag}` : ''}\n`);
    return 0;
  },
};
