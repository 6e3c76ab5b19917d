/**
 * The instruction model: each parsed node checked and turned into a typed instruction
 * (words still unexpanded), and the stages of a multi-stage Dockerfile with their
 * dependencies.
 */
import { atLine, DockerfileError } from './errors.js';
import { parseDockerfile, type Heredoc, type Node } from './parser.js';

interface Base { node: Node }
export interface FromInstr extends Base { kind: 'FROM'; image: string; stageName?: string; platform?: string }
export interface ExecInstr extends Base {
  kind: 'RUN' | 'CMD' | 'ENTRYPOINT'; json: boolean; args: string[]; heredocs: Heredoc[]; network?: string;
  /** RUN --mount (BuildKit syntax), words unexpanded */
  mounts?: string[];
}

/** One `RUN --mount=…` (BuildKit's syntax: comma-separated key=value). */
export interface RunMount {
  type: 'bind' | 'cache' | 'tmpfs';
  target: string;
  /** bind: path in the context or in `from`; cache: path in `from` (not supported) */
  source: string;
  /** bind: a stage or image to read from */
  from?: string;
  /** cache: the cache's name (default: the target) */
  id?: string;
  readonly: boolean;
  sharing: 'shared' | 'private' | 'locked';
  mode?: number;
  uid?: number;
  gid?: number;
  /** tmpfs: bytes */
  size?: number;
}

/** Parses one --mount value (already expanded). Throws a DockerfileError on bad input. */
export function parseRunMount(spec: string): RunMount {
  let type = 'bind';
  const kv: Array<[string, string | undefined]> = [];
  for (const field of spec.split(',')) {
    if (!field) continue;
    const eq = field.indexOf('=');
    const k = (eq < 0 ? field : field.slice(0, eq)).trim().toLowerCase();
    const v = eq < 0 ? undefined : field.slice(eq + 1);
    if (k === 'type') type = (v ?? '').toLowerCase(); else kv.push([k, v]);
  }
  if (type === 'secret' || type === 'ssh') throw new DockerfileError(`mount type "${type}" is not supported: pier's builder gets no secrets or ssh agents over the classic build API`);
  if (type !== 'bind' && type !== 'cache' && type !== 'tmpfs') throw new DockerfileError(`unsupported mount type "${type}"`);
  const m: RunMount = { type, target: '', source: '', readonly: type === 'bind', sharing: 'shared' };
  const bool = (k: string, v: string | undefined): boolean => {
    if (v === undefined || v === '' || v === 'true') return true;
    if (v === 'false') return false;
    throw new DockerfileError(`invalid value for ${k}: ${v}`);
  };
  const int = (k: string, v: string | undefined, base = 10): number => {
    const n = v !== undefined && /^[0-9]+$/.test(v) ? parseInt(v, base) : NaN;
    if (Number.isNaN(n)) throw new DockerfileError(`invalid value for ${k}: ${v}`);
    return n;
  };
  for (const [k, v] of kv) {
    switch (k) {
      case 'target': case 'dst': case 'destination': m.target = v ?? ''; break;
      case 'source': case 'src': m.source = v ?? ''; break;
      case 'from': m.from = v; break;
      case 'id': m.id = v; break;
      case 'readonly': case 'ro': m.readonly = bool(k, v); break;
      case 'readwrite': case 'rw': m.readonly = !bool(k, v); break;
      case 'sharing':
        if (v !== 'shared' && v !== 'private' && v !== 'locked') throw new DockerfileError(`unsupported sharing value "${v}"`);
        m.sharing = v; break;
      case 'mode': m.mode = int(k, v, 8); break;
      case 'uid': m.uid = int(k, v); break;
      case 'gid': m.gid = int(k, v); break;
      case 'size': {
        const s = /^([0-9]+)([kmg]?)b?$/i.exec(v ?? '');
        if (!s) throw new DockerfileError(`invalid value for size: ${v}`);
        m.size = Number(s[1]) * ({ '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 } as Record<string, number>)[s[2]!.toLowerCase()]!;
        break;
      }
      case 'required': case 'env': break;
      default: throw new DockerfileError(`unexpected key '${k}' in '${spec}'`);
    }
  }
  if (!m.target) throw new DockerfileError('mount target must be specified');
  if (type === 'cache' && m.from) throw new DockerfileError('cache mounts with from= are not supported by pier\'s builder');
  return m;
}
export interface KvInstr extends Base { kind: 'ENV' | 'LABEL'; pairs: Array<[string, string]> }
export interface ArgInstr extends Base { kind: 'ARG'; args: Array<{ name: string; value?: string }> }
export interface ListInstr extends Base { kind: 'EXPOSE' | 'VOLUME'; values: string[] }
export interface WordInstr extends Base { kind: 'USER' | 'WORKDIR' | 'STOPSIGNAL' | 'MAINTAINER'; value: string }
export interface CopyInstr extends Base {
  kind: 'COPY' | 'ADD';
  sources: string[];
  dest: string;
  from?: string;
  chown?: string;
  chmod?: string;
  /** COPY --link */
  link?: boolean;
  heredocs: Heredoc[];
}
export interface OnbuildInstr extends Base { kind: 'ONBUILD'; trigger: string }
export interface HealthInstr extends Base {
  kind: 'HEALTHCHECK';
  /** ['NONE'] or ['CMD', ...] / ['CMD-SHELL', cmd] */
  test: string[];
  interval?: number; timeout?: number; startPeriod?: number; startInterval?: number; retries?: number;
}
export interface ShellInstr extends Base { kind: 'SHELL'; shell: string[] }

export type Instruction = FromInstr | ExecInstr | KvInstr | ArgInstr | ListInstr | WordInstr | CopyInstr | OnbuildInstr | HealthInstr | ShellInstr;

export interface Stage {
  index: number;
  /** lower-cased `AS` name */
  name?: string;
  from: FromInstr;
  instructions: Instruction[];
}

export interface DockerfileModel {
  escape: string;
  /** ARGs before the first FROM. */
  metaArgs: ArgInstr[];
  stages: Stage[];
}

/** Splits on whitespace outside quotes; quotes and escapes are kept (moby parseWords). */
export function splitWords(s: string, esc = '\\'): string[] {
  const out: string[] = [];
  let cur = '', quote = '', inWord = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (!quote && /\s/.test(c)) { if (inWord) out.push(cur); cur = ''; inWord = false; continue; }
    inWord = true;
    if (c === esc && i + 1 < s.length && quote !== "'") { cur += c + s[i + 1]; i++; continue; }
    if (quote) { if (c === quote) quote = ''; } else if (c === '"' || c === "'") quote = c;
    cur += c;
  }
  if (inWord) out.push(cur);
  return out;
}

/** Every value of a repeatable flag (`--mount` may be given more than once). */
function flagValues(node: Node, name: string): string[] {
  return node.flags.filter((f) => f.startsWith(`--${name}=`)).map((f) => f.slice(name.length + 3));
}

function flagMap(node: Node, file: string, allowed: string[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const f of node.flags) {
    const eq = f.indexOf('=');
    const name = eq < 0 ? f.slice(2) : f.slice(2, eq);
    if (!allowed.includes(name)) throw atLine(file, node.line, `unknown flag: ${name}`);
    m.set(name, eq < 0 ? 'true' : f.slice(eq + 1));
  }
  return m;
}

/** Go's time.ParseDuration, in nanoseconds. */
export function parseDuration(s: string): number {
  if (s === '0') return 0;
  const re = /([0-9]*\.?[0-9]+)(ns|us|µs|ms|s|m|h)/gy;
  const unit: Record<string, number> = { ns: 1, us: 1e3, 'µs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
  let total = 0, pos = 0, m: RegExpExecArray | null;
  while ((m = re.exec(s))) { total += Number(m[1]) * unit[m[2]!]!; pos = re.lastIndex; }
  if (pos !== s.length || s === '') throw new DockerfileError(`time: invalid duration "${s}"`);
  return Math.round(total);
}

/** Go's time.Duration.String() for nanoseconds. */
export function formatDuration(ns: number): string {
  if (ns === 0) return '0s';
  if (ns < 1e3) return `${ns}ns`;
  if (ns < 1e6) return `${trim(ns / 1e3)}µs`;
  if (ns < 1e9) return `${trim(ns / 1e6)}ms`;
  let s = ns / 1e9;
  const h = Math.floor(s / 3600); s -= h * 3600;
  const m = Math.floor(s / 60); s -= m * 60;
  return `${h ? `${h}h` : ''}${h || m ? `${m}m` : ''}${trim(s)}s`;
}
const trim = (n: number): string => String(Number(n.toFixed(9)));

const execArgs = (n: Node): { json: boolean; args: string[] } =>
  n.json ? { json: true, args: n.json } : { json: false, args: n.rest === '' ? [] : [n.rest] };

export function toInstruction(node: Node, file = 'Dockerfile', esc = '\\'): Instruction {
  const err = (msg: string): DockerfileError => atLine(file, node.line, msg);
  const words = (): string[] => splitWords(node.rest, esc);
  const noFlags = (): void => { flagMap(node, file, []); };
  switch (node.cmd) {
    case 'FROM': {
      const f = flagMap(node, file, ['platform']);
      const w = words();
      if (w.length === 3 && w[1]!.toLowerCase() === 'as') {
        const name = w[2]!.toLowerCase();
        if (!/^[a-z][a-z0-9-_.]*$/.test(name)) throw err(`invalid name for build stage: "${w[2]}", name can't start with a number or contain symbols`);
        return { kind: 'FROM', node, image: w[0]!, stageName: name, platform: f.get('platform') };
      }
      if (w.length !== 1) throw err('FROM requires either one or three arguments');
      return { kind: 'FROM', node, image: w[0]!, platform: f.get('platform') };
    }
    case 'RUN': {
      const f = flagMap(node, file, ['network', 'mount', 'security']);
      const a = execArgs(node);
      if (a.args.length === 0 && !node.heredocs.length) throw err('RUN requires at least one argument');
      const mounts = flagValues(node, 'mount');
      return { kind: 'RUN', node, ...a, heredocs: node.heredocs, network: f.get('network'), ...(mounts.length ? { mounts } : {}) };
    }
    case 'CMD': case 'ENTRYPOINT':
      noFlags();
      return { kind: node.cmd, node, ...execArgs(node), heredocs: [] };
    case 'ENV': case 'LABEL': {
      noFlags();
      const w = words();
      if (w.length === 0) throw err(`${node.cmd} requires at least one argument`);
      const pairs: Array<[string, string]> = [];
      if (!w[0]!.includes('=')) {
        // legacy `ENV key value with spaces`
        const m = /^(\S+)\s+([\s\S]*)$/.exec(node.rest);
        if (!m) throw err(`${node.cmd} must have two arguments`);
        pairs.push([m[1]!, m[2]!.trim()]);
      } else {
        for (const kv of w) {
          const eq = kv.indexOf('=');
          if (eq < 0) throw err(`Syntax error - can't find = in "${kv}". Must be of the form: name=value`);
          if (eq === 0) throw err(`${node.cmd} names can not be blank`);
          pairs.push([kv.slice(0, eq), kv.slice(eq + 1)]);
        }
      }
      return { kind: node.cmd, node, pairs };
    }
    case 'ARG': {
      noFlags();
      const w = words();
      if (w.length === 0) throw err('ARG requires at least one argument');
      return {
        kind: 'ARG', node, args: w.map((a) => {
          const eq = a.indexOf('=');
          return eq < 0 ? { name: a } : { name: a.slice(0, eq), value: a.slice(eq + 1) };
        }),
      };
    }
    case 'EXPOSE': {
      noFlags();
      const w = words();
      if (w.length === 0) throw err('EXPOSE requires at least one argument');
      return { kind: 'EXPOSE', node, values: w };
    }
    case 'VOLUME': {
      noFlags();
      const v = node.json ?? words();
      if (v.length === 0) throw err('VOLUME requires at least one argument');
      return { kind: 'VOLUME', node, values: v };
    }
    case 'USER': case 'WORKDIR': case 'STOPSIGNAL': case 'MAINTAINER': {
      noFlags();
      if (node.rest === '') throw err(`${node.cmd} requires exactly one argument`);
      if (node.cmd !== 'MAINTAINER' && words().length !== 1) throw err(`${node.cmd} requires exactly one argument`);
      return { kind: node.cmd, node, value: node.rest };
    }
    case 'COPY': case 'ADD': {
      const f = flagMap(node, file, node.cmd === 'COPY' ? ['from', 'chown', 'chmod', 'link', 'parents', 'exclude'] : ['chown', 'chmod', 'link', 'checksum', 'keep-git-dir', 'exclude', 'from']);
      if (node.cmd === 'ADD' && f.has('from')) throw err('ADD does not support the --from flag');
      const w = node.json ?? words();
      if (w.length < 2) throw err(`${node.cmd} requires at least two arguments, but only one was provided. Destination could not be determined.`);
      return { kind: node.cmd, node, sources: w.slice(0, -1), dest: w[w.length - 1]!, from: f.get('from'), chown: f.get('chown'), chmod: f.get('chmod'), ...(f.has('link') && f.get('link') !== 'false' ? { link: true } : {}), heredocs: node.heredocs };
    }
    case 'ONBUILD': {
      const t = node.rest.trim();
      const first = (/^\S+/.exec(t)?.[0] ?? '').toUpperCase();
      if (!first) throw err('ONBUILD requires at least one argument');
      if (first === 'ONBUILD') throw err('Chaining ONBUILD via `ONBUILD ONBUILD` isn\'t allowed');
      if (first === 'FROM' || first === 'MAINTAINER') throw err(`${first} isn't allowed as an ONBUILD trigger`);
      return { kind: 'ONBUILD', node, trigger: t };
    }
    case 'HEALTHCHECK': {
      const f = flagMap(node, file, ['interval', 'timeout', 'start-period', 'start-interval', 'retries']);
      const m = /^(\S+)\s*([\s\S]*)$/.exec(node.rest);
      if (!m) throw err('HEALTHCHECK requires at least one argument');
      const typ = m[1]!.toUpperCase();
      if (typ === 'NONE') {
        if (m[2]!.trim()) throw err('HEALTHCHECK NONE takes no arguments');
        return { kind: 'HEALTHCHECK', node, test: ['NONE'] };
      }
      if (typ !== 'CMD') throw err(`Unknown type "${m[1]}" in HEALTHCHECK (try CMD)`);
      const restArgs = m[2]!.trim();
      let test: string[];
      let parsed: unknown;
      try { parsed = restArgs.startsWith('[') ? JSON.parse(restArgs) : undefined; } catch { parsed = undefined; }
      if (Array.isArray(parsed) && parsed.every((s) => typeof s === 'string')) test = ['CMD', ...(parsed as string[])];
      else test = ['CMD-SHELL', restArgs];
      if (test.length < 2 || test[1] === '') throw err('Missing command after HEALTHCHECK CMD');
      const dur = (name: string): number | undefined => {
        const v = f.get(name);
        if (v === undefined || v === '') return undefined;
        let d: number;
        try { d = parseDuration(v); } catch (e) { throw err((e as Error).message); }
        if (d < 1e6 && d !== 0) throw err(`Interval "${name}" cannot be less than 1ms`);
        return d;
      };
      const h: HealthInstr = { kind: 'HEALTHCHECK', node, test, interval: dur('interval'), timeout: dur('timeout'), startPeriod: dur('start-period'), startInterval: dur('start-interval') };
      const r = f.get('retries');
      if (r !== undefined) {
        const n = Number(r);
        if (!Number.isInteger(n)) throw err(`strconv.ParseInt: parsing "${r}": invalid syntax`);
        if (n < 1) throw err(`--retries must be at least 1 (not ${n})`);
        h.retries = n;
      }
      return h;
    }
    case 'SHELL': {
      noFlags();
      if (!node.json) throw err('SHELL requires the arguments to be in JSON form');
      if (node.json.length === 0) throw err('SHELL requires at least one argument');
      return { kind: 'SHELL', node, shell: node.json };
    }
    default:
      throw err(`unknown instruction: ${node.cmd}`);
  }
}

/** Parses a Dockerfile into meta ARGs and stages. */
export function parseModel(text: string, file = 'Dockerfile'): DockerfileModel {
  const parsed = parseDockerfile(text, file);
  const esc = parsed.directives.escape;
  const metaArgs: ArgInstr[] = [];
  const stages: Stage[] = [];
  for (const node of parsed.nodes) {
    const ins = toInstruction(node, file, esc);
    if (ins.kind === 'FROM') {
      const name = ins.stageName;
      if (name && stages.some((s) => s.name === name)) throw atLine(file, node.line, `duplicate name ${name}`);
      stages.push({ index: stages.length, name, from: ins, instructions: [] });
      continue;
    }
    const cur = stages[stages.length - 1];
    if (!cur) {
      if (ins.kind === 'ARG') { metaArgs.push(ins); continue; }
      throw atLine(file, node.line, 'no build stage in current context');
    }
    cur.instructions.push(ins);
  }
  if (stages.length === 0) throw new DockerfileError('the Dockerfile (' + file + ') cannot be empty');
  return { escape: esc, metaArgs, stages };
}

/** The stage a name or index refers to (`COPY --from`, `FROM <stage>`), if any, among earlier stages. */
export function findStage(model: DockerfileModel, ref: string, before: number): Stage | undefined {
  const lower = ref.toLowerCase();
  const byName = model.stages.find((s) => s.index < before && s.name === lower);
  if (byName) return byName;
  if (/^[0-9]+$/.test(ref)) {
    const n = Number(ref);
    if (n < before) return model.stages[n];
  }
  return undefined;
}

/**
 * The stages a target needs, in order, and each one's dependencies (by index). Stage
 * references use the raw words; a reference containing `$` is resolved by the builder.
 */
export function stageGraph(model: DockerfileModel, target?: string): { order: number[]; deps: Map<number, number[]> } {
  let last = model.stages.length - 1;
  if (target) {
    const t = model.stages.find((s) => s.name === target.toLowerCase());
    if (!t) throw new DockerfileError(`failed to reach build target ${target} in Dockerfile`);
    last = t.index;
  }
  const deps = new Map<number, number[]>();
  for (const s of model.stages) {
    const d = new Set<number>();
    const base = findStage(model, s.from.image, s.index);
    if (base) d.add(base.index);
    for (const i of s.instructions) {
      if (i.kind === 'COPY' && i.from) {
        const st = findStage(model, i.from, s.index);
        if (st) d.add(st.index);
      }
      for (const spec of i.kind === 'RUN' ? i.mounts ?? [] : []) {
        const from = /(?:^|,)from=([^,]*)/.exec(spec)?.[1];
        const st = from ? findStage(model, from, s.index) : undefined;
        if (st) d.add(st.index);
      }
    }
    deps.set(s.index, [...d]);
  }
  const need = new Set<number>();
  const visit = (i: number): void => { if (need.has(i)) return; need.add(i); for (const d of deps.get(i) ?? []) visit(d); };
  visit(last);
  return { order: [...need].sort((a, b) => a - b), deps };
}
