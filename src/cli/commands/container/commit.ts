/**
 * `pier commit [-a AUTHOR] [-c CHANGE] [-m MSG] [-p] CONTAINER [REPOSITORY[:TAG]]`:
 * POST /commit?container=&repo=&tag=&comment=&author=&changes=[&pause=0]; prints the new ID.
 */
import { familiarName, parseReference } from '../../../api/index.js';
import { flagBool, flagList, flagString, type ParsedFlags } from '../../flags/index.js';
import { StatusError, type CommandEnv, type CommandSpec } from '../command.js';
import { errorLine } from './each.js';

export const command: CommandSpec = {
  usage: '[OPTIONS] CONTAINER [REPOSITORY[:TAG]]',
  description: "Create a new image from a container's changes",
  aliases: ['pier container commit', 'pier commit'],
  flags: [
    { long: 'author', short: 'a', kind: 'string', usage: 'Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")' },
    { long: 'change', short: 'c', kind: 'stringArray', valueName: 'list', usage: 'Apply Dockerfile instruction to the created image' },
    { long: 'message', short: 'm', kind: 'string', usage: 'Commit message' },
    { long: 'pause', short: 'p', kind: 'bool', defaultValue: true, usage: 'Pause container during commit' },
  ],
  args: { kind: 'min', n: 1 },
  interspersed: false,
  async run(env: CommandEnv, p: ParsedFlags): Promise<number> {
    const [name, refText] = p.args as [string, string | undefined];
    if (p.args.length > 2) throw new StatusError(1, `${env.commandPath}: requires at most 2 arguments`);
    let repo: string | undefined;
    let tag: string | undefined;
    if (refText) {
      try {
        const ref = parseReference(refText);
        if (ref.digest) throw new Error('refusing to create a tag with a digest reference');
        repo = familiarName(ref);
        tag = ref.tag ?? 'latest';
      } catch (e) {
        throw new StatusError(1, (e as Error).message);
      }
    }
    try {
      const changes = flagList(p, 'change');
      const res = await env.client().json<{ Id: string }>('POST', '/commit', {
        query: {
          container: name, repo, tag,
          comment: flagString(p, 'message') || undefined,
          author: flagString(p, 'author') || undefined,
          changes: changes.length ? changes : undefined,
          pause: flagBool(p, 'pause') ? undefined : '0',
        },
      });
      env.io.stdout.write(`${res.Id}\n`);
    } catch (e) {
      throw new StatusError(1, errorLine(e));
    }
    return 0;
  },
};
