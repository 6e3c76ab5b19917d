/**
 * The OciRuntime port over runc's command line (crun and runsc take the same verbs).
 * `--root` keeps pier's runtime state apart from any other engine on the host.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { OciRuntime, RuntimeConfig } from '../../core/ports/index.js';
import type { Spec } from '../../core/oci/index.js';
import { EngineError, conflict } from '../../lib/errdefs.js';
import { runProcess } from '../../lib/process/index.js';

export class RuncRuntime implements OciRuntime {
  private async run(rt: RuntimeConfig, args: string[]): Promise<string> {
    const r = await runProcess([rt.path, ...rt.args, ...args], { timeoutMs: 60_000 });
    if (r.code !== 0) {
      const text = (r.stderr || r.stdout).trim().split('\n').map((l) => /msg="((?:[^"\\]|\\.)*)"/.exec(l)?.[1] ?? l).join(': ');
      if (/not running|container .* is not running|process already finished/i.test(text)) throw conflict(text);
      throw new EngineError('internal', `${rt.name} ${args[0]}: ${text || `exit status ${r.code}`}`);
    }
    return r.stdout;
  }

  async start(rt: RuntimeConfig, id: string): Promise<void> {
    await this.run(rt, ['start', id]);
  }

  async kill(rt: RuntimeConfig, id: string, signal: number, all = false): Promise<void> {
    await this.run(rt, ['kill', ...(all ? ['--all'] : []), id, String(signal)]);
  }

  async pause(rt: RuntimeConfig, id: string): Promise<void> {
    await this.run(rt, ['pause', id]);
  }

  async resume(rt: RuntimeConfig, id: string): Promise<void> {
    await this.run(rt, ['resume', id]);
  }

  async delete(rt: RuntimeConfig, id: string): Promise<void> {
    try {
      await this.run(rt, ['delete', '--force', id]);
    } catch (e) {
      if (!/does not exist|not exist/i.test((e as Error).message)) throw e;
    }
  }

  async pids(rt: RuntimeConfig, id: string): Promise<number[]> {
    const out = await this.run(rt, ['ps', '--format', 'json', id]);
    const parsed = JSON.parse(out || '[]') as number[] | null;
    return parsed ?? [];
  }

  async writeBundle(bundle: string, spec: Spec): Promise<void> {
    await writeFile(join(bundle, 'config.json'), JSON.stringify(spec));
  }
}
