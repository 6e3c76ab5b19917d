/**
 * Docker's restart policies as pure decisions: whether an exit is followed by a restart,
 * and the backoff between restarts (100 ms doubling to 1 minute, reset once a container
 * has run for 10 seconds).
 */
export interface RestartPolicy { name: string; maximumRetryCount: number }

export function shouldRestart(p: RestartPolicy, o: { exitCode: number; restartCount: number; stoppedByUser: boolean; daemonStart?: boolean }): boolean {
  switch (p.name) {
    case 'always':
      return !o.stoppedByUser || !!o.daemonStart;
    case 'unless-stopped':
      return !o.stoppedByUser;
    case 'on-failure':
      if (o.stoppedByUser || o.exitCode === 0) return false;
      return p.maximumRetryCount <= 0 || o.restartCount < p.maximumRetryCount;
    default:
      return false;
  }
}

export const BACKOFF_START_MS = 100;
export const BACKOFF_MAX_MS = 60_000;
export const BACKOFF_RESET_AFTER_MS = 10_000;

/** The delay before the next restart, given the previous delay and how long the run lasted. */
export function nextBackoff(previousMs: number, ranForMs: number): number {
  if (previousMs <= 0 || ranForMs >= BACKOFF_RESET_AFTER_MS) return BACKOFF_START_MS;
  return Math.min(previousMs * 2, BACKOFF_MAX_MS);
}
