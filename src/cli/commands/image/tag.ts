/** `pier tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]`: POST /images/{src}/tag?repo=<full>&tag=. */
import { fullRepository, parseImageName } from '../../../api/image-name.js';
import type { ParsedFlags } from '../../flags/index.js';
import { StatusError, type CommandEnv, type CommandSpec } from '../command.js';

export const command: CommandSpec = {
  usage: 'SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]',
  description: 'Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE',
  aliases: ['pier image tag', 'pier tag'],
  flags: [],
  args: { kind: 'exact', n: 2 },
  async run(env: CommandEnv, p: ParsedFlags): Promise<number> {
    const [src, dst] = p.args as [string, string];
    const n = parseImageName(dst);
    if (n.digest) throw new StatusError(1, 'refusing to create a tag with a digest reference');
    await env.client().imageTag(src, fullRepository(n), n.tag ?? 'latest');
    return 0;
  },
};
