/**
 * The fields `docker images --format` offers (docker/cli formatter image context) and the
 * expansion of one ImageSummary into one row per repository:tag (or `<none>` rows).
 */
import type { ImageSummary } from '../../api/client-types.js';
import { humanDuration, humanSize, humanSizeWithPrecision } from '../../api/units.js';
import { familiarRepository, parseImageName } from '../../api/image-name.js';
import { HeaderContext } from './container-context.js';
import type { TemplateObject } from './template.js';
import { goTimeString, truncateId } from './text.js';

export const DEFAULT_IMAGE_TABLE = 'table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}';
export const DEFAULT_IMAGE_TABLE_DIGESTS = 'table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}';

export const imageHeader = (): HeaderContext =>
  new HeaderContext({
    ID: 'IMAGE ID',
    Repository: 'REPOSITORY',
    Tag: 'TAG',
    Digest: 'DIGEST',
    CreatedSince: 'CREATED',
    CreatedAt: 'CREATED AT',
    Size: 'SIZE',
    Containers: 'CONTAINERS',
    VirtualSize: 'VIRTUAL SIZE',
    SharedSize: 'SHARED SIZE',
    UniqueSize: 'UNIQUE SIZE',
  });

export class ImageContext implements TemplateObject {
  readonly templateTypeName = '*formatter.imageContext';
  constructor(
    private readonly i: ImageSummary,
    private readonly repo: string,
    private readonly tag: string,
    private readonly digest: string,
    private readonly trunc: boolean,
    private readonly now: () => number = Date.now,
  ) {}

  private static readonly FIELDS: Record<string, (c: ImageContext) => string> = {
    Containers: (c) => (c.i.Containers === -1 ? 'N/A' : String(c.i.Containers)),
    CreatedAt: (c) => goTimeString(c.i.Created),
    CreatedSince: (c) => `${humanDuration(c.now() - c.i.Created * 1000)} ago`,
    Digest: (c) => c.digest,
    ID: (c) => (c.trunc ? truncateId(c.i.Id) : c.i.Id),
    Repository: (c) => c.repo,
    SharedSize: (c) => (c.i.SharedSize === -1 ? 'N/A' : humanSize(c.i.SharedSize)),
    Size: (c) => humanSizeWithPrecision(c.i.Size, 3),
    Tag: (c) => c.tag,
    UniqueSize: (c) => (c.i.Size === -1 || c.i.SharedSize === -1 ? 'N/A' : humanSize(c.i.Size - c.i.SharedSize)),
    VirtualSize: (c) => humanSize(c.i.VirtualSize ?? c.i.Size),
  };

  templateField(name: string): { value: unknown } | undefined {
    const f = ImageContext.FIELDS[name];
    return f ? { value: f(this) } : undefined;
  }

  toJSON(): unknown {
    const o: Record<string, unknown> = {};
    for (const k of Object.keys(ImageContext.FIELDS)) o[k] = (ImageContext.FIELDS[k] as (c: ImageContext) => string)(this);
    return o;
  }
}

const isDangling = (img: ImageSummary): boolean => {
  const tags = img.RepoTags ?? [];
  const digests = img.RepoDigests ?? [];
  if (tags.length === 0 && digests.length === 0) return true;
  return tags.length === 1 && tags[0] === '<none>:<none>' && digests.length === 1 && digests[0] === '<none>@<none>';
};

/** One context per displayed row, as docker's imageFormat builds them. */
export function imageRows(images: readonly ImageSummary[], opts: { trunc: boolean; digests: boolean; now?: () => number }): ImageContext[] {
  const rows: ImageContext[] = [];
  for (const img of images) {
    const add = (repo: string, tag: string, digest: string): void => {
      rows.push(new ImageContext(img, repo, tag, digest, opts.trunc, opts.now));
    };
    if (isDangling(img)) {
      add('<none>', '<none>', '<none>');
      continue;
    }
    const repoTags = new Map<string, string[]>();
    const repoDigests = new Map<string, string[]>();
    for (const ref of img.RepoTags ?? []) {
      const n = parseImageName(ref);
      if (!n.tag || ref === '<none>:<none>') continue;
      const repo = familiarRepository(n);
      repoTags.set(repo, [...(repoTags.get(repo) ?? []), n.tag]);
    }
    for (const ref of img.RepoDigests ?? []) {
      const n = parseImageName(ref);
      if (!n.digest || ref === '<none>@<none>') continue;
      const repo = familiarRepository(n);
      repoDigests.set(repo, [...(repoDigests.get(repo) ?? []), n.digest]);
    }
    for (const [repo, tags] of repoTags) {
      let digests = repoDigests.get(repo) ?? [];
      repoDigests.delete(repo);
      if (!opts.digests) digests = [];
      for (const tag of tags) {
        if (digests.length === 0) add(repo, tag, '<none>');
        else for (const d of digests) add(repo, tag, d);
      }
    }
    for (const [repo, digests] of repoDigests) {
      if (opts.digests) for (const d of digests) add(repo, '<none>', d);
      else add(repo, '<none>', '');
    }
  }
  return rows;
}
