/** `pier port CONTAINER [PRIVATE_PORT[/PROTO]]`: reads NetworkSettings.Ports from inspect. */
import type { ParsedFlags } from '../../flags/index.js';
import { StatusError, type CommandEnv, type CommandSpec } from '../command.js';

type Ports = Record<string, Array<{ HostIp: string; HostPort: string }> | null>;

export const command: CommandSpec = {
  usage: 'CONTAINER [PRIVATE_PORT[/PROTO]]',
  description: 'List port mappings or a specific mapping for the container',
  aliases: ['pier container port', 'pier port'],
  flags: [],
  args: { kind: 'min', n: 1 },
  async run(env: CommandEnv, p: ParsedFlags): Promise<number> {
    const [ref, want] = p.args as [string, string | undefined];
    let ports: Ports;
    try {
      const c = await env.client().json<{ NetworkSettings?: { Ports?: Ports } }>('GET', `/containers/${encodeURIComponent(ref)}/json`);
      ports = c.NetworkSettings?.Ports ?? {};
    } catch (e) {
      throw new StatusError(1, `Error response from daemon: ${(e as Error).message}`);
    }
    const fmt = (b: { HostIp: string; HostPort: string }): string => `${b.HostIp.includes(':') ? `[${b.HostIp}]` : b.HostIp}:${b.HostPort}`;
    if (want) {
      const key = want.includes('/') ? want : `${want}/tcp`;
      const list = ports[key];
      if (!list?.length) throw new StatusError(1, `Error: No public port '${key}' published for ${ref}`);
      for (const b of list) env.io.stdout.write(`${fmt(b)}\n`);
      return 0;
    }
    const lines: string[] = [];
    for (const [k, list] of Object.entries(ports)) for (const b of list ?? []) lines.push(`${k} -> ${fmt(b)}`);
    env.io.stdout.write(lines.sort().map((l) => `${l}\n`).join(''));
    return 0;
  },
};
