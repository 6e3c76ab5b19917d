/** `pier rm [-f] [-v] CONTAINER...`: DELETE /containers/{id}; with -f a missing container is no error. */
import { isNotFound } from '../../../lib/errdefs.js';
import { flagBool, type ParsedFlags } from '../../flags/index.js';
import type { CommandEnv, CommandSpec } from '../command.js';
import { forEachContainer } from './each.js';

export const command: CommandSpec = {
  usage: '[OPTIONS] CONTAINER [CONTAINER...]',
  description: 'Remove one or more containers',
  aliases: ['pier container rm', 'pier container remove', 'pier rm'],
  flags: [
    { long: 'force', short: 'f', kind: 'bool', usage: 'Force the removal of a running container (uses SIGKILL)' },
    { long: 'link', short: 'l', kind: 'bool', usage: 'Remove the specified link' },
    { long: 'volumes', short: 'v', kind: 'bool', usage: 'Remove anonymous volumes associated with the container' },
  ],
  args: { kind: 'min', n: 1 },
  async run(env: CommandEnv, p: ParsedFlags): Promise<number> {
    const force = flagBool(p, 'force');
    const client = env.client();
    return forEachContainer(
      env,
      p.args,
      async (n) => {
        const name = n.replace(/^\//, '');
        if (name === '') throw new Error('Container name cannot be empty');
        await client.containerRemove(name, { force, volumes: flagBool(p, 'volumes'), link: flagBool(p, 'link') });
      },
      { ignore: (e) => force && isNotFound(e) },
    );
  },
};
