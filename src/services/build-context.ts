/**
 * The build context. The uploaded tar (maybe compressed, maybe a bare Dockerfile) is not
 * unpacked into a tree: each file's bytes go to a content-addressed store, hashed while they
 * arrive, and are written only when the store does not hold them yet, so a context sent again
 * (every classic `docker build` sends all of it) costs a hash per file and no disk writes.
 * The map of members (type, mode, sha256, mtime, store object) is what COPY, ADD and the cache
 * keys work from; COPY hard-links the objects into a layer (build-fs.ts).
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { chmod, copyFile, lchown, link, lstat, mkdir, readFile, readdir, rename, rm, symlink, unlink, utimes, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { once } from 'node:events';
import { cleanPath, compilePattern, IgnoreMatcher } from '../core/dockerfile/index.js';
import { detectCompression, maybeDecompress, readTar } from '../lib/tar/index.js';
import { errnoCode, invalidArgument } from '../lib/errdefs.js';
import { MAX_MANIFEST_HEADER, validateManifest, type ManifestHeader } from '../api/index.js';

const SMALL = 1 << 20;
/** Files up to this size are held in memory until their hash says whether the store needs them. */
const HELD = 64 << 20;
/** Small files' bytes kept for packing COPY layers: each up to KEPT_BODY, KEPT_BODIES in all. */
const KEPT_BODY = 64 << 10;
const KEPT_BODIES = 32 << 20;

export interface ContextEntry {
  type: 'file' | 'dir' | 'symlink' | 'other';
  mode: number;
  size: number;
  /** sha256 hex of a file's content; a symlink's target */
  sum: string;
  /** seconds since the epoch, from the tar header */
  mtime: number;
  /** files: name of the store object holding the bytes with this entry's mode */
  obj?: string;
}

/** What a store object's inode carries besides the bytes (a hard link shares all of it). */
export interface ObjectMeta { mode: number; uid: number; gid: number; mtime: number }

/**
 * Content-addressed files: `<dir>/objects/<sha256>-<mode>-<uid>-<gid>-<mtime>`, one inode per
 * content and metadata, made by pierd and never changed once named. Layers hard-link them, so
 * `prune` removes only those no layer links (link count 1).
 */
export class ContextStore {
  private names: Promise<Set<string>> | undefined;
  /** content sha256 → the names of objects holding it */
  private readonly bySum = new Map<string, Set<string>>();
  /** sizes of objects seen by this process */
  private readonly sizes = new Map<string, number>();
  /** objects the contexts of running builds refer to (count per name): never pruned */
  private readonly inUse = new Map<string, number>();
  /** objects prune is unlinking now */
  private readonly removing = new Map<string, Promise<void>>();

  constructor(readonly dir: string) {}

  private get objects(): string { return join(this.dir, 'objects'); }
  private get tmp(): string { return join(this.dir, 'tmp'); }

  private index(): Promise<Set<string>> {
    this.names ??= (async () => {
      await rm(this.tmp, { recursive: true, force: true });
      await mkdir(this.tmp, { recursive: true, mode: 0o700 });
      await mkdir(this.objects, { recursive: true, mode: 0o700 });
      const names = new Set((await readdir(this.objects)).filter((n) => !n.startsWith('.')));
      for (const n of names) this.indexSum(n);
      return names;
    })();
    return this.names;
  }

  private indexSum(name: string): void {
    const sum = name.slice(0, name.indexOf('-'));
    let set = this.bySum.get(sum);
    if (!set) this.bySum.set(sum, (set = new Set()));
    set.add(name);
  }

  private forget(names: Set<string>, name: string): void {
    names.delete(name);
    this.sizes.delete(name);
    const sum = name.slice(0, name.indexOf('-'));
    const set = this.bySum.get(sum);
    set?.delete(name);
    if (set?.size === 0) this.bySum.delete(sum);
  }

  /** Whether some object holds this content (whatever its metadata). */
  async hasContent(sum: string): Promise<boolean> {
    await this.index();
    return this.bySum.has(sum);
  }

  /** An object holding this content, retained (the caller releases it), or undefined. */
  async retainContent(sum: string): Promise<string | undefined> {
    await this.index();
    const name = this.bySum.get(sum)?.values().next().value;
    if (name !== undefined) this.retain([name]);
    return name;
  }

  /** An object's size in bytes. */
  async sizeOf(name: string): Promise<number> {
    let n = this.sizes.get(name);
    if (n === undefined) {
      n = (await lstat(this.path(name))).size;
      this.sizes.set(name, n);
    }
    return n;
  }

  static objectName(sum: string, m: ObjectMeta): string {
    return `${sum}-${m.mode.toString(8)}-${m.uid}-${m.gid}-${m.mtime}`;
  }

  path(name: string): string { return join(this.objects, name); }

  async has(name: string): Promise<boolean> { return (await this.index()).has(name); }

  /** A temporary file in the store's filesystem (streamed bodies land there first). */
  async tempPath(): Promise<string> {
    await this.index();
    return join(this.tmp, randomBytes(8).toString('hex'));
  }

  /*
   * Every name handed out below is retained (see `retain`) in the same step that finds or
   * makes it, so a prune running meanwhile cannot take it away; the caller releases it.
   */

  /** Gives a written temp file its metadata and its name (or drops it when the name exists). */
  async adopt(tmp: string, sum: string, m: ObjectMeta): Promise<string> {
    const names = await this.index();
    const name = ContextStore.objectName(sum, m);
    if (names.has(name)) { this.retain([name]); await unlink(tmp).catch(() => {}); return name; }
    await chmod(tmp, m.mode);
    if (m.uid !== 0 || m.gid !== 0 || process.getuid?.() !== 0) await lchown(tmp, m.uid, m.gid).catch(() => {});
    await utimes(tmp, m.mtime, m.mtime);
    this.retain([name]);
    await this.removing.get(name);
    await rename(tmp, this.path(name));
    names.add(name);
    this.indexSum(name);
    return name;
  }

  /** Stores bytes already in memory; written only when new. */
  async put(data: Buffer, sum: string, m: ObjectMeta): Promise<string> {
    const name = ContextStore.objectName(sum, m);
    if ((await this.index()).has(name)) { this.retain([name]); return name; }
    const tmp = await this.tempPath();
    await writeFile(tmp, data, { mode: m.mode & 0o777 });
    const stored = await this.adopt(tmp, sum, m);
    this.sizes.set(stored, data.length);
    return stored;
  }

  /** The object with the same bytes as `name` and the metadata `m` (copied once, then reused). */
  async variant(name: string, m: ObjectMeta): Promise<string> {
    const sum = name.slice(0, name.indexOf('-'));
    const want = ContextStore.objectName(sum, m);
    if ((await this.index()).has(want)) { this.retain([want]); return want; }
    const tmp = await this.tempPath();
    await copyFile(this.path(name), tmp);
    return this.adopt(tmp, sum, m);
  }

  /** Marks objects as used by a running build (until `release`). */
  retain(names: Iterable<string>): void {
    for (const n of names) this.inUse.set(n, (this.inUse.get(n) ?? 0) + 1);
  }

  release(names: Iterable<string>): void {
    for (const n of names) {
      const c = (this.inUse.get(n) ?? 1) - 1;
      if (c > 0) this.inUse.set(n, c); else this.inUse.delete(n);
    }
  }

  /**
   * Removes the objects no layer links and no running build uses, except those in `keep`;
   * returns how many bytes that freed.
   */
  async prune(keep: ReadonlySet<string> = new Set()): Promise<number> {
    const names = await this.index();
    let freed = 0;
    for (const n of [...names]) {
      if (keep.has(n) || this.inUse.has(n)) continue;
      try {
        const st = await lstat(this.path(n));
        if (st.nlink > 1 || this.inUse.has(n)) continue;
        // forgotten before the unlink starts: a build asking for this object meanwhile writes
        // it again (adopt waits for the unlink) instead of getting a name about to vanish
        this.forget(names, n);
        const gone = unlink(this.path(n));
        this.removing.set(n, gone.catch(() => {}));
        try { await gone; } finally { this.removing.delete(n); }
        freed += st.size;
      } catch (e) {
        if (errnoCode(e) !== 'ENOENT') throw e;
      }
      this.forget(names, n);
    }
    return freed;
  }
}

export class BuildContext {
  /** context-relative path (no leading slash) → entry */
  readonly entries = new Map<string, ContextEntry>();
  ignore: IgnoreMatcher = new IgnoreMatcher([]);
  size = 0;

  /** bytes of small files by object name, while the build runs (COPY layers are packed from them) */
  private readonly bodies = new Map<string, Buffer>();
  private bodiesBytes = 0;

  /** store objects retained for this build (one entry per retain), released by `close` */
  private readonly held: string[] = [];

  /** `dir`: scratch space of this build (removed at its end). */
  constructor(readonly store: ContextStore, readonly dir: string) {}

  /** The object holding `e`'s bytes with other metadata (COPY --chmod/--chown), kept until `close`. */
  async variant(e: ContextEntry, m: ObjectMeta): Promise<string> {
    const name = await this.store.variant(e.obj!, m);
    this.held.push(name);
    return name;
  }

  /** Releases the store objects this context held. */
  close(): void {
    this.store.release(this.held.splice(0));
    this.bodies.clear();
  }

  /** A small file's bytes, when still in memory. */
  body(obj: string): Buffer | undefined {
    return this.bodies.get(obj);
  }

  /** Receives the request body. A body that is not a tar is taken as the Dockerfile. */
  static async receive(body: AsyncIterable<Buffer>, store: ContextStore, dir: string, dockerfileName: string): Promise<BuildContext> {
    const ctx = new BuildContext(store, dir);
    try {
      await ctx.fill(body, dockerfileName);
    } catch (e) {
      ctx.close();
      throw e;
    }
    return ctx;
  }

  /**
   * Receives a pier manifest body (api/build-manifest.ts): the header, then the blobs it
   * lists. Every file's content must be in the store or sent; sent bytes must match their
   * digest and size; nothing may follow the last blob.
   */
  static async receiveManifest(body: AsyncIterable<Buffer>, store: ContextStore, dir: string): Promise<{ ctx: BuildContext; blobs: number; blobBytes: number }> {
    const ctx = new BuildContext(store, dir);
    try {
      const { blobs, blobBytes } = await ctx.fillManifest(new ExactReader(body));
      return { ctx, blobs, blobBytes };
    } catch (e) {
      ctx.close();
      throw e;
    }
  }

  private async fillManifest(r: ExactReader): Promise<{ blobs: number; blobBytes: number }> {
    const len = (await r.read(4, 'manifest length')).readUInt32BE(0);
    if (len > MAX_MANIFEST_HEADER) throw invalidArgument('build context manifest too large');
    let h: ManifestHeader;
    try {
      h = validateManifest(JSON.parse((await r.read(len, 'manifest')).toString('utf8')));
    } catch (e) {
      throw invalidArgument((e as Error).message.startsWith('invalid build context') ? (e as Error).message : `invalid build context manifest: ${(e as Error).message}`);
    }
    const sent = new Map(h.Blobs);
    const firstMeta = new Map<string, ObjectMeta>();
    for (const e of h.Entries) {
      if (e.Type !== 'file') continue;
      const sum = e.Digest!;
      if (!firstMeta.has(sum)) firstMeta.set(sum, { mode: e.Mode, uid: 0, gid: 0, mtime: e.Mtime });
      if (!sent.has(sum) && !(await this.store.hasContent(sum))) throw invalidArgument(`build context: content sha256:${sum} of ${e.Path} is neither in the store nor sent`);
    }
    // the sent contents, each stored once under its first file's metadata; small ones also
    // kept in memory within the tar path's budget (files of other metadata copy the object)
    const sentBodies = new Map<string, Buffer>();
    let kept = 0;
    let blobBytes = 0;
    for (const [sum, size] of h.Blobs) {
      const meta = firstMeta.get(sum)!;
      blobBytes += size;
      if (size <= HELD) {
        const data = await r.read(size, `content sha256:${sum}`);
        if (createHash('sha256').update(data).digest('hex') !== sum) throw invalidArgument(`build context: content sent as sha256:${sum} does not match its digest`);
        this.held.push(await this.store.put(data, sum, meta));
        if (data.length <= KEPT_BODY && kept + data.length <= KEPT_BODIES) {
          sentBodies.set(sum, data);
          kept += data.length;
        }
        continue;
      }
      const tmp = await this.store.tempPath();
      const hash = createHash('sha256');
      const ws = createWriteStream(tmp, { mode: 0o600 });
      try {
        for await (const c of r.chunks(size, `content sha256:${sum}`)) {
          hash.update(c);
          if (!ws.write(c)) await once(ws, 'drain');
        }
        ws.end();
        await once(ws, 'close');
        if (hash.digest('hex') !== sum) throw invalidArgument(`build context: content sent as sha256:${sum} does not match its digest`);
      } catch (e) {
        ws.destroy();
        await rm(tmp, { force: true });
        throw e;
      }
      this.held.push(await this.store.adopt(tmp, sum, meta));
    }
    if (!(await r.atEnd())) throw invalidArgument('build context: data after the last content');
    // the members, in windows (an object the store lacks costs a write or a copy)
    const files: Array<() => Promise<void>> = [];
    for (const e of h.Entries) {
      if (e.Type === 'dir') {
        this.addParents(e.Path);
        this.entries.set(e.Path, { type: 'dir', mode: e.Mode, size: 0, sum: '', mtime: e.Mtime });
      } else if (e.Type === 'symlink') {
        this.addParents(e.Path);
        this.entries.set(e.Path, { type: 'symlink', mode: 0o777, size: 0, sum: e.Link!, mtime: e.Mtime });
      } else {
        files.push(() => this.placeFile(e.Path, e.Digest!, e.Size!, { mode: e.Mode, uid: 0, gid: 0, mtime: e.Mtime }, sentBodies.get(e.Digest!)));
      }
    }
    for (let i = 0; i < files.length; i += 64) await Promise.all(files.slice(i, i + 64).map((f) => f()));
    return { blobs: h.Blobs.length, blobBytes };
  }

  /** A manifest file: its object (made from the sent bytes or copied from one with other metadata), size checked. */
  private async placeFile(path: string, sum: string, size: number, meta: ObjectMeta, data: Buffer | undefined): Promise<void> {
    let obj = ContextStore.objectName(sum, meta);
    if (await this.store.has(obj)) {
      this.store.retain([obj]);
      this.held.push(obj);
    } else if (data) {
      obj = await this.store.put(data, sum, meta);
      this.held.push(obj);
    } else {
      const src = await this.store.retainContent(sum);
      if (!src) throw invalidArgument(`build context: content sha256:${sum} of ${path} is neither in the store nor sent`);
      try {
        obj = await this.store.variant(src, meta);
        this.held.push(obj);
      } finally {
        this.store.release([src]);
      }
    }
    const real = data ? data.length : await this.store.sizeOf(obj);
    if (real !== size) throw invalidArgument(`build context: ${path} has ${size} bytes in the manifest, content sha256:${sum} has ${real}`);
    if (data && data.length <= KEPT_BODY && this.bodiesBytes + data.length <= KEPT_BODIES && !this.bodies.has(obj)) {
      this.bodies.set(obj, data);
      this.bodiesBytes += data.length;
    }
    this.record(path, { type: 'file', mode: meta.mode, size, sum, mtime: meta.mtime, obj });
  }

  /**
   * Refuses a context where a member sits below a file or a symlink (a tar can say `a -> /etc`
   * and then `a/x`): materializing it for a bind mount would write through the link.
   */
  private checkParents(): void {
    for (const path of this.entries.keys()) {
      for (let i = path.lastIndexOf('/'); i > 0; i = path.lastIndexOf('/', i - 1)) {
        const t = this.entries.get(path.slice(0, i))?.type;
        if (t !== undefined && t !== 'dir') throw invalidArgument(`build context: ${path} is below ${path.slice(0, i)}, which is not a directory`);
      }
    }
  }

  private async fill(body: AsyncIterable<Buffer>, dockerfileName: string): Promise<void> {
    const ctx = this as BuildContext;
    // maybeDecompress costs a copy per chunk: only route compressed bodies through it
    const raw = peekable(body);
    const compressed = detectCompression(await raw.peek(8)) !== 'none';
    const plain = compressed ? peekable(maybeDecompress(raw)) : raw;
    const head = await plain.peek(512);
    const isTar = head.length >= 512 && head.subarray(257, 262).toString('latin1') === 'ustar';
    const now = Math.floor(Date.now() / 1000);
    if (!isTar) {
      // docker-py and `docker build - < Dockerfile` style bodies: the Dockerfile alone
      const chunks: Buffer[] = [];
      for await (const c of plain) chunks.push(c);
      await ctx.putSmall(dockerfileName, Buffer.concat(chunks), 0o644, now);
      return;
    }
    // small files are stored in parallel (bounded); big ones streamed
    let pending: Array<Promise<void>> = [];
    const flush = async (): Promise<void> => { const p = pending; pending = []; await Promise.all(p); };
    for await (const e of readTar(plain)) {
      const name = cleanPath(e.name).replace(/^\/+/, '');
      if (name === '.' || name.startsWith('../')) continue;
      const mtime = Math.floor(e.mtime.getTime() / 1000);
      if (e.type === 'dir') {
        ctx.addParents(name);
        ctx.entries.set(name, { type: 'dir', mode: e.mode & 0o7777, size: 0, sum: '', mtime });
      } else if (e.type === 'file' && e.size <= SMALL) {
        const data = await e.buffer();
        pending.push(ctx.putSmall(name, data, e.mode & 0o7777, mtime));
        if (pending.length >= 64) await flush();
      } else if (e.type === 'file' && e.size <= HELD) {
        await flush();
        await ctx.putHeld(name, e.body, e.mode & 0o7777, mtime);
      } else if (e.type === 'file') {
        await ctx.putStream(name, e.body, e.mode & 0o7777, mtime);
      } else if (e.type === 'symlink') {
        ctx.addParents(name);
        ctx.entries.set(name, { type: 'symlink', mode: 0o777, size: 0, sum: e.linkname, mtime });
      } else if (e.type === 'hardlink') {
        await flush();
        const src = ctx.entries.get(cleanPath(e.linkname).replace(/^\/+/, ''));
        if (!src) continue;
        ctx.addParents(name);
        ctx.entries.set(name, { ...src });
      }
    }
    await flush();
    this.checkParents();
  }

  /** Parent directories the tar did not list get 0755. */
  private addParents(name: string): void {
    for (let p = dirname(name); p !== '.' && !this.entries.has(p); p = dirname(p)) this.entries.set(p, { type: 'dir', mode: 0o755, size: 0, sum: '', mtime: 0 });
  }

  private async putSmall(name: string, data: Buffer, mode: number, mtime: number): Promise<void> {
    const sum = createHash('sha256').update(data).digest('hex');
    const obj = await this.store.put(data, sum, { mode, uid: 0, gid: 0, mtime });
    this.held.push(obj);
    if (data.length <= KEPT_BODY && this.bodiesBytes + data.length <= KEPT_BODIES && !this.bodies.has(obj)) {
      this.bodies.set(obj, data);
      this.bodiesBytes += data.length;
    }
    this.record(name, { type: 'file', mode, size: data.length, sum, mtime, obj });
  }

  private async putHeld(name: string, body: AsyncIterable<Buffer>, mode: number, mtime: number): Promise<void> {
    const h = createHash('sha256');
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of body) {
      h.update(c);
      chunks.push(c);
      size += c.length;
    }
    const sum = h.digest('hex');
    const meta = { mode, uid: 0, gid: 0, mtime };
    let obj = ContextStore.objectName(sum, meta);
    if (!(await this.store.has(obj))) {
      const tmp = await this.store.tempPath();
      await writeFile(tmp, Buffer.concat(chunks, size), { mode: 0o600 });
      obj = await this.store.adopt(tmp, sum, meta);
    } else {
      this.store.retain([obj]);
    }
    this.held.push(obj);
    this.record(name, { type: 'file', mode, size, sum, mtime, obj });
  }

  private async putStream(name: string, body: AsyncIterable<Buffer>, mode: number, mtime: number): Promise<void> {
    const tmp = await this.store.tempPath();
    const h = createHash('sha256');
    const ws = createWriteStream(tmp, { mode: 0o600 });
    let size = 0;
    try {
      for await (const c of body) {
        h.update(c);
        size += c.length;
        if (!ws.write(c)) await once(ws, 'drain');
      }
      ws.end();
      await once(ws, 'close');
    } catch (e) {
      ws.destroy();
      await rm(tmp, { force: true });
      throw e;
    }
    const sum = h.digest('hex');
    const obj = await this.store.adopt(tmp, sum, { mode, uid: 0, gid: 0, mtime });
    this.held.push(obj);
    this.record(name, { type: 'file', mode, size, sum, mtime, obj });
  }

  private record(name: string, e: ContextEntry): void {
    this.size += e.size;
    this.addParents(name);
    this.entries.set(name, e);
  }

  /** The store objects this context refers to. */
  objects(): Set<string> {
    const out = new Set<string>();
    for (const e of this.entries.values()) if (e.obj) out.add(e.obj);
    return out;
  }

  /** A file's bytes. */
  async read(path: string): Promise<Buffer> {
    const e = this.entries.get(path);
    if (!e?.obj) throw invalidArgument(`not a file in the build context: ${path}`);
    return readFile(this.store.path(e.obj));
  }

  /** Host path of a file's bytes (read only: the object is shared). */
  objectPath(e: ContextEntry): string {
    return this.store.path(e.obj!);
  }

  /**
   * The members a COPY of `path` copies, in path order, with their path relative to it ('' for
   * `path` itself): ignored members are left out, and so is everything below an ignored
   * directory unless `!` patterns may bring files back (then the directory is entered).
   */
  tree(path: string): Array<[string, ContextEntry]> {
    const out: Array<[string, ContextEntry]> = [];
    const skipped: string[] = [];
    const all = [...this.entries].filter(([p]) => path === '.' || p === path || p.startsWith(path + '/'))
      .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    if (path === '.') out.push(['', { type: 'dir', mode: 0o755, size: 0, sum: '', mtime: 0 }]);
    for (const [p, e] of all) {
      if (p === '.') continue;
      const rel = path === '.' ? p : p === path ? '' : p.slice(path.length + 1);
      if (skipped.some((s) => rel.startsWith(s + '/'))) continue;
      if (rel !== '' && this.ignore.matches(p) && !(e.type === 'dir' && this.ignore.hasExclusions)) {
        if (e.type === 'dir') skipped.push(rel);
        continue;
      }
      out.push([rel, e]);
    }
    return out;
  }

  /** Makes a directory tree of `path` at `target` for a bind mount: hard links to the objects, or copies when it may be written. */
  async materialize(path: string, target: string, writable = false): Promise<void> {
    for (const [rel, e] of this.tree(path)) {
      const dst = rel ? join(target, rel) : target;
      if (e.type === 'dir') {
        await mkdir(dst, { recursive: true });
        await chmod(dst, e.mode);
      } else if (e.type === 'symlink') {
        await symlink(e.sum, dst);
      } else if (e.type === 'file') {
        await mkdir(dirname(dst), { recursive: true });
        if (!writable) {
          try { await link(this.objectPath(e), dst); continue; } catch { /* copy */ }
        }
        await copyFile(this.objectPath(e), dst);
        await chmod(dst, e.mode);
      }
    }
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

}

/** Go's filepath.Match over whole slash paths. */
export function globRe(pattern: string): RegExp {
  // compilePattern's `*` and `?` already stay within a path element; `**` is literal in Match
  return compilePattern(pattern.replace(/\*\*/g, '*'));
}

/** Reads exact byte counts from a stream (the manifest body's framing). */
class ExactReader {
  private readonly it: AsyncIterator<Buffer>;
  private buf: Buffer = Buffer.alloc(0);
  private ended = false;

  constructor(src: AsyncIterable<Buffer>) { this.it = src[Symbol.asyncIterator](); }

  private async more(): Promise<boolean> {
    if (this.ended) return false;
    const r = await this.it.next();
    if (r.done) { this.ended = true; return false; }
    this.buf = this.buf.length ? Buffer.concat([this.buf, r.value]) : r.value;
    return true;
  }

  async read(n: number, what: string): Promise<Buffer> {
    if (this.buf.length < n) {
      const parts = [this.buf];
      let have = this.buf.length;
      while (have < n) {
        const r = this.ended ? undefined : await this.it.next();
        if (!r || r.done) { this.ended = true; throw invalidArgument(`build context: body ended inside the ${what}`); }
        parts.push(r.value);
        have += r.value.length;
      }
      this.buf = Buffer.concat(parts, have);
    }
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }

  async *chunks(n: number, what: string): AsyncGenerator<Buffer> {
    let left = n;
    while (left > 0) {
      if (this.buf.length === 0 && !(await this.more())) throw invalidArgument(`build context: body ended inside the ${what}`);
      const take = Math.min(left, this.buf.length);
      yield this.buf.subarray(0, take);
      this.buf = this.buf.subarray(take);
      left -= take;
    }
  }

  async atEnd(): Promise<boolean> {
    while (this.buf.length === 0) if (!(await this.more())) return true;
    return false;
  }
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
