/** /containers/{id}/exec and /exec/*. */
import type { ExecCreateBody } from '../../api/index.js';
import { invalidArgument } from '../../lib/errdefs.js';
import type { ExecService } from '../../services/index.js';
import type { Router } from '../http/index.js';
import { hijack, sendEmpty, sendJson } from '../http/index.js';
import { pumpOutput, socketInput } from './streams.js';

export function execRoutes(r: Router, execs: ExecService): void {
  r.post('/containers/:id/exec', async (ctx) => {
    const body = await ctx.json<ExecCreateBody>();
    if (!body) throw invalidArgument('No exec command specified');
    const id = execs.create(ctx.params.id!, body);
    sendJson(ctx, 201, { Id: id });
  });

  r.post('/exec/:id/start', async (ctx) => {
    const body = (await ctx.json<{ Detach?: boolean; Tty?: boolean; stdin?: boolean }>()) ?? {};
    const ex = execs.get(ctx.params.id!);
    if (body.Detach) {
      const out = await execs.start(ex.id, { detach: true });
      void (async () => { for await (const _ of out) { /* drain */ } })().catch(() => {});
      sendEmpty(ctx, 200);
      return;
    }
    const tty = body.Tty ?? !!ex.config.Tty;
    const sock = hijack(ctx, 'application/vnd.docker.raw-stream');
    const ac = new AbortController();
    sock.on('close', () => ac.abort());
    sock.on('error', () => ac.abort());
    const wantStdin = !!ex.config.AttachStdin;
    const out = await execs.start(ex.id, { detach: false, stdin: wantStdin ? socketInput(sock) : undefined, signal: ac.signal });
    if (!wantStdin) sock.resume();
    await pumpOutput(out, sock, tty).catch(() => {});
    sock.end();
  });

  r.post('/exec/:id/resize', async (ctx) => {
    await execs.resize(ctx.params.id!, ctx.int('h') ?? 0, ctx.int('w') ?? 0);
    sendEmpty(ctx, 200);
  });

  r.get('/exec/:id/json', async (ctx) => {
    const e = execs.get(ctx.params.id!);
    const cmd = e.config.Cmd ?? [];
    sendJson(ctx, 200, {
      CanRemove: false,
      ContainerID: e.containerId,
      DetachKeys: e.config.DetachKeys ?? '',
      ExitCode: e.exitCode,
      ID: e.id,
      OpenStderr: !!e.config.AttachStderr,
      OpenStdin: !!e.config.AttachStdin,
      OpenStdout: !!e.config.AttachStdout,
      ProcessConfig: { arguments: cmd.slice(1), entrypoint: cmd[0] ?? '', privileged: !!e.config.Privileged, tty: !!e.config.Tty, user: e.config.User ?? '' },
      Running: e.running,
      Pid: e.pid,
    });
  });
}
