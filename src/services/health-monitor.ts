/**
 * Runs containers' health checks (HEALTHCHECK, --health-*) as exec probes on a timer while
 * they run; the state shows in inspect (`State.Health`), in ps (`Up … (healthy)`) and as
 * `health_status: <status>` events.
 */
import { applyProbe, effectiveHealthCheck, rfc3339Nano, type HealthState } from '../core/container/index.js';
import type { ContainerService } from './containers.js';
import type { EventBus } from './events.js';
import type { ExecService } from './exec.js';

const MAX_OUTPUT = 4096;

export class HealthMonitor {
  private timers = new Map<string, NodeJS.Timeout>();

  constructor(private readonly containers: ContainerService, private readonly execs: ExecService, private readonly events: EventBus) {}

  start(): void {
    this.events.subscribe((e) => {
      if (e.type !== 'container') return;
      if (e.action === 'start') void this.begin(e.actorId);
      if (e.action === 'die' || e.action === 'destroy') this.end(e.actorId);
    });
    for (const c of this.containers.list()) if (c.state.status === 'running') void this.begin(c.id, true);
  }

  private async begin(id: string, resumed = false): Promise<void> {
    const c = this.containers.find(id);
    const check = c && effectiveHealthCheck(c.config.Healthcheck);
    if (!c || !check) return;
    this.end(id);
    if (!resumed || !c.state.health) await this.containers.setHealth(id, { status: 'starting', failingStreak: 0, log: [] });
    const startedAt = Date.parse(c.state.startedAt);
    const tick = async (): Promise<void> => {
      const cur = this.containers.find(id);
      if (!cur || cur.state.status !== 'running' || !this.timers.has(id)) return;
      const result = await this.probe(id, check.cmd, check.timeoutMs);
      const now = this.containers.find(id);
      if (!now || now.state.status !== 'running' || !this.timers.has(id)) return;
      const prev: HealthState = now.state.health ?? { status: 'starting', failingStreak: 0, log: [] };
      const next = applyProbe(prev, result, { retries: check.retries, inStartPeriod: Date.now() - startedAt < check.startPeriodMs });
      await this.containers.setHealth(id, next);
      if (this.timers.has(id)) this.timers.set(id, setTimeout(() => void tick(), check.intervalMs));
    };
    this.timers.set(id, setTimeout(() => void tick(), check.intervalMs));
  }

  private end(id: string): void {
    const t = this.timers.get(id);
    if (t) clearTimeout(t);
    this.timers.delete(id);
  }

  private async probe(id: string, cmd: string[], timeoutMs: number): Promise<{ start: string; end: string; exitCode: number; output: string }> {
    const start = rfc3339Nano(Date.now());
    let output = '';
    try {
      const execId = this.execs.create(id, { Cmd: cmd, AttachStdout: true, AttachStderr: true });
      const ac = new AbortController();
      const run = (async () => {
        for await (const chunk of await this.execs.start(execId, { detach: false, signal: ac.signal })) {
          if (output.length < MAX_OUTPUT) output += chunk.data.toString('utf8');
        }
        return this.execs.get(execId).exitCode ?? -1;
      })();
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((r) => { timer = setTimeout(() => r('timeout'), timeoutMs); });
      const res = await Promise.race([run, timedOut]);
      if (timer) clearTimeout(timer);
      if (res === 'timeout') {
        ac.abort();
        const pid = this.execs.get(execId).pid;
        if (pid > 0) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
        return { start, end: rfc3339Nano(Date.now()), exitCode: -1, output: `Health check exceeded timeout (${timeoutMs / 1000}s)` };
      }
      return { start, end: rfc3339Nano(Date.now()), exitCode: res, output: output.slice(0, MAX_OUTPUT) };
    } catch (e) {
      return { start, end: rfc3339Nano(Date.now()), exitCode: -1, output: (e as Error).message };
    }
  }
}
