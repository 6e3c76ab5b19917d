/**
 * `pier stats [-a] [--no-stream] [--no-trunc] [--format F] [CONTAINER...]`: GET
 * /containers/{id}/stats?stream=0 per container, computed and printed the way docker/cli's
 * stats formatter does (CPU % from the deltas, memory minus inactive file cache).
 */
import { flagBool, flagString, type ParsedFlags } from '../../flags/index.js';
import { HeaderContext, prepareFormat, renderRows, FormatError, type TemplateObject } from '../../format/index.js';
import { bytesSize, humanSizeWithPrecision } from '../../../api/units.js';
import type { ContainerSummary } from '../../../api/client-types.js';
import { StatusError, type CommandEnv, type CommandSpec } from '../command.js';

const DEFAULT_TABLE = 'table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}';
const HEADERS = {
  ID: 'CONTAINER ID', Container: 'CONTAINER', Name: 'NAME', CPUPerc: 'CPU %', MemUsage: 'MEM USAGE / LIMIT', MemPerc: 'MEM %',
  NetIO: 'NET I/O', BlockIO: 'BLOCK I/O', PIDs: 'PIDS',
};

/** The numbers docker/cli derives from one stats object. */
export interface StatsRow {
  container: string; id: string; name: string; cpu: number; mem: number; limit: number; memPct: number;
  rx: number; tx: number; read: number; write: number; pids: number;
}

/* eslint-disable @typescript-eslint/no-explicit-any */
export function statsRow(container: string, s: any): StatsRow {
  const cpu = s.cpu_stats ?? {}, pre = s.precpu_stats ?? {};
  const cpuDelta = (cpu.cpu_usage?.total_usage ?? 0) - (pre.cpu_usage?.total_usage ?? 0);
  const sysDelta = (cpu.system_cpu_usage ?? 0) - (pre.system_cpu_usage ?? 0);
  const online = cpu.online_cpus || cpu.cpu_usage?.percpu_usage?.length || 0;
  const cpuPct = cpuDelta > 0 && sysDelta > 0 ? (cpuDelta / sysDelta) * online * 100 : 0;
  const ms = s.memory_stats ?? {};
  const st = ms.stats ?? {};
  const inactive = st.total_inactive_file ?? st.inactive_file;
  const usage = ms.usage ?? 0;
  const mem = inactive !== undefined && inactive < usage ? usage - inactive : usage;
  const limit = ms.limit ?? 0;
  let rx = 0, tx = 0;
  for (const n of Object.values<any>(s.networks ?? {})) { rx += n.rx_bytes ?? 0; tx += n.tx_bytes ?? 0; }
  let read = 0, write = 0;
  for (const b of s.blkio_stats?.io_service_bytes_recursive ?? []) {
    const op = String(b.op ?? '');
    if (/^r/i.test(op)) read += b.value ?? 0;
    else if (/^w/i.test(op)) write += b.value ?? 0;
  }
  return {
    container, id: String(s.id ?? ''), name: String(s.name ?? '').replace(/^\//, ''), cpu: cpuPct, mem, limit,
    memPct: limit > 0 ? (mem / limit) * 100 : 0, rx, tx, read, write, pids: s.pids_stats?.current ?? 0,
  };
}

class StatsContext implements TemplateObject {
  readonly templateTypeName = 'formatter.statsContext';
  constructor(private readonly r: StatsRow, private readonly trunc: boolean) {}
  templateField(name: string): { value: unknown } | undefined {
    const r = this.r;
    const f: Record<string, () => unknown> = {
      Container: () => r.container,
      ID: () => (this.trunc ? r.id.slice(0, 12) : r.id),
      Name: () => r.name || '--',
      CPUPerc: () => `${r.cpu.toFixed(2)}%`,
      MemUsage: () => `${bytesSize(r.mem)} / ${bytesSize(r.limit)}`,
      MemPerc: () => `${r.memPct.toFixed(2)}%`,
      NetIO: () => `${humanSizeWithPrecision(r.rx, 3)} / ${humanSizeWithPrecision(r.tx, 3)}`,
      BlockIO: () => `${humanSizeWithPrecision(r.read, 3)} / ${humanSizeWithPrecision(r.write, 3)}`,
      PIDs: () => String(r.pids),
    };
    const get = f[name];
    return get ? { value: get() } : undefined;
  }
  toJSON(): unknown {
    return Object.fromEntries(['BlockIO', 'CPUPerc', 'Container', 'ID', 'MemPerc', 'MemUsage', 'Name', 'NetIO', 'PIDs'].map((k) => [k, this.templateField(k)!.value]));
  }
}

export const command: CommandSpec = {
  usage: '[OPTIONS] [CONTAINER...]',
  description: 'Display a live stream of container(s) resource usage statistics',
  aliases: ['pier container stats', 'pier stats'],
  flags: [
    { long: 'all', short: 'a', kind: 'bool', usage: 'Show all containers (default shows just running)' },
    { long: 'format', kind: 'string', usage: 'Format output using a custom template' },
    { long: 'no-stream', kind: 'bool', usage: 'Disable streaming stats and only pull the first result' },
    { long: 'no-trunc', kind: 'bool', usage: 'Do not truncate output' },
  ],
  args: { kind: 'any' },
  async run(env: CommandEnv, p: ParsedFlags): Promise<number> {
    const client = env.client();
    let format = flagString(p, 'format');
    if (format === '' || format === 'table') format = DEFAULT_TABLE;
    let prepared;
    try {
      prepared = prepareFormat(format);
    } catch (e) {
      if (e instanceof FormatError) throw new StatusError(1, e.message);
      throw e;
    }
    let names = p.args as string[];
    if (!names.length) {
      const list = await client.json<ContainerSummary[]>('GET', '/containers/json', { query: { all: flagBool(p, 'all') ? '1' : undefined } });
      names = (list ?? []).map((c) => c.Id.slice(0, 12));
    }
    const sample = (): Promise<StatsRow[]> => Promise.all(names.map(async (n) => statsRow(n, await client.json('GET', `/containers/${encodeURIComponent(n)}/stats`, { query: { stream: '0' } }))));
    const render = (rows: StatsRow[]): string => renderRows(prepared, rows.map((r) => new StatsContext(r, !flagBool(p, 'no-trunc'))), new HeaderContext(HEADERS));
    if (flagBool(p, 'no-stream')) {
      env.io.stdout.write(render(await sample()));
      return 0;
    }
    for (;;) {
      const out = render(await sample());
      env.io.stdout.write(`\x1b[2J\x1b[H${out}`);
    }
  },
};
