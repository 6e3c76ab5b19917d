/**
 * Restart policies (`--restart always|unless-stopped|on-failure[:N]`): listens for container
 * exits and starts the container again after Docker's backoff; at daemon start, brings back
 * the containers their policy says should run. Policies survive restarts because they live
 * in the container record (HostConfig.RestartPolicy, State.stoppedByUser, RestartCount).
 */
import { isRunning, shouldRestart, nextBackoff } from '../core/container/index.js';
import type { ContainerService } from './containers.js';
import type { EventBus } from './events.js';

export class RestartManager {
  private delays = new Map<string, number>();
  private timers = new Map<string, NodeJS.Timeout>();

  constructor(private readonly containers: ContainerService, private readonly events: EventBus, private readonly log: (level: 'warn', msg: string) => void) {}

  /** Starts listening; call after ContainerService.restore(). */
  start(): void {
    this.events.subscribe((e) => {
      if (e.type === 'container' && e.action === 'die') this.onExit(e.actorId);
      if (e.type === 'container' && e.action === 'destroy') this.cancel(e.actorId);
    });
    for (const c of this.containers.list()) {
      if (isRunning(c)) continue;
      const p = c.hostConfig.RestartPolicy;
      if (!p?.Name || p.Name === 'no') continue;
      // At daemon start Docker brings back `always` containers, and `unless-stopped` ones
      // that were not stopped by the user; on-failure ones that were restarting.
      const wanted = p.Name === 'always' || (p.Name === 'unless-stopped' && !c.state.stoppedByUser) || c.state.status === 'restarting';
      if (wanted && c.state.startedAt !== '0001-01-01T00:00:00Z') this.schedule(c.id, 0);
    }
  }

  private onExit(id: string): void {
    const c = this.containers.find(id);
    if (!c || c.hostConfig.AutoRemove) return;
    const p = c.hostConfig.RestartPolicy;
    if (!p?.Name || p.Name === 'no') return;
    const restart = shouldRestart({ name: p.Name, maximumRetryCount: p.MaximumRetryCount ?? 0 }, {
      exitCode: c.state.exitCode, restartCount: c.restartCount, stoppedByUser: !!c.state.stoppedByUser,
    });
    if (!restart) { this.delays.delete(id); return; }
    const ranFor = Date.parse(c.state.finishedAt) - Date.parse(c.state.startedAt);
    const delay = nextBackoff(this.delays.get(id) ?? 0, ranFor);
    this.delays.set(id, delay);
    this.schedule(id, delay);
  }

  private schedule(id: string, delay: number): void {
    this.cancel(id);
    void this.containers.markRestarting(id).then((ok) => {
      if (!ok) return;
      const t = setTimeout(() => {
        this.timers.delete(id);
        void this.containers.restartByPolicy(id).catch((e) => this.log('warn', `restart of ${id} failed: ${(e as Error).message}`));
      }, delay);
      t.unref?.();
      this.timers.set(id, t);
    });
  }

  private cancel(id: string): void {
    const t = this.timers.get(id);
    if (t) clearTimeout(t);
    this.timers.delete(id);
  }
}
