/** The human texts the daemon computes: go-units HumanDuration and ps's Status column. */
import type { ContainerRecord } from './model.js';

export function humanDuration(ms: number): string {
  // go-units truncates seconds and minutes, rounds hours, then divides the hours as integers.
  const seconds = Math.trunc(ms / 1000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.trunc(ms / 60_000);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.trunc(ms / 3_600_000 + 0.5);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.trunc(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.trunc(Math.trunc(hours / 24) / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.trunc(Math.trunc(hours / 24) / 30)} months`;
  return `${Math.trunc(Math.trunc(Math.trunc(ms / 3_600_000) / 24) / 365)} years`;
}

export function statusText(c: ContainerRecord, now: number): string {
  const s = c.state;
  switch (s.status) {
    case 'running': {
      const h = s.health?.status;
      const suffix = h === 'starting' ? ' (health: starting)' : h ? ` (${h})` : '';
      return `Up ${humanDuration(now - Date.parse(s.startedAt))}${suffix}`;
    }
    case 'paused':
      return `Up ${humanDuration(now - Date.parse(s.startedAt))} (Paused)`;
    case 'restarting':
      return `Restarting (${s.exitCode}) ${humanDuration(now - Date.parse(s.finishedAt))} ago`;
    case 'removing':
      return 'Removal In Progress';
    case 'dead':
      return 'Dead';
    case 'created':
      return 'Created';
    case 'exited':
      return `Exited (${s.exitCode}) ${humanDuration(now - Date.parse(s.finishedAt))} ago`;
  }
}

/** RFC3339 with nanoseconds, as Go prints time.Time in JSON. */
export function rfc3339Nano(ms: number, extraNanos = 0): string {
  const iso = new Date(ms).toISOString(); // 2026-11-23T14:48:46.583Z
  const frac = String((ms % 1000) * 1_000_000 + extraNanos).padStart(9, '0').replace(/0+$/, '');
  return iso.slice(0, 19) + (frac ? `.${frac}` : '') + 'Z';
}
