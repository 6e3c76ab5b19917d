/**
 * Test support: a CommandEnv over in-memory streams and a fake client that records calls.
 * Only tests import this file.
 */
import { Duplex, PassThrough, Readable } from 'node:stream';
import type { EngineClient } from '../../client/index.js';
import type { CommandEnv } from './command.js';

export interface Captured {
  readonly env: CommandEnv;
  stdout(): string;
  stderr(): string;
  readonly calls: string[];
}

export function fakeEnv(client: Partial<Record<keyof EngineClient, unknown>>, opts: { stdin?: string; now?: number } = {}): Captured {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const calls: string[] = [];
  const stdout = new PassThrough();
  stdout.on('data', (b: Buffer) => out.push(b));
  const stderr = new PassThrough();
  stderr.on('data', (b: Buffer) => err.push(b));
  const stdin = Readable.from(opts.stdin === undefined ? [] : [Buffer.from(opts.stdin)]);
  const recording = new Proxy(client, {
    get(target, prop: string) {
      const v = (target as Record<string, unknown>)[prop];
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) => {
        calls.push(prop);
        return (v as (...a: unknown[]) => unknown)(...args);
      };
    },
  }) as unknown as EngineClient;
  const env: CommandEnv = {
    io: { stdout, stderr, stdin },
    env: {},
    client: () => recording,
    now: () => opts.now ?? 1_800_000_000_000,
    commandPath: 'pier test',
  };
  return {
    env,
    stdout: () => Buffer.concat(out).toString(),
    stderr: () => Buffer.concat(err).toString(),
    calls,
  };
}

/** A hijacked connection stand-in: `serverSend` is what the daemon writes, `received` what the CLI sent. */
export function fakeHijack(serverSend: Buffer[]): { socket: Duplex; received: () => string } {
  const got: Buffer[] = [];
  let sent = false;
  const socket = new Duplex({
    read() {
      if (sent) return;
      sent = true;
      setImmediate(() => {
        for (const b of serverSend) this.push(b);
        this.push(null);
      });
    },
    write(chunk: Buffer, _enc, cb) {
      got.push(chunk);
      cb();
    },
  });
  return { socket, received: () => Buffer.concat(got).toString() };
}
