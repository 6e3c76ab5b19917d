/**
 * Image exchange and housekeeping: POST /images/load, GET /images/get and /images/{name}/get
 * (save), GET /images/{name}/history, POST /images/prune, GET /system/df.
 */
import { pipeline } from 'node:stream/promises';
import { parseFilters } from '../../api/index.js';
import type { ContainerRecord } from '../../core/container/index.js';
import { packTar } from '../../lib/tar/index.js';
import type { ContainerService, ImageArchiveService, ImageHousekeeping, ImageService, VolumeService } from '../../services/index.js';
import { volumeJson } from './volumes.js';
import type { Router } from '../http/index.js';
import { sendJson, startStream } from '../http/index.js';
import { containerSummary, imageSummary } from '../compat/index.js';

export interface ImageExchangeRoutesDeps {
  archive: ImageArchiveService;
  housekeeping: ImageHousekeeping;
  images: ImageService;
  containers: ContainerService;
  /** Bytes a container wrote (its upper dir). */
  sizeRw: (c: ContainerRecord) => Promise<number>;
  /** The Volumes part of system df (sizes and reference counts). */
  volumes?: VolumeService;
  log?: (level: 'debug' | 'info' | 'warn' | 'error', msg: string) => void;
}

export function imageExchangeRoutes(r: Router, d: ImageExchangeRoutesDeps): void {
  r.post('/images/load', async (ctx) => {
    const quiet = ctx.bool('quiet');
    const s = startStream(ctx, 'application/json');
    try {
      await d.archive.load(ctx.bodyStream(), { quiet, emit: (m) => { s.write(JSON.stringify(m) + '\r\n'); } });
    } catch (e) {
      const message = (e as Error).message;
      d.log?.('warn', `load: ${message}`);
      s.write(JSON.stringify({ errorDetail: { message }, error: message }) + '\r\n');
    }
    s.end();
  });

  const save = async (ctx: Parameters<Parameters<Router['get']>[1]>[0], names: string[]): Promise<void> => {
    const plan = d.archive.prepareSave(names);
    const res = ctx.res!;
    res.writeHead(200, { 'Content-Type': 'application/x-tar' });
    try {
      await pipeline(packTar(d.archive.saveEntries(plan)), res);
    } catch (e) {
      // headers are out: all we can do is cut the stream short, so the client sees it fail
      d.log?.('warn', `save: ${(e as Error).message}`);
      res.destroy();
    }
  };
  r.get('/images/get', async (ctx) => save(ctx, ctx.query.getAll('names').flatMap((n) => n.split(',')).filter(Boolean)));
  r.get('/images/*name/get', async (ctx) => save(ctx, [ctx.params.name!]));

  r.get('/images/*name/history', async (ctx) => {
    const rows = await d.housekeeping.history(ctx.params.name!);
    sendJson(ctx, 200, rows.map((h) => ({
      Comment: h.comment, Created: h.created, CreatedBy: h.createdBy, Id: h.id, Size: h.size, Tags: h.tags.length ? h.tags : null,
    })));
  });

  r.post('/images/prune', async (ctx) => {
    const { deleted, reclaimed } = await d.housekeeping.prune(parseFilters(ctx.q('filters')));
    sendJson(ctx, 200, { ImagesDeleted: deleted.length ? deleted : null, SpaceReclaimed: reclaimed });
  });

  r.get('/system/df', async (ctx) => {
    const { layersSize, images } = await d.housekeeping.diskUsage();
    const sizeOf = new Map(images.map((i) => [i.image.id, i.size]));
    const now = Date.now();
    const containers = [];
    for (const c of d.containers.list()) {
      const rw = await d.sizeRw(c).catch(() => 0);
      const given = c.config.Image ?? '';
      const shown = d.images.find(given)?.id === c.imageId ? given : c.imageId;
      containers.push({ ...containerSummary(c, now, shown), SizeRw: rw, SizeRootFs: rw + (sizeOf.get(c.imageId) ?? 0) });
    }
    sendJson(ctx, 200, {
      LayersSize: layersSize,
      Images: images.map((i) => ({ ...imageSummary(i.image, i.tags, i.containers), Size: i.size, VirtualSize: i.size, SharedSize: i.shared })),
      Containers: containers,
      Volumes: d.volumes ? (await d.volumes.usage()).map((u) => volumeJson(u.volume, d.volumes!.mountpoint(u.volume.name), { refCount: u.refCount, size: u.size })) : [],
      BuildCache: [],
      BuilderSize: 0,
    });
  });
}
