/**
 * `pier cp [-a] [-L] CONTAINER:SRC DEST|-` and `pier cp [-a] [-L] SRC|- CONTAINER:DEST`:
 * GET/HEAD/PUT /containers/{id}/archive. Local files are read with lib/tar's packDirectory and
 * written with its safe extractor (a hostile container's tar cannot write outside DEST).
 * Like docker, "Successfully copied" is printed only when stderr is a terminal.
 */
import { existsSync, lstatSync, realpathSync, statSync, type Stats } from 'node:fs';
import { once } from 'node:events';
import { basename, dirname, resolve } from 'node:path';
import { Readable, type Writable } from 'node:stream';
import { isDaemonResponseError } from '../../../client/index.js';
import { extractTar, packDirectory, readTar, type TarEntry } from '../../../lib/tar/index.js';
import { flagBool, type ParsedFlags } from '../../flags/index.js';
import { StatusError, type CommandEnv, type CommandSpec } from '../command.js';
import { errorLine } from './each.js';

interface PathStat { name: string; size: number; mode: number; mtime: string; linkTarget: string }
const MODE_DIR = 2 ** 31;
const MODE_SYMLINK = 2 ** 27;
const isDirMode = (m: number): boolean => Math.floor(m / MODE_DIR) % 2 === 1;
const isLinkMode = (m: number): boolean => Math.floor(m / MODE_SYMLINK) % 2 === 1;

/** `CONTAINER:PATH` or a local path (absolute and `.`-relative paths are always local). */
export function splitCpArg(arg: string): { container?: string; path: string } {
  if (arg.startsWith('/')) return { path: arg };
  const i = arg.indexOf(':');
  if (i < 0 || arg.startsWith('.')) return { path: arg };
  return { container: arg.slice(0, i), path: arg.slice(i + 1) };
}

export function decodePathStat(header: string | string[] | undefined): PathStat | undefined {
  const v = Array.isArray(header) ? header[0] : header;
  if (!v) return undefined;
  return JSON.parse(Buffer.from(v, 'base64').toString('utf8')) as PathStat;
}

/** Renames the archive's root `from` (and everything below it) to `to`. */
export function rebaseName(name: string, from: string, to: string): string {
  const n = name.replace(/^\.\/+/, '').replace(/^\.$/, '');
  const f = from === '.' ? '' : from;
  if (f === '') return n === '' ? to : `${to}/${n}`;
  if (n === f) return to;
  if (n.startsWith(`${f}/`)) return `${to}${n.slice(f.length)}`;
  return n;
}

async function* rebase(entries: AsyncIterable<TarEntry>, from: string, to: string): AsyncGenerator<TarEntry> {
  for await (const e of entries) yield { ...e, name: rebaseName(e.name, from, to) };
}

function counting(src: AsyncIterable<Buffer>, add: (n: number) => void): Readable {
  return Readable.from((async function* () { for await (const c of src) { add((c as Buffer).length); yield c as Buffer; } })());
}

export async function copyToStream(src: AsyncIterable<Buffer>, out: Writable): Promise<number> {
  let n = 0;
  for await (const chunk of src) {
    n += (chunk as Buffer).length;
    if (!out.write(chunk)) await once(out, 'drain');
  }
  // a pipe is written asynchronously: wait until everything left before the CLI exits
  await new Promise<void>((r) => out.write(Buffer.alloc(0), () => r()));
  return n;
}

/** go-units HumanSizeWithPrecision(n, 3) as docker cp prints it. */
function humanSize(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) { v /= 1000; i++; }
  return `${Number(v.toPrecision(3))}${units[i]}`;
}

export const command: CommandSpec = {
  usage: '[OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n\tpier cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH',
  description: 'Copy files/folders between a container and the local filesystem',
  aliases: ['pier container cp', 'pier cp'],
  flags: [
    { long: 'archive', short: 'a', kind: 'bool', usage: 'Archive mode (copy all uid/gid information)' },
    { long: 'follow-link', short: 'L', kind: 'bool', usage: 'Always follow symbol link in SRC_PATH' },
    { long: 'quiet', short: 'q', kind: 'bool', usage: 'Suppress progress output during copy. Progress output is automatically suppressed if no terminal is attached' },
  ],
  args: { kind: 'exact', n: 2 },
  async run(env: CommandEnv, p: ParsedFlags): Promise<number> {
    const [srcArg, dstArg] = p.args as [string, string];
    if (srcArg === '') throw new StatusError(1, 'source can not be empty');
    if (dstArg === '') throw new StatusError(1, 'destination can not be empty');
    const src = splitCpArg(srcArg);
    const dst = splitCpArg(dstArg);
    if (src.container !== undefined && dst.container !== undefined) throw new StatusError(1, 'copying between containers is not supported');
    if (src.container === undefined && dst.container === undefined) throw new StatusError(1, 'must specify at least one container source');
    const quiet = flagBool(p, 'quiet') || !env.io.stderr.isTTY;
    try {
      let copied: number;
      let shown: string;
      if (src.container !== undefined) {
        copied = await fromContainer(env, src.container, src.path, dst.path, flagBool(p, 'follow-link'));
        shown = dst.path;
      } else {
        copied = await toContainer(env, src.path, dst.container!, dst.path, { follow: flagBool(p, 'follow-link'), copyUIDGID: flagBool(p, 'archive') });
        shown = `${dst.container}:${dst.path}`;
      }
      if (!quiet && shown !== '-') env.io.stderr.write(`Successfully copied ${humanSize(copied)} to ${shown}\n`);
    } catch (e) {
      if (e instanceof StatusError) throw e;
      throw new StatusError(1, errorLine(e));
    }
    return 0;
  },
};

async function statContainerPath(env: CommandEnv, container: string, path: string): Promise<PathStat | undefined> {
  try {
    const res = await env.client().request('HEAD', `/containers/${encodeURIComponent(container)}/archive`, { query: { path } });
    res.resume();
    return decodePathStat(res.headers['x-docker-container-path-stat']);
  } catch (e) {
    if (isDaemonResponseError(e)) return undefined; // a missing container is reported by the request that follows
    throw e;
  }
}

async function fromContainer(env: CommandEnv, container: string, srcPath: string, dstPath: string, follow: boolean): Promise<number> {
  let path = srcPath;
  if (follow) {
    const st = await statContainerPath(env, container, srcPath);
    if (st && isLinkMode(st.mode) && st.linkTarget) path = st.linkTarget;
  }
  const res = await env.client().request('GET', `/containers/${encodeURIComponent(container)}/archive`, { query: { path } });
  if (dstPath === '-') return copyToStream(res, env.io.stdout);
  const stat = decodePathStat(res.headers['x-docker-container-path-stat']);
  if (!stat) throw new Error('missing the X-Docker-Container-Path-Stat header');
  const srcIsDir = isDirMode(stat.mode);
  const copyContents = srcPath.endsWith('/.');
  const dst = resolve(dstPath);
  let dstStat: Stats | undefined;
  try { dstStat = statSync(dst); } catch { dstStat = undefined; }
  let target: string;
  let to: string;
  if (dstStat?.isDirectory()) {
    target = dst;
    to = copyContents ? '.' : stat.name;
  } else if (dstStat) {
    if (srcIsDir) throw new StatusError(1, `cannot copy a directory to a file: ${dstPath}`);
    target = dirname(dst);
    to = basename(dst);
  } else {
    if (dstPath.endsWith('/') && !srcIsDir) throw new StatusError(1, `destination directory "${dstPath}" does not exist`);
    if (!existsSync(dirname(dst))) throw new StatusError(1, `lstat ${dirname(dst)}: no such file or directory`);
    target = dirname(dst);
    to = basename(dst);
  }
  let bytes = 0;
  const counted = (async function* () { for await (const c of res) { bytes += (c as Buffer).length; yield c as Buffer; } })();
  await extractTar(rebase(readTar(counted), stat.name === '.' ? '.' : stat.name, to), target, {
    whiteouts: 'none', noOverwriteDirNonDir: true, ownership: process.getuid?.() === 0,
  });
  return bytes;
}

async function toContainer(env: CommandEnv, srcPath: string, container: string, dstPath: string, o: { follow: boolean; copyUIDGID: boolean }): Promise<number> {
  const client = env.client();
  const put = async (path: string, body: Readable): Promise<void> => {
    await client.call('PUT', `/containers/${encodeURIComponent(container)}/archive`, {
      query: { path, noOverwriteDirNonDir: 'true', copyUIDGID: o.copyUIDGID ? 'true' : undefined },
      body,
    });
  };
  let dstStat = await statContainerPath(env, container, dstPath);
  if (dstStat && isLinkMode(dstStat.mode) && dstStat.linkTarget) {
    dstPath = dstStat.linkTarget;
    dstStat = await statContainerPath(env, container, dstPath);
  }
  if (srcPath === '-') {
    if (!dstStat || !isDirMode(dstStat.mode)) {
      // surface "No such container" first
      await client.request('HEAD', `/containers/${encodeURIComponent(container)}/archive`, { query: { path: dstPath } }).then((r) => r.resume());
      throw new StatusError(1, `destination "${container}:${dstPath}" must be a directory`);
    }
    let n = 0;
    await put(dstPath, counting(env.io.stdin, (k) => { n += k; }));
    return n;
  }
  let local = resolve(srcPath);
  let st: Stats;
  try {
    st = o.follow ? statSync(local) : lstatSync(local);
  } catch {
    throw new StatusError(1, `lstat ${local}: no such file or directory`);
  }
  if (o.follow) local = realpathSync(local);
  const copyContents = srcPath.endsWith('/.');
  let dir: string;
  let name: string;
  if (dstStat && isDirMode(dstStat.mode)) {
    dir = dstPath;
    name = copyContents ? '.' : basename(srcPath.replace(/\/+$/, '') || '/');
  } else if (dstStat) {
    if (st.isDirectory()) throw new StatusError(1, `cannot copy a directory to a file: ${container}:${dstPath}`);
    dir = dirname(dstPath) || '/';
    name = basename(dstPath);
  } else {
    if (dstPath.endsWith('/')) throw new StatusError(1, `destination directory "${container}:${dstPath}" does not exist`);
    dir = dirname(dstPath) || '/';
    name = basename(dstPath);
  }
  let n = 0;
  await put(dir, counting(packDirectory(local, { prefix: name }), (k) => { n += k; }));
  return n;
}
