/**
 * Dockerfile builds (the classic builder's behaviour and output): the context is unpacked,
 * the Dockerfile parsed into stages, and the stages the target needs run (independent ones
 * in parallel). Each step commits an image: metadata steps an empty layer, RUN the upper
 * dir of a container run through ContainerService, COPY/ADD/WORKDIR the upper dir of a
 * snapshot mounted on the parent. Steps are looked up in a persistent cache first.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chmod, lstat, mkdir, readFile, readdir, rm, writeFile, open } from 'node:fs/promises';
import { basename, join, posix } from 'node:path';
import type { ContainerConfigWire, HostConfigWire, ImageConfigFile, Reference } from '../api/index.js';
import type { MountWire } from '../core/container/index.js';
import { familiarString, parseReference, parseSignal, withDefaultTag } from '../api/index.js';
import {
  parseModel, stageGraph, findStage, processWord, processWords, parseDockerfile, toInstruction, formatDuration,
  IgnoreMatcher, parseRunMount, cleanPath, type RunMount, type DockerfileModel, type Instruction, type Stage, type CopyInstr, type ExecInstr,
} from '../core/dockerfile/index.js';
import { chainIds, type ImageRecord } from '../core/image/index.js';
import { ownerInContainer, resolveUser } from '../core/oci/index.js';
import type { RegistryCredentials, Snapshotter } from '../core/ports/index.js';
import { EngineError, invalidArgument } from '../lib/errdefs.js';
import { dirSize } from '../lib/fs/index.js';
import { extractTar, maybeDecompress, packDirectory, packTar, readTar, walkDirectory, type TarWriterEntry } from '../lib/tar/index.js';
import { BuildCache, stepKey } from './build-cache.js';
import { BuildContext, ContextStore, type ContextEntry } from './build-context.js';
import { copyTree, isDirIn, LayerStage, resolveIn, type PlaceMeta } from './build-fs.js';
import type { ContainerService } from './containers.js';
import { hostArch, type ImageService } from './images.js';
import type { ProgressMessage } from './registry-pull.js';

export interface BuildServiceDeps {
  images: ImageService;
  containers: ContainerService;
  snapshotter: Snapshotter;
  /** A snapshot's upper dir (its changes), to commit as a layer. */
  upperDir: (key: string) => string;
  /** <root>/build: cache index */
  stateDir: string;
  /** scratch space for contexts and mounts */
  tmpDir: string;
  log: (level: 'debug' | 'info' | 'warn' | 'error', msg: string) => void;
  /** Pulls an image (FROM of an image not present, or --pull); resolves with its ID. */
  pull?: (ref: Reference, auth: RegistryCredentials | undefined, progress: (m: ProgressMessage) => void) => Promise<string>;
}

export interface BuildRequest {
  dockerfile?: string;
  tags: Reference[];
  buildArgs: Record<string, string | null>;
  labels: Record<string, string>;
  noCache: boolean;
  quiet: boolean;
  pull: boolean;
  target?: string;
  networkMode?: string;
  platform?: string;
  extraHosts: string[];
  hostConfig: HostConfigWire;
  /** X-Registry-Config: credentials by registry domain, for pulls */
  registryAuth?: Record<string, RegistryCredentials>;
}

/** One message of the classic builder's JSON stream (pull progress included). */
export interface BuildMessage extends Omit<ProgressMessage, 'aux'> { stream?: string; aux?: { ID: string } }
export type BuildSink = (m: BuildMessage) => void;
/** Text for the stream, or a whole message (pull progress). */
type Out = (s: string | BuildMessage) => void;

/** A build failure; `exitCode` is a failed RUN's exit code (the CLI exits with it). */
export class BuildError extends EngineError {
  constructor(message: string, readonly exitCode?: number) {
    super('invalid-argument', message, { code: 'ERR_BUILD_FAILED' });
  }
}

/** How often a finished build trims the context store (it lstats every object). */
const STORE_PRUNE_EVERY_MS = 5 * 60_000;
const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const DEFAULT_SHELL = ['/bin/sh', '-c'];
const PROXY_ARGS = new Set(['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'FTP_PROXY', 'ftp_proxy', 'NO_PROXY', 'no_proxy', 'ALL_PROXY', 'all_proxy']);
type History = NonNullable<ImageConfigFile['history']>[number];

interface StageState {
  imageId?: string;
  diffIds: string[];
  history: History[];
  config: ContainerConfigWire;
  author?: string;
  cmdSet: boolean;
  /** ARGs declared in this stage, with their values */
  args: Map<string, string | undefined>;
}

/** A received, parsed build, ready to run. */
export class PreparedBuild {
  constructor(
    readonly ctx: BuildContext,
    readonly model: DockerfileModel,
    readonly file: string,
    readonly req: BuildRequest,
  ) {}
}

export class BuildService {
  private readonly cache: BuildCache;
  private readonly store: ContextStore;
  private readonly links: LayerLinks;
  private lastPrune = Date.now();

  constructor(private readonly d: BuildServiceDeps) {
    this.cache = new BuildCache(d.stateDir);
    this.store = new ContextStore(join(d.stateDir, 'context'));
    this.links = new LayerLinks(join(d.stateDir, 'links'));
  }

  /**
   * At start: a build cut off by a crash may have left mounts in the scratch space (views of
   * parent images); they are unmounted before the scratch space is emptied.
   */
  async reset(): Promise<void> {
    const info = await readFile('/proc/self/mountinfo', 'utf8').catch(() => '');
    const under = info.split('\n').map((l) => l.split(' ')[4] ?? '')
      .map((p) => p.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))))
      .filter((p) => p.startsWith(this.d.tmpDir + '/'))
      .sort((a, b) => b.length - a.length);
    for (const p of under) await this.d.snapshotter.unmount(p).catch((e: unknown) => this.d.log('warn', `unmount ${p}: ${(e as Error).message}`));
    await rm(this.d.tmpDir, { recursive: true, force: true });
  }

  /** Receives the context and parses the Dockerfile (errors here are plain HTTP errors). */
  async prepare(body: AsyncIterable<Buffer>, req: BuildRequest, format: 'tar' | 'manifest' = 'tar'): Promise<PreparedBuild> {
    if (req.platform && !/^linux(\/|$)/.test(req.platform)) throw invalidArgument(`"${req.platform}" is not a supported platform`);
    const dir = join(this.d.tmpDir, `ctx-${randomBytes(8).toString('hex')}`);
    const name = posix.normalize(req.dockerfile || 'Dockerfile').replace(/^\/+/, '');
    let ctx: BuildContext | undefined;
    try {
      const t0 = Date.now();
      if (format === 'manifest') {
        const got = await BuildContext.receiveManifest(body, this.store, dir);
        ctx = got.ctx;
        this.d.log('debug', `build context: manifest of ${ctx.entries.size} entries, ${ctx.size} bytes, ${got.blobs} contents sent (${got.blobBytes} bytes) in ${Date.now() - t0} ms`);
      } else {
        ctx = await BuildContext.receive(body, this.store, dir, name);
        this.d.log('debug', `build context: ${ctx.entries.size} entries, ${ctx.size} bytes in ${Date.now() - t0} ms`);
      }
      let file = name;
      if (!ctx.entries.has(file) && !req.dockerfile && ctx.entries.has('dockerfile')) file = 'dockerfile';
      const entry = ctx.entries.get(file);
      if (!entry || entry.type !== 'file') throw invalidArgument(`Cannot locate specified Dockerfile: ${name}`);
      if (ctx.entries.get('.dockerignore')?.type === 'file') ctx.ignore = IgnoreMatcher.fromFile((await ctx.read('.dockerignore')).toString('utf8'));
      const text = (await ctx.read(file)).toString('utf8');
      const shown = file.startsWith('.dockerfile.') ? 'Dockerfile' : basename(file);
      const model = parseModel(text, shown);
      stageGraph(model, req.target); // target errors before the stream starts
      return new PreparedBuild(ctx, model, shown, req);
    } catch (e) {
      ctx?.close();
      await rm(dir, { recursive: true, force: true });
      throw e;
    }
  }

  /** Of these content digests, those the context store holds no object of (pier's manifest upload sends only them). */
  async missingContents(digests: string[]): Promise<string[]> {
    const out: string[] = [];
    for (const d of new Set(digests)) if (!(await this.store.hasContent(d))) out.push(d);
    return out;
  }

  /** Runs a prepared build, streaming the classic builder's messages; resolves with the image ID. */
  async run(b: PreparedBuild, sink: BuildSink): Promise<string> {
    const out: Out = (s) => { if (!b.req.quiet) sink(typeof s === 'string' ? { stream: s } : s); };
    try {
      return await new BuildRun(this.d, this.cache, this.links, b, out).run(sink);
    } finally {
      await rm(b.ctx.dir, { recursive: true, force: true }).catch(() => {});
      // The store keeps what layers link and what this context holds (the next build of the
      // same context writes nothing); older unlinked objects go, in the background.
      b.ctx.close();
      if (Date.now() - this.lastPrune >= STORE_PRUNE_EVERY_MS) {
        this.lastPrune = Date.now();
        void this.store.prune(b.ctx.objects()).catch((e: unknown) => this.d.log('warn', `build context store: ${(e as Error).message}`));
      }
    }
  }

  /** POST /build/prune: forgets the step cache, trims the context store, empties cache mounts. */
  async prune(): Promise<{ deleted: string[]; reclaimed: number }> {
    const deleted = await this.cache.prune();
    const reclaimed = await this.store.prune() + await pruneCacheMounts(join(this.d.stateDir, 'cache'));
    return { deleted, reclaimed };
  }
}

/** Orders the output of stages run in parallel: a stage's text appears once the earlier ones are done. */
class OrderedOutput {
  private buffers = new Map<number, Array<string | BuildMessage>>();
  private done = new Set<number>();
  private head = 0;
  constructor(private readonly order: number[], private readonly out: Out) {}

  writer(stage: number): Out {
    return (s) => {
      if (this.order[this.head] === stage) this.out(s);
      else { const b = this.buffers.get(stage) ?? []; b.push(s); this.buffers.set(stage, b); }
    };
  }

  finish(stage: number): void {
    this.done.add(stage);
    while (this.head < this.order.length && this.done.has(this.order[this.head]!)) {
      this.head++;
      const next = this.order[this.head];
      if (next === undefined) break;
      for (const s of this.buffers.get(next) ?? []) this.out(s);
      this.buffers.delete(next);
    }
  }
}

class BuildRun {
  private readonly metaArgs = new Map<string, string | undefined>();
  private readonly consumed = new Set<string>();
  private readonly results = new Map<number, Promise<StageState>>();
  private readonly stepNo = new Map<Instruction | Stage, number>();
  private total = 0;

  constructor(
    private readonly d: BuildServiceDeps,
    private readonly cache: BuildCache,
    private readonly links: LayerLinks,
    private readonly b: PreparedBuild,
    private readonly out: Out,
  ) {}

  private get req(): BuildRequest { return this.b.req; }

  private buildArg(name: string): string | undefined {
    const v = this.req.buildArgs[name];
    return v === null ? undefined : v;
  }

  async run(sink: BuildSink): Promise<string> {
    const { model } = this.b;
    for (const a of model.metaArgs) {
      for (const { name, value } of a.args) {
        const given = this.buildArg(name);
        if (given !== undefined) this.consumed.add(name);
        this.metaArgs.set(name, given ?? (value === undefined ? undefined : processWord(value, defined(this.metaArgs), model.escape)));
      }
    }
    const target = this.req.target;
    const { order, deps } = stageGraph(model, target);
    const last = order[order.length - 1]!;
    const labels = Object.keys(this.req.labels).sort();
    let n = model.metaArgs.length;
    for (const i of order) {
      const s = model.stages[i]!;
      this.stepNo.set(s, ++n);
      for (const ins of s.instructions) this.stepNo.set(ins, ++n);
    }
    this.total = n + labels.length;
    model.metaArgs.forEach((a, i) => this.out(`Step ${i + 1}/${this.total} : ${a.node.original}\n`));
    const ordered = new OrderedOutput(order, this.out);
    const runStage = (i: number): Promise<StageState> => {
      let p = this.results.get(i);
      if (p) return p;
      p = (async () => {
        await Promise.all((deps.get(i) ?? []).map((dep) => runStage(dep)));
        const w = ordered.writer(i);
        try {
          return await this.buildStage(model.stages[i]!, w, i === last ? labels : []);
        } finally {
          ordered.finish(i);
        }
      })();
      this.results.set(i, p);
      return p;
    };
    // every needed stage starts now; each waits for its own dependencies only
    const all = order.map((i) => runStage(i));
    const settled = await Promise.allSettled(all);
    const failed = settled.find((r) => r.status === 'rejected') as PromiseRejectedResult | undefined;
    if (failed) throw failed.reason;
    const final = await runStage(last);
    let id = final.imageId;
    if (!id) id = await this.commit(final, { createdBy: '', empty: true, key: undefined });
    const unused = Object.keys(this.req.buildArgs).filter((k) => !this.consumed.has(k) && !PROXY_ARGS.has(k)).sort();
    if (unused.length) this.out(`[Warning] One or more build-args [${unused.join(' ')}] were not consumed\n`);
    sink({ aux: { ID: id } });
    this.out(`Successfully built ${id.slice(7, 19)}\n`);
    for (const t of this.req.tags) {
      await this.d.images.tag(id, t);
      this.out(`Successfully tagged ${familiarString(t)}\n`);
    }
    if (this.req.quiet) sink({ stream: `${id}\n` });
    return id;
  }

  // ---- stages ----

  private async buildStage(stage: Stage, out: Out, labels: string[]): Promise<StageState> {
    const esc = this.b.model.escape;
    out(`Step ${this.stepNo.get(stage)}/${this.total} : ${stage.from.node.original}\n`);
    const image = processWord(stage.from.image, defined(this.metaArgs), esc);
    if (stage.from.platform) {
      const p = processWord(stage.from.platform, defined(this.metaArgs), esc);
      if (p && !/^linux(\/|$)/.test(p)) throw new BuildError(`"${p}" is not a supported platform`);
    }
    let st: StageState;
    const other = findStage(this.b.model, image, stage.index);
    if (other) {
      const base = await this.results.get(other.index)!;
      st = { ...clone(base), cmdSet: false, args: new Map() };
      if (base.imageId) out(` ---> ${short(base.imageId)}\n`);
    } else if (image === 'scratch') {
      st = { diffIds: [], history: [], config: { Env: [DEFAULT_PATH] }, cmdSet: false, args: new Map() };
    } else {
      const img = await this.baseImage(image, out);
      st = fromImage(img);
      out(` ---> ${short(img.id)}\n`);
      const triggers = img.config.config?.OnBuild ?? [];
      if (triggers.length) {
        out(`# Executing ${triggers.length} build trigger${triggers.length > 1 ? 's' : ''}\n`);
        for (const t of triggers) {
          const node = parseDockerfile(t, this.b.file).nodes[0];
          if (!node) continue;
          await this.step(st, toInstruction(node, this.b.file, esc), out);
        }
        st.config.OnBuild = null;
      }
    }
    for (const ins of stage.instructions) {
      out(`Step ${this.stepNo.get(ins)}/${this.total} : ${ins.node.original}\n`);
      const t0 = Date.now();
      await this.step(st, ins, out);
      this.d.log('debug', `build step ${this.stepNo.get(ins)}/${this.total} ${ins.kind}: ${Date.now() - t0} ms`);
    }
    let n = this.total - labels.length;
    for (const k of labels) {
      out(`Step ${++n}/${this.total} : LABEL ${JSON.stringify(k)}=${JSON.stringify(this.req.labels[k])}\n`);
      st.config.Labels = { ...(st.config.Labels ?? {}), [k]: this.req.labels[k]! };
      await this.metaStep(st, `LABEL ${JSON.stringify(k)}=${JSON.stringify(this.req.labels[k])}`, out);
    }
    return st;
  }

  /** FROM's image: the local one, or pulled when missing (always with --pull), as the classic builder does. */
  private async baseImage(name: string, out: Out): Promise<ImageRecord> {
    const local = this.d.images.find(name);
    if (local && !this.req.pull) return local;
    let ref: Reference;
    try { ref = parseReference(name); } catch { throw new BuildError(`invalid reference format: repository name must be lowercase`); }
    if (!ref.digest) ref = withDefaultTag(ref);
    if (!this.d.pull) {
      if (local) return local;
      throw new BuildError(`pull access denied for ${familiarString(ref).replace(/:[^:/]*$/, '')}, repository does not exist or may require 'docker login'`);
    }
    const id = await this.d.pull(ref, this.req.registryAuth?.[ref.domain], ({ aux: _aux, ...m }) => out(m)).catch((e: unknown) => {
      throw new BuildError((e as Error).message);
    });
    const img = this.d.images.find(id);
    if (!img) throw new BuildError(`No such image: ${name}`);
    return img;
  }

  /** Variables for expansion: the config's Env over the declared ARGs. */
  private expansionEnv(st: StageState): Map<string, string> {
    const m = new Map<string, string>();
    for (const [k, v] of st.args) if (v !== undefined) m.set(k, v);
    for (const e of st.config.Env ?? []) {
      const i = e.indexOf('=');
      if (i > 0) m.set(e.slice(0, i), e.slice(i + 1));
    }
    return m;
  }

  /** Build args a RUN sees as environment (not overridden by ENV), sorted `k=v`. */
  private runArgs(st: StageState): { shown: string[]; all: string[] } {
    const envKeys = new Set((st.config.Env ?? []).map((e) => e.split('=')[0]!));
    const shown: string[] = [];
    for (const [k, v] of st.args) if (v !== undefined && !envKeys.has(k)) shown.push(`${k}=${v}`);
    const all = [...shown];
    for (const k of PROXY_ARGS) {
      const v = this.buildArg(k);
      if (v !== undefined && !st.args.has(k) && !envKeys.has(k)) all.push(`${k}=${v}`);
    }
    return { shown: shown.sort(), all };
  }

  private shell(st: StageState): string[] {
    return st.config.Shell?.length ? st.config.Shell : DEFAULT_SHELL;
  }

  // ---- steps ----

  private async step(st: StageState, ins: Instruction, out: (s: string) => void): Promise<void> {
    const esc = this.b.model.escape;
    const env = this.expansionEnv(st);
    const word = (s: string): string => processWord(s, env, esc);
    const c = st.config;
    switch (ins.kind) {
      case 'ENV': {
        const pairs = ins.pairs.map(([k, v]) => [word(k), word(v)] as const);
        const list = [...(c.Env ?? [])];
        for (const [k, v] of pairs) {
          const i = list.findIndex((e) => e.split('=')[0] === k);
          if (i >= 0) list[i] = `${k}=${v}`; else list.push(`${k}=${v}`);
        }
        c.Env = list;
        return this.metaStep(st, `ENV ${pairs.map(([k, v]) => `${k}=${v}`).join(' ')}`, out);
      }
      case 'LABEL': {
        const pairs = ins.pairs.map(([k, v]) => [word(k), word(v)] as const);
        c.Labels = { ...(c.Labels ?? {}) };
        for (const [k, v] of pairs) c.Labels[k] = v;
        return this.metaStep(st, `LABEL ${pairs.map(([k, v]) => `${k}=${v}`).join(' ')}`, out);
      }
      case 'ARG': {
        const shown: string[] = [];
        for (const { name, value } of ins.args) {
          const dflt = value === undefined ? undefined : word(value);
          const given = this.buildArg(name);
          if (given !== undefined || name in this.req.buildArgs) this.consumed.add(name);
          st.args.set(name, given ?? dflt ?? this.metaArgs.get(name));
          shown.push(dflt === undefined ? name : `${name}=${dflt}`);
        }
        return this.metaStep(st, `ARG ${shown.join(' ')}`, out);
      }
      case 'CMD': case 'ENTRYPOINT': {
        const argv = ins.json ? ins.args : [...this.shell(st), ins.args[0] ?? ''];
        if (ins.kind === 'CMD') { c.Cmd = argv; st.cmdSet = true; } else {
          c.Entrypoint = argv;
          if (!st.cmdSet) c.Cmd = null;
        }
        return this.metaStep(st, `${ins.kind} ${goQuoteSlice(argv)}`, out);
      }
      case 'EXPOSE': {
        const ports = ins.values.flatMap((v) => processWords(v, env, esc));
        c.ExposedPorts = { ...(c.ExposedPorts ?? {}) };
        for (const p of ports) for (const k of expandPort(p)) c.ExposedPorts[k] = {};
        return this.metaStep(st, `EXPOSE ${ports.join(' ')}`, out);
      }
      case 'VOLUME': {
        const vols = ins.values.map(word);
        c.Volumes = { ...(c.Volumes ?? {}) };
        for (const v of vols) {
          if (!v.trim()) throw new BuildError('VOLUME specified can not be an empty string');
          c.Volumes[v] = {};
        }
        return this.metaStep(st, `VOLUME [${vols.join(' ')}]`, out);
      }
      case 'USER': c.User = word(ins.value); return this.metaStep(st, `USER ${c.User}`, out);
      case 'STOPSIGNAL': {
        const sig = word(ins.value);
        try { parseSignal(sig); } catch { throw new BuildError(`Invalid signal: ${sig}`); }
        c.StopSignal = sig;
        return this.metaStep(st, `STOPSIGNAL ${sig}`, out);
      }
      case 'MAINTAINER': st.author = ins.value; return this.metaStep(st, `MAINTAINER ${ins.value}`, out);
      case 'SHELL': c.Shell = ins.shell; return this.metaStep(st, `SHELL [${ins.shell.join(' ')}]`, out);
      case 'ONBUILD': c.OnBuild = [...(c.OnBuild ?? []), ins.trigger]; return this.metaStep(st, `ONBUILD ${ins.trigger}`, out);
      case 'HEALTHCHECK': {
        if (ins.test[0] === 'NONE') c.Healthcheck = { Test: ['NONE'] };
        else {
          const h: NonNullable<ContainerConfigWire['Healthcheck']> = { Test: ins.test };
          if (ins.interval) h.Interval = ins.interval;
          if (ins.timeout) h.Timeout = ins.timeout;
          if (ins.startPeriod) h.StartPeriod = ins.startPeriod;
          if (ins.startInterval) (h as Record<string, unknown>).StartInterval = ins.startInterval;
          if (ins.retries) h.Retries = ins.retries;
          c.Healthcheck = h;
        }
        const hc = c.Healthcheck as { Test: string[]; Interval?: number; Timeout?: number; StartPeriod?: number; Retries?: number };
        const q = `&{${goQuoteSlice(hc.Test)} "${formatDuration(hc.Interval ?? 0)}" "${formatDuration(hc.Timeout ?? 0)}" "${formatDuration(hc.StartPeriod ?? 0)}" '\\x${(hc.Retries ?? 0).toString(16).padStart(2, '0')}'}`;
        return this.metaStep(st, `HEALTHCHECK ${q}`, out);
      }
      case 'WORKDIR': return this.workdir(st, word(ins.value), out);
      case 'RUN': return this.runStep(st, ins, out);
      case 'COPY': case 'ADD': return this.copyStep(st, ins, env, out);
      case 'FROM': throw new BuildError('FROM is not allowed here');
    }
  }

  private async cached(st: StageState, key: string, out: (s: string) => void): Promise<boolean> {
    if (this.req.noCache) return false;
    const id = await this.cache.get(key);
    const img = id ? this.d.images.find(id) : undefined;
    if (!img) return false;
    out(' ---> Using cache\n');
    out(` ---> ${short(img.id)}\n`);
    Object.assign(st, fromImage(img), { cmdSet: st.cmdSet, args: st.args, author: st.author });
    return true;
  }

  private async metaStep(st: StageState, comment: string, out: (s: string) => void): Promise<void> {
    const createdBy = `${this.shell(st).join(' ')} #(nop)  ${comment}`;
    const key = stepKey({ parent: st.imageId ?? 'scratch', createdBy, config: cleanConfig(st.config) });
    if (await this.cached(st, key, out)) return;
    const fake = randomBytes(6).toString('hex');
    out(` ---> Running in ${fake}\n`);
    out(`Removing intermediate container ${fake}\n`);
    const id = await this.commit(st, { createdBy, empty: true, key });
    out(` ---> ${short(id)}\n`);
  }

  private async commit(st: StageState, step: { createdBy: string; empty: boolean; diffId?: string; key: string | undefined }): Promise<string> {
    const created = new Date().toISOString();
    if (step.diffId) st.diffIds = [...st.diffIds, step.diffId];
    st.history = [...st.history, { created, created_by: step.createdBy, ...(step.empty ? { empty_layer: true } : {}) }];
    const cfg: ContainerConfigWire = cleanConfig(st.config);
    if (st.imageId) cfg.Image = st.imageId;
    const config: ImageConfigFile = {
      architecture: hostArch(),
      os: 'linux',
      created,
      ...(st.author ? { author: st.author } : {}),
      config: cfg,
      rootfs: { type: 'layers', diff_ids: st.diffIds },
      history: st.history,
    };
    const img = await this.d.images.addImage({ config, parent: st.imageId });
    st.imageId = img.id;
    if (step.key) await this.cache.set(step.key, img.id);
    return img.id;
  }

  /**
   * Mounts the stage's rootfs as a read-only view, lets fn write a new layer beside it
   * (LayerStage), and commits that directory as the layer: its tar is hashed and stored in
   * one pass and the directory itself becomes the unpacked layer.
   */
  private async withStage<T>(st: StageState, fn: (stage: LayerStage) => Promise<T>, commit: (r: T) => boolean, opts: { detached?: boolean } = {}): Promise<{ diffId?: string; result: T }> {
    const key = `build-${randomBytes(12).toString('hex')}`;
    const view = join(this.d.tmpDir, key);
    const stageDir = join(this.d.tmpDir, `${key}-layer`);
    const chain = chainIds(st.diffIds);
    await mkdir(stageDir, { recursive: true, mode: 0o755 });
    await chmod(stageDir, 0o755);
    try {
      let result: T;
      let linked: Set<string>;
      let bodies: Map<string, Buffer> | undefined;
      const release = await this.mountView(chain, view);
      try {
        // COPY --link: paths resolve in an empty tree (the layer does not depend on what is below)
        let lookIn = view;
        if (opts.detached) { lookIn = `${view}-empty`; await mkdir(lookIn, { recursive: true }); }
        const stage = new LayerStage(lookIn, stageDir, await this.links.inImage(chain), view);
        result = await fn(stage);
        linked = stage.linked;
        bodies = stage.bodies;
      } finally {
        await release();
        if (opts.detached) await rm(`${view}-empty`, { recursive: true, force: true }).catch(() => {});
      }
      if (!commit(result)) return { result };
      let size = 0;
      const knownBody = (path: string): Buffer | undefined => bodies?.get(path);
      const tar = packTar(countBytes(walkDirectory(stageDir, { overlayWhiteouts: true, knownBody }), (n) => { size += n; }));
      const { diffId, chainId } = await this.d.images.addLayerDir(stageDir, tar, () => size, chain.at(-1));
      await this.links.record(chainId, linked);
      return { diffId, result };
    } finally {
      await rm(stageDir, { recursive: true, force: true }).catch(() => {});
    }
  }

  /**
   * An image's layers mounted at `target` for reading (read-only where the snapshotter can:
   * nothing to sync at unmount); resolves with the function that undoes it. `writable` gives
   * a throwaway snapshot instead (writes are dropped).
   */
  private async mountView(chain: string[], target: string, writable = false): Promise<() => Promise<void>> {
    const sn = this.d.snapshotter;
    if (sn.mountReadOnly && !writable) {
      await sn.mountReadOnly(chain, target);
      return async () => { await sn.unmount(target); await rm(target, { recursive: true, force: true }).catch(() => {}); };
    }
    const key = `build-${randomBytes(12).toString('hex')}`;
    await sn.prepare(key);
    try {
      await sn.mount(key, chain, target);
    } catch (e) {
      await sn.remove(key).catch(() => {});
      throw e;
    }
    return async () => {
      await sn.unmount(target);
      await rm(target, { recursive: true, force: true }).catch(() => {});
      await sn.remove(key).catch(() => {});
    };
  }

  /** Reads from another image's filesystem (COPY --from). */
  private async withImageRoot<T>(diffIds: string[], fn: (rootfs: string) => Promise<T>): Promise<T> {
    const rootfs = join(this.d.tmpDir, `build-${randomBytes(12).toString('hex')}`);
    const release = await this.mountView(chainIds(diffIds), rootfs);
    try { return await fn(rootfs); } finally { await release(); }
  }

  private async workdir(st: StageState, dir: string, out: (s: string) => void): Promise<void> {
    const wd = posix.resolve(st.config.WorkingDir || '/', dir);
    st.config.WorkingDir = wd;
    const createdBy = `${this.shell(st).join(' ')} #(nop) WORKDIR ${wd}`;
    const key = stepKey({ parent: st.imageId ?? 'scratch', createdBy, config: cleanConfig(st.config) });
    if (await this.cached(st, key, out)) return;
    const fake = randomBytes(6).toString('hex');
    out(` ---> Running in ${fake}\n`);
    const { diffId } = await this.withStage(st, async (stage) => {
      if (await stage.isDir(wd)) return false;
      await stage.mkdirp(wd);
      return true;
    }, (made) => made);
    out(`Removing intermediate container ${fake}\n`);
    const id = await this.commit(st, { createdBy, empty: !diffId, diffId, key });
    out(` ---> ${short(id)}\n`);
  }

  private async runStep(st: StageState, ins: ExecInstr, out: (s: string) => void): Promise<void> {
    const shell = this.shell(st);
    let argv: string[];
    if (ins.json) argv = ins.args;
    else {
      let script = ins.args[0] ?? '';
      if (ins.heredocs.length) {
        const only = /^<<-?\s*(["']?)([A-Za-z_][A-Za-z0-9_.-]*)\1$/.exec(script.trim());
        script = only && ins.heredocs.length === 1
          ? ins.heredocs[0]!.content
          : `${script}\n${ins.heredocs.map((h) => `${h.content}${h.name}`).join('\n')}\n`;
      }
      argv = [...shell, script];
    }
    const { shown, all } = this.runArgs(st);
    const createdBy = (shown.length ? `|${shown.length} ${shown.join(' ')} ` : '') + argv.join(' ');
    const mounts = (ins.mounts ?? []).map((spec) => {
      try { return parseRunMount(processWord(spec, this.expansionEnv(st), this.b.model.escape)); } catch (e) { throw new BuildError(`failed to parse --mount=${spec}: ${(e as Error).message}`); }
    });
    const key = stepKey({ parent: st.imageId ?? 'scratch', createdBy, config: cleanConfig(st.config), ...(mounts.length ? { sources: await this.mountsKey(mounts) } : {}) });
    if (await this.cached(st, key, out)) return;
    if (!st.imageId) throw new BuildError('Please provide a source image with `from` prior to run');
    const mounted = await this.prepareMounts(mounts);
    try {
      await this.runContainer(st, ins, argv, all, createdBy, key, mounted.wire, mounts, out);
    } finally {
      await mounted.release();
    }
  }

  private async runContainer(st: StageState, ins: ExecInstr, argv: string[], all: string[], createdBy: string, key: string, mountWire: MountWire[], mounts: RunMount[], out: (s: string) => void): Promise<void> {
    const hostConfig: HostConfigWire = {
      ...this.req.hostConfig,
      NetworkMode: ins.network === 'none' ? 'none' : ins.network === 'host' ? 'host' : (this.req.networkMode || 'default'),
      ...(this.req.extraHosts.length ? { ExtraHosts: this.req.extraHosts } : {}),
      LogConfig: { Type: 'json-file', Config: {} },
      ...(mountWire.length ? { Mounts: mountWire } : {}),
    };
    const { id } = await this.d.containers.create({
      Image: st.imageId,
      Cmd: argv,
      Entrypoint: [''],
      Env: [...(st.config.Env ?? []), ...all],
      WorkingDir: st.config.WorkingDir ?? '',
      User: st.config.User ?? '',
      Labels: {},
      HostConfig: hostConfig,
    }, undefined, undefined, { throwaway: true });
    out(` ---> Running in ${id.slice(0, 12)}\n`);
    let code: number;
    try {
      const exited = this.d.containers.waitFor(id, 'next-exit');
      await this.d.containers.start(id);
      for await (const e of this.d.containers.logs(id, { follow: true, stdout: true, stderr: true })) {
        const text = e.data.toString('utf8');
        out(e.stream === 'stderr' ? `\u001b[91m${text}\u001b[0m` : text);
      }
      code = await exited;
    } catch (e) {
      await this.d.containers.remove(id, { force: true, volumes: true }).catch(() => {});
      throw e;
    }
    if (code !== 0) {
      await this.d.containers.remove(id, { force: true, volumes: true }).catch(() => {});
      throw new BuildError(`The command '${argv.join(' ')}' returned a non-zero code: ${code}`, code);
    }
    let diffId: string;
    try {
      // the mount points runc made for RUN --mount targets are not part of the layer
      const stubs = new Set(mounts.map((m) => posix.resolve('/', m.target).slice(1)));
      const keep = (name: string, s: { isFile(): boolean; isDirectory(): boolean; size: number }): boolean =>
        runtimeArtifact(name, s) && !(stubs.has(name.replace(/^\.?\//, '')) && ((s.isFile() && s.size === 0) || s.isDirectory()));
      // a RUN under --userns-remap wrote through its mapping: the layer gets the ids it saw
      const m = this.d.containers.get(id).userns;
      const owner = m ? { owner: (uid: number, gid: number) => ownerInContainer(m, uid, gid) } : {};
      ({ diffId } = await this.d.images.addLayer(packDirectory(this.d.upperDir(id), { overlayWhiteouts: true, filter: keep, ...owner }), chainIds(st.diffIds).at(-1)));
    } finally {
      await this.d.containers.remove(id, { force: true, volumes: true }).catch(() => {});
    }
    out(`Removing intermediate container ${id.slice(0, 12)}\n`);
    const img = await this.commit(st, { createdBy, empty: false, diffId, key });
    out(` ---> ${short(img)}\n`);
  }

  /** The part of a RUN's cache key that its mounts decide: their specs and what bind mounts show. */
  private async mountsKey(mounts: RunMount[]): Promise<string> {
    const h = createHash('sha256');
    for (const m of mounts) {
      h.update(JSON.stringify(m));
      if (m.type !== 'bind') continue;
      if (m.from) h.update(`from:${(await this.mountSource(m.from)).id}`);
      else h.update(`ctx:${this.b.ctx.checksum([this.contextPath(m.source)])}`);
    }
    return h.digest('hex');
  }

  private contextPath(source: string): string {
    const p = cleanPath(source || '.').replace(/^\/+/, '') || '.';
    if (p === '..' || p.startsWith('../')) throw new BuildError(`failed to compute cache key: ${source}: path outside the build context`);
    if (p !== '.' && !this.b.ctx.visible(p)) throw new BuildError(`failed to compute cache key: "/${p}" not found: not found`);
    return p;
  }

  /** A bind mount's `from`: a stage of this build or an image. */
  private async mountSource(from: string): Promise<{ id: string; diffIds: string[] }> {
    const ref = processWord(from, defined(this.metaArgs), this.b.model.escape);
    const stage = findStage(this.b.model, ref, Number.MAX_SAFE_INTEGER);
    if (stage) {
      const s = await this.results.get(stage.index);
      if (!s) throw new BuildError(`invalid from flag value ${ref}: stage not built`);
      return { id: s.imageId ?? 'scratch', diffIds: s.diffIds };
    }
    const img = this.d.images.find(ref) ?? this.d.images.find(await this.baseImage(ref, this.out).then((i) => i.id));
    if (!img) throw new BuildError(`invalid from flag value ${ref}: No such image`);
    return { id: img.id, diffIds: img.config.rootfs.diff_ids };
  }

  /**
   * Host sides of RUN --mount: bind from the context (a tree of hard links to the store when
   * read-only, of copies when writable: writes are thrown away either way), bind from a stage
   * or image (its rootfs mounted for the step), cache (a directory under <root>/build/cache
   * kept across builds; `locked` and `private` take turns), tmpfs.
   */
  private async prepareMounts(mounts: RunMount[]): Promise<{ wire: MountWire[]; release: () => Promise<void> }> {
    const wire: MountWire[] = [];
    const undo: Array<() => Promise<void>> = [];
    const release = async (): Promise<void> => { for (const u of undo.reverse()) await u().catch(() => {}); };
    try {
      for (const m of mounts) {
        const target = posix.resolve('/', m.target);
        if (m.type === 'tmpfs') {
          wire.push({ Type: 'tmpfs', Target: target, ...(m.size ? { TmpfsOptions: { SizeBytes: m.size } } : {}) });
        } else if (m.type === 'cache') {
          const dir = join(this.d.stateDir, 'cache', createHash('sha256').update(m.id || target).digest('hex').slice(0, 32));
          try { await lstat(dir); } catch {
            await mkdir(dir, { recursive: true });
            await chmod(dir, m.mode ?? 0o755);
            await chownPath(dir, m.uid ?? 0, m.gid ?? 0);
          }
          if (m.sharing !== 'shared') undo.push(await cacheLock(dir));
          cacheMountsInUse.set(dir, (cacheMountsInUse.get(dir) ?? 0) + 1);
          undo.push(async () => { const n = (cacheMountsInUse.get(dir) ?? 1) - 1; if (n > 0) cacheMountsInUse.set(dir, n); else cacheMountsInUse.delete(dir); });
          wire.push({ Type: 'bind', Source: dir, Target: target, ReadOnly: m.readonly });
        } else if (m.from) {
          const src = await this.mountSource(m.from);
          const root = join(this.d.tmpDir, `build-${randomBytes(12).toString('hex')}`);
          undo.push(await this.mountView(chainIds(src.diffIds), root, !m.readonly));
          const host = await resolveIn(root, posix.resolve('/', m.source || '/'));
          if (!(await exists(host))) throw new BuildError(`failed to compute cache key: "${posix.resolve('/', m.source || '/')}" not found: not found`);
          wire.push({ Type: 'bind', Source: host, Target: target, ReadOnly: m.readonly });
        } else {
          const p = this.contextPath(m.source);
          const dir = join(this.b.ctx.dir, `mount-${randomBytes(6).toString('hex')}`);
          undo.push(async () => { await rm(dir, { recursive: true, force: true }); });
          await mkdir(this.b.ctx.dir, { recursive: true, mode: 0o700 });
          await this.b.ctx.materialize(p, dir, !m.readonly);
          wire.push({ Type: 'bind', Source: dir, Target: target, ReadOnly: m.readonly });
        }
      }
    } catch (e) {
      await release();
      throw e;
    }
    return { wire, release };
  }

  private async copyStep(st: StageState, ins: CopyInstr, env: Map<string, string>, out: (s: string) => void): Promise<void> {
    const esc = this.b.model.escape;
    const ctx = this.b.ctx;
    const word = (s: string): string => processWord(s, env, esc);
    const rawDest = word(ins.dest);
    const destIsDirSyntax = rawDest.endsWith('/') || rawDest.endsWith('/.') || rawDest === '.';
    const dest = posix.resolve(st.config.WorkingDir || '/', rawDest);
    const heredocNames = new Map(ins.heredocs.map((h) => [h.name, h]));
    const inline: Array<{ name: string; content: string }> = [];
    const local: string[] = [];
    const urls: string[] = [];
    for (const raw of ins.sources) {
      const hd = /^<<-?\s*(["']?)([A-Za-z_][A-Za-z0-9_.-]*)\1$/.exec(raw);
      if (hd && heredocNames.has(hd[2]!)) {
        const h = heredocNames.get(hd[2]!)!;
        inline.push({ name: h.name, content: h.expand ? expandHeredoc(h.content, env, esc) : h.content });
        continue;
      }
      const src = word(raw);
      if (ins.kind === 'ADD' && /^https?:\/\//.test(src)) { urls.push(src); continue; }
      if (!ins.from) local.push(...ctx.match(src, ins.kind));
      else local.push(src);
    }
    const count = local.length + urls.length + inline.length;
    if (count > 1 && !destIsDirSyntax) throw new BuildError(`When using ${ins.kind} with more than one source file, the destination must be a directory and end with a /`);

    // sources from another stage or image
    let fromDiffIds: string[] | undefined;
    let fromId = '';
    if (ins.from) {
      const ref = processWord(ins.from, defined(this.metaArgs), esc);
      const stage = findStage(this.b.model, ref, Number.MAX_SAFE_INTEGER);
      if (stage) {
        const s = await this.results.get(stage.index);
        if (!s) throw new BuildError(`invalid from flag value ${ref}: stage not built`);
        fromDiffIds = s.diffIds; fromId = s.imageId ?? 'scratch';
      } else {
        const img = this.d.images.find(ref);
        if (!img) throw new BuildError(`invalid from flag value ${ref}: pull access denied for ${ref}, repository does not exist or may require 'docker login'`);
        fromDiffIds = img.config.rootfs.diff_ids; fromId = img.id;
      }
    }
    // downloads (ADD URL): fetched every time, the content decides the cache
    const downloads: Array<{ url: string; path: string; sum: string; name: string }> = [];
    for (const url of urls) downloads.push(await this.download(url));

    const h = createHash('sha256');
    if (ins.from) h.update(`from:${fromId}:${local.join('\0')}`);
    else h.update(ctx.checksum(local));
    for (const dl of downloads) h.update(`url:${dl.url}:${dl.sum}`);
    for (const i of inline) h.update(`inline:${i.name}:${i.content}`);
    const sum = h.digest('hex');
    const single = count === 1 && local.length === 1 && !ins.from ? ctx.entries.get(local[0]!) : undefined;
    const kindWord = count > 1 ? 'multi' : single?.type === 'dir' || local[0] === '.' ? 'dir' : 'file';
    const createdBy = `${this.shell(st).join(' ')} #(nop) ${ins.kind} ${ins.chown ? `--chown=${ins.chown} ` : ''}${ins.chmod ? `--chmod=${ins.chmod} ` : ''}${ins.link ? '--link ' : ''}${kindWord}:${sum} in ${rawDest} `;
    const key = stepKey({ parent: st.imageId ?? 'scratch', createdBy, config: cleanConfig(st.config), sources: sum });
    try {
      if (await this.cached(st, key, out)) return;
      const mode = ins.chmod ? parseMode(ins.chmod) : undefined;
      const { diffId } = await this.withStage(st, async (stage) => {
        // bytes known for packing only when context files are all this step writes
        if (ins.from || ins.kind === 'ADD' || downloads.length || inline.length) stage.bodies = undefined;
        const owner = ins.chown ? await chownIds(stage.image, word(ins.chown)) : { uid: 0, gid: 0 };
        const intoDir = destIsDirSyntax || count > 1 || await stage.isDir(dest);
        const target = async (name: string): Promise<string> => {
          if (intoDir) return join(await stage.mkdirp(dest), name);
          await stage.mkdirp(posix.dirname(dest));
          return stage.fileTarget(dest);
        };
        const extract = async (archive: string): Promise<void> => {
          const d = await stage.mkdirp(dest);
          await extractTar(readTar(maybeDecompress(createReadStream(archive))), d, { whiteouts: 'none', noOverwriteDirNonDir: true });
        };
        if (ins.from) {
          await this.withImageRoot(fromDiffIds!, async (srcRoot) => {
            for (const p of local) {
              const host = await resolveIn(srcRoot, posix.resolve('/', p));
              if (!(await exists(host))) throw new BuildError(`${ins.kind} failed: stat ${posix.resolve('/', p)}: file does not exist`);
              if (await isDirIn(srcRoot, posix.resolve('/', p))) await copyTree(host, await stage.mkdirp(dest, owner), { owner, mode }, '');
              else if (ins.kind === 'ADD' && await isArchive(host)) await extract(host);
              else await copyTree(host, await target(posix.basename(p)), { owner, mode });
            }
          });
        } else {
          for (const p of local) {
            const e = ctx.entries.get(p);
            const isDir = p === '.' || e?.type === 'dir';
            if (!isDir && ins.kind === 'ADD' && e?.type === 'file' && await isArchive(ctx.objectPath(e))) { await extract(ctx.objectPath(e)); continue; }
            const base = isDir ? await stage.mkdirp(dest, owner) : await target(posix.basename(p));
            await this.placeTree(stage, ctx.tree(p), base, owner, mode);
          }
        }
        for (const dl of downloads) {
          const t = await target(dl.name);
          await copyTree(dl.path, t, { owner, mode: mode ?? 0o600 });
        }
        for (const i of inline) {
          const t = await target(i.name);
          await writeFile(t, i.content, { mode: mode ?? 0o644 });
          const fh = await open(t, 'r'); await fh.chown(owner.uid, owner.gid); await fh.close();
        }
        return true;
      }, () => true, { detached: ins.link });
      const id = await this.commit(st, { createdBy, empty: false, diffId, key });
      out(` ---> ${short(id)}\n`);
    } finally {
      for (const dl of downloads) await rm(dl.path, { force: true }).catch(() => {});
    }
  }

  /** Puts context members (from BuildContext.tree) under a stage host path, files by hard link. */
  private async placeTree(stage: LayerStage, tree: Array<[string, ContextEntry]>, base: string, owner: { uid: number; gid: number }, mode: number | undefined): Promise<void> {
    const store = this.b.ctx.store;
    let batch: Array<Promise<void>> = [];
    const flush = async (): Promise<void> => { const b = batch; batch = []; await Promise.all(b); };
    const placeFile = async (to: string, e: ContextEntry): Promise<void> => {
      const meta: PlaceMeta = { mode: mode ?? e.mode, uid: owner.uid, gid: owner.gid, mtime: e.mtime };
      const name = meta.mode === e.mode && meta.uid === 0 && meta.gid === 0 ? e.obj! : await this.b.ctx.variant(e, meta);
      await stage.placeObject(name, store.path(name), to, meta, this.b.ctx.body(e.obj!));
    };
    for (const [rel, e] of tree) {
      const to = rel ? join(base, rel) : base;
      if (e.type === 'file') {
        batch.push(placeFile(to, e));
        if (batch.length >= 32) await flush();
        continue;
      }
      await flush();
      if (e.type === 'dir') await stage.placeDir(to, mode ?? e.mode, owner);
      else if (e.type === 'symlink') await stage.placeSymlink(to, e.sum, owner);
    }
    await flush();
  }

  private async download(url: string): Promise<{ url: string; path: string; sum: string; name: string }> {
    let res: Response;
    try { res = await fetch(url, { redirect: 'follow' }); } catch (e) {
      throw new BuildError(`failed to GET ${url}: ${(e as Error).message}`);
    }
    if (!res.ok) throw new BuildError(`failed to GET ${url} with status ${res.status} ${res.statusText}: ${(await res.text().catch(() => '')).slice(0, 200)}`);
    const buf = Buffer.from(await res.arrayBuffer());
    await mkdir(this.d.tmpDir, { recursive: true });
    const path = join(this.d.tmpDir, `dl-${randomBytes(8).toString('hex')}`);
    await writeFile(path, buf, { mode: 0o600 });
    let name = posix.basename(new URL(url).pathname);
    if (!name || name === '/') name = '__unnamed__';
    return { url, path, sum: createHash('sha256').update(buf).digest('hex'), name };
  }
}

// ---- helpers ----

const cacheLocks = new Map<string, Promise<void>>();
/** RUN --mount=type=cache directories mounted by running steps (prune leaves them). */
const cacheMountsInUse = new Map<string, number>();

/** Removes the cache mounts' directories no running step uses; returns the bytes freed. */
async function pruneCacheMounts(root: string): Promise<number> {
  let names: string[];
  try { names = await readdir(root); } catch { return 0; }
  let freed = 0;
  for (const n of names) {
    const dir = join(root, n);
    if (cacheMountsInUse.has(dir)) continue;
    freed += await dirSize(dir).catch(() => 0);
    await rm(dir, { recursive: true, force: true });
  }
  return freed;
}

/** Waits for the cache directory's turn; resolves with the function that ends it. */
async function cacheLock(dir: string): Promise<() => Promise<void>> {
  const before = cacheLocks.get(dir) ?? Promise.resolve();
  let done!: () => void;
  const mine = new Promise<void>((r) => { done = r; });
  const chained = before.then(() => mine);
  cacheLocks.set(dir, chained);
  await before;
  return async () => { done(); if (cacheLocks.get(dir) === chained) cacheLocks.delete(dir); };
}

async function chownPath(path: string, uid: number, gid: number): Promise<void> {
  const fh = await open(path, 'r');
  try { await fh.chown(uid, gid); } finally { await fh.close(); }
}

/** Passes tar entries through, adding up the file sizes (a layer's size as unpacked). */
async function* countBytes(entries: AsyncIterable<TarWriterEntry>, add: (n: number) => void): AsyncGenerator<TarWriterEntry> {
  for await (const e of entries) {
    if ((e.type ?? 'file') === 'file') add(e.size ?? 0);
    yield e;
  }
}

/**
 * Which context-store objects each build layer hard-links (`<dir>/<chain hex>`, one name a
 * line), so a later COPY onto that layer copies an object already in the image instead of
 * linking it again: two paths of one image never share an inode.
 */
class LayerLinks {
  private readonly known = new Map<string, Set<string>>();

  constructor(private readonly dir: string) {}

  private async of(chainId: string): Promise<Set<string>> {
    let s = this.known.get(chainId);
    if (!s) {
      const text = await readFile(join(this.dir, chainId.replace(/^sha256:/, '')), 'utf8').catch(() => '');
      s = new Set(text.split('\n').filter(Boolean));
      this.known.set(chainId, s);
    }
    return s;
  }

  async inImage(chain: readonly string[]): Promise<Set<string>> {
    const all = new Set<string>();
    for (const c of chain) for (const n of await this.of(c)) all.add(n);
    return all;
  }

  async record(chainId: string, linked: ReadonlySet<string>): Promise<void> {
    if (linked.size === 0) return;
    const s = await this.of(chainId);
    const before = s.size;
    for (const n of linked) s.add(n);
    if (s.size === before) return;
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await writeFile(join(this.dir, chainId.replace(/^sha256:/, '')), [...s].join('\n') + '\n');
  }
}

const short = (id: string): string => id.replace(/^sha256:/, '').slice(0, 12);
const defined = (m: Map<string, string | undefined>): Map<string, string> => new Map([...m].filter((e): e is [string, string] => e[1] !== undefined));
const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
const exists = async (p: string): Promise<boolean> => { try { await lstat(p); return true; } catch { return false; } };

function fromImage(img: ImageRecord): StageState {
  const config = clone(img.config.config ?? {});
  if (!(config.Env ?? []).some((e) => e.startsWith('PATH='))) config.Env = [...(config.Env ?? []), DEFAULT_PATH];
  return {
    imageId: img.id,
    diffIds: [...img.config.rootfs.diff_ids],
    history: clone(img.config.history ?? []),
    config,
    author: img.config.author,
    cmdSet: false,
    args: new Map(),
  };
}

/** The image's config without empty or per-container fields. */
function cleanConfig(c: ContainerConfigWire): ContainerConfigWire {
  const out: ContainerConfigWire = {};
  for (const [k, v] of Object.entries(c) as Array<[keyof ContainerConfigWire, unknown]>) {
    if (v === undefined || v === null || v === '' || v === false) continue;
    if (Array.isArray(v) && v.length === 0 && k !== 'Entrypoint' && k !== 'Cmd') continue;
    if (typeof v === 'object' && !Array.isArray(v) && Object.keys(v as object).length === 0) continue;
    (out as Record<string, unknown>)[k] = v;
  }
  delete out.Image;
  return out;
}

/** Go's %q of a []string: `["a" "b"]`. */
function goQuoteSlice(a: string[]): string {
  return `[${a.map((s) => JSON.stringify(s)).join(' ')}]`;
}

/** `80` → `80/tcp`; ranges expand: `8000-8001/udp` → two ports. */
function expandPort(p: string): string[] {
  const m = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$/i.exec(p);
  if (!m) throw new BuildError(`Invalid containerPort: ${p}`);
  const proto = (m[3] ?? 'tcp').toLowerCase();
  const a = Number(m[1]), b = m[2] ? Number(m[2]) : a;
  if (b < a || b > 65535) throw new BuildError(`Invalid range specified for the Port: ${p}`);
  const out: string[] = [];
  for (let i = a; i <= b; i++) out.push(`${i}/${proto}`);
  return out;
}

function parseMode(s: string): number {
  if (!/^[0-7]{1,4}$/.test(s)) throw new BuildError(`invalid chmod parameter: ${s}. it should be octal string`);
  return parseInt(s, 8);
}

async function chownIds(root: string, spec: string): Promise<{ uid: number; gid: number }> {
  const read = async (p: string): Promise<string | undefined> => { try { return await readFile(await resolveIn(root, p), 'utf8'); } catch { return undefined; } };
  const [user, group] = spec.split(':') as [string, string | undefined];
  const passwd = await read('/etc/passwd');
  const groups = await read('/etc/group');
  try {
    const r = resolveUser(group === undefined ? user : `${user}:${group}`, { passwd, group: groups });
    // moby: `--chown=user` alone uses the user's uid for the group too when numeric
    const gid = group === undefined && /^\d+$/.test(user) ? r.user.uid : r.user.gid;
    return { uid: r.user.uid, gid };
  } catch (e) {
    throw new BuildError(`unable to convert uid/gid chown string to host mapping: ${(e as Error).message}`);
  }
}

async function isArchive(path: string): Promise<boolean> {
  try {
    let head = Buffer.alloc(0);
    for await (const c of maybeDecompress(createReadStream(path, { end: 1 << 20 }))) {
      head = Buffer.concat([head, c]);
      if (head.length >= 512) break;
    }
    return head.length >= 512 && head.subarray(257, 262).toString('latin1') === 'ustar';
  } catch {
    return false;
  }
}

function expandHeredoc(content: string, env: Map<string, string>, esc: string): string {
  // variables only: quotes and escapes in a heredoc body are kept
  return content.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?[-+][^}]*)?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (m) => {
    try { return processWord(m, env, esc); } catch { return m; }
  });
}

/** Mount points runc makes in an upper dir when the image lacks them; not part of a RUN's changes. */
function runtimeArtifact(name: string, st: { isFile(): boolean; size: number }): boolean {
  const n = name.replace(/^\.?\//, '');
  if ((n === 'etc/hosts' || n === 'etc/hostname' || n === 'etc/resolv.conf') && st.isFile() && st.size === 0) return false;
  return true;
}

