/**
 * Resolving `--user` against the image's /etc/passwd and /etc/group (moby's getUser /
 * runc's user.GetExecUser semantics): `name`, `uid`, `name:group`, `uid:gid`; supplementary
 * groups are the groups that list the user; `groupAdd` adds more.
 */
import { invalidArgument } from '../../lib/errdefs.js';
import type { User } from './spec.js';

interface PasswdEntry { name: string; uid: number; gid: number; home: string }
interface GroupEntry { name: string; gid: number; members: string[] }

export function parsePasswd(text: string): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f.length < 4 || line.startsWith('#')) continue;
    const uid = Number(f[2]), gid = Number(f[3]);
    if (!Number.isInteger(uid) || !Number.isInteger(gid)) continue;
    out.push({ name: f[0]!, uid, gid, home: f[5] ?? '' });
  }
  return out;
}

export function parseGroup(text: string): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f.length < 3 || line.startsWith('#')) continue;
    const gid = Number(f[2]);
    if (!Number.isInteger(gid)) continue;
    out.push({ name: f[0]!, gid, members: (f[3] ?? '').split(',').filter(Boolean) });
  }
  return out;
}

const isNumeric = (s: string): boolean => /^[0-9]+$/.test(s);

export interface ResolvedUser { user: User; home: string }

/** `files` returns the file's text or undefined when the image lacks it. */
export function resolveUser(spec: string, files: { passwd?: string; group?: string }, groupAdd: string[] = []): ResolvedUser {
  const [userPart = '', groupPart] = spec.split(':', 2) as [string, string | undefined];
  const passwd = files.passwd !== undefined ? parsePasswd(files.passwd) : undefined;
  const groups = files.group !== undefined ? parseGroup(files.group) : undefined;
  let uid = 0, gid = 0, home = '/', name = '';
  if (userPart === '') {
    const root = passwd?.find((p) => p.uid === 0);
    if (root) { name = root.name; home = root.home; }
  } else if (isNumeric(userPart)) {
    uid = Number(userPart);
    const e = passwd?.find((p) => p.uid === uid);
    if (e) { gid = e.gid; home = e.home; name = e.name; }
  } else {
    const e = passwd?.find((p) => p.name === userPart);
    if (!e) {
      if (passwd === undefined) throw invalidArgument(`unable to find user ${userPart}: no matching entries in passwd file`);
      throw invalidArgument(`unable to find user ${userPart}: no matching entries in passwd file`);
    }
    uid = e.uid; gid = e.gid; home = e.home; name = e.name;
  }
  if (groupPart !== undefined && groupPart !== '') {
    if (isNumeric(groupPart)) gid = Number(groupPart);
    else {
      const g = groups?.find((x) => x.name === groupPart);
      if (!g) throw invalidArgument(`unable to find group ${groupPart}: no matching entries in group file`);
      gid = g.gid;
    }
  }
  // moby lists the primary group first, then the groups naming the user, then --group-add.
  const additional: number[] = [gid];
  if (groupPart === undefined && name && groups) for (const g of groups) if (g.members.includes(name)) additional.push(g.gid);
  for (const ga of groupAdd) {
    if (isNumeric(ga)) additional.push(Number(ga));
    else {
      const g = groups?.find((x) => x.name === ga);
      if (!g) throw invalidArgument(`Unable to find group ${ga}: no matching entries in group file`);
      additional.push(g.gid);
    }
  }
  const user: User = { uid, gid, additionalGids: additional };
  return { user, home: home || '/' };
}

/**
 * The process environment Docker gives a container: PATH, HOSTNAME, TERM (tty) as defaults,
 * replaced or extended by the container's Env, then HOME from passwd when not set.
 */
export function containerEnv(opts: { env: string[]; hostname: string; tty: boolean; home?: string }): string[] {
  const out: string[] = ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', `HOSTNAME=${opts.hostname}`];
  if (opts.tty) out.push('TERM=xterm');
  for (const kv of opts.env) {
    const key = kv.includes('=') ? kv.slice(0, kv.indexOf('=')) : kv;
    const i = out.findIndex((e) => e.startsWith(`${key}=`));
    // Without '=' the variable is unset (moby's ReplaceOrAppendEnvValues); runc rejects such entries.
    if (!kv.includes('=')) { if (i >= 0) out.splice(i, 1); continue; }
    if (i >= 0) out[i] = kv; else out.push(kv);
  }
  if (opts.home !== undefined && !out.some((e) => e.startsWith('HOME='))) out.push(`HOME=${opts.home}`);
  return out;
}
