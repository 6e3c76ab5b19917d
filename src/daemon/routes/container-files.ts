/** /containers/{id}/archive, /export, /changes and POST /commit: a container's filesystem. */
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import type { ContainerConfigWire } from '../../api/index.js';
import type { ContainerFilesService } from '../../services/index.js';
import type { Ctx, Router } from '../http/index.js';
import { sendEmpty, sendJson } from '../http/index.js';

export const PATH_STAT_HEADER = 'X-Docker-Container-Path-Stat';

/** Streams a tar answer; headers go out when the first bytes are ready, a failure later cuts the body. */
async function sendTar(ctx: Ctx, tar: Readable, contentType: string, extra: Record<string, string> = {}): Promise<void> {
  const res = ctx.res!;
  res.writeHead(200, { 'Content-Type': contentType, ...extra });
  await pipeline(tar, res);
}

export function containerFileRoutes(r: Router, files: ContainerFilesService): void {
  r.head('/containers/:id/archive', async (ctx) => {
    const stat = await files.statPath(ctx.params.id!, ctx.q('path') ?? '');
    ctx.res!.writeHead(200, { [PATH_STAT_HEADER]: stat, 'Content-Type': 'application/json' });
    ctx.res!.end();
  });

  r.get('/containers/:id/archive', async (ctx) => {
    await files.getArchive(ctx.params.id!, ctx.q('path') ?? '', (stat, tar) => sendTar(ctx, tar, 'application/x-tar', { [PATH_STAT_HEADER]: stat }));
  });

  r.put('/containers/:id/archive', async (ctx) => {
    await files.putArchive(ctx.params.id!, ctx.q('path') ?? '', ctx.bodyStream(), {
      noOverwriteDirNonDir: ctx.bool('noOverwriteDirNonDir'),
      copyUIDGID: ctx.bool('copyUIDGID'),
    });
    sendEmpty(ctx, 200);
  });

  r.get('/containers/:id/export', async (ctx) => {
    await files.export(ctx.params.id!, (tar) => sendTar(ctx, tar, 'application/octet-stream'));
  });

  r.get('/containers/:id/changes', async (ctx) => {
    sendJson(ctx, 200, await files.changes(ctx.params.id!));
  });

  r.post('/commit', async (ctx) => {
    const config = await ctx.json<ContainerConfigWire | null>();
    const id = await files.commit({
      ref: ctx.q('container') ?? '',
      repo: ctx.q('repo') || undefined,
      tag: ctx.q('tag') || undefined,
      comment: ctx.q('comment') || undefined,
      author: ctx.q('author') || undefined,
      changes: ctx.query.getAll('changes').flatMap((c) => c.split('\n')),
      pause: ctx.bool('pause', true),
      config: config ?? undefined,
    });
    sendJson(ctx, 201, { Id: id });
  });
}
