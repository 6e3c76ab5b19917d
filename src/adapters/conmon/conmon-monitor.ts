/**
 * The Monitor port over conmon: one conmon per container (and per exec), started through
 * a sync pipe (fd 3: conmon → us, JSON `{"data": pid}`) and a start pipe (fd 4: us →
 * conmon). conmon double-forks, so it is not our child: containers outlive pierd. Exits
 * arrive as files in the exit dir (watched with inotify via fs.watch).
 */
import { spawn } from 'node:child_process';
import { constants as fsConstants, watch, type FSWatcher } from 'node:fs';
import { mkdir, readFile, readdir, rm, writeFile, open } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import type { Monitor, RuntimeConfig, StdinWriter } from '../../core/ports/index.js';
import type { Process } from '../../core/oci/index.js';
import { EngineError, errnoCode } from '../../lib/errdefs.js';
import { SeqpacketWriter } from '../../lib/sys/index.js';
import { conmonArgv } from './argv.js';

export interface ConmonOptions {
  conmonPath: string;
  /** <exec-root>/exits */
  exitDir: string;
  /** <exec-root>/s: short, unix socket paths are limited to 107 bytes */
  socketDir: string;
  logLevel?: string;
}

const STDIN_CLOSE_DELAY_MS = 100;

/** The runtime's own error text, from conmon's sync message. */
export class RuntimeError extends EngineError {
  constructor(message: string) {
    super('internal', message, { code: 'ERR_RUNTIME_CREATE' });
  }
}

/** Reads newline-separated JSON messages from conmon's sync pipe. */
function syncMessages(stream: Readable): () => Promise<{ data: number; message?: string }> {
  let buf = '';
  const queue: Array<{ data: number; message?: string }> = [];
  const waiters: Array<{ resolve: (m: { data: number; message?: string }) => void; reject: (e: Error) => void }> = [];
  let ended = false;
  const flush = (): void => {
    while (queue.length && waiters.length) waiters.shift()!.resolve(queue.shift()!);
    if (ended) while (waiters.length) waiters.shift()!.reject(new Error('conmon exited without reporting'));
  };
  stream.setEncoding('utf8');
  stream.on('data', (d: string) => {
    buf += d;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl).trim();
      buf = buf.slice(nl + 1);
      if (!line) continue;
      try { queue.push(JSON.parse(line) as { data: number; message?: string }); } catch { /* ignore noise */ }
    }
    flush();
  });
  stream.on('end', () => { ended = true; flush(); });
  stream.on('error', () => { ended = true; flush(); });
  return () => new Promise((resolve, reject) => { waiters.push({ resolve, reject }); flush(); });
}

export class ConmonMonitor implements Monitor {
  private watcher: FSWatcher | undefined;

  constructor(private readonly o: ConmonOptions) {}

  async init(): Promise<void> {
    await mkdir(this.o.exitDir, { recursive: true, mode: 0o700 });
    await mkdir(this.o.socketDir, { recursive: true, mode: 0o700 });
  }

  /** `cwd`: conmon writes files such as `oom` into its working directory; give it the bundle. */
  private spawnConmon(argv: string[], cwd: string): { sync: () => Promise<{ data: number; message?: string }>; start: Writable; attachMsg?: () => Promise<unknown> } {
    const child = spawn(argv[0]!, argv.slice(1), {
      cwd,
      stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe', 'pipe'],
      detached: true,
      env: { ...process.env, _OCI_SYNCPIPE: '3', _OCI_STARTPIPE: '4', _OCI_ATTACHPIPE: '5' },
    });
    child.on('error', () => {});
    child.unref();
    const stdio = child.stdio as unknown as Array<Readable & Writable & { unref?: () => void }>;
    stdio[2]!.resume();
    const sync = syncMessages(stdio[3]!);
    const attach = syncMessages(stdio[5]!);
    for (const i of [2, 3, 4, 5]) stdio[i]?.unref?.();
    return { sync, start: stdio[4]!, attachMsg: attach };
  }

  async create(opts: { id: string; bundle: string; runtime: RuntimeConfig; logPath: string; tty: boolean; stdin: boolean; stdinOnce: boolean; name: string }): Promise<{ pid: number }> {
    await rm(join(this.o.exitDir, opts.id), { force: true });
    const argv = conmonArgv({
      conmonPath: this.o.conmonPath,
      cid: opts.id,
      cuuid: opts.id,
      name: opts.name,
      runtimePath: opts.runtime.path,
      runtimeArgs: opts.runtime.args,
      bundle: opts.bundle,
      containerPidFile: join(opts.bundle, 'pidfile'),
      conmonPidFile: join(opts.bundle, 'conmon.pid'),
      logPath: opts.logPath,
      exitDir: this.o.exitDir,
      socketDir: this.o.socketDir,
      stdin: opts.stdin,
      tty: opts.tty,
      leaveStdinOpen: opts.stdin && !opts.stdinOnce,
      logLevel: this.o.logLevel,
    });
    const c = this.spawnConmon(argv, opts.bundle);
    c.start.end(Buffer.from([0]));
    const msg = await c.sync();
    if (msg.data < 0) throw new RuntimeError(cleanRuntimeMessage(msg.message ?? 'unknown error'));
    return { pid: msg.data };
  }

  async exec(opts: { containerId: string; execId: string; dir: string; runtime: RuntimeConfig; process: Process; logPath: string; tty: boolean; stdin: boolean; beforeStart?: (stdin: StdinWriter | undefined) => Promise<void> }): Promise<{ pid: number; exited: Promise<number>; stdin: StdinWriter | undefined }> {
    await mkdir(opts.dir, { recursive: true, mode: 0o700 });
    const spec = join(opts.dir, 'process.json');
    await writeFile(spec, JSON.stringify(opts.process));
    const argv = conmonArgv({
      conmonPath: this.o.conmonPath,
      cid: opts.containerId,
      cuuid: opts.execId,
      name: opts.execId,
      runtimePath: opts.runtime.path,
      runtimeArgs: opts.runtime.args,
      bundle: opts.dir,
      containerPidFile: join(opts.dir, 'pidfile'),
      conmonPidFile: join(opts.dir, 'conmon.pid'),
      logPath: opts.logPath,
      persistDir: opts.dir,
      socketDir: this.o.socketDir,
      stdin: opts.stdin,
      tty: opts.tty,
      leaveStdinOpen: false,
      exec: { processSpec: spec, attach: true },
      logLevel: this.o.logLevel,
    });
    const c = this.spawnConmon(argv, opts.dir);
    c.start.write(Buffer.from([0]));
    // conmon reports on the attach pipe once its attach socket listens; then it waits for
    // a second start byte before running `runtime exec`, so no input or output is lost.
    await c.attachMsg!();
    const stdin = opts.stdin ? this.openStdin(opts.execId) : undefined;
    if (opts.beforeStart) await opts.beforeStart(stdin);
    c.start.end(Buffer.from([0]));
    const first = await c.sync();
    if (first.data < 0 && first.message) {
      stdin?.close();
      throw new RuntimeError(cleanRuntimeMessage(first.message));
    }
    const exited = c.sync().then((m) => m.data, async () => {
      const txt = await readFile(join(opts.dir, 'exit'), 'utf8').catch(() => '-1');
      return Number(txt);
    });
    return { pid: first.data, exited, stdin };
  }

  openStdin(cuuid: string): StdinWriter {
    const w = SeqpacketWriter.connect(join(this.o.socketDir, cuuid, 'attach'));
    // conmon 2.1.6 can miss the hang-up when it arrives right behind the last packet, and
    // the container's stdin then never closes (measured: 3 of 8 runs). A short pause
    // before closing made it reliable (docs/design/lifecycle.md).
    let lastWrite = 0;
    return {
      write: async (d) => { await w.write(d); lastWrite = Date.now(); },
      close: () => {
        const wait = Math.max(0, STDIN_CLOSE_DELAY_MS - (Date.now() - lastWrite));
        if (wait === 0) w.close(); else setTimeout(() => w.close(), wait);
      },
    };
  }

  async resize(dir: string, height: number, width: number): Promise<void> {
    await this.control(dir, `1 ${height} ${width}\n`);
  }

  async reopenLog(bundle: string): Promise<void> {
    await this.control(bundle, '2 0 0\n');
  }

  /** conmon's control FIFO in the bundle: "<type> <height> <width>\n"; 1 = resize, 2 = reopen logs. */
  private async control(dir: string, line: string): Promise<void> {
    let fh;
    try {
      // Non-blocking: opening a FIFO whose reader (conmon) is gone would otherwise block a
      // libuv worker thread forever; with O_NONBLOCK it fails at once with ENXIO.
      fh = await open(join(dir, 'ctl'), fsConstants.O_WRONLY | fsConstants.O_NONBLOCK);
      await fh.write(line);
    } catch (e) {
      const code = errnoCode(e);
      if (code !== 'ENOENT' && code !== 'ENXIO' && code !== 'EPIPE' && code !== 'EAGAIN') throw e;
    } finally {
      await fh?.close();
    }
  }

  async readExit(id: string): Promise<number | undefined> {
    try {
      const txt = await readFile(join(this.o.exitDir, id), 'utf8');
      const n = Number(txt.trim());
      return Number.isFinite(n) ? n : undefined;
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') return undefined;
      throw e;
    }
  }

  async clearExit(id: string): Promise<void> {
    await rm(join(this.o.exitDir, id), { force: true });
  }

  watchExits(cb: (id: string, code: number) => void): void {
    // inotify may report one write several times; the callback is idempotent (it acts only
    // on a running container and clears the file), so no de-duplication here: a container
    // that restarts and exits again with the same code must be seen again.
    const check = async (name: string): Promise<void> => {
      if (!/^[0-9a-f]{64}$/.test(name)) return;
      const code = await this.readExit(name).catch(() => undefined);
      if (code === undefined) return;
      cb(name, code);
    };
    this.watcher = watch(this.o.exitDir, (_ev, name) => { if (name) void check(String(name)); });
    // Exits that happened before the watch started (pierd was down).
    void readdir(this.o.exitDir).then((names) => names.forEach((n) => void check(n)));
  }

  async isAlive(_id: string, bundle: string): Promise<boolean> {
    try {
      const pid = Number((await readFile(join(bundle, 'conmon.pid'), 'utf8')).trim());
      if (!pid) return false;
      process.kill(pid, 0);
      const cmd = await readFile(`/proc/${pid}/cmdline`, 'utf8');
      return cmd.includes('conmon');
    } catch {
      return false;
    }
  }

  close(): void {
    this.watcher?.close();
  }
}

/** conmon relays runc's stderr, which is logfmt-ish JSON lines; keep the `msg` text. */
export function cleanRuntimeMessage(raw: string): string {
  const msgs: string[] = [];
  for (const line of raw.split('\n')) {
    const t = line.trim();
    if (!t || t.startsWith('[conmon:')) continue;
    try {
      const j = JSON.parse(t) as { msg?: string; level?: string };
      if (j.msg) { msgs.push(j.msg); continue; }
    } catch { /* not JSON */ }
    const m = /msg="((?:[^"\\]|\\.)*)"/.exec(t);
    msgs.push(m ? m[1]!.replace(/\\"/g, '"') : t);
  }
  return msgs.join(': ') || raw.trim();
}
