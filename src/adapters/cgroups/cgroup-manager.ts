/** CgroupManager over the host's cgroupfs (v1 hybrid or v2 unified) and the OCI runtime's `update`. */
import { existsSync } from 'node:fs';
import { access } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import type { CgroupManager, CgroupSample, RuntimeConfig } from '../../core/ports/index.js';
import { runProcess } from '../../lib/process/index.js';
import { oomKilledV1, oomKilledV2, sampleV1, sampleV2, type ReaderEnv } from './cgroup-readers.js';

export class FsCgroupManager implements CgroupManager {
  readonly version: 1 | 2;
  private readonly env: ReaderEnv;

  constructor(opts: { cgroupRoot?: string; procRoot?: string; version?: 1 | 2 } = {}) {
    const root = opts.cgroupRoot ?? '/sys/fs/cgroup';
    this.version = opts.version ?? (existsSync(join(root, 'cgroup.controllers')) ? 2 : 1);
    this.env = { cgroupRoot: root, procRoot: opts.procRoot ?? '/proc', memTotal: totalmem(), onlineCpus: cpus().length };
  }

  sample(path: string, pid: number): Promise<CgroupSample> {
    return this.version === 2 ? sampleV2(this.env, path, pid) : sampleV1(this.env, path, pid);
  }

  async update(rt: RuntimeConfig, id: string, resources: Record<string, unknown>): Promise<void> {
    const r = await runProcess([rt.path, ...rt.args, 'update', '--resources', '-', id], { input: JSON.stringify(resources), timeoutMs: 30000 });
    if (r.code !== 0) throw new Error((r.stderr || r.stdout).trim().replace(/^time="[^"]*" level=\w+ msg="(.*)"$/s, '$1'));
  }

  async oomKilled(path: string, bundle: string): Promise<boolean> {
    // conmon writes an `oom` file into the bundle when its OOM watch fires.
    try {
      await access(join(bundle, 'oom'));
      return true;
    } catch { /* no file */ }
    return this.version === 2 ? oomKilledV2(this.env.cgroupRoot, path) : oomKilledV1(this.env.cgroupRoot, path);
  }
}
