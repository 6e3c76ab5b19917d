/**
 * The classic context upload of `pier build`: the directory as a tar with `.dockerignore`
 * applied (as docker does; the Dockerfile and .dockerignore always go), a Dockerfile from
 * outside the context last under its own name. Loaded only when the daemon lacks pier's
 * incremental context (dockerd) or the context comes from stdin.
 */
import { PassThrough, type Readable } from 'node:stream';
import { packDirectory, packTar, readTar } from '../../../lib/tar/index.js';
import { contextFilter } from './context-manifest.js';
import type { IgnoreMatcher } from '../../../api/index.js';

export function tarContext(dir: string, ignore: IgnoreMatcher, keepAlways: ReadonlySet<string>, extra: { name: string; data: Buffer } | undefined): { body: Readable; counted: { bytes: number } } {
  const keep = contextFilter(ignore, keepAlways);
  const packed = packDirectory(dir, { filter: (name, st) => keep(name.replace(/^\.\//, ''), st.isDirectory()) });
  const pass = new PassThrough();
  const counted = { bytes: 0 };
  void (async () => {
    try {
      // everything from the directory, then the outside Dockerfile; uid/gid 0 like docker
      if (extra) {
        // re-pack: directory entries first, the extra Dockerfile last
        const entries = async function* () {
          for await (const e of readTar(packed)) yield { name: e.name, type: e.type, mode: e.mode, uid: 0, gid: 0, mtime: e.mtime, linkname: e.linkname, size: e.size, body: e.type === 'file' ? Buffer.concat(await collect(e.body)) : undefined };
          yield { name: extra.name, type: 'file' as const, mode: 0o600, uid: 0, gid: 0, size: extra.data.length, body: extra.data };
        };
        for await (const chunk of packTar(entries())) { counted.bytes += (chunk as Buffer).length; if (!pass.write(chunk)) await new Promise((r) => pass.once('drain', r)); }
      } else {
        for await (const chunk of packed) { counted.bytes += (chunk as Buffer).length; if (!pass.write(chunk)) await new Promise((r) => pass.once('drain', r)); }
      }
      pass.end();
    } catch (e) { pass.destroy(e as Error); }
  })();
  return { body: pass, counted };
}

async function collect(body: AsyncIterable<Buffer>): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const c of body) out.push(c);
  return out;
}
