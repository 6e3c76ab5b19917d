/** /volumes/*: create, list, inspect, remove, prune (swagger v1.41 Volume, VolumeCreateOptions, VolumeListResponse). */
import { compareVersions, parseFilters } from '../../api/index.js';
import type { VolumeRecord } from '../../core/ports/index.js';
import type { VolumeCreateBody, VolumeService } from '../../services/index.js';
import type { Router } from '../http/index.js';
import { sendEmpty, sendJson } from '../http/index.js';

/** The wire `Volume`; `UsageData` only where moby fills it (system df). */
export function volumeJson(v: VolumeRecord, mountpoint: string, usage?: { refCount: number; size: number }): Record<string, unknown> {
  return {
    CreatedAt: v.createdAt,
    Driver: v.driver,
    Labels: Object.keys(v.labels).length ? v.labels : null,
    Mountpoint: mountpoint,
    Name: v.name,
    Options: Object.keys(v.options).length ? v.options : null,
    Scope: 'local',
    ...(usage ? { UsageData: { RefCount: usage.refCount, Size: usage.size } } : {}),
  };
}

export function volumeRoutes(r: Router, volumes: VolumeService): void {
  const json = (v: VolumeRecord): Record<string, unknown> => volumeJson(v, volumes.mountpoint(v.name));

  r.post('/volumes/create', async (ctx) => {
    const body = (await ctx.json<VolumeCreateBody>()) ?? {};
    sendJson(ctx, 201, json(await volumes.create(body)));
  });

  r.get('/volumes', async (ctx) => {
    const list = volumes.filter(parseFilters(ctx.q('filters'))).sort((a, b) => (a.name < b.name ? -1 : 1));
    sendJson(ctx, 200, { Volumes: list.map(json), Warnings: null });
  });

  r.get('/volumes/:name', async (ctx) => {
    sendJson(ctx, 200, json(volumes.get(ctx.params.name!)));
  });

  r.delete('/volumes/:name', async (ctx) => {
    await volumes.remove(ctx.params.name!, ctx.bool('force'));
    sendEmpty(ctx, 204);
  });

  r.post('/volumes/prune', async (ctx) => {
    const filters = parseFilters(ctx.q('filters'));
    // moby: before API 1.42 prune removed every unused volume, named ones included.
    if (compareVersions(ctx.apiVersion, '1.42') < 0 && !filters.has('all')) filters.set('all', ['true']);
    const { deleted, reclaimed } = await volumes.prune(filters);
    sendJson(ctx, 200, { VolumesDeleted: deleted.length ? deleted : null, SpaceReclaimed: reclaimed });
  });
}
