/**
 * `pier create [OPTIONS] IMAGE [COMMAND] [ARG...]`: POST /containers/create; on a 404 the image
 * is pulled (`Unable to find image ... locally`) and the create retried, as docker does.
 */
import { isNotFound } from '../../../lib/errdefs.js';
import { isDaemonResponseError } from '../../../client/index.js';
import { fullRepository, familiarWithDefaultTag, parseImageName } from '../../../api/image-name.js';
import type { ContainerCreateResponse } from '../../../api/client-types.js';
import { flagBool, type ParsedFlags } from '../../flags/index.js';
import { StatusError, type CommandEnv, type CommandSpec } from '../command.js';
import { displayJsonMessages, StreamMessageError } from '../progress.js';
import { buildContainerOptions, CONTAINER_FLAGS, type ContainerOptions } from './container-options.js';

/** docker's "docker: <msg>\n\nRun 'docker run --help'..." with exit 125 */
export function runStyleError(verb: string, message: string, status = 125): StatusError {
  return new StatusError(status, `pier: ${message}\n\nRun 'pier ${verb} --help' for more information`);
}

function errorText(e: unknown): string {
  if (isDaemonResponseError(e)) return `Error response from daemon: ${e.message}`;
  return e instanceof Error ? e.message : String(e);
}

async function pullImage(env: CommandEnv, opts: ContainerOptions): Promise<void> {
  const n = parseImageName(opts.image);
  const client = env.client();
  const tag = n.digest ? n.digest : (n.tag ?? 'latest');
  const res = await client.imagePull(fullRepository(n), tag, opts.platform);
  await displayJsonMessages(res, opts.quiet ? undefined : env.io.stderr);
}

/** Creates the container (pulling when needed); returns its ID. Errors come back formatted for `verb`. */
export async function createContainer(env: CommandEnv, opts: ContainerOptions, verb: string): Promise<string> {
  const client = env.client();
  const create = (): Promise<ContainerCreateResponse> => client.containerCreate(opts.body, opts.name);
  let resp: ContainerCreateResponse;
  try {
    if (opts.pull === 'always') await pullImage(env, opts);
    try {
      resp = await create();
    } catch (e) {
      if (!isNotFound(e) || opts.pull === 'never' || opts.pull === 'always') throw e;
      env.io.stderr.write(`Unable to find image '${familiarWithDefaultTag(opts.image)}' locally\n`);
      await pullImage(env, opts);
      resp = await create();
    }
  } catch (e) {
    if (e instanceof StatusError) throw e;
    const text = e instanceof StreamMessageError ? e.message : errorText(e);
    // run reports "pier: <err>\n\nRun 'pier run --help'..." with 125; create just the error, 1
    throw verb === 'run' ? runStyleError(verb, text) : new StatusError(1, text);
  }
  for (const w of resp.Warnings ?? []) env.io.stderr.write(`WARNING: ${w}\n`);
  return resp.Id;
}

export const command: CommandSpec = {
  usage: '[OPTIONS] IMAGE [COMMAND] [ARG...]',
  description: 'Create a new container',
  aliases: ['pier container create', 'pier create'],
  flags: CONTAINER_FLAGS,
  args: { kind: 'min', n: 1 },
  interspersed: false,
  async run(env: CommandEnv, p: ParsedFlags): Promise<number> {
    const opts = await buildContainerOptions(p, p.args, {
      env: env.env,
      readFile: env.readFile,
      detach: true,
      stdinIsTerminal: env.io.stdin.isTTY === true,
    });
    void flagBool;
    const id = await createContainer(env, opts, 'create');
    env.io.stdout.write(`${id}\n`);
    return 0;
  },
};
