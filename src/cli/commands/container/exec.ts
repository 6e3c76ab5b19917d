/**
 * `pier exec [-d] [-i] [-t] [-e] [-w] [-u] CONTAINER COMMAND [ARG...]`: inspect → POST exec →
 * start (hijacked unless -d) → [resize] → GET /exec/{id}/json for the exit code.
 */
import type { ExecCreateRequest } from '../../../api/client-types.js';
import { flagBool, flagList, flagString, parseEnvFileText, resolveEnvEntry, type ParsedFlags } from '../../flags/index.js';
import { StatusError, type CommandEnv, type CommandSpec } from '../command.js';
import { DetachedError, monitorTtySize, streamHijacked } from '../attach-io.js';

export const command: CommandSpec = {
  usage: '[OPTIONS] CONTAINER COMMAND [ARG...]',
  description: 'Execute a command in a running container',
  aliases: ['pier container exec', 'pier exec'],
  flags: [
    { long: 'detach', short: 'd', kind: 'bool', usage: 'Detached mode: run command in the background' },
    { long: 'detach-keys', kind: 'string', usage: 'Override the key sequence for detaching a container' },
    { long: 'env', short: 'e', kind: 'stringArray', valueName: 'list', usage: 'Set environment variables' },
    { long: 'env-file', kind: 'stringArray', valueName: 'list', usage: 'Read in a file of environment variables' },
    { long: 'interactive', short: 'i', kind: 'bool', usage: 'Keep STDIN open even if not attached' },
    { long: 'privileged', kind: 'bool', usage: 'Give extended privileges to the command' },
    { long: 'tty', short: 't', kind: 'bool', usage: 'Allocate a pseudo-TTY' },
    { long: 'user', short: 'u', kind: 'string', usage: 'Username or UID (format: "<name|uid>[:<group|gid>]")' },
    { long: 'workdir', short: 'w', kind: 'string', usage: 'Working directory inside the container' },
  ],
  args: { kind: 'min', n: 2 },
  interspersed: false,
  async run(env: CommandEnv, p: ParsedFlags): Promise<number> {
    const [name, ...cmd] = p.args as [string, ...string[]];
    const client = env.client();
    const detach = flagBool(p, 'detach');
    const tty = flagBool(p, 'tty');
    const interactive = flagBool(p, 'interactive');
    if (tty && interactive && !detach && !env.io.stdin.isTTY) throw new StatusError(1, 'the input device is not a TTY');
    const lookup = (k: string): string | undefined => env.env[k];
    const envList: string[] = [];
    for (const f of flagList(p, 'env-file')) {
      if (!env.readFile) throw new StatusError(1, `open ${f}: no such file or directory`);
      envList.push(...parseEnvFileText((await env.readFile(f)).toString('utf8'), f, lookup));
    }
    for (const e of flagList(p, 'env')) envList.push(resolveEnvEntry(e, lookup));
    await client.containerInspect(name);
    const body: ExecCreateRequest = {
      User: flagString(p, 'user'),
      Privileged: flagBool(p, 'privileged'),
      Tty: tty,
      AttachStdin: interactive && !detach,
      AttachStderr: !detach,
      AttachStdout: !detach,
      Detach: detach,
      DetachKeys: flagString(p, 'detach-keys'),
      Env: envList.length ? envList : null,
      WorkingDir: flagString(p, 'workdir'),
      Cmd: cmd,
    };
    const { Id: execId } = await client.execCreate(name, body);
    if (detach) {
      await client.execStartDetached(execId, tty);
      return 0;
    }
    const socket = await client.execStartAttached(execId, tty);
    const done = streamHijacked(env, { socket, tty, stdin: body.AttachStdin, stdout: true, stderr: true, detachKeys: body.DetachKeys || undefined });
    const stopResize = tty && env.io.stdout.isTTY ? monitorTtySize(env, (h, w) => client.execResize(execId, h, w)) : () => undefined;
    try {
      await done;
    } catch (e) {
      stopResize();
      if (e instanceof DetachedError) return 0;
      throw e;
    }
    stopResize();
    const info = await client.execInspect(execId);
    return info.ExitCode ?? 0;
  },
};
