/** `pier registry serve|gc ...`: runs the registry server (src/registry/main.ts) as its own process. */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ParsedFlags } from '../../flags/index.js';
import type { CommandEnv, CommandSpec } from '../command.js';

export const command: CommandSpec = {
  usage: 'serve|gc [OPTIONS]',
  description: 'Run an OCI distribution registry (serve) or collect its garbage (gc)',
  aliases: ['pier registry'],
  flags: [],
  interspersed: false,
  args: { kind: 'any' },
  async run(env: CommandEnv, p: ParsedFlags): Promise<number> {
    const main = fileURLToPath(new URL('../../../registry/main.js', import.meta.url));
    const child = spawn(process.execPath, [main, ...(p.args as string[])], { stdio: 'inherit' });
    const forward = (sig: NodeJS.Signals): void => { child.kill(sig); };
    process.on('SIGTERM', forward);
    process.on('SIGINT', forward);
    return new Promise((resolve) => child.on('close', (code, signal) => resolve(code ?? (signal ? 128 + 15 : 1))));
  },
};
