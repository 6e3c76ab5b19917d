/**
 * Mount planning (pure): `HostConfig.Binds`, `HostConfig.Mounts`, `HostConfig.Tmpfs`,
 * `Config.Volumes` and `--volumes-from` → one list of mount points, with moby's precedence
 * and error texts (volume/mounts/linux_parser.go, daemon/volumes.go registerMountPoints).
 * The service fills in volume names and host paths; `ociMounts` turns the plan into the
 * runtime spec's mounts.
 */
import { invalidArgument } from '../../lib/errdefs.js';

export type MountType = 'bind' | 'volume' | 'tmpfs';

export interface MountPoint {
  type: MountType;
  destination: string;
  /** Host path: the bind source or the volume's mount point ('' for tmpfs). */
  source: string;
  /** Volume name; '' for an anonymous volume until the service names it. */
  name?: string;
  driver?: string;
  /** Docker's `Mode` text (`ro`, `z`, …). */
  mode: string;
  rw: boolean;
  /** Bind propagation (`rprivate` by default for binds, '' for volumes). */
  propagation: string;
  anonymous?: boolean;
  /** Do not copy the image's content into an empty volume. */
  nocopy?: boolean;
  /** A `Binds` source is created when missing (a `--mount type=bind` source must exist). */
  createSource?: boolean;
  /** tmpfs data options (`size=…`, `mode=…`). */
  tmpfsOptions?: string[];
  /** `--mount type=volume` options for a volume created by this mount. */
  volumeLabels?: Record<string, string>;
  driverOpts?: Record<string, string>;
  /** From `HostConfig.Tmpfs`: mounted, but not listed in `Mounts` (as in Docker). */
  hidden?: boolean;
}

/** `HostConfig.Mounts` entry as the client sends it (swagger Mount). */
export interface MountWire {
  Type?: string;
  Source?: string;
  Target?: string;
  ReadOnly?: boolean;
  Consistency?: string;
  BindOptions?: { Propagation?: string; NonRecursive?: boolean; CreateMountpoint?: boolean } | null;
  VolumeOptions?: { NoCopy?: boolean; Labels?: Record<string, string> | null; DriverConfig?: { Name?: string; Options?: Record<string, string> | null } | null } | null;
  TmpfsOptions?: { SizeBytes?: number; Mode?: number } | null;
}

export interface MountPlanInput {
  binds?: string[] | null;
  mounts?: unknown[] | null;
  tmpfs?: Record<string, string> | null;
  /** `Config.Volumes` (the image's VOLUME entries and `-v /path`). */
  volumes?: Record<string, unknown> | null;
  /** Mount points of each `--volumes-from` container, with the mode asked for. */
  volumesFrom?: Array<{ points: MountPoint[]; mode: '' | 'ro' | 'rw' }>;
}

const PROPAGATIONS = ['shared', 'slave', 'private', 'rshared', 'rslave', 'rprivate'];

/** Splits `[container]:[mode]` of `--volumes-from`. */
export function parseVolumesFrom(spec: string): { container: string; mode: '' | 'ro' | 'rw' } {
  const i = spec.lastIndexOf(':');
  if (i < 0) return { container: spec, mode: '' };
  const mode = spec.slice(i + 1);
  if (mode !== 'ro' && mode !== 'rw') throw invalidArgument(`invalid mode: ${mode}`);
  return { container: spec.slice(0, i), mode };
}

/** Checks a `-v` mode list (`ro,Z,rslave,nocopy`); throws Docker's `invalid mode` otherwise. */
export function parseBindMode(mode: string): { ro: boolean; rwGiven: boolean; label?: string; propagation?: string; nocopy: boolean } {
  const out: { ro: boolean; rwGiven: boolean; label?: string; propagation?: string; nocopy: boolean } = { ro: false, rwGiven: false, nocopy: false };
  let rwSeen = false;
  for (const o of mode.split(',')) {
    if (o === 'ro' || o === 'rw') {
      if (rwSeen) throw invalidArgument(`invalid mode: ${mode}`);
      rwSeen = true;
      out.ro = o === 'ro';
      out.rwGiven = true;
    } else if (o === 'z' || o === 'Z') {
      if (out.label) throw invalidArgument(`invalid mode: ${mode}`);
      out.label = o;
    } else if (PROPAGATIONS.includes(o)) {
      if (out.propagation) throw invalidArgument(`invalid mode: ${mode}`);
      out.propagation = o;
    } else if (o === 'nocopy') {
      if (out.nocopy) throw invalidArgument(`invalid mode: ${mode}`);
      out.nocopy = true;
    } else {
      throw invalidArgument(`invalid mode: ${mode}`);
    }
  }
  return out;
}

const cleanPath = (p: string): string => {
  const parts: string[] = [];
  for (const s of p.split('/')) {
    if (s === '' || s === '.') continue;
    if (s === '..') parts.pop(); else parts.push(s);
  }
  return '/' + parts.join('/');
};

function checkDestination(dest: string, prefix: string, type: MountType): string {
  if (!dest.startsWith('/')) throw invalidArgument(`${prefix}invalid mount config for type "${type}": invalid mount path: '${dest}' mount path must be absolute`);
  const clean = cleanPath(dest);
  if (clean === '/') throw invalidArgument(`${prefix}invalid mount config for type "${type}": invalid specification: destination can't be '/'`);
  return clean;
}

/** One `HostConfig.Binds` entry: `src:dst[:mode]`, or `dst` alone (an anonymous volume). */
export function parseBind(raw: string): MountPoint {
  const arr = raw.split(':');
  if (arr.length > 3 || arr.some((a, i) => a === '' && !(i === 0 && arr.length === 1))) throw invalidArgument(`invalid volume specification: '${raw}'`);
  if (arr.length === 1) {
    const destination = checkDestination(arr[0]!, `invalid volume specification: '${raw}': `, 'volume');
    return { type: 'volume', destination, source: '', name: '', driver: 'local', mode: '', rw: true, propagation: '', anonymous: true };
  }
  const [src, dst, mode = ''] = arr as [string, string, string?];
  const type: MountType = src.startsWith('/') ? 'bind' : 'volume';
  const prefix = `invalid volume specification: '${raw}': `;
  const destination = checkDestination(dst, prefix, type);
  const m = mode ? parseBindMode(mode) : { ro: false, rwGiven: false, nocopy: false } as ReturnType<typeof parseBindMode>;
  if (type === 'bind') {
    if (m.nocopy) throw invalidArgument(`${prefix}invalid mount config for type "bind": field VolumeOptions must not be specified`);
    return { type, destination, source: cleanPath(src), mode, rw: !m.ro, propagation: m.propagation ?? 'rprivate', createSource: true };
  }
  if (m.propagation) throw invalidArgument(`${prefix}invalid mount config for type "volume": field BindOptions must not be specified`);
  return { type, destination, source: '', name: src, driver: 'local', mode: mode || 'z', rw: !m.ro, propagation: '', nocopy: m.nocopy };
}

/** One `HostConfig.Mounts` entry (`--mount type=…`). */
export function parseMount(v: unknown): MountPoint {
  if (!v || typeof v !== 'object') throw invalidArgument('invalid mount config: not an object');
  const m = v as MountWire;
  const type = m.Type ?? '';
  if (type !== 'bind' && type !== 'volume' && type !== 'tmpfs') throw invalidArgument(`invalid mount config for type "${type}": mount type unknown`);
  const bad = (msg: string): never => { throw invalidArgument(`invalid mount config for type "${type}": ${msg}`); };
  if (!m.Target) bad('field Target must not be empty');
  const destination = checkDestination(m.Target!, '', type);
  const rw = !m.ReadOnly;
  switch (type) {
    case 'bind': {
      if (!m.Source) bad('field Source must not be empty');
      if (m.VolumeOptions) bad('field VolumeOptions must not be specified');
      if (m.TmpfsOptions) bad('field TmpfsOptions must not be specified');
      if (!m.Source!.startsWith('/')) bad(`invalid mount path: '${m.Source}' mount path must be absolute`);
      const propagation = m.BindOptions?.Propagation || 'rprivate';
      if (!PROPAGATIONS.includes(propagation)) bad(`invalid propagation mode: ${propagation}`);
      return { type, destination, source: cleanPath(m.Source!), mode: '', rw, propagation, createSource: !!m.BindOptions?.CreateMountpoint };
    }
    case 'volume': {
      if (m.BindOptions) bad('field BindOptions must not be specified');
      if (m.TmpfsOptions) bad('field TmpfsOptions must not be specified');
      const driver = m.VolumeOptions?.DriverConfig?.Name || 'local';
      const opts = m.VolumeOptions?.DriverConfig?.Options ?? undefined;
      return {
        type, destination, source: '', name: m.Source ?? '', driver, mode: 'z', rw, propagation: '', anonymous: !m.Source,
        nocopy: !!m.VolumeOptions?.NoCopy,
        ...(m.VolumeOptions?.Labels ? { volumeLabels: m.VolumeOptions.Labels } : {}),
        ...(opts && Object.keys(opts).length ? { driverOpts: opts } : {}),
      };
    }
    default: {
      if (m.Source) bad('field Source must not be specified');
      if (m.BindOptions) bad('field BindOptions must not be specified');
      if (m.VolumeOptions) bad('field VolumeOptions must not be specified');
      const o: string[] = [];
      const size = m.TmpfsOptions?.SizeBytes;
      if (size !== undefined && size !== 0) {
        if (!Number.isInteger(size) || size < 0) bad(`invalid tmpfs size: ${size}`);
        o.push(`size=${Math.ceil(size / 1024)}k`);
      }
      const mode = m.TmpfsOptions?.Mode;
      if (mode !== undefined && mode !== 0) o.push(`mode=${(mode & 0o7777).toString(8)}`);
      return { type, destination, source: '', mode: '', rw, propagation: '', tmpfsOptions: o };
    }
  }
}

const TMPFS_FLAGS = new Set(['ro', 'rw', 'exec', 'noexec', 'suid', 'nosuid', 'dev', 'nodev', 'atime', 'noatime', 'diratime', 'nodiratime', 'relatime', 'norelatime', 'strictatime', 'nostrictatime', 'sync', 'async', 'dirsync', 'mand', 'nomand']);
const TMPFS_DATA = new Set(['size', 'mode', 'uid', 'gid', 'nr_inodes', 'nr_blocks', 'mpol', 'huge', 'tmpcopyup', 'notmpcopyup']);

/** One `HostConfig.Tmpfs` entry (`--tmpfs /x:size=64m,mode=700`). */
export function parseTmpfs(dest: string, options: string): MountPoint {
  if (!dest.startsWith('/')) throw invalidArgument(`invalid mount path: '${dest}' mount path must be absolute`);
  const destination = cleanPath(dest);
  if (destination === '/') throw invalidArgument(`invalid specification: destination can't be '/'`);
  const o = options ? options.split(',').filter(Boolean) : [];
  let rw = true;
  for (const x of o) {
    const key = x.split('=')[0]!;
    if (!TMPFS_FLAGS.has(x) && !TMPFS_DATA.has(key)) throw invalidArgument(`invalid tmpfs option ["${x}"]`);
    if (x === 'ro') rw = false;
  }
  const data = o.filter((x) => x !== 'ro' && x !== 'rw' && x !== 'tmpcopyup' && x !== 'notmpcopyup');
  if (!data.some((x) => x.startsWith('mode='))) data.push('mode=1777');
  return { type: 'tmpfs', destination, source: '', mode: options, rw, propagation: '', tmpfsOptions: data, hidden: true };
}

/**
 * The container's mount points: `--volumes-from` first, then `Binds` (which override the
 * inherited ones), then `Mounts` and `Tmpfs` (a second mount on one destination is an error),
 * then `Config.Volumes` for destinations nothing else covers (anonymous volumes).
 */
export function planMounts(input: MountPlanInput): MountPoint[] {
  const byDest = new Map<string, MountPoint>();
  for (const from of input.volumesFrom ?? []) {
    for (const p of from.points) {
      if (p.hidden || p.type === 'tmpfs') continue;
      const rw = from.mode === '' ? p.rw : from.mode === 'rw';
      // Inherited volumes are shared, never "anonymous to" this container.
      const { anonymous: _a, createSource: _c, ...rest } = p;
      byDest.set(p.destination, { ...rest, rw, ...(from.mode ? { mode: from.mode } : {}) });
    }
  }
  const own = new Set<string>();
  const add = (p: MountPoint): void => {
    if (own.has(p.destination)) throw invalidArgument(`Duplicate mount point: ${p.destination}`);
    own.add(p.destination);
    byDest.set(p.destination, p);
  };
  for (const b of input.binds ?? []) add(parseBind(b));
  for (const m of input.mounts ?? []) add(parseMount(m));
  for (const [dest, opts] of Object.entries(input.tmpfs ?? {})) add(parseTmpfs(dest, opts ?? ''));
  for (const dest of Object.keys(input.volumes ?? {})) {
    if (!dest.startsWith('/')) throw invalidArgument(`invalid mount path: '${dest}' mount path must be absolute`);
    const d = cleanPath(dest);
    if (d === '/' || byDest.has(d)) continue;
    byDest.set(d, { type: 'volume', destination: d, source: '', name: '', driver: 'local', mode: '', rw: true, propagation: '', anonymous: true });
  }
  return [...byDest.values()];
}

/** Volume names the plan refers to (named and already-named anonymous ones). */
export const volumeNames = (points: readonly MountPoint[] | undefined): string[] =>
  (points ?? []).filter((p) => p.type === 'volume' && p.name).map((p) => p.name!);

/** OCI mount for one planned point, `source` being the host path to bind (volumes: their data dir). */
export function ociMount(p: MountPoint): { destination: string; type: string; source: string; options: string[] } {
  if (p.type === 'tmpfs') {
    return { destination: p.destination, type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'noexec', ...(p.rw ? [] : ['ro']), ...(p.tmpfsOptions ?? [])] };
  }
  const options = ['rbind', p.rw ? 'rw' : 'ro', p.propagation || 'rprivate'];
  return { destination: p.destination, type: 'bind', source: p.source, options };
}

/** Orders mounts so a parent directory is mounted before what goes inside it (moby's sort). */
export function sortMounts<T extends { destination: string }>(mounts: T[]): T[] {
  const depth = (d: string): number => cleanPath(d).split('/').length;
  return [...mounts].sort((a, b) => depth(a.destination) - depth(b.destination));
}

/** The `Mounts` entries of inspect and ps (moby's types.MountPoint). */
export function mountsWire(points: readonly MountPoint[] | undefined): Array<Record<string, unknown>> {
  return (points ?? []).filter((p) => !p.hidden).map((p) => (p.type === 'volume'
    ? { Type: 'volume', Name: p.name ?? '', Source: p.source, Destination: p.destination, Driver: p.driver ?? 'local', Mode: p.mode, RW: p.rw, Propagation: p.propagation }
    : { Type: p.type, Source: p.source, Destination: p.destination, Mode: p.mode, RW: p.rw, Propagation: p.propagation }));
}

/** The `volume` filter of `ps`: a volume name, or a mount destination or source. */
export const usesVolume = (points: readonly MountPoint[] | undefined, v: string): boolean =>
  (points ?? []).some((p) => (p.type === 'volume' && p.name === v) || p.destination === v || (p.source !== '' && p.source === v));

/** Local volume names: moby's `[a-zA-Z0-9][a-zA-Z0-9_.-]` rule. */
export function validateVolumeName(name: string): void {
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/.test(name)) {
    throw invalidArgument(`create ${name}: "${name}" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path`);
  }
}
