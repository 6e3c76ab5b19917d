/**
 * `pier logs [-f] [-t] [--tail N] [--since] [--until] CONTAINER`: inspect (for Tty) then
 * GET /containers/{id}/logs, demuxed unless the container has a TTY.
 */
import { apiTimestamp } from '../../../api/duration.js';
import { StreamDemuxer } from '../../../client/index.js';
import { flagBool, flagString, type ParsedFlags } from '../../flags/index.js';
import type { CommandEnv, CommandSpec } from '../command.js';

export const command: CommandSpec = {
  usage: '[OPTIONS] CONTAINER',
  description: 'Fetch the logs of a container',
  aliases: ['pier container logs', 'pier logs'],
  flags: [
    { long: 'details', kind: 'bool', usage: 'Show extra details provided to logs' },
    { long: 'follow', short: 'f', kind: 'bool', usage: 'Follow log output' },
    { long: 'since', kind: 'string', usage: 'Show logs since timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)' },
    { long: 'tail', short: 'n', kind: 'string', usage: 'Number of lines to show from the end of the logs', defaultValue: 'all' },
    { long: 'timestamps', short: 't', kind: 'bool', usage: 'Show timestamps' },
    { long: 'until', kind: 'string', usage: 'Show logs before a timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)' },
  ],
  args: { kind: 'exact', n: 1 },
  async run(env: CommandEnv, p: ParsedFlags): Promise<number> {
    const client = env.client();
    const c = await client.containerInspect(p.args[0] as string);
    const now = env.now();
    const since = flagString(p, 'since') ? apiTimestamp(flagString(p, 'since'), now) : undefined;
    const until = flagString(p, 'until') ? apiTimestamp(flagString(p, 'until'), now) : undefined;
    const res = await client.containerLogs(c.Id, {
      stdout: true,
      stderr: true,
      since,
      until,
      timestamps: flagBool(p, 'timestamps'),
      follow: flagBool(p, 'follow'),
      tail: flagString(p, 'tail'),
      details: flagBool(p, 'details'),
    });
    const onSignal = (): void => {
      res.destroy();
    };
    env.process?.on('SIGINT', onSignal);
    try {
      if (c.Config.Tty) {
        for await (const chunk of res) env.io.stdout.write(chunk as Buffer);
      } else {
        const d = new StreamDemuxer({ stdout: (b) => env.io.stdout.write(b), stderr: (b) => env.io.stderr.write(b) });
        for await (const chunk of res) d.push(chunk as Buffer);
      }
    } catch (e) {
      if (!res.destroyed) throw e;
    } finally {
      env.process?.off('SIGINT', onSignal);
    }
    return 0;
  },
};
