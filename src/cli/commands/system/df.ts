/** `pier system df [-v] [--format]`: GET /system/df, the summary table or the verbose listing. */
import { humanDuration, humanSize, humanSizeWithPrecision } from '../../../api/units.js';
import type { ImageSummary } from '../../../api/client-types.js';
import { flagBool, flagString, type ParsedFlags } from '../../flags/index.js';
import { FormatError, HeaderContext, imageHeader, imageRows, prepareFormat, renderRows, tabwrite } from '../../format/index.js';
import { StatusError, type CommandEnv, type CommandSpec } from '../command.js';
import { RecordContext } from '../record-context.js';

interface DfContainer { Id: string; Image: string; Command: string; Created: number; State: string; Status: string; Names: string[]; SizeRw?: number; SizeRootFs?: number; Mounts?: unknown[] }
export interface DiskUsage {
  LayersSize: number;
  Images: Array<ImageSummary & { Containers: number; SharedSize: number }> | null;
  Containers: DfContainer[] | null;
  Volumes: Array<{ UsageData?: { Size: number; RefCount: number } }> | null;
  BuildCache: Array<{ Size: number; InUse: boolean; Shared: boolean }> | null;
}

export const DEFAULT_DF_TABLE = 'table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}';

const pct = (part: number, total: number): string => (total > 0 ? ` (${Math.floor((part * 100) / total)}%)` : '');

/** The four summary rows of docker system df. */
export function dfSummary(du: DiskUsage): Array<Record<string, unknown>> {
  const images = du.Images ?? [];
  const activeImages = images.filter((i) => i.Containers > 0);
  // docker/cli: what active images use is their size minus what they share
  const used = activeImages.reduce((n, i) => n + (i.SharedSize === -1 ? 0 : i.Size - i.SharedSize), 0);
  const ctrs = du.Containers ?? [];
  const ctrSize = ctrs.reduce((n, c) => n + (c.SizeRw ?? 0), 0);
  const ctrReclaim = ctrs.filter((c) => c.State !== 'running' && c.State !== 'paused').reduce((n, c) => n + (c.SizeRw ?? 0), 0);
  const vols = du.Volumes ?? [];
  const volSize = vols.reduce((n, v) => n + Math.max(0, v.UsageData?.Size ?? 0), 0);
  const cache = du.BuildCache ?? [];
  const cacheSize = cache.reduce((n, c) => n + c.Size, 0);
  return [
    { Type: 'Images', TotalCount: String(images.length), Active: String(activeImages.length), Size: humanSize(du.LayersSize), Reclaimable: `${humanSize(du.LayersSize - used)}${pct(du.LayersSize - used, du.LayersSize)}` },
    { Type: 'Containers', TotalCount: String(ctrs.length), Active: String(ctrs.filter((c) => c.State === 'running' || c.State === 'paused').length), Size: humanSize(ctrSize), Reclaimable: `${humanSize(ctrReclaim)}${pct(ctrReclaim, ctrSize)}` },
    { Type: 'Local Volumes', TotalCount: String(vols.length), Active: String(vols.filter((v) => (v.UsageData?.RefCount ?? 0) > 0).length), Size: humanSize(volSize), Reclaimable: `${humanSize(0)}` },
    { Type: 'Build Cache', TotalCount: String(cache.length), Active: String(cache.filter((c) => c.InUse).length), Size: humanSize(cacheSize), Reclaimable: humanSize(cacheSize) },
  ];
}

export const command: CommandSpec = {
  usage: '[OPTIONS]',
  description: 'Show docker disk usage',
  aliases: ['pier system df'],
  flags: [
    { long: 'format', kind: 'string', usage: 'Format output using a custom template' },
    { long: 'verbose', short: 'v', kind: 'bool', usage: 'Show detailed information on space usage' },
  ],
  args: { kind: 'none' },
  async run(env: CommandEnv, p: ParsedFlags): Promise<number> {
    const du = await env.client().json<DiskUsage>('GET', '/system/df');
    const format = flagString(p, 'format');
    try {
      if (!flagBool(p, 'verbose')) {
        const rows = dfSummary(du).map((r) => new RecordContext('*formatter.diskUsageImagesContext', r));
        const header = new HeaderContext({ Type: 'TYPE', TotalCount: 'TOTAL', Active: 'ACTIVE', Size: 'SIZE', Reclaimable: 'RECLAIMABLE' });
        env.io.stdout.write(renderRows(prepareFormat(format === '' || format === 'table' ? DEFAULT_DF_TABLE : format), rows, header));
        return 0;
      }
      let out = 'Images space usage:\n\n';
      const imgs = imageRows(du.Images ?? [], { trunc: true, digests: false, now: env.now });
      out += renderRows(prepareFormat('table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}\t{{.SharedSize}}\t{{.UniqueSize}}\t{{.Containers}}'), imgs, imageHeader());
      out += '\nContainers space usage:\n\n';
      const now = env.now();
      let t = 'CONTAINER ID\tIMAGE\tCOMMAND\tLOCAL VOLUMES\tSIZE\tCREATED\tSTATUS\tNAMES\n';
      for (const c of du.Containers ?? []) {
        const cmd = c.Command.length > 19 ? `"${c.Command.slice(0, 19)}…"` : `"${c.Command}"`;
        t += `${c.Id.slice(0, 12)}\t${c.Image}\t${cmd}\t${c.Mounts?.length ?? 0}\t${humanSizeWithPrecision(c.SizeRw ?? 0, 3)}\t${humanDuration(now - c.Created * 1000)} ago\t${c.Status}\t${(c.Names[0] ?? '').replace(/^\//, '')}\n`;
      }
      out += tabwrite(t);
      out += '\nLocal Volumes space usage:\n\n';
      out += tabwrite('VOLUME NAME\tLINKS\tSIZE\n');
      out += `\nBuild cache usage: ${humanSize((du.BuildCache ?? []).reduce((n, c) => n + c.Size, 0))}\n\n`;
      out += tabwrite('CACHE ID\tCACHE TYPE\tSIZE\tCREATED\tLAST USED\tUSAGE\tSHARED\n');
      env.io.stdout.write(out);
    } catch (e) {
      if (e instanceof FormatError) throw new StatusError(1, e.message);
      throw e;
    }
    return 0;
  },
};
