/** /containers/{id}/stats and /containers/{id}/update (issue 7): cgroup samples in Docker's stats JSON, live limit changes. */
import type { ContainerRecord } from '../../core/container/index.js';
import type { CgroupSample } from '../../core/ports/index.js';
import type { UpdateBody } from '../../services/index.js';
import type { Router } from '../http/index.js';
import { sendJson, startStream } from '../http/index.js';

const ZERO = '0001-01-01T00:00:00Z';

export interface ResourceRoutesDeps {
  containers: { get(ref: string): ContainerRecord };
  resources: { sample(c: ContainerRecord): Promise<CgroupSample | undefined>; update(ref: string, body: UpdateBody): Promise<string[]> };
  /** Stream interval (ms); Docker samples once a second. */
  intervalMs?: number;
}

interface Timed { at: string; s?: CgroupSample }

function cpuStats(s: CgroupSample | undefined): Record<string, unknown> {
  if (!s) return { cpu_usage: { total_usage: 0, usage_in_kernelmode: 0, usage_in_usermode: 0 }, throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 } };
  return {
    cpu_usage: {
      total_usage: s.cpu.total,
      ...(s.cpu.percpu.length ? { percpu_usage: s.cpu.percpu } : {}),
      usage_in_kernelmode: s.cpu.kernel,
      usage_in_usermode: s.cpu.user,
    },
    system_cpu_usage: s.systemCpu,
    online_cpus: s.onlineCpus,
    throttling_data: { periods: s.cpu.periods, throttled_periods: s.cpu.throttledPeriods, throttled_time: s.cpu.throttledTime },
  };
}

/** One stats object as dockerd writes it (cgroup v1 or v2 shape). */
export function statsJson(c: ContainerRecord, cur: Timed, pre: Timed): Record<string, unknown> {
  const s = cur.s;
  const blk = (s?.blkio ?? []).map((b) => ({ major: b.major, minor: b.minor, op: b.op, value: b.value }));
  const out: Record<string, unknown> = {
    read: s ? cur.at : ZERO,
    preread: pre.s ? pre.at : ZERO,
    pids_stats: s ? { current: s.pids.current, ...(s.pids.limit !== undefined ? { limit: s.pids.limit } : {}) } : {},
    blkio_stats: {
      io_service_bytes_recursive: s ? blk : null, io_serviced_recursive: null, io_queue_recursive: null, io_service_time_recursive: null,
      io_wait_time_recursive: null, io_merged_recursive: null, io_time_recursive: null, sectors_recursive: null,
    },
    num_procs: 0,
    storage_stats: {},
    cpu_stats: cpuStats(s),
    precpu_stats: cpuStats(pre.s),
    memory_stats: s
      ? {
        usage: s.memory.usage,
        ...(s.version === 1 ? { max_usage: s.memory.maxUsage ?? 0 } : {}),
        stats: s.memory.stats,
        ...(s.version === 1 ? { failcnt: s.memory.failcnt ?? 0 } : {}),
        limit: s.memory.limit,
      }
      : {},
    name: `/${c.name}`,
    id: c.id,
  };
  if (s && Object.keys(s.networks).length) out.networks = s.networks;
  return out;
}

export function resourceRoutes(r: Router, d: ResourceRoutesDeps): void {
  const interval = d.intervalMs ?? 1000;

  r.get('/containers/:id/stats', async (ctx) => {
    const c = d.containers.get(ctx.params.id!);
    const stream = ctx.q('stream') === undefined ? true : ctx.bool('stream');
    const oneShot = ctx.bool('one-shot');
    const take = async (): Promise<Timed> => {
      const at = new Date().toISOString().replace(/\.(\d+)Z$/, (_m, f: string) => `.${(f + '000000').slice(0, 9)}Z`);
      const s = await d.resources.sample(d.containers.get(c.id)).catch(() => undefined);
      return { at, s };
    };
    const none: Timed = { at: ZERO };
    if (!stream) {
      const first = await take();
      if (oneShot || !first.s) { sendJson(ctx, 200, statsJson(c, first, none)); return; }
      await new Promise((res) => setTimeout(res, interval));
      sendJson(ctx, 200, statsJson(c, await take(), first));
      return;
    }
    const out = startStream(ctx, 'application/json');
    let pre: Timed = none;
    while (!out.closed.aborted) {
      const cur = await take();
      if (!out.write(JSON.stringify(statsJson(c, cur, pre)) + '\n') && out.closed.aborted) break;
      pre = cur;
      await new Promise<void>((res) => {
        const t = setTimeout(res, interval);
        out.closed.addEventListener('abort', () => { clearTimeout(t); res(); }, { once: true });
      });
    }
    out.end();
  });

  r.post('/containers/:id/update', async (ctx) => {
    const body = (await ctx.json<UpdateBody>()) ?? {};
    const warnings = await d.resources.update(ctx.params.id!, body);
    sendJson(ctx, 200, { Warnings: warnings.length ? warnings : null });
  });
}
