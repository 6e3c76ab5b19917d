/**
 * The event bus behind GET /events: every service publishes here; subscribers get live
 * events, and a bounded history serves `since`.
 */
import type { Filters } from '../api/index.js';

export interface EngineEvent {
  type: 'container' | 'image' | 'network' | 'volume' | 'daemon' | 'builder';
  action: string;
  actorId: string;
  attributes: Record<string, string>;
  /** Nanoseconds since the epoch */
  timeNano: bigint;
  /** The container's image name, for the legacy `from` field */
  from?: string;
}

type Listener = (e: EngineEvent) => void;

const HISTORY = 1024;

export class EventBus {
  private history: EngineEvent[] = [];
  private listeners = new Set<Listener>();
  private lastNano = 0n;

  publish(e: Omit<EngineEvent, 'timeNano'>): void {
    let now = BigInt(Date.now()) * 1_000_000n + process.hrtime.bigint() % 1_000_000n;
    if (now <= this.lastNano) now = this.lastNano + 1n;
    this.lastNano = now;
    const ev: EngineEvent = { ...e, timeNano: now };
    this.history.push(ev);
    if (this.history.length > HISTORY) this.history.splice(0, this.history.length - HISTORY);
    for (const l of this.listeners) l(ev);
  }

  /** Past events in [since, until) then live ones, until the returned unsubscribe is called. */
  subscribe(listener: Listener, since?: bigint): { past: EngineEvent[]; unsubscribe: () => void } {
    const past = since === undefined ? [] : this.history.filter((e) => e.timeNano >= since);
    this.listeners.add(listener);
    return { past, unsubscribe: () => this.listeners.delete(listener) };
  }

  get listenerCount(): number {
    return this.listeners.size;
  }
}

/** Docker's event filters: type, event/action, container, image, label, network, volume. */
export function matchEvent(e: EngineEvent, f: Filters): boolean {
  const any = (key: string, pred: (v: string) => boolean): boolean => {
    const vals = f.get(key);
    return !vals || vals.length === 0 || vals.some(pred);
  };
  if (!any('type', (v) => v === e.type)) return false;
  if (!any('event', (v) => v === e.action || e.action.startsWith(`${v}:`))) return false;
  if (!any('container', (v) => e.type === 'container' && (e.actorId.startsWith(v) || e.attributes.name === v))) return false;
  if (!any('image', (v) => e.attributes.image === v || e.from === v || e.actorId === v || e.attributes.name === v)) return false;
  if (!any('network', (v) => e.type === 'network' && (e.actorId.startsWith(v) || e.attributes.name === v))) return false;
  if (!any('volume', (v) => e.type === 'volume' && e.actorId === v)) return false;
  if (!any('label', (v) => {
    const eq = v.indexOf('=');
    return eq < 0 ? v in e.attributes : e.attributes[v.slice(0, eq)] === v.slice(eq + 1);
  })) return false;
  return true;
}
