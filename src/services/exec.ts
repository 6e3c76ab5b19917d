/**
 * Exec sessions: a process run inside a running container by its own conmon
 * (`conmon --exec`), with output in its own k8s-file log and its exit code from conmon's
 * sync pipe. Sessions are in memory, like Docker's: they do not survive a pierd restart.
 */
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ExecCreateBody } from '../api/index.js';
import { isRunning, type ContainerRecord } from '../core/container/index.js';
import { containerEnv, resolveUser, type Process } from '../core/oci/index.js';
import { parseK8sLine } from '../core/logs/index.js';
import type { LogReader, Monitor, StdinWriter } from '../core/ports/index.js';
import { conflict, invalidArgument, notFound, EngineError } from '../lib/errdefs.js';
import type { ContainerService, OutputChunk } from './containers.js';
import type { EventBus } from './events.js';

export interface ExecRecord {
  id: string;
  containerId: string;
  config: ExecCreateBody;
  running: boolean;
  exitCode: number | null;
  pid: number;
  started: boolean;
  /** Resolves when the process has exited and its output is drained. */
  done?: Promise<void>;
  resizeDir: string;
}

export interface ExecServiceDeps {
  containers: ContainerService;
  monitor: Monitor;
  logs: LogReader;
  events: EventBus;
  /** <exec-root>/x */
  execRoot: string;
}

export class ExecService {
  private execs = new Map<string, ExecRecord>();

  constructor(private readonly d: ExecServiceDeps) {
    // Sessions of a removed container go away with it (Docker answers 404 for them too).
    d.events.subscribe((e) => { if (e.type === 'container' && e.action === 'destroy') this.forget(e.actorId); });
  }

  get(id: string): ExecRecord {
    const e = this.execs.get(id);
    if (!e) throw notFound(`No such exec instance: ${id}`);
    return e;
  }

  create(ref: string, body: ExecCreateBody): string {
    const c = this.d.containers.get(ref);
    if (!isRunning(c)) throw conflict(`Container ${c.id} is not running`);
    if (c.state.status === 'paused') throw conflict(`Container ${ref} is paused, unpause the container before exec`);
    if (!body.Cmd || body.Cmd.length === 0) throw invalidArgument('No exec command specified');
    for (const e of body.Env ?? []) if (e === '' || e.startsWith('=')) throw invalidArgument(`invalid environment variable: ${e}`);
    const id = randomBytes(32).toString('hex');
    this.execs.set(id, { id, containerId: c.id, config: body, running: false, exitCode: null, pid: 0, started: false, resizeDir: join(this.d.execRoot, id) });
    this.d.containers.recordExec(c, id);
    this.emit(c, 'exec_create', id, body);
    return id;
  }

  private emit(c: ContainerRecord, action: string, execId: string, body: ExecCreateBody, extra: Record<string, string> = {}): void {
    this.d.events.publish({
      type: 'container', action: `${action}: ${(body.Cmd ?? []).join(' ')}`, actorId: c.id,
      attributes: { ...(c.config.Labels ?? {}), image: c.config.Image ?? '', name: c.name, execID: execId, ...extra },
      from: c.config.Image ?? '',
    });
  }

  /**
   * Starts the process. Output chunks come from the exec's log; `stdin` is piped to the
   * process. A runtime failure (missing binary, bad cwd) is not an HTTP error: its text
   * becomes output and the exit code 126, as Docker does.
   */
  async start(id: string, opts: { detach: boolean; stdin?: AsyncIterable<Buffer>; signal?: AbortSignal }): Promise<AsyncIterable<OutputChunk>> {
    const ex = this.get(id);
    if (ex.started) throw conflict(`Error: Exec command ${id} has already run`);
    const c = this.d.containers.get(ex.containerId);
    if (!isRunning(c)) throw conflict(`Container ${c.id} is not running`);
    if (c.state.status === 'paused') throw conflict(`Container ${c.id} is paused, unpause the container before exec`);
    ex.started = true;
    ex.running = true;
    const dir = join(this.d.execRoot, id);
    const logPath = join(dir, 'exec.log');
    const spec = await this.d.containers.bundleSpec(c.id);
    const cfg = ex.config;
    let user = spec.process.user, home: string | undefined;
    if (cfg.User) {
      try {
        const r = resolveUser(cfg.User, await this.d.containers.userFiles(c));
        user = r.user; home = r.home;
      } catch (e) {
        ex.running = false; ex.exitCode = 126;
        return oneChunk(`${(e as Error).message}\r\n`);
      }
    }
    const baseEnv = spec.process.env.filter((e) => !e.startsWith('HOSTNAME=') && !e.startsWith('PATH=') && !e.startsWith('TERM='));
    const proc: Process = {
      ...spec.process,
      terminal: !!cfg.Tty,
      args: cfg.Cmd ?? [],
      env: containerEnv({ env: [...baseEnv, ...(cfg.Env ?? [])], hostname: c.config.Hostname ?? '', tty: !!cfg.Tty, home }),
      cwd: cfg.WorkingDir || spec.process.cwd,
      user,
    };
    delete proc.consoleSize;
    if (cfg.ConsoleSize && cfg.ConsoleSize[0] && cfg.Tty) proc.consoleSize = { height: cfg.ConsoleSize[0], width: cfg.ConsoleSize[1] };
    if (cfg.Privileged) delete proc.capabilities;
    const wantStdin = !!cfg.AttachStdin && !!opts.stdin && !opts.detach;
    let exited: Promise<number>;
    let stdinWriter: StdinWriter | undefined;
    try {
      const r = await this.d.monitor.exec({
        containerId: c.id, execId: id, dir, runtime: this.d.containers.runtimeConfig(c), process: proc,
        logPath, tty: !!cfg.Tty, stdin: wantStdin,
      });
      ex.pid = r.pid;
      exited = r.exited;
      stdinWriter = r.stdin;
    } catch (e) {
      ex.running = false;
      ex.exitCode = 126;
      this.emit(c, 'exec_die', id, cfg, { exitCode: '126' });
      const msg = e instanceof EngineError ? e.message : String(e);
      return oneChunk(`OCI runtime exec failed: ${msg}: unknown\r\n`);
    }
    this.emit(c, 'exec_start', id, cfg);
    if (stdinWriter && opts.stdin) void pipeStdin(opts.stdin, stdinWriter);
    let finished = false;
    const done = exited.then(async (code) => {
      ex.exitCode = code;
      finished = true;
    });
    ex.done = done.then(() => {});
    const self = this;
    void done.then(() => {
      ex.running = false;
      self.emit(c, 'exec_die', id, cfg, { exitCode: String(ex.exitCode) });
      setTimeout(() => void rm(dir, { recursive: true, force: true }), 60_000).unref();
    });
    async function* output(): AsyncIterable<OutputChunk> {
      for await (const line of self.d.logs.lines(logPath, { offset: 0, follow: () => !finished, signal: opts.signal, wake: done })) {
        const e = parseK8sLine(line);
        if (e) yield { stream: e.stream, data: e.data };
      }
      await done;
      ex.running = false;
    }
    return output();
  }

  async resize(id: string, height: number, width: number): Promise<void> {
    const ex = this.get(id);
    if (!ex.running) return;
    await this.d.monitor.resize(ex.resizeDir, height, width);
  }

  private forget(containerId: string): void {
    for (const [id, e] of this.execs) if (e.containerId === containerId) this.execs.delete(id);
  }
}

async function* oneChunk(text: string): AsyncIterable<OutputChunk> {
  yield { stream: 'stdout', data: Buffer.from(text) };
}

async function pipeStdin(input: AsyncIterable<Buffer>, w: StdinWriter): Promise<void> {
  try {
    for await (const chunk of input) await w.write(chunk);
  } catch { /* client went away */ }
  w.close();
}
