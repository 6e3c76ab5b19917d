/** Shared by attach, exec start and logs: write output as stdcopy frames or raw (TTY). */
import type { Duplex } from 'node:stream';
import { frame } from '../http/index.js';

export interface Chunk { stream: 'stdout' | 'stderr'; data: Buffer }

/** Copies chunks to a socket, honouring backpressure; resolves when done or the peer is gone. */
export async function pumpOutput(out: AsyncIterable<Chunk>, sock: Duplex, tty: boolean, prefix?: (c: Chunk) => Buffer): Promise<void> {
  for await (const c of out) {
    if (sock.destroyed || !sock.writable) return;
    const payload = prefix ? Buffer.concat([prefix(c), c.data]) : c.data;
    const ok = sock.write(tty ? payload : frame(c.stream === 'stdout' ? 1 : 2, payload));
    if (!ok) await new Promise<void>((r) => { sock.once('drain', r); sock.once('close', r); });
  }
}

/**
 * The readable half of a hijacked socket as stdin chunks. Not `for await (… of sock)`:
 * that destroys the socket when the client half-closes, and output must keep flowing.
 */
export async function* socketInput(sock: Duplex): AsyncIterable<Buffer> {
  const it = sock.iterator({ destroyOnReturn: false });
  for await (const chunk of it) yield chunk as Buffer;
}

/** `since`/`until` as unix seconds with optional fraction → epoch nanoseconds. */
export function parseTimestamp(v: string | undefined): bigint | undefined {
  if (v === undefined || v === '' || v === '0') return undefined;
  const m = /^([0-9]+)(?:\.([0-9]{1,9}))?$/.exec(v);
  if (!m) {
    const ms = Date.parse(v);
    return Number.isNaN(ms) ? undefined : BigInt(ms) * 1_000_000n;
  }
  return BigInt(m[1]!) * 1_000_000_000n + BigInt((m[2] ?? '').padEnd(9, '0'));
}
