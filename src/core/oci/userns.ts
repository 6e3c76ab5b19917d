/**
 * User namespaces (`--userns-remap`, `--userns=host`): the remap option's forms, subordinate
 * id ranges turned into OCI id mappings, the create-time conflicts with dockerd's messages,
 * and the spec option that puts a container in its own user namespace. Pure: the files
 * (/etc/passwd, /etc/group, /etc/subuid, /etc/subgid) are read by an adapter.
 */
import type { SpecOpt } from './spec.js';

/** One OCI `uidMappings` / `gidMappings` entry. */
export interface IdMapping { containerID: number; hostID: number; size: number }

/** The uid and gid mappings of remapped containers. */
export interface IdentityMapping { uidMappings: IdMapping[]; gidMappings: IdMapping[] }

export const DEFAULT_REMAP_SPEC = 'default';
export const DEFAULT_REMAP_USER = 'dockremap';

interface PasswdEntry { name: string; id: number }

/** `name:x:id:...` lines of /etc/passwd or /etc/group. */
export function parseIdFile(text: string): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f.length < 3 || !f[0] || line.startsWith('#')) continue;
    const id = Number(f[2]);
    if (Number.isInteger(id) && id >= 0) out.push({ name: f[0], id });
  }
  return out;
}

export type RemapTarget =
  | { kind: 'names'; user: string; group: string }
  /** `default` and no `dockremap` user yet: the daemon creates it (and its ranges). */
  | { kind: 'create-default' };

/**
 * dockerd's parseRemappedRoot: `default`, `user`, `user:group`, `uid`, `uid:gid`. Names must
 * exist; a numeric uid alone takes the same number as gid. Answers user and group names.
 */
export function resolveRemapSpec(spec: string, passwdText: string, groupText: string): RemapTarget {
  const parts = spec.split(':');
  if (parts.length > 2) throw new Error(`Invalid user/group specification in --userns-remap: "${spec}"`);
  const users = parseIdFile(passwdText), groups = parseIdFile(groupText);
  const noEntry = 'no matching entries in passwd file';
  let user: string, group: string | undefined;
  const first = parts[0]!;
  if (/^-?\d+$/.test(first)) {
    const uid = Number(first);
    const u = users.find((x) => x.id === uid);
    if (!u) throw new Error(`Uid ${uid} has no entry in /etc/passwd: ${noEntry}`);
    user = u.name;
    if (parts.length === 1) {
      const g = groups.find((x) => x.id === uid);
      if (!g) throw new Error(`Gid ${uid} has no entry in /etc/group: no matching entries in group file`);
      group = g.name;
    }
  } else {
    const lookup = first === DEFAULT_REMAP_SPEC ? DEFAULT_REMAP_USER : first;
    const u = users.find((x) => x.name === lookup);
    if (!u) {
      if (first === DEFAULT_REMAP_SPEC) return { kind: 'create-default' };
      throw new Error(`Error during uid lookup for "${lookup}": ${noEntry}`);
    }
    user = u.name;
    if (parts.length === 1) {
      if (!groups.some((x) => x.name === lookup)) throw new Error(`Error during gid lookup for "${lookup}": no matching entries in group file`);
      group = lookup;
    }
  }
  if (parts.length === 2) {
    const second = parts[1]!;
    if (/^-?\d+$/.test(second)) {
      const g = groups.find((x) => x.id === Number(second));
      if (!g) throw new Error(`Gid ${second} has no entry in /etc/passwd: no matching entries in group file`);
      group = g.name;
    } else {
      if (!groups.some((x) => x.name === second)) throw new Error(`Error during groupname lookup for "${second}": no matching entries in group file`);
      group = second;
    }
  }
  return { kind: 'names', user, group: group! };
}

/** Ranges of /etc/subuid or /etc/subgid (`name:start:count`) for a name or its numeric id. */
export function subIdRanges(text: string, name: string, id?: number): Array<{ start: number; count: number }> {
  const out: Array<{ start: number; count: number }> = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(':');
    if (f.length !== 3 || line.trim().startsWith('#')) continue;
    if (f[0] !== name && (id === undefined || f[0] !== String(id))) continue;
    const start = Number(f[1]), count = Number(f[2]);
    if (Number.isInteger(start) && Number.isInteger(count) && start >= 0 && count > 0) out.push({ start, count });
  }
  return out;
}

/** Ranges sorted by start, laid end to end from container id 0 (moby's createIDMap). */
export function mappingsFromRanges(ranges: ReadonlyArray<{ start: number; count: number }>): IdMapping[] {
  let next = 0;
  return [...ranges].sort((a, b) => a.start - b.start).map((r) => {
    const m = { containerID: next, hostID: r.start, size: r.count };
    next += r.count;
    return m;
  });
}

/** The identity mapping of a remap user and group; dockerd's errors when a range is missing. */
export function identityMapping(user: string, group: string, subuid: string, subgid: string, ids: { uid?: number; gid?: number } = {}): IdentityMapping {
  const u = subIdRanges(subuid, user, ids.uid);
  if (!u.length) throw new Error(`Can't create ID mappings: No subuid ranges found for user "${user}"`);
  const g = subIdRanges(subgid, group, ids.gid);
  if (!g.length) throw new Error(`Can't create ID mappings: No subgid ranges found for group "${group}"`);
  return { uidMappings: mappingsFromRanges(u), gidMappings: mappingsFromRanges(g) };
}

/** First start of a free 65536-id range at or above 100000 (moby's findNextRangeStart). */
export function nextFreeRange(text: string, length = 65536): number {
  const ranges = text.split('\n').map((l) => l.trim().split(':')).filter((f) => f.length === 3)
    .map((f) => ({ start: Number(f[1]), count: Number(f[2]) })).filter((r) => Number.isInteger(r.start) && Number.isInteger(r.count))
    .sort((a, b) => a.start - b.start);
  let start = 100000;
  for (const r of ranges) {
    const low = start, high = start + length;
    if ((low >= r.start && low <= r.start + r.count) || (high <= r.start + r.count && high >= r.start)) start = r.start + r.count;
  }
  return start;
}

/** Host id of a container id, or undefined when the mapping does not cover it. */
export function toHostId(maps: readonly IdMapping[], id: number): number | undefined {
  const m = maps.find((x) => id >= x.containerID && id < x.containerID + x.size);
  return m ? m.hostID + (id - m.containerID) : undefined;
}

/** Container id of a host id, or undefined outside the mapping. */
export function toContainerId(maps: readonly IdMapping[], id: number): number | undefined {
  const m = maps.find((x) => id >= x.hostID && id < x.hostID + x.size);
  return m ? m.containerID + (id - m.hostID) : undefined;
}

/** The kernel's overflow id: what a container sees for an id its mapping does not cover. */
export const OVERFLOW_ID = 65534;

/** A host owner as the container sees it (archives of a remapped container's files). */
export function ownerInContainer(m: IdentityMapping, uid: number, gid: number): { uid: number; gid: number } {
  return { uid: toContainerId(m.uidMappings, uid) ?? OVERFLOW_ID, gid: toContainerId(m.gidMappings, gid) ?? OVERFLOW_ID };
}

/** A container owner on the host (files put into a remapped container). */
export function ownerOnHost(m: IdentityMapping, uid: number, gid: number): { uid: number; gid: number } {
  const host = (maps: readonly IdMapping[], id: number): number => toHostId(maps, id) ?? toHostId(maps, OVERFLOW_ID) ?? maps[0]?.hostID ?? OVERFLOW_ID;
  return { uid: host(m.uidMappings, uid), gid: host(m.gidMappings, gid) };
}

/** The host uid/gid of the container's root (moby's RootPair); root needs to be mapped. */
export function remappedRoot(m: IdentityMapping): { uid: number; gid: number } {
  const uid = toHostId(m.uidMappings, 0), gid = toHostId(m.gidMappings, 0);
  if (uid === undefined || gid === undefined) throw new Error('Container ID 0 cannot be mapped to a host ID');
  return { uid, gid };
}

/** A stable key of a mapping (one user namespace per distinct mapping). */
export const mappingKey = (m: IdentityMapping): string =>
  `u${m.uidMappings.map((x) => `${x.containerID}-${x.hostID}-${x.size}`).join('_')}g${m.gidMappings.map((x) => `${x.containerID}-${x.hostID}-${x.size}`).join('_')}`;

/**
 * Create-time checks: `--userns` takes only `host` or nothing (docker's UsernsMode.Valid),
 * and with remapping on, a container in the private user namespace cannot be privileged or
 * share the host's network or PID namespace (dockerd's texts).
 */
export function validateUsernsMode(hc: { UsernsMode?: string; Privileged?: boolean; NetworkMode?: string; PidMode?: string }, remapping: boolean): void {
  const mode = hc.UsernsMode ?? '';
  if (mode !== '' && mode.split(':')[0] !== 'host') throw new Error(`invalid USER mode: ${mode}`);
  if (!remapping || mode === 'host') return;
  if (hc.Privileged) throw new Error('privileged mode is incompatible with user namespaces.  You must run the container in the host namespace when running privileged mode');
  if (hc.NetworkMode === 'host') throw new Error(`cannot share the host's network namespace when user namespaces are enabled`);
  if (hc.PidMode === 'host') throw new Error('cannot share the host PID namespace when user namespaces are enabled');
}

/**
 * A new user namespace with the given mappings, or the one at `path` (another container's,
 * when sharing its network namespace; the mappings stay, as the runtime wants them).
 * ping_group_range's default is dropped (its groups are not mapped inside, so the kernel
 * refuses it, and dockerd leaves it out too) unless the user set it.
 */
export const withUserNamespace = (m: IdentityMapping, userSysctls?: Record<string, string> | null, path?: string): SpecOpt => (s) => {
  const sysctl = { ...(s.linux.sysctl ?? {}) };
  if (!userSysctls || !('net.ipv4.ping_group_range' in userSysctls)) delete sysctl['net.ipv4.ping_group_range'];
  const { sysctl: _s, ...linux } = s.linux;
  return {
    ...s,
    linux: {
      ...linux,
      ...(Object.keys(sysctl).length ? { sysctl } : {}),
      namespaces: [...s.linux.namespaces.filter((n) => n.type !== 'user'), path ? { type: 'user', path } : { type: 'user' }],
      uidMappings: m.uidMappings.map((x) => ({ ...x })),
      gidMappings: m.gidMappings.map((x) => ({ ...x })),
    },
  };
};
