/**
 * `pier build [OPTIONS] PATH|-`: the classic builder's client. Against pierd (its `_ping`
 * answers `Pier-Build-Context: 1`) the context directory goes as a manifest and only the
 * contents the daemon's context store lacks (context-manifest.ts, api/build-manifest.ts);
 * against other engines, or for a context from stdin, as a tar (build-tar.ts). Either way
 * `.dockerignore` is applied here, a Dockerfile outside the context travels as
 * `.dockerfile.<hex>`, and the daemon's JSON stream is printed.
 */
import { randomBytes } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { isAbsolute, relative, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { BUILD_CONTEXT_MEDIA_TYPE, BUILD_CONTEXT_PROTOCOL, encodeManifestHeader, IgnoreMatcher, type ManifestHeader } from '../../../api/index.js';
import type { EngineClient, Query } from '../../../client/index.js';
import { flagBool, flagList, flagString, type ParsedFlags } from '../../flags/index.js';
import { StatusError, type CommandEnv, type CommandSpec } from '../command.js';
import { displayJsonMessages, StreamMessageError } from '../progress.js';
import { contextManifest, missingContents, statCachePath } from './context-manifest.js';

export const command: CommandSpec = {
  usage: '[OPTIONS] PATH | URL | -',
  description: 'Build an image from a Dockerfile',
  aliases: ['pier image build', 'pier build', 'pier builder build'],
  flags: [
    { long: 'tag', short: 't', kind: 'stringArray', valueName: 'list', usage: 'Name and optionally a tag in the "name:tag" format' },
    { long: 'file', short: 'f', kind: 'string', usage: 'Name of the Dockerfile (Default is "PATH/Dockerfile")' },
    { long: 'build-arg', kind: 'stringArray', valueName: 'list', usage: 'Set build-time variables' },
    { long: 'label', kind: 'stringArray', valueName: 'list', usage: 'Set metadata for an image' },
    { long: 'no-cache', kind: 'bool', usage: 'Do not use cache when building the image' },
    { long: 'pull', kind: 'bool', usage: 'Always attempt to pull a newer version of the image' },
    { long: 'quiet', short: 'q', kind: 'bool', usage: 'Suppress the build output and print image ID on success' },
    { long: 'iidfile', kind: 'string', usage: 'Write the image ID to the file' },
    { long: 'target', kind: 'string', usage: 'Set the target build stage to build.' },
    { long: 'network', kind: 'string', usage: 'Set the networking mode for the RUN instructions during build' },
    { long: 'platform', kind: 'string', usage: 'Set platform if server is multi-platform capable' },
    { long: 'add-host', kind: 'stringArray', valueName: 'list', usage: 'Add a custom host-to-IP mapping ("host:ip")' },
    { long: 'rm', kind: 'bool', usage: 'Remove intermediate containers after a successful build' },
    { long: 'force-rm', kind: 'bool', usage: 'Always remove intermediate containers' },
  ],
  args: { kind: 'exact', n: 1 },
  async run(env: CommandEnv, p: ParsedFlags): Promise<number> {
    const [path] = p.args as [string];
    const quiet = flagBool(p, 'quiet');
    let dockerfile = flagString(p, 'file') || undefined;
    let context: { dir: string; ignore: IgnoreMatcher; keepAlways: Set<string>; extra?: { name: string; data: Buffer } } | undefined;
    if (path === '-') {
      if (dockerfile === '-') throw new StatusError(1, 'invalid argument: can\'t use stdin for both build context and dockerfile');
    } else {
      const dir = resolve(path);
      try {
        if (!(await stat(dir)).isDirectory()) throw new Error('not a directory');
      } catch {
        throw new StatusError(1, `unable to prepare context: path "${path}" not found`);
      }
      let ignore = new IgnoreMatcher([]);
      try { ignore = IgnoreMatcher.fromFile(await readFile(resolve(dir, '.dockerignore'), 'utf8')); } catch { /* none */ }
      // a Dockerfile outside the context (or from stdin) travels under a random name
      let extra: { name: string; data: Buffer } | undefined;
      if (dockerfile === '-') {
        const chunks: Buffer[] = [];
        for await (const c of env.io.stdin) chunks.push(c as Buffer);
        extra = { name: `.dockerfile.${randomBytes(10).toString('hex')}`, data: Buffer.concat(chunks) };
      } else if (dockerfile) {
        const abs = isAbsolute(dockerfile) ? dockerfile : resolve(dockerfile);
        const rel = relative(dir, abs);
        if (rel.startsWith('..') || isAbsolute(rel)) {
          let data: Buffer;
          try { data = await readFile(abs); } catch { throw new StatusError(1, `unable to prepare context: unable to evaluate symlinks in Dockerfile path: lstat ${abs}: no such file or directory`); }
          extra = { name: `.dockerfile.${randomBytes(10).toString('hex')}`, data };
        } else dockerfile = rel;
      }
      if (extra) dockerfile = extra.name;
      context = { dir, ignore, keepAlways: new Set(['.dockerignore', dockerfile ?? 'Dockerfile']), extra };
    }
    const buildArgs: Record<string, string | null> = {};
    for (const a of flagList(p, 'build-arg')) {
      const eq = a.indexOf('=');
      if (eq < 0) buildArgs[a] = process.env[a] ?? null;
      else buildArgs[a.slice(0, eq)] = a.slice(eq + 1);
    }
    const labels: Record<string, string> = {};
    for (const l of flagList(p, 'label')) {
      const eq = l.indexOf('=');
      labels[eq < 0 ? l : l.slice(0, eq)] = eq < 0 ? '' : l.slice(eq + 1);
    }
    const client = env.client();
    const query: Query = {
      t: flagList(p, 'tag').length ? flagList(p, 'tag') : undefined,
      dockerfile,
      buildargs: Object.keys(buildArgs).length ? JSON.stringify(buildArgs) : undefined,
      labels: Object.keys(labels).length ? JSON.stringify(labels) : undefined,
      q: quiet || undefined,
      nocache: flagBool(p, 'no-cache') || undefined,
      pull: flagBool(p, 'pull') || undefined,
      target: flagString(p, 'target') || undefined,
      networkmode: flagString(p, 'network') || undefined,
      platform: flagString(p, 'platform') || undefined,
      extrahosts: flagList(p, 'add-host').length ? flagList(p, 'add-host').join(',') : undefined,
      forcerm: flagBool(p, 'force-rm') || undefined,
      version: '1',
    };
    let res = context && await syncedBuild(env, client, query, context);
    let sent: number | undefined = res?.sent;
    if (!res) {
      let body: Readable = env.io.stdin as Readable;
      let counted: { bytes: number } | undefined;
      if (context) ({ body, counted } = (await import('./build-tar.js')).tarContext(context.dir, context.ignore, context.keepAlways, context.extra));
      res = { res: await client.request('POST', '/build', { query, headers: { 'Content-Type': 'application/x-tar', 'X-Registry-Config': 'e30=' }, body }), sent: 0 };
      sent = counted?.bytes;
    }
    if (sent !== undefined && !quiet) env.io.stdout.write(`Sending build context to Docker daemon  ${humanSize(sent)}\n`);
    let id = '';
    try {
      await displayJsonMessages(res.res, env.io.stdout, (aux) => { const a = aux as { ID?: string }; if (a.ID) id = a.ID; });
    } catch (e) {
      if (e instanceof StreamMessageError) throw new StatusError(e.code, e.message);
      throw e;
    }
    const iidfile = flagString(p, 'iidfile');
    if (iidfile && id) await writeFile(iidfile, id);
    return 0;
  },
};

/**
 * The build over pier's incremental context: manifest, which contents the daemon lacks, then
 * the build with only those. Undefined when the daemon does not offer it (the tar path then).
 * When every digest came from the stat cache the daemon most likely holds them all: the build
 * is sent at once without asking. A content the daemon lacks after all (another daemon, a
 * prune between the requests): asked, and sent again, once.
 */
async function syncedBuild(env: CommandEnv, client: EngineClient, query: Query, c: { dir: string; ignore: IgnoreMatcher; keepAlways: Set<string>; extra?: { name: string; data: Buffer } }): Promise<{ res: Awaited<ReturnType<EngineClient['request']>>; sent: number } | undefined> {
  if (env.env['PIER_BUILD_CONTEXT'] === 'tar') return undefined;
  // the walk (stats only) overlaps the ping; files are read only once the daemon said yes
  const offered = client.negotiate().then(async () => (client.lastPing ?? await client.ping()).pierBuildContext === BUILD_CONTEXT_PROTOCOL);
  offered.catch(() => undefined); // a connect error surfaces where the walk awaits it
  const m = await contextManifest(c.dir, {
    ignore: c.ignore,
    keepAlways: c.keepAlways,
    cacheFile: statCachePath(c.dir, env.env),
    extra: c.extra && { ...c.extra, mtime: Math.floor(Date.now() / 1000) },
    proceed: offered,
  });
  if (!m) return undefined;
  for (let attempt = m.hashed === 0 ? 0 : 1; ; attempt++) {
    const { Missing } = attempt === 0 ? { Missing: [] } : await client.json<{ Missing: string[] }>('POST', '/pier/build/context/missing', { body: { Digests: [...m.contents.keys()] } });
    const header: ManifestHeader = { Entries: m.entries, Blobs: Missing.map((d) => [d, m.contents.get(d)?.size ?? 0]) };
    const head = encodeManifestHeader(header);
    let sent = head.length;
    const body = Readable.from((async function* () {
      yield head;
      for await (const b of missingContents(m.contents, Missing)) { sent += b.length; yield b; }
    })(), { objectMode: false });
    try {
      const res = await client.request('POST', '/pier/build', { query, headers: { 'Content-Type': BUILD_CONTEXT_MEDIA_TYPE, 'X-Registry-Config': 'e30=' }, body });
      return { res, sent };
    } catch (e) {
      if (attempt < 2 && /is neither in the store nor sent/.test((e as Error).message)) continue;
      throw e;
    }
  }
}

/** go-units HumanSize: four significant digits, decimal units. */
export function humanSize(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) { v /= 1000; i++; }
  return `${Number(v.toPrecision(4))}${units[i]}`;
}
