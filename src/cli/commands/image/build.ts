/**
 * `pier build [OPTIONS] PATH|-`: the classic builder's client. The context directory is sent
 * as a tar with `.dockerignore` applied here (as docker does; the Dockerfile and
 * .dockerignore always go), a Dockerfile outside the context is added as
 * `.dockerfile.<hex>`, and the daemon's JSON stream is printed.
 */
import { randomBytes } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { isAbsolute, relative, resolve } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { IgnoreMatcher } from '../../../api/index.js';
import { packDirectory, packTar, readTar } from '../../../lib/tar/index.js';
import { flagBool, flagList, flagString, type ParsedFlags } from '../../flags/index.js';
import { StatusError, type CommandEnv, type CommandSpec } from '../command.js';
import { displayJsonMessages, StreamMessageError } from '../progress.js';

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
    let body: Readable;
    let counted: { bytes: number } | undefined;
    if (path === '-') {
      if (dockerfile === '-') throw new StatusError(1, 'invalid argument: can\'t use stdin for both build context and dockerfile');
      body = env.io.stdin;
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
      const keepAlways = new Set(['.dockerignore', dockerfile ?? 'Dockerfile']);
      const packed = packDirectory(dir, {
        filter: (name, st) => {
          const n = name.replace(/^\.\//, '');
          if (keepAlways.has(n)) return true;
          if (!ignore.matches(n)) return true;
          // an excluded directory may still hold re-included (`!`) files
          return st.isDirectory() && ignore.hasExclusions;
        },
      });
      const pass = new PassThrough();
      counted = { bytes: 0 };
      const c = counted;
      void (async () => {
        try {
          // everything from the directory, then the outside Dockerfile; uid/gid 0 like docker
          if (extra) {
            // re-pack: directory entries first, the extra Dockerfile last
            const entries = async function* () {
              for await (const e of readTar(packed)) yield { name: e.name, type: e.type, mode: e.mode, uid: 0, gid: 0, mtime: e.mtime, linkname: e.linkname, size: e.size, body: e.type === 'file' ? Buffer.concat(await collect(e.body)) : undefined };
              yield { name: extra.name, type: 'file' as const, mode: 0o600, uid: 0, gid: 0, size: extra.data.length, body: extra.data };
            };
            for await (const chunk of packTar(entries())) { c.bytes += (chunk as Buffer).length; if (!pass.write(chunk)) await new Promise((r) => pass.once('drain', r)); }
          } else {
            for await (const chunk of packed) { c.bytes += (chunk as Buffer).length; if (!pass.write(chunk)) await new Promise((r) => pass.once('drain', r)); }
          }
          pass.end();
        } catch (e) { pass.destroy(e as Error); }
      })();
      body = pass;
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
    const res = await client.request('POST', '/build', {
      query: {
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
      },
      headers: { 'Content-Type': 'application/x-tar', 'X-Registry-Config': 'e30=' },
      body,
    });
    if (counted && !quiet) env.io.stdout.write(`Sending build context to Docker daemon  ${humanSize(counted.bytes)}\n`);
    let id = '';
    try {
      await displayJsonMessages(res, env.io.stdout, (aux) => { const a = aux as { ID?: string }; if (a.ID) id = a.ID; });
    } catch (e) {
      if (e instanceof StreamMessageError) throw new StatusError(e.code, e.message);
      throw e;
    }
    const iidfile = flagString(p, 'iidfile');
    if (iidfile && id) await writeFile(iidfile, id);
    return 0;
  },
};

async function collect(body: AsyncIterable<Buffer>): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const c of body) out.push(c);
  return out;
}

/** go-units HumanSize: four significant digits, decimal units. */
export function humanSize(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) { v /= 1000; i++; }
  return `${Number(v.toPrecision(4))}${units[i]}`;
}
