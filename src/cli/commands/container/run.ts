/**
 * `pier run`: the request order of docker's runContainer (docs/docker-api.md §16):
 * create (pull on 404) → attach (hijack, 101) → wait?condition=next-exit|removed → start →
 * [resize]; output until the daemon closes the stream; exit code from the wait.
 */
import { isDaemonResponseError } from '../../../client/index.js';
import { flagBool, flagString, type FlagDef, type ParsedFlags } from '../../flags/index.js';
import { StatusError, type CommandEnv, type CommandSpec } from '../command.js';
import { DetachedError, monitorTtySize, proxySignals, streamHijacked } from '../attach-io.js';
import { buildContainerOptions, CONTAINER_FLAGS } from './container-options.js';
import { createContainer, runStyleError } from './create.js';

const RUN_FLAGS: readonly FlagDef[] = [
  ...CONTAINER_FLAGS,
  { long: 'detach', short: 'd', kind: 'bool', usage: 'Run container in background and print container ID' },
  { long: 'detach-keys', kind: 'string', usage: 'Override the key sequence for detaching a container' },
  { long: 'sig-proxy', kind: 'bool', usage: 'Proxy received signals to the process', defaultValue: true },
];

/** toStatusError: exit 127 / 126 / 125 from the text of a start error. */
export function startErrorStatus(message: string): number {
  if (message.includes('executable file not found') || message.includes('no such file or directory') || message.includes('system cannot find the file specified'))
    return 127;
  if (message.includes('permission denied') || message.includes('is a directory')) return 126;
  return 125;
}

export const command: CommandSpec = {
  usage: '[OPTIONS] IMAGE [COMMAND] [ARG...]',
  description: 'Create and run a new container from an image',
  aliases: ['pier container run', 'pier run'],
  flags: RUN_FLAGS,
  args: { kind: 'min', n: 1 },
  interspersed: false,
  async run(env: CommandEnv, p: ParsedFlags): Promise<number> {
    const detach = flagBool(p, 'detach');
    const opts = await buildContainerOptions(p, p.args, {
      env: env.env,
      readFile: env.readFile,
      detach,
      stdinIsTerminal: env.io.stdin.isTTY === true,
    });
    const cfg = opts.body;
    if (!detach && cfg.Tty && cfg.AttachStdin && !env.io.stdin.isTTY) {
      throw runStyleError('run', 'the input device is not a TTY', 1);
    }
    const autoRemove = cfg.HostConfig.AutoRemove === true;
    const id = await createContainer(env, opts, 'run');
    const client = env.client();
    const detachKeys = flagString(p, 'detach-keys');

    let stopProxy = (): void => undefined;
    if (flagBool(p, 'sig-proxy') && !cfg.Tty && !detach) stopProxy = proxySignals(env, client, id);

    let streamDone: Promise<void> | undefined;
    if (!detach && (cfg.AttachStdin || cfg.AttachStdout || cfg.AttachStderr)) {
      let socket;
      try {
        socket = await client.containerAttach(id, {
          stream: true,
          stdin: cfg.AttachStdin,
          stdout: cfg.AttachStdout,
          stderr: cfg.AttachStderr,
          detachKeys: detachKeys || undefined,
        });
      } catch (e) {
        stopProxy();
        throw runStyleError('run', isDaemonResponseError(e) ? `Error response from daemon: ${e.message}` : (e as Error).message);
      }
      streamDone = streamHijacked(env, {
        socket,
        tty: cfg.Tty,
        stdin: cfg.AttachStdin,
        stdout: cfg.AttachStdout,
        stderr: cfg.AttachStderr,
        detachKeys: detachKeys || undefined,
      });
      streamDone.catch(() => undefined);
    }

    const wait = await client.containerWait(id, autoRemove ? 'removed' : 'next-exit');

    try {
      await client.containerStart(id);
    } catch (e) {
      stopProxy();
      const msg = isDaemonResponseError(e) ? `Error response from daemon: ${e.message}` : (e as Error).message;
      env.io.stderr.write(`pier: ${msg}\n\nRun 'pier run --help' for more information\n`);
      if (autoRemove) await wait.result.catch(() => undefined);
      else wait.cancel();
      throw new StatusError(startErrorStatus(msg), '');
    }

    if (detach) {
      wait.cancel();
      env.io.stdout.write(`${id}\n`);
      return 0;
    }

    let stopResize = (): void => undefined;
    if (cfg.Tty && env.io.stdout.isTTY) stopResize = monitorTtySize(env, (h, w) => client.containerResize(id, h, w));

    try {
      if (streamDone) await streamDone;
    } catch (e) {
      stopResize();
      stopProxy();
      if (e instanceof DetachedError) {
        wait.cancel();
        return 0;
      }
      throw e;
    }
    let status: number;
    try {
      const r = await wait.result;
      if (r.Error) {
        env.io.stderr.write(`Error waiting for container: ${r.Error.Message}\n`);
        status = 125;
      } else status = r.StatusCode;
    } catch (e) {
      env.io.stderr.write(`Error waiting for container: ${(e as Error).message}\n`);
      status = 125;
    }
    stopResize();
    stopProxy();
    return status;
  },
};
