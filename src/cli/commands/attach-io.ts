/**
 * The client side of a hijacked attach/exec connection (docker/cli's hijackedIOStreamer):
 * output demuxed (non-TTY) or copied raw (TTY), stdin copied in and then half-closed,
 * the terminal put in raw mode with detach keys filtered (TTY only), resizes on SIGWINCH,
 * and signal proxying as `kill?signal=` calls.
 */
import { spawnSync } from 'node:child_process';
import type { Socket } from 'node:net';
import { StreamDemuxer, type EngineClient } from '../../client/index.js';
import type { CommandEnv } from './command.js';

/** `stty [-]opost` on the controlling terminal (fd 0). */
function setOutputProcessing(on: boolean): void {
  try {
    spawnSync('stty', [on ? 'opost' : '-opost'], { stdio: ['inherit', 'ignore', 'ignore'] });
  } catch {
    // no stty: output keeps CRLF translation
  }
}

/** Raised when the user typed the detach sequence. */
export class DetachedError extends Error {
  constructor() {
    super('read escape sequence');
    this.name = 'DetachedError';
  }
}

export const DEFAULT_DETACH_KEYS = 'ctrl-p,ctrl-q';

/** term.ToBytes: `ctrl-p,ctrl-q` → [16, 17]. */
export function parseDetachKeys(keys: string): number[] {
  const out: number[] = [];
  for (const raw of keys.split(',')) {
    const k = raw.trim();
    if (k.length > 1 && k.startsWith('ctrl-')) {
      const c = k.slice(5);
      if (c.length !== 1) throw new Error(`Unknown character: '${k}'`);
      const code = c.toLowerCase().charCodeAt(0);
      if (code >= 97 && code <= 122) out.push(code - 97 + 1);
      else if (c === '@') out.push(0);
      else if (c === '[') out.push(27);
      else if (c === '\\') out.push(28);
      else if (c === ']') out.push(29);
      else if (c === '^') out.push(30);
      else if (c === '_') out.push(31);
      else throw new Error(`Unknown character: '${k}'`);
    } else if (k.length === 1) out.push(k.charCodeAt(0));
    else throw new Error(`Unknown character: '${k}'`);
  }
  return out;
}

/** term.NewEscapeProxy as a push filter: returns bytes to forward, or 'detach'. */
export class EscapeFilter {
  private matched = 0;
  constructor(private readonly keys: readonly number[]) {}
  push(chunk: Buffer): Buffer | 'detach' {
    if (this.keys.length === 0) return chunk;
    const out: number[] = [];
    for (const b of chunk) {
      if (b === this.keys[this.matched]) {
        this.matched++;
        if (this.matched === this.keys.length) return 'detach';
        continue;
      }
      if (this.matched > 0) {
        out.push(...this.keys.slice(0, this.matched));
        this.matched = 0;
      }
      if (b === this.keys[0]) {
        this.matched = 1;
        if (this.keys.length === 1) return 'detach';
        continue;
      }
      out.push(b);
    }
    return Buffer.from(out);
  }
}

export interface StreamOptions {
  readonly socket: Socket;
  readonly tty: boolean;
  /** copy the CLI's stdin into the connection */
  readonly stdin: boolean;
  readonly stdout: boolean;
  readonly stderr: boolean;
  readonly detachKeys?: string;
}

/**
 * Runs the streams until the output ends (or the user detaches). Resolves when done; rejects
 * with DetachedError on the escape sequence.
 */
export function streamHijacked(env: CommandEnv, o: StreamOptions): Promise<void> {
  const { io } = env;
  return new Promise<void>((resolve, reject) => {
    let settled = false;
    let restoreTerm = (): void => undefined;
    const finish = (err?: Error): void => {
      if (settled) return;
      settled = true;
      restoreTerm();
      if (o.stdin) {
        io.stdin.pause();
        io.stdin.removeListener('data', onData);
        io.stdin.removeListener('end', onEnd);
      }
      if (err) reject(err);
      else resolve();
    };
    const demux = o.tty
      ? undefined
      : new StreamDemuxer({
          stdout: (b) => {
            if (o.stdout) io.stdout.write(b);
          },
          stderr: (b) => {
            if (o.stderr) io.stderr.write(b);
          },
        });
    o.socket.on('data', (chunk: Buffer) => {
      try {
        if (demux) demux.push(chunk);
        else if (o.stdout) io.stdout.write(chunk);
      } catch (e) {
        o.socket.destroy();
        finish(e as Error);
      }
    });
    o.socket.on('end', () => finish());
    o.socket.on('close', () => finish());
    o.socket.on('error', (e) => finish(e));

    const filter = o.tty && o.stdin ? new EscapeFilter(parseDetachKeys(o.detachKeys || DEFAULT_DETACH_KEYS)) : undefined;
    const onData = (chunk: Buffer | string): void => {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      const fwd = filter ? filter.push(buf) : buf;
      if (fwd === 'detach') {
        o.socket.destroy();
        finish(new DetachedError());
        return;
      }
      if (fwd.length) o.socket.write(fwd);
    };
    const onEnd = (): void => {
      o.socket.end();
    };
    if (o.stdin) {
      if (o.tty && io.stdin.isTTY && io.stdin.setRawMode) {
        io.stdin.setRawMode(true);
        // libuv's raw mode keeps ONLCR; docker's raw mode clears output processing, so the
        // container's CRLF is not turned into CRCRLF
        setOutputProcessing(false);
        restoreTerm = () => {
          io.stdin.setRawMode?.(false);
          setOutputProcessing(true);
        };
      }
      io.stdin.on('data', onData);
      io.stdin.on('end', onEnd);
      io.stdin.resume();
    } else {
      // nothing to send: half-close at once, as the docker CLI does
      o.socket.end();
    }
  });
}

/** Sends the terminal size now (with docker's retries) and on every SIGWINCH; returns a stop function. */
export function monitorTtySize(env: CommandEnv, resize: (h: number, w: number) => Promise<unknown>): () => void {
  const out = env.io.stdout;
  const send = async (retries: number): Promise<void> => {
    const h = out.rows ?? 0;
    const w = out.columns ?? 0;
    if (h === 0 && w === 0) return;
    for (let i = 0; ; i++) {
      try {
        await resize(h, w);
        return;
      } catch {
        if (i >= retries) {
          env.io.stderr.write('failed to resize tty, using default size\n');
          return;
        }
        await new Promise((r) => setTimeout(r, 10 * (i + 1)));
      }
    }
  };
  void send(10);
  const onWinch = (): void => void send(0);
  env.process?.on('SIGWINCH', onWinch);
  return () => env.process?.off('SIGWINCH', onWinch);
}

const PROXIED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];

/** ForwardAllSignals: each caught signal becomes `POST /containers/{id}/kill?signal=NAME`. */
export function proxySignals(env: CommandEnv, client: EngineClient, id: string): () => void {
  const handlers = PROXIED.map((sig) => {
    const fn = (): void => {
      client.containerKill(id, sig.slice(3)).catch(() => undefined);
    };
    env.process?.on(sig, fn);
    return [sig, fn] as const;
  });
  return () => {
    for (const [sig, fn] of handlers) env.process?.off(sig, fn);
  };
}
