/**
 * Log rotation for `--log-opt max-size/max-file` (and the `local` driver's defaults):
 * conmon 2.1.6 only truncates, so pierd rotates. About once a second it checks the running
 * containers that have a size limit; a file past it is renamed to ctr.log.1 (older ones
 * shift up, the oldest goes) and conmon is told to reopen its log, which starts a new file.
 * Readers following the old file drain it, then continue with the new one.
 */
import { rename, rm, stat } from 'node:fs/promises';
import { logPolicy, logFiles, type ContainerRecord } from '../core/container/index.js';
import type { Monitor } from '../core/ports/index.js';
import type { ContainerService } from './containers.js';

export class LogRotator {
  private timer: NodeJS.Timeout | undefined;
  private busy = false;

  constructor(private readonly containers: ContainerService, private readonly monitor: Monitor, private readonly intervalMs = 1000) {}

  start(): void {
    this.timer = setInterval(() => void this.sweep(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  async sweep(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      for (const c of this.containers.list()) {
        if (c.state.status !== 'running' && c.state.status !== 'paused') continue;
        await this.check(c).catch(() => { /* next sweep tries again */ });
      }
    } finally {
      this.busy = false;
    }
  }

  private async check(c: ContainerRecord): Promise<void> {
    const p = logPolicy(c.hostConfig.LogConfig);
    if (p.maxSize === undefined) return;
    const size = (await stat(c.logPath)).size;
    if (size < p.maxSize) return;
    const files = logFiles(c.logPath, p.maxFile); // oldest first, current last
    if (files.length === 1) {
      // max-file 1: nothing is kept; move the file aside and drop it after the reopen.
      const aside = `${c.logPath}.rotating`;
      await rename(c.logPath, aside);
      await this.monitor.reopenLog(this.containers.bundleDir(c.id));
      await rm(aside, { force: true });
      return;
    }
    await rm(files[0]!, { force: true });
    for (let i = 1; i < files.length; i++) {
      await rename(files[i]!, files[i - 1]!).catch((e: NodeJS.ErrnoException) => { if (e.code !== 'ENOENT') throw e; });
    }
    await this.monitor.reopenLog(this.containers.bundleDir(c.id));
  }
}
