/**
 * Health checks as pure rules: the effective check from the container config (Docker's
 * defaults: 30 s interval, 30 s timeout, 3 retries, no start period), and how one probe
 * result moves the state (moby's handleProbeResult).
 */
import type { HealthConfig } from '../../api/index.js';
import type { HealthState } from './model.js';

export interface HealthCheck { cmd: string[]; shell: boolean; intervalMs: number; timeoutMs: number; retries: number; startPeriodMs: number }

const NS_PER_MS = 1_000_000;

/** The check to run, or undefined for none (`NONE`, no test, or an empty test). */
export function effectiveHealthCheck(h: HealthConfig | null | undefined): HealthCheck | undefined {
  const test = h?.Test;
  if (!test || test.length === 0 || test[0] === 'NONE') return undefined;
  const [kind, ...rest] = test;
  if (kind !== 'CMD' && kind !== 'CMD-SHELL') return undefined;
  if (rest.length === 0) return undefined;
  const ms = (ns: number | undefined, dflt: number): number => (ns && ns > 0 ? Math.max(1, Math.round(ns / NS_PER_MS)) : dflt);
  return {
    cmd: kind === 'CMD-SHELL' ? ['/bin/sh', '-c', rest.join(' ')] : rest,
    shell: kind === 'CMD-SHELL',
    intervalMs: ms(h?.Interval, 30_000),
    timeoutMs: ms(h?.Timeout, 30_000),
    retries: h?.Retries && h.Retries > 0 ? h.Retries : 3,
    startPeriodMs: ms(h?.StartPeriod, 0),
  };
}

/** Applies one probe: success → healthy; failures count after the start period, `retries` in a row → unhealthy. */
export function applyProbe(prev: HealthState, r: { start: string; end: string; exitCode: number; output: string }, o: { retries: number; inStartPeriod: boolean }): HealthState {
  const log = [...prev.log, r].slice(-5);
  if (r.exitCode === 0) return { status: 'healthy', failingStreak: 0, log };
  if (o.inStartPeriod && prev.status === 'starting') return { ...prev, log };
  const failingStreak = prev.failingStreak + 1;
  return { status: failingStreak >= o.retries ? 'unhealthy' : prev.status, failingStreak, log };
}
