/**
 * The build context: the uploaded tar (maybe compressed, maybe a bare Dockerfile) unpacked
 * into a temporary directory, with a map of every member and the sha256 of each file's
 * content computed while it is written (the cache's checksums come from there, not mtimes).
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { chmod, link, mkdir, symlink, lstat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { once } from 'node:events';
import { cleanPath, compilePattern, IgnoreMatcher } from '../core/dockerfile/index.js';
import { detectCompression, maybeDecompress, readTar } from '../lib/tar/index.js';
import { invalidArgument } from '../lib/errdefs.js';

const SMALL = 1 << 20;
const UMASK = process.umask();

export interface ContextEntry {
  type: 'file' | 'dir' | 'symlink' | 'other';
  mode: number;
  size: number;
  /** sha256 hex of a file's content; a symlink's target */
  sum: string;
}

export class BuildContext {
  /** context-relative path (no leading slash) → entry */
  readonly entries = new Map<string, ContextEntry>();
  ignore: IgnoreMatcher = new IgnoreMatcher([]);
  size = 0;

  constructor(readonly dir: string) {}

  /** Unpacks the request body into `dir`. A body that is not a tar is taken as the Dockerfile. */
  static async receive(body: AsyncIterable<Buffer>, dir: string, dockerfileName: string): Promise<BuildContext> {
    const ctx = new BuildContext(dir);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    // maybeDecompress costs a copy per chunk: only route compressed bodies through it
    const raw = peekable(body);
    const compressed = detectCompression(await raw.peek(8)) !== 'none';
    const plain = compressed ? peekable(maybeDecompress(raw)) : raw;
    const head = await plain.peek(512);
    const isTar = head.length >= 512 && head.subarray(257, 262).toString('latin1') === 'ustar';
    if (!isTar) {
      // docker-py and `docker build - < Dockerfile` style bodies: the Dockerfile alone
      const chunks: Buffer[] = [];
      for await (const c of plain) chunks.push(c);
      await ctx.writeFile(dockerfileName, (async function* () { yield Buffer.concat(chunks); })(), 0o644);
      return ctx;
    }
    // small files are written in parallel (bounded); big ones streamed
    let pending: Array<Promise<void>> = [];
    const flush = async (): Promise<void> => { const p = pending; pending = []; await Promise.all(p); };
    for await (const e of readTar(plain)) {
      const name = cleanPath(e.name).replace(/^\/+/, '');
      if (name === '.' || name.startsWith('../')) continue;
      const abs = join(dir, name);
      if (e.type === 'dir') {
        await ctx.ensureDir(name);
        await chmod(abs, e.mode & 0o7777);
        ctx.entries.set(name, { type: 'dir', mode: e.mode & 0o7777, size: 0, sum: '' });
      } else if (e.type === 'file' && e.size <= SMALL) {
        const data = await e.buffer();
        await ctx.ensureDir(dirname(name));
        pending.push(ctx.writeSmall(name, data, e.mode & 0o7777));
        if (pending.length >= 64) await flush();
      } else if (e.type === 'file') {
        await ctx.ensureDir(dirname(name));
        await ctx.writeFile(name, e.body, e.mode & 0o7777);
      } else if (e.type === 'symlink') {
        await mkdir(dirname(abs), { recursive: true });
        await symlink(e.linkname, abs).catch(() => {});
        ctx.entries.set(name, { type: 'symlink', mode: 0o777, size: 0, sum: e.linkname });
      } else if (e.type === 'hardlink') {
        const target = cleanPath(e.linkname).replace(/^\/+/, '');
        const src = ctx.entries.get(target);
        if (!src) continue;
        await mkdir(dirname(abs), { recursive: true });
        await link(join(dir, target), abs).catch(() => {});
        ctx.entries.set(name, { ...src });
      }
    }
    await flush();
    return ctx;
  }

  private dirs = new Set<string>(['.']);
  private async ensureDir(rel: string): Promise<void> {
    if (this.dirs.has(rel)) return;
    await mkdir(join(this.dir, rel), { recursive: true, mode: 0o755 });
    for (let p = rel; p !== '.' && !this.dirs.has(p); p = dirname(p)) this.dirs.add(p);
  }

  private async writeSmall(name: string, data: Buffer, mode: number): Promise<void> {
    const abs = join(this.dir, name);
    await writeFile(abs, data, { mode });
    if ((mode & UMASK) !== 0) await chmod(abs, mode);
    this.record(name, mode, data.length, createHash('sha256').update(data).digest('hex'));
  }

  private record(name: string, mode: number, size: number, sum: string): void {
    this.size += size;
    for (let p = dirname(name); p !== '.' && !this.entries.has(p); p = dirname(p)) this.entries.set(p, { type: 'dir', mode: 0o755, size: 0, sum: '' });
    this.entries.set(name, { type: 'file', mode, size, sum });
  }

  private async writeFile(name: string, body: AsyncIterable<Buffer>, mode: number): Promise<void> {
    const abs = join(this.dir, name);
    await mkdir(dirname(abs), { recursive: true, mode: 0o755 });
    const h = createHash('sha256');
    const ws = createWriteStream(abs, { mode });
    let size = 0;
    for await (const c of body) {
      h.update(c);
      size += c.length;
      if (!ws.write(c)) await once(ws, 'drain');
    }
    ws.end();
    await once(ws, 'close');
    await chmod(abs, mode);
    // parent directories the tar did not list get 0755
    this.record(name, mode, size, h.digest('hex'));
  }

  /** Whether a path exists in the context and is not excluded by .dockerignore. */
  visible(path: string): boolean {
    return this.entries.has(path) && !this.ignore.matches(path);
  }

  /**
   * Source paths of COPY/ADD: cleaned, globbed (`*`, `?`, `[...]` within one path element),
   * ignored files left out. Throws Docker's message when nothing matches.
   */
  match(src: string, instr: string): string[] {
    const clean = cleanPath(src).replace(/^\/+/, '');
    if (clean === '..' || clean.startsWith('../')) throw invalidArgument(`forbidden path outside the build context: ${src} ()`);
    if (clean === '.') return ['.'];
    if (/[*?[]/.test(clean)) {
      const re = globRe(clean);
      const out = [...this.entries.keys()].filter((p) => re.test(p) && !this.ignore.matches(p)).sort();
      if (out.length === 0) throw invalidArgument(`${instr} failed: no source files were specified`);
      return out;
    }
    if (!this.visible(clean)) throw invalidArgument(`${instr} failed: file not found in build context or excluded by .dockerignore: stat ${clean}: file does not exist`);
    return [clean];
  }

  /** Entries at and below a path (`.` = everything), ignored ones left out, sorted. */
  below(path: string): Array<[string, ContextEntry]> {
    const out: Array<[string, ContextEntry]> = [];
    for (const [p, e] of this.entries) {
      if ((path === '.' || p === path || p.startsWith(path + '/')) && !this.ignore.matches(p)) out.push([p, e]);
    }
    return out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  }

  /** sha256 over the copied entries: relative path, type, mode and content; never mtimes. */
  checksum(paths: string[]): string {
    const h = createHash('sha256');
    for (const p of paths) {
      for (const [name, e] of this.below(p)) {
        const rel = p === '.' ? name : name === p ? '' : name.slice(p.length + 1);
        h.update(`${p}\0${rel}\0${e.type}\0${e.mode.toString(8)}\0${e.sum}\n`);
      }
    }
    return h.digest('hex');
  }

  async exists(path: string): Promise<boolean> {
    try { await lstat(join(this.dir, path)); return true; } catch { return false; }
  }
}

/** Go's filepath.Match over whole slash paths. */
export function globRe(pattern: string): RegExp {
  // compilePattern's `*` and `?` already stay within a path element; `**` is literal in Match
  return compilePattern(pattern.replace(/\*\*/g, '*'));
}

interface Peekable extends AsyncIterable<Buffer> { peek(n: number): Promise<Buffer> }

function peekable(src: AsyncIterable<Buffer>): Peekable {
  const it = src[Symbol.asyncIterator]();
  let buf: Buffer[] = [];
  let ended = false;
  return {
    async peek(n: number): Promise<Buffer> {
      let have = buf.reduce((a, b) => a + b.length, 0);
      while (have < n && !ended) {
        const r = await it.next();
        if (r.done) { ended = true; break; }
        buf.push(r.value);
        have += r.value.length;
      }
      return Buffer.concat(buf);
    },
    async *[Symbol.asyncIterator]() {
      const pending = buf;
      buf = [];
      for (const b of pending) yield b;
      if (ended) return;
      for (;;) {
        const r = await it.next();
        if (r.done) return;
        yield r.value;
      }
    },
  };
}
