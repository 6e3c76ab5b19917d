/**
 * The fields `docker network ls --format` and `docker volume ls --format` offer (docker/cli
 * formatter network and volume contexts), with their table headers.
 */
import { humanSize } from '../../api/units.js';
import { HeaderContext } from './container-context.js';
import type { TemplateObject } from './template.js';
import { goTimeString, truncateId } from './text.js';

export const DEFAULT_NETWORK_TABLE = 'table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}';
export const DEFAULT_VOLUME_TABLE = 'table {{.Driver}}\t{{.Name}}';

export interface NetworkRow {
  Id: string;
  Name: string;
  Driver: string;
  Scope: string;
  Created?: string;
  EnableIPv4?: boolean;
  EnableIPv6?: boolean;
  Internal?: boolean;
  Labels?: Record<string, string> | null;
}

export interface VolumeRow {
  Name: string;
  Driver: string;
  Mountpoint: string;
  Labels: Record<string, string> | null;
  Scope: string;
  UsageData?: { Size: number; RefCount: number } | null;
}

/** A row whose fields are computed on demand; `Label "key"` is a method, as in docker's contexts. */
class FieldContext implements TemplateObject {
  constructor(
    readonly templateTypeName: string,
    private readonly fields: Record<string, () => string>,
    private readonly labels: Record<string, string> | null | undefined,
  ) {}

  templateField(name: string): { value: unknown } | undefined {
    if (name === 'Label') return { value: (k: unknown) => this.labels?.[String(k)] ?? '' };
    const f = this.fields[name];
    return f ? { value: f() } : undefined;
  }

  toJSON(): unknown {
    // docker marshals these contexts as maps: keys in sorted order
    return Object.fromEntries(Object.keys(this.fields).sort().map((k) => [k, this.fields[k]!()]));
  }
}

/** Go's time.String of an RFC 3339 time: the fraction of a second kept, trailing zeros trimmed. */
function createdAt(rfc3339: string): string {
  const at = goTimeString(Math.floor(Date.parse(rfc3339) / 1000));
  const frac = /T\d\d:\d\d:\d\d\.(\d+)/.exec(rfc3339)?.[1]?.replace(/0+$/, '');
  return frac ? at.replace(/^(\S+ \d\d:\d\d:\d\d)/, `$1.${frac}`) : at;
}

const joinLabels = (l: Record<string, string> | null | undefined): string =>
  Object.entries(l ?? {}).map(([k, v]) => `${k}=${v}`).sort().join(',');

export const networkHeader = (): HeaderContext => new HeaderContext({
  ID: 'NETWORK ID', Name: 'NAME', Driver: 'DRIVER', Scope: 'SCOPE', IPv4: 'IPV4', IPv6: 'IPV6', Internal: 'INTERNAL', Labels: 'LABELS', CreatedAt: 'CREATED AT',
});

export const networkRow = (n: NetworkRow, trunc: boolean): TemplateObject => new FieldContext('*formatter.networkContext', {
  ID: () => (trunc ? truncateId(n.Id) : n.Id),
  Name: () => n.Name,
  Driver: () => n.Driver,
  Scope: () => n.Scope,
  IPv4: () => String(!!n.EnableIPv4),
  IPv6: () => String(!!n.EnableIPv6),
  Internal: () => String(!!n.Internal),
  Labels: () => joinLabels(n.Labels),
  CreatedAt: () => (n.Created ? createdAt(n.Created) : ''),
}, n.Labels);

export const volumeHeader = (): HeaderContext => new HeaderContext({
  Name: 'VOLUME NAME', Driver: 'DRIVER', Scope: 'SCOPE', Mountpoint: 'MOUNTPOINT', Labels: 'LABELS', Links: 'LINKS', Size: 'SIZE',
  Availability: 'AVAILABILITY', Group: 'GROUP', Status: 'STATUS',
});

export const volumeRow = (v: VolumeRow): TemplateObject => new FieldContext('*formatter.volumeContext', {
  Name: () => v.Name,
  Driver: () => v.Driver,
  Scope: () => v.Scope,
  Mountpoint: () => v.Mountpoint,
  Labels: () => joinLabels(v.Labels),
  Links: () => (v.UsageData ? String(v.UsageData.RefCount) : 'N/A'),
  Size: () => (v.UsageData && v.UsageData.Size >= 0 ? humanSize(v.UsageData.Size) : 'N/A'),
  // cluster volume fields (Swarm), never set here
  Availability: () => 'N/A',
  Group: () => 'N/A',
  Status: () => 'N/A',
}, v.Labels);
