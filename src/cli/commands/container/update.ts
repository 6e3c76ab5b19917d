/** `pier update [OPTIONS] CONTAINER...`: POST /containers/{id}/update with the changed limits. */
import { flagInt, flagString, type ParsedFlags } from '../../flags/index.js';
import { ramInBytes } from '../../../api/units.js';
import { StatusError, type CommandEnv, type CommandSpec } from '../command.js';
import { errorLine } from './each.js';

const BYTES: Array<[string, string]> = [['memory', 'Memory'], ['memory-swap', 'MemorySwap'], ['memory-reservation', 'MemoryReservation'], ['kernel-memory', 'KernelMemory']];
const INTS: Array<[string, string]> = [['cpu-shares', 'CpuShares'], ['cpu-period', 'CpuPeriod'], ['cpu-quota', 'CpuQuota'], ['pids-limit', 'PidsLimit'], ['blkio-weight', 'BlkioWeight'], ['cpu-rt-period', 'CpuRealtimePeriod'], ['cpu-rt-runtime', 'CpuRealtimeRuntime']];

export function updateBody(p: ParsedFlags): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (const [flag, field] of BYTES) {
    if (!p.changed.has(flag)) continue;
    const v = flagString(p, flag);
    body[field] = v === '-1' ? -1 : ramInBytes(v);
  }
  for (const [flag, field] of INTS) if (p.changed.has(flag)) body[field] = flagInt(p, flag);
  if (p.changed.has('cpus')) {
    const n = Number(flagString(p, 'cpus'));
    if (!Number.isFinite(n)) throw new StatusError(125, `invalid argument "${flagString(p, 'cpus')}" for "--cpus" flag: failed to parse ${flagString(p, 'cpus')} as a rational number`);
    body.NanoCpus = Math.round(n * 1e9);
  }
  if (p.changed.has('cpuset-cpus')) body.CpusetCpus = flagString(p, 'cpuset-cpus');
  if (p.changed.has('cpuset-mems')) body.CpusetMems = flagString(p, 'cpuset-mems');
  if (p.changed.has('restart')) {
    const [name = '', count] = flagString(p, 'restart').split(':');
    body.RestartPolicy = { Name: name, MaximumRetryCount: count ? Number(count) : 0 };
  }
  return body;
}

export const command: CommandSpec = {
  usage: '[OPTIONS] CONTAINER [CONTAINER...]',
  description: 'Update configuration of one or more containers',
  aliases: ['pier container update', 'pier update'],
  flags: [
    { long: 'blkio-weight', kind: 'int', usage: 'Block IO (relative weight), between 10 and 1000, or 0 to disable (default 0)' },
    { long: 'cpu-period', kind: 'int', usage: 'Limit CPU CFS (Completely Fair Scheduler) period' },
    { long: 'cpu-quota', kind: 'int', usage: 'Limit CPU CFS (Completely Fair Scheduler) quota' },
    { long: 'cpu-rt-period', kind: 'int', usage: 'Limit the CPU real-time period in microseconds' },
    { long: 'cpu-rt-runtime', kind: 'int', usage: 'Limit the CPU real-time runtime in microseconds' },
    { long: 'cpu-shares', short: 'c', kind: 'int', usage: 'CPU shares (relative weight)' },
    { long: 'cpus', kind: 'string', valueName: 'decimal', usage: 'Number of CPUs' },
    { long: 'cpuset-cpus', kind: 'string', usage: 'CPUs in which to allow execution (0-3, 0,1)' },
    { long: 'cpuset-mems', kind: 'string', usage: 'MEMs in which to allow execution (0-3, 0,1)' },
    { long: 'kernel-memory', kind: 'string', valueName: 'bytes', usage: 'Kernel memory limit' },
    { long: 'memory', short: 'm', kind: 'string', valueName: 'bytes', usage: 'Memory limit' },
    { long: 'memory-reservation', kind: 'string', valueName: 'bytes', usage: 'Memory soft limit' },
    { long: 'memory-swap', kind: 'string', valueName: 'bytes', usage: 'Swap limit equal to memory plus swap: -1 to enable unlimited swap' },
    { long: 'pids-limit', kind: 'int', usage: 'Tune container pids limit (set -1 for unlimited)' },
    { long: 'restart', kind: 'string', usage: 'Restart policy to apply when a container exits' },
  ],
  args: { kind: 'min', n: 1 },
  async run(env: CommandEnv, p: ParsedFlags): Promise<number> {
    let body: Record<string, unknown>;
    try {
      body = updateBody(p);
    } catch (e) {
      if (e instanceof StatusError) throw e;
      throw new StatusError(125, `pier: ${(e as Error).message}`);
    }
    if (Object.keys(body).length === 0) throw new StatusError(1, 'pier: you must provide one or more flags when using this command');
    let failed = false;
    for (const name of p.args as string[]) {
      try {
        const r = await env.client().json<{ Warnings?: string[] | null }>('POST', `/containers/${encodeURIComponent(name)}/update`, { body });
        for (const w of r?.Warnings ?? []) env.io.stderr.write(`${w}\n`);
        env.io.stdout.write(`${name}\n`);
      } catch (e) {
        env.io.stderr.write(`${errorLine(e)}\n`);
        failed = true;
      }
    }
    if (failed) throw new StatusError(1, '');
    return 0;
  },
};
