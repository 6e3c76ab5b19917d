/**
 * `docker history`, `docker image prune` and the image half of `docker system df`: read-only
 * views over the image store and the one destructive sweep.
 */
import { type Filters, validateFilterKeys } from '../api/index.js';
import { type HistoryRow, type ImageRecord, historyRows } from '../core/image/index.js';
import { invalidArgument, isConflict } from '../lib/errdefs.js';
import type { DeleteResult, ImageService } from './images.js';

export interface PruneResult {
  deleted: DeleteResult;
  reclaimed: number;
}

export class ImageHousekeeping {
  constructor(private readonly images: ImageService) {}

  async history(name: string): Promise<HistoryRow[]> {
    const { image, chain } = this.images.resolve(name);
    const layerSizes = await Promise.all(chain.map((c) => this.images.layerSize(c)));
    return historyRows({ id: image.id, tags: this.images.tagsOf(image.id), history: image.config.history, layerSizes, created: image.config.created });
  }

  /**
   * POST /images/prune: dangling images (no tag) by default, every image no container uses
   * with `dangling=false`; `label`, `label!` and `until` narrow it. Children go before
   * parents; SpaceReclaimed counts the layers that really left the disk.
   */
  async prune(filters: Filters, nowMs = Date.now()): Promise<PruneResult> {
    validateFilterKeys(filters, ['dangling', 'label', 'label!', 'until']);
    const danglingValue = filters.get('dangling')?.[0] ?? 'true';
    if (!['true', 'false', '1', '0'].includes(danglingValue)) throw invalidArgument(`invalid filter 'dangling=${danglingValue}'`);
    const danglingOnly = danglingValue === 'true' || danglingValue === '1';
    let untilMs: number | undefined;
    const until = filters.get('until')?.[0];
    if (until !== undefined) {
      untilMs = parseUntil(until, nowMs);
    }
    const wanted = (img: ImageRecord): boolean => {
      if (danglingOnly && this.images.tagsOf(img.id).length > 0) return false;
      if (this.images.containersUsing(img.id).total > 0) return false;
      const labels = img.config.config?.Labels ?? {};
      for (const l of filters.get('label') ?? []) if (!labelMatches(labels, l)) return false;
      for (const l of filters.get('label!') ?? []) if (labelMatches(labels, l)) return false;
      if (untilMs !== undefined && Date.parse(img.config.created ?? '') >= untilMs) return false;
      return true;
    };
    const sizesBefore = await this.layerSizes();
    const deleted: DeleteResult = [];
    // children (images whose parent is another candidate) first
    let candidates = this.images.list().filter(wanted);
    for (let round = 0; round < 64 && candidates.length > 0; round++) {
      const parents = new Set(this.images.list().map((i) => i.parent).filter(Boolean));
      const leaves = candidates.filter((c) => !parents.has(c.id));
      if (leaves.length === 0) break;
      for (const img of leaves) {
        try {
          deleted.push(...(await this.images.remove(img.id, { force: true, noprune: false })));
        } catch (e) {
          if (!isConflict(e)) throw e;
        }
      }
      const gone = new Set(leaves.map((l) => l.id));
      candidates = candidates.filter((c) => !gone.has(c.id) && this.images.find(c.id));
    }
    const sizesAfter = await this.layerSizes();
    let reclaimed = 0;
    for (const [chain, size] of sizesBefore) if (!sizesAfter.has(chain)) reclaimed += size;
    return { deleted, reclaimed };
  }

  /** Every unpacked layer and its size. */
  async layerSizes(): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const c of await this.images.listLayers()) out.set(c, await this.images.layerSize(c));
    return out;
  }

  /**
   * The image half of system df: total layer bytes, and per image its size, the bytes it
   * shares with other images (layers in more than one image's chain) and its containers.
   */
  async diskUsage(): Promise<{ layersSize: number; images: Array<{ image: ImageRecord; tags: string[]; size: number; shared: number; containers: number }> }> {
    const sizes = await this.layerSizes();
    const users = new Map<string, number>();
    const chains = new Map<string, string[]>();
    for (const img of this.images.list()) {
      const chain = this.images.chainOf(img);
      chains.set(img.id, chain);
      for (const c of new Set(chain)) users.set(c, (users.get(c) ?? 0) + 1);
    }
    let layersSize = 0;
    for (const s of sizes.values()) layersSize += s;
    const images = this.images.list().map((image) => {
      let size = 0, shared = 0;
      for (const c of new Set(chains.get(image.id))) {
        const s = sizes.get(c) ?? 0;
        size += s;
        if ((users.get(c) ?? 0) > 1) shared += s;
      }
      return { image, tags: this.images.tagsOf(image.id), size, shared, containers: this.images.containersUsing(image.id).total };
    });
    return { layersSize, images };
  }
}

function labelMatches(labels: Record<string, string>, want: string): boolean {
  const eq = want.indexOf('=');
  if (eq < 0) return want in labels;
  return labels[want.slice(0, eq)] === want.slice(eq + 1);
}

const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `until`: a Go duration back from now (`24h`, `1h30m`), unix seconds, or a date. */
export function parseUntil(v: string, nowMs: number): number {
  if (/^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$/.test(v)) {
    let ms = 0;
    for (const m of v.matchAll(/([0-9]+(?:\.[0-9]+)?)(ns|us|µs|ms|s|m|h)/g)) ms += Number(m[1]) * UNIT_MS[m[2]!]!;
    return nowMs - ms;
  }
  if (/^[0-9]+(\.[0-9]+)?$/.test(v)) return Number(v) * 1000;
  const t = Date.parse(v);
  if (!Number.isFinite(t)) throw invalidArgument(`failed to parse value as time or duration: "${v}"`);
  return t;
}
