/**
 * `pier start [-a] [-i] CONTAINER...`. Without -a: POST start per container. With -a/-i (one
 * container): inspect → attach (101) → wait next-exit|removed → start → [resize] → exit code.
 */
import { isDaemonResponseError } from '../../../client/index.js';
import { flagBool, flagString, type ParsedFlags } from '../../flags/index.js';
import { StatusError, type CommandEnv, type CommandSpec } from '../command.js';
import { DetachedError, monitorTtySize, proxySignals, streamHijacked } from '../attach-io.js';
import { forEachContainer } from './each.js';

export const command: CommandSpec = {
  usage: '[OPTIONS] CONTAINER [CONTAINER...]',
  description: 'Start one or more stopped containers',
  aliases: ['pier container start', 'pier start'],
  flags: [
    { long: 'attach', short: 'a', kind: 'bool', usage: 'Attach STDOUT/STDERR and forward signals' },
    { long: 'detach-keys', kind: 'string', usage: 'Override the key sequence for detaching a container' },
    { long: 'interactive', short: 'i', kind: 'bool', usage: "Attach container's STDIN" },
  ],
  args: { kind: 'min', n: 1 },
  async run(env: CommandEnv, p: ParsedFlags): Promise<number> {
    const client = env.client();
    const attach = flagBool(p, 'attach');
    const interactive = flagBool(p, 'interactive');
    if (!attach && !interactive) {
      return forEachContainer(
        env,
        p.args,
        async (n) => {
          await client.containerStart(n);
        },
        { summary: (failed) => `Error: failed to start containers: ${failed.join(', ')}` },
      );
    }
    if (p.args.length > 1) throw new StatusError(1, 'you cannot start and attach multiple containers at once');
    const name = p.args[0] as string;
    const c = await client.containerInspect(name);
    const tty = c.Config.Tty === true;
    const withStdin = interactive && c.Config.OpenStdin === true;
    const detachKeys = flagString(p, 'detach-keys');
    const stopProxy = !tty ? proxySignals(env, client, c.Id) : (): void => undefined;
    const socket = await client.containerAttach(c.Id, { stream: true, stdin: withStdin, stdout: true, stderr: true, detachKeys: detachKeys || undefined });
    const done = streamHijacked(env, { socket, tty, stdin: withStdin, stdout: true, stderr: true, detachKeys: detachKeys || undefined });
    done.catch(() => undefined);
    const wait = await client.containerWait(c.Id, c.HostConfig.AutoRemove ? 'removed' : 'next-exit');
    try {
      await client.containerStart(c.Id);
    } catch (e) {
      stopProxy();
      wait.cancel();
      if (isDaemonResponseError(e)) throw new StatusError(1, `Error response from daemon: ${e.message}`);
      throw e;
    }
    const stopResize = tty && env.io.stdout.isTTY ? monitorTtySize(env, (h, w) => client.containerResize(c.Id, h, w)) : () => undefined;
    try {
      await done;
    } catch (e) {
      stopResize();
      stopProxy();
      if (e instanceof DetachedError) {
        wait.cancel();
        return 0;
      }
      throw e;
    }
    stopResize();
    stopProxy();
    const r = await wait.result;
    return r.Error ? 125 : r.StatusCode;
  },
};
