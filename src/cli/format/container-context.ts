/**
 * The fields `docker ps --format` offers (docker/cli formatter.ContainerContext), computed from
 * a ContainerSummary. Also the table headers and the default formats.
 */
import type { ContainerSummary, PortSummary } from '../../api/client-types.js';
import { humanDuration, humanSizeWithPrecision } from '../../api/units.js';
import { parseImageName, familiarRepository } from '../../api/image-name.js';
import type { TemplateObject } from './template.js';
import { ellipsis, goQuote, goTimeString, truncateId } from './text.js';

export const DEFAULT_CONTAINER_TABLE = 'table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}';

const HEADERS: Record<string, string> = {
  ID: 'CONTAINER ID',
  Names: 'NAMES',
  Image: 'IMAGE',
  Command: 'COMMAND',
  CreatedAt: 'CREATED AT',
  RunningFor: 'CREATED',
  Ports: 'PORTS',
  State: 'STATE',
  Status: 'STATUS',
  Size: 'SIZE',
  Labels: 'LABELS',
  Mounts: 'MOUNTS',
  LocalVolumes: 'LOCAL VOLUMES',
  Networks: 'NETWORKS',
  Platform: 'PLATFORM',
};

/** The header row's context: each field answers its column title. */
export class HeaderContext implements TemplateObject {
  readonly templateTypeName = 'formatter.SubHeaderContext';
  constructor(private readonly headers: Readonly<Record<string, string>>) {}
  templateField(name: string): { value: unknown } {
    // docker heads a `Label "com.example.x"` column with the key's last dot-separated part
    if (name === 'Label') return { value: (k: unknown) => String(k).split('.').pop() ?? '' };
    return { value: this.headers[name] ?? '' };
  }
  toJSON(): unknown {
    return this.headers;
  }
}

export const containerHeader = (): HeaderContext => new HeaderContext(HEADERS);

/** formatter.DisplayablePorts */
export function displayablePorts(ports: readonly PortSummary[]): string {
  const sorted = [...ports].sort((a, b) => {
    if (a.PrivatePort !== b.PrivatePort) return a.PrivatePort - b.PrivatePort;
    const ai = a.IP ?? '';
    const bi = b.IP ?? '';
    if (ai !== bi) return ai < bi ? -1 : 1;
    if ((a.PublicPort ?? 0) !== (b.PublicPort ?? 0)) return (a.PublicPort ?? 0) - (b.PublicPort ?? 0);
    return a.Type < b.Type ? -1 : a.Type > b.Type ? 1 : 0;
  });
  const groups = new Map<string, { first: number; last: number }>();
  const order: string[] = [];
  const result: string[] = [];
  const hostMappings: string[] = [];
  const join = (ip: string, port: string): string => (ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`);
  const formGroup = (key: string, start: number, last: number): string => {
    const parts = key.split('/');
    let type = parts[0] as string;
    let ip = '';
    if (parts.length > 1) {
      ip = parts[0] as string;
      type = parts[1] as string;
    }
    let group = String(start);
    if (start !== last) group = `${group}-${last}`;
    if (ip !== '') group = `${join(ip, group)}->${group}`;
    return `${group}/${type}`;
  };
  for (const p of sorted) {
    const current = p.PrivatePort;
    let key = p.Type;
    if (p.IP) {
      if ((p.PublicPort ?? 0) !== current) {
        hostMappings.push(`${join(p.IP, String(p.PublicPort ?? 0))}->${p.PrivatePort}/${p.Type}`);
        continue;
      }
      key = `${p.IP}/${p.Type}`;
    }
    const g = groups.get(key);
    if (!g) {
      groups.set(key, { first: current, last: current });
      order.push(key);
      continue;
    }
    if (current === g.last + 1) {
      g.last = current;
      continue;
    }
    result.push(formGroup(key, g.first, g.last));
    groups.set(key, { first: current, last: current });
  }
  for (const key of order) {
    const g = groups.get(key) as { first: number; last: number };
    result.push(formGroup(key, g.first, g.last));
  }
  return [...result, ...hostMappings].join(', ');
}

export class ContainerContext implements TemplateObject {
  readonly templateTypeName = '*formatter.ContainerContext';
  /** set when the template read .Size (docker then asks the daemon for sizes) */
  sizeUsed = false;

  constructor(
    private readonly c: ContainerSummary,
    private readonly trunc: boolean,
    private readonly now: () => number = Date.now,
  ) {}

  ID(): string {
    return this.trunc ? truncateId(this.c.Id) : this.c.Id;
  }

  Names(): string {
    const names = (this.c.Names ?? []).map((n) => n.replace(/^\//, ''));
    if (this.trunc) return names.find((n) => !n.includes('/')) ?? '';
    return names.join(',');
  }

  Image(): string {
    const image = this.c.Image;
    if (image === '') return '<no image>';
    if (!this.trunc) return image;
    const t = truncateId(this.c.ImageID ?? '');
    if (t === truncateId(image)) return t;
    // familiar name, digest stripped, tag kept
    const n = parseImageName(image);
    return n.tag ? `${familiarRepository(n)}:${n.tag}` : familiarRepository(n);
  }

  Command(): string {
    return goQuote(this.trunc ? ellipsis(this.c.Command, 20) : this.c.Command);
  }

  CreatedAt(): string {
    return goTimeString(this.c.Created);
  }

  RunningFor(): string {
    return `${humanDuration(this.now() - this.c.Created * 1000)} ago`;
  }

  Ports(): string {
    return displayablePorts(this.c.Ports ?? []);
  }

  State(): string {
    return this.c.State;
  }

  Status(): string {
    return this.c.Status;
  }

  Size(): string {
    this.sizeUsed = true;
    const srw = humanSizeWithPrecision(this.c.SizeRw ?? 0, 3);
    const sv = humanSizeWithPrecision(this.c.SizeRootFs ?? 0, 3);
    return (this.c.SizeRootFs ?? 0) > 0 ? `${srw} (virtual ${sv})` : srw;
  }

  Labels(): string {
    if (!this.c.Labels) return '';
    return Object.entries(this.c.Labels)
      .map(([k, v]) => `${k}=${v}`)
      .sort()
      .join(',');
  }

  Label(name: unknown): string {
    return this.c.Labels?.[String(name)] ?? '';
  }

  Mounts(): string {
    return (this.c.Mounts ?? [])
      .map((m) => {
        const name = m.Name ? m.Name : (m.Source ?? '');
        return this.trunc ? ellipsis(name, 15) : name;
      })
      .join(',');
  }

  LocalVolumes(): string {
    return String((this.c.Mounts ?? []).filter((m) => m.Driver === 'local').length);
  }

  Networks(): string {
    return Object.keys(this.c.NetworkSettings?.Networks ?? {}).join(',');
  }

  Platform(): null {
    return null;
  }

  private static readonly FIELDS = [
    'Command', 'CreatedAt', 'ID', 'Image', 'Labels', 'LocalVolumes', 'Mounts', 'Names', 'Networks', 'Platform', 'Ports',
    'RunningFor', 'Size', 'State', 'Status',
  ] as const;

  templateField(name: string): { value: unknown } | undefined {
    if (name === 'Label') return { value: (k: unknown) => this.Label(k) };
    if ((ContainerContext.FIELDS as readonly string[]).includes(name))
      return { value: (this as unknown as Record<string, () => unknown>)[name]?.call(this) };
    return undefined;
  }

  toJSON(): unknown {
    const o: Record<string, unknown> = {};
    for (const f of ContainerContext.FIELDS) o[f] = (this as unknown as Record<string, () => unknown>)[f]?.call(this);
    return o;
  }
}
