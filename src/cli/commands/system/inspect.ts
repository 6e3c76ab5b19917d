/**
 * `pier inspect [-f FORMAT] [-s] [--type TYPE] NAME...`: without --type, tries container,
 * image, network and volume in turn, moving on only on 404 (docker's inspectAll).
 */
import { isNotFound } from '../../../lib/errdefs.js';
import { encodeQuery, isDaemonResponseError } from '../../../client/index.js';
import { flagBool, flagString, type ParsedFlags } from '../../flags/index.js';
import { StatusError, type CommandEnv, type CommandSpec } from '../command.js';
import { writeInspect } from '../inspect-writer.js';

const TYPES = ['config', 'container', 'image', 'network', 'node', 'plugin', 'secret', 'service', 'task', 'volume'];

export const command: CommandSpec = {
  usage: '[OPTIONS] NAME|ID [NAME|ID...]',
  description: 'Return low-level information on Docker objects',
  flags: [
    { long: 'format', short: 'f', kind: 'string', usage: 'Format output using a custom template' },
    { long: 'size', short: 's', kind: 'bool', usage: 'Display total file sizes if the type is container' },
    { long: 'type', kind: 'string', usage: 'Only inspect objects of the given type' },
  ],
  args: { kind: 'min', n: 1 },
  async run(env: CommandEnv, p: ParsedFlags): Promise<number> {
    const type = flagString(p, 'type');
    if (type && !TYPES.includes(type))
      throw new StatusError(1, `unknown type: "${type}": must be one of ${TYPES.map((t) => `"${t}"`).join(', ')}`);
    const client = env.client();
    const size = flagBool(p, 'size');
    const paths: Record<string, (n: string) => string> = {
      container: (n) => `/containers/${encodeURIComponent(n)}/json${encodeQuery({ size: size || undefined })}`,
      image: (n) => `/images/${n}/json`,
      network: (n) => `/networks/${encodeURIComponent(n)}`,
      volume: (n) => `/volumes/${encodeURIComponent(n)}`,
      plugin: (n) => `/plugins/${encodeURIComponent(n)}/json`,
    };
    const order = type ? [type] : ['container', 'image', 'network', 'volume'];
    return writeInspect(env, p.args, flagString(p, 'format'), async (name) => {
      for (const t of order) {
        const path = paths[t];
        if (!path) throw new StatusError(1, `"${t}" is not supported by pier`);
        try {
          return { raw: await client.rawInspect(path(name)) };
        } catch (e) {
          if (!isNotFound(e)) throw e;
          if (type && isDaemonResponseError(e)) return { raw: undefined, error: `Error response from daemon: ${e.message}` };
        }
      }
      return { raw: undefined, error: `Error: No such object: ${name}` };
    });
  },
};
