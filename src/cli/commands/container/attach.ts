/**
 * `pier attach [--no-stdin] [--detach-keys] [--sig-proxy] CONTAINER`: wait (not-running) →
 * inspect (must be running) → attach (101) → [resize] → exit code from the wait.
 */
import { flagBool, flagString, type ParsedFlags } from '../../flags/index.js';
import { StatusError, type CommandEnv, type CommandSpec } from '../command.js';
import { DetachedError, monitorTtySize, proxySignals, streamHijacked } from '../attach-io.js';

export const command: CommandSpec = {
  usage: '[OPTIONS] CONTAINER',
  description: 'Attach local standard input, output, and error streams to a running container',
  aliases: ['pier container attach', 'pier attach'],
  flags: [
    { long: 'detach-keys', kind: 'string', usage: 'Override the key sequence for detaching a container' },
    { long: 'no-stdin', kind: 'bool', usage: 'Do not attach STDIN' },
    { long: 'sig-proxy', kind: 'bool', usage: 'Proxy all received signals to the process', defaultValue: true },
  ],
  args: { kind: 'exact', n: 1 },
  async run(env: CommandEnv, p: ParsedFlags): Promise<number> {
    const client = env.client();
    const name = p.args[0] as string;
    const wait = await client.containerWait(name);
    const c = await client.containerInspect(name);
    if (!c.State.Running) {
      wait.cancel();
      throw new StatusError(1, 'You cannot attach to a stopped container, start it first');
    }
    if (c.State.Paused) {
      wait.cancel();
      throw new StatusError(1, 'You cannot attach to a paused container, unpause it first');
    }
    if (c.State.Restarting) {
      wait.cancel();
      throw new StatusError(1, 'You cannot attach to a restarting container, wait until it is running');
    }
    const tty = c.Config.Tty === true;
    const stdin = !flagBool(p, 'no-stdin') && c.Config.OpenStdin === true;
    if (stdin && tty && !env.io.stdin.isTTY) {
      wait.cancel();
      throw new StatusError(1, 'the input device is not a TTY');
    }
    const detachKeys = flagString(p, 'detach-keys');
    const stopProxy = flagBool(p, 'sig-proxy') && !tty ? proxySignals(env, client, c.Id) : () => undefined;
    const socket = await client.containerAttach(c.Id, { stream: true, stdin, stdout: true, stderr: true, detachKeys: detachKeys || undefined });
    const stopResize = tty && env.io.stdout.isTTY ? monitorTtySize(env, (h, w) => client.containerResize(c.Id, h, w)) : () => undefined;
    try {
      await streamHijacked(env, { socket, tty, stdin, stdout: true, stderr: true, detachKeys: detachKeys || undefined });
    } catch (e) {
      stopResize();
      stopProxy();
      wait.cancel();
      if (e instanceof DetachedError) return 0;
      throw e;
    }
    stopResize();
    stopProxy();
    const r = await wait.result;
    return r.Error ? 125 : r.StatusCode;
  },
};
