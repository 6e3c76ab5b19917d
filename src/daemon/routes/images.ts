/** /images/*: list, inspect, tag, remove, import. Image names may hold '/' and ':'. */
import { parseFilters, validateFilterKeys, matchLabels } from '../../api/index.js';
import { invalidArgument, EngineError } from '../../lib/errdefs.js';
import { ImageService } from '../../services/index.js';
import type { Ctx, Router } from '../http/index.js';
import { sendJson, startStream } from '../http/index.js';
import { imageInspect, imageSummary } from '../compat/index.js';

export interface ImageRoutesDeps {
  images: ImageService;
  driver: string;
  layerDirs: (chain: string[]) => string[];
  /** Pull from a registry (daemon/routes/registry.ts), for `fromImage=`. */
  pull?: (ctx: Ctx) => Promise<void>;
}

export function imageRoutes(r: Router, d: ImageRoutesDeps): void {
  const { images } = d;

  r.get('/images/json', async (ctx) => {
    const filters = parseFilters(ctx.q('filters'));
    validateFilterKeys(filters, ['dangling', 'label', 'reference', 'before', 'since', 'until']);
    const dangling = filters.get('dangling')?.[0];
    const refs = filters.get('reference');
    const before = filters.get('before')?.[0], since = filters.get('since')?.[0];
    const beforeT = before ? images.resolve(before).image.config.created ?? '' : undefined;
    const sinceT = since ? images.resolve(since).image.config.created ?? '' : undefined;
    const all = ctx.bool('all');
    // Like moby: an image with neither tag nor digest that has children (a build's intermediate
    // image) is listed only with `all`; `dangling=true` looks at images without children only.
    const parents = new Set(images.list().map((i) => i.parent).filter(Boolean));
    const out = images.list().filter((img) => {
      const tags = images.tagsOf(img.id);
      const hasChildren = parents.has(img.id);
      if (tags.length === 0 && img.repoDigests.length === 0 && hasChildren && !all) return false;
      if (dangling === 'true' && (tags.length > 0 || hasChildren)) return false;
      if (dangling === 'false' && tags.length === 0) return false;
      if (!matchLabels(filters, img.config.config?.Labels)) return false;
      if (refs && !tags.some((t) => refs.some((p) => refMatch(t, p)))) return false;
      if (beforeT !== undefined && (img.config.created ?? '') >= beforeT) return false;
      if (sinceT !== undefined && (img.config.created ?? '') <= sinceT) return false;
      return true;
    }).sort((a, b) => ((a.config.created ?? '') < (b.config.created ?? '') ? 1 : -1));
    // With a reference filter docker lists only the matching names of each image.
    const shownTags = (id: string): string[] => images.tagsOf(id).filter((t) => !refs || refs.some((p) => refMatch(t, p)));
    sendJson(ctx, 200, out.map((img) => imageSummary(img, shownTags(img.id), images.containersUsing(img.id).total)));
  });

  r.get('/images/*name/json', async (ctx) => {
    const { image, chain } = images.resolve(ctx.params.name!);
    sendJson(ctx, 200, imageInspect(image, images.tagsOf(image.id), { driver: d.driver, dirs: d.layerDirs(chain) }));
  });

  r.post('/images/*name/tag', async (ctx) => {
    const repo = ctx.q('repo');
    if (!repo) throw invalidArgument('repository name must have at least one component');
    const target = ImageService.parseRepoTag(repo, ctx.q('tag'));
    await images.tag(ctx.params.name!, target);
    ctx.res!.writeHead(201, { 'Content-Length': 0 });
    ctx.res!.end();
  });

  r.delete('/images/*name', async (ctx) => {
    const res = await images.remove(ctx.params.name!, { force: ctx.bool('force'), noprune: ctx.bool('noprune') });
    sendJson(ctx, 200, res);
  });

  r.post('/images/create', async (ctx) => {
    const fromSrc = ctx.q('fromSrc');
    const fromImage = ctx.q('fromImage');
    if (fromSrc !== undefined) {
      if (fromSrc !== '-') throw new EngineError('not-implemented', 'importing from a URL is not supported yet; pipe the tarball instead (fromSrc=-)');
      const repo = ctx.q('repo');
      const ref = repo ? ImageService.parseRepoTag(repo, ctx.q('tag')) : undefined;
      const changes = ctx.query.getAll('changes').flatMap((c) => c.split('\n'));
      const s = startStream(ctx, 'application/json');
      try {
        const id = await images.importTarball({ tar: ctx.bodyStream(), ref, message: ctx.q('message'), changes });
        s.write(JSON.stringify({ status: id }) + '\r\n');
      } catch (e) {
        const msg = (e as Error).message;
        s.write(JSON.stringify({ errorDetail: { message: msg }, error: msg }) + '\r\n');
      }
      s.end();
      return;
    }
    if (fromImage) {
      if (!d.pull) throw new EngineError('not-implemented', 'pulling from registries is not available in this pier build');
      await d.pull(ctx);
      return;
    }
    throw invalidArgument('either fromSrc or fromImage must be given');
  });
}

function refMatch(tag: string, pattern: string): boolean {
  const re = new RegExp('^' + pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '.') + '$');
  if (re.test(tag)) return true;
  const repo = tag.slice(0, tag.lastIndexOf(':'));
  return re.test(repo);
}
