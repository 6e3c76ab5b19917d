/**
 * A subset of Go's text/template, enough for the `--format` strings people pass to docker:
 * fields (`.State.Status`), variables (`$`, `$x := ...`), pipelines (`.Names | upper`),
 * if / else if / else, range (with `$i, $e :=`), with, comments, `{{-`/`-}}` trimming, and the
 * functions docker registers (json, join, split, lower, upper, title, pad, truncate) plus Go's
 * builtins (index, len, print, printf, println, eq, ne, lt, le, gt, ge, and, or, not, slice).
 *
 * Data is plain JSON (decoded daemon objects: missing keys print `<no value>`, like a Go map)
 * or a TemplateObject (docker's formatter contexts: a missing field is an execution error).
 * Values print with Go's %v rules.
 */

/** A value with named fields and methods, like docker's *formatter.ContainerContext. */
export interface TemplateObject {
  readonly templateTypeName: string;
  /** undefined: no such field or method */
  templateField(name: string): { value: unknown } | undefined;
  /** the value `{{json .}}` encodes */
  toJSON(): unknown;
}

export const isTemplateObject = (v: unknown): v is TemplateObject =>
  typeof v === 'object' && v !== null && typeof (v as TemplateObject).templateField === 'function';

export class TemplateError extends Error {
  constructor(
    message: string,
    readonly phase: 'parse' | 'execute',
  ) {
    super(message);
    this.name = 'TemplateError';
  }
}

// ---------------------------------------------------------------------------------------------
// AST

type Arg =
  | { t: 'field'; base: 'dot' | 'var'; varName: string; path: string[]; pos: number; src: string }
  | { t: 'str'; v: string }
  | { t: 'num'; v: number }
  | { t: 'bool'; v: boolean }
  | { t: 'nil' }
  | { t: 'ident'; name: string; pos: number }
  | { t: 'pipe'; pipe: Pipeline; path: string[]; pos: number; src: string };

interface Pipeline {
  decl: string[];
  isAssign: boolean;
  cmds: Arg[][];
  pos: number;
}

type Node =
  | { t: 'text'; s: string }
  | { t: 'action'; pipe: Pipeline }
  | { t: 'if' | 'with'; pipe: Pipeline; body: Node[]; elseBody: Node[] | undefined }
  | { t: 'range'; pipe: Pipeline; body: Node[]; elseBody: Node[] | undefined }
  | { t: 'break' | 'continue' };

// ---------------------------------------------------------------------------------------------
// Lexing of the action text

type Tok =
  | { k: 'field'; path: string[]; pos: number; src: string }
  | { k: 'var'; name: string; path: string[]; pos: number; src: string }
  | { k: 'ident'; name: string; pos: number }
  | { k: 'str'; v: string; pos: number }
  | { k: 'num'; v: number; pos: number }
  | { k: 'op'; v: '(' | ')' | '|' | ':=' | '=' | ','; pos: number }
  | { k: 'dotfield'; path: string[]; pos: number; src: string };

const FUNCS = new Set([
  'json', 'join', 'split', 'lower', 'upper', 'title', 'pad', 'truncate', 'index', 'len', 'print', 'printf',
  'println', 'eq', 'ne', 'lt', 'le', 'gt', 'ge', 'and', 'or', 'not', 'slice', 'urlquery', 'html', 'js',
]);

function unquoteGo(lit: string, errAt: () => never): string {
  try {
    return JSON.parse(lit.replace(/\\x([0-9a-fA-F]{2})/g, '\\u00$1').replace(/\\a/g, '\\u0007').replace(/\\v/g, '\\u000b')) as string;
  } catch {
    return errAt();
  }
}

function lexAction(src: string, base: number, line: number): Tok[] {
  const toks: Tok[] = [];
  let i = 0;
  const fail = (msg: string): never => {
    throw new TemplateError(`template: :${line}: ${msg}`, 'parse');
  };
  const readPath = (): string[] => {
    const path: string[] = [];
    while (src[i] === '.' && /[A-Za-z_]/.test(src[i + 1] ?? '')) {
      i++;
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i)) as RegExpExecArray;
      path.push(m[0]);
      i += m[0].length;
    }
    return path;
  };
  while (i < src.length) {
    const c = src[i] as string;
    const pos = base + i;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '(' || c === ')' || c === '|' || c === ',' || c === '=') {
      toks.push({ k: 'op', v: c, pos });
      i++;
      if (c === ')' && src[i] === '.' && /[A-Za-z_]/.test(src[i + 1] ?? '')) {
        const start = i;
        const path = readPath();
        toks.push({ k: 'dotfield', path, pos: base + start, src: src.slice(start, i) });
      }
      continue;
    }
    if (c === ':' && src[i + 1] === '=') {
      toks.push({ k: 'op', v: ':=', pos });
      i += 2;
      continue;
    }
    if (c === '"') {
      let j = i + 1;
      while (j < src.length && src[j] !== '"') j += src[j] === '\\' ? 2 : 1;
      if (j >= src.length) fail('unterminated quoted string');
      toks.push({ k: 'str', v: unquoteGo(src.slice(i, j + 1), () => fail('bad string syntax')), pos });
      i = j + 1;
      continue;
    }
    if (c === '`') {
      const j = src.indexOf('`', i + 1);
      if (j < 0) fail('unterminated raw quoted string');
      toks.push({ k: 'str', v: src.slice(i + 1, j), pos });
      i = j + 1;
      continue;
    }
    if (c === '.') {
      if (/[A-Za-z_]/.test(src[i + 1] ?? '')) {
        const start = i;
        const path = readPath();
        toks.push({ k: 'field', path, pos, src: src.slice(start, i) });
      } else if (/[0-9]/.test(src[i + 1] ?? '')) {
        const m = /^\.[0-9]+([eE][+-]?[0-9]+)?/.exec(src.slice(i)) as RegExpExecArray;
        toks.push({ k: 'num', v: Number(m[0]), pos });
        i += m[0].length;
      } else {
        toks.push({ k: 'field', path: [], pos, src: '.' });
        i++;
      }
      continue;
    }
    if (c === '$') {
      const m = /^\$[A-Za-z0-9_]*/.exec(src.slice(i)) as RegExpExecArray;
      const start = i;
      i += m[0].length;
      const path = readPath();
      toks.push({ k: 'var', name: m[0], path, pos, src: src.slice(start, i) });
      continue;
    }
    if (/[-+0-9]/.test(c)) {
      const m = /^[-+]?(0[xX][0-9a-fA-F]+|[0-9]+(\.[0-9]*)?([eE][+-]?[0-9]+)?)/.exec(src.slice(i));
      if (!m) fail(`bad number syntax: "${c}"`);
      const lit = (m as RegExpExecArray)[0];
      toks.push({ k: 'num', v: Number(lit), pos });
      i += lit.length;
      continue;
    }
    if (c === "'") {
      const j = src.indexOf("'", i + 1);
      if (j < 0) fail('unterminated character constant');
      const ch = unquoteGo(`"${src.slice(i + 1, j)}"`, () => fail('bad character constant'));
      toks.push({ k: 'num', v: ch.codePointAt(0) ?? 0, pos });
      i = j + 1;
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i)) as RegExpExecArray;
      toks.push({ k: 'ident', name: m[0], pos });
      i += m[0].length;
      continue;
    }
    fail(`unexpected "${c}" in command`);
  }
  return toks;
}

// ---------------------------------------------------------------------------------------------
// Parsing

interface RawAction {
  kind: 'text' | 'action';
  text: string;
  pos: number;
  line: number;
}

function splitTemplate(src: string): RawAction[] {
  const out: RawAction[] = [];
  let i = 0;
  let trimNext = false;
  const lineAt = (p: number): number => src.slice(0, p).split('\n').length;
  while (i < src.length) {
    const open = src.indexOf('{{', i);
    let text = open < 0 ? src.slice(i) : src.slice(i, open);
    if (trimNext) text = text.replace(/^\s+/, '');
    trimNext = false;
    if (open < 0) {
      if (text) out.push({ kind: 'text', text, pos: i, line: lineAt(i) });
      break;
    }
    let start = open + 2;
    if (src[start] === '-' && /\s/.test(src[start + 1] ?? '')) {
      text = text.replace(/\s+$/, '');
      start += 2;
    }
    if (text) out.push({ kind: 'text', text, pos: i, line: lineAt(i) });
    // find the closing braces outside quotes
    let j = start;
    let closeAt = -1;
    while (j < src.length) {
      const ch = src[j];
      if (ch === '"') {
        j++;
        while (j < src.length && src[j] !== '"' && src[j] !== '\n') j += src[j] === '\\' ? 2 : 1;
        j++;
        continue;
      }
      if (ch === '`') {
        const e = src.indexOf('`', j + 1);
        j = e < 0 ? src.length : e + 1;
        continue;
      }
      if (ch === '}' && src[j + 1] === '}') {
        closeAt = j;
        break;
      }
      if (ch === '\n' && !src.slice(start, j).trimStart().startsWith('/*')) {
        break;
      }
      j++;
    }
    if (closeAt < 0) throw new TemplateError(`template: :${lineAt(open)}: unclosed action`, 'parse');
    let inner = src.slice(start, closeAt);
    if (/\s-$/.test(inner)) {
      inner = inner.slice(0, -2);
      trimNext = true;
    }
    out.push({ kind: 'action', text: inner, pos: start, line: lineAt(open) });
    i = closeAt + 2;
  }
  return out;
}

class Parser {
  private idx = 0;
  constructor(private readonly items: RawAction[]) {}

  parse(): Node[] {
    const { nodes, end } = this.list();
    if (end) throw new TemplateError(`template: :${end.line}: unexpected {{${end.word}}}`, 'parse');
    return nodes;
  }

  /** nodes until {{end}} / {{else ...}}; returns the terminator */
  private list(): { nodes: Node[]; end?: { word: string; rest: string; item: RawAction; line: number } } {
    const nodes: Node[] = [];
    while (this.idx < this.items.length) {
      const it = this.items[this.idx++] as RawAction;
      if (it.kind === 'text') {
        nodes.push({ t: 'text', s: it.text });
        continue;
      }
      const trimmed = it.text.trim();
      if (trimmed.startsWith('/*')) {
        if (!trimmed.endsWith('*/')) throw new TemplateError(`template: :${it.line}: unclosed comment`, 'parse');
        continue;
      }
      const m = /^(if|range|with|end|else|break|continue)\b/.exec(trimmed);
      const word = m?.[1];
      const lead = it.text.length - it.text.trimStart().length;
      if (word === 'end' || word === 'else') {
        return { nodes, end: { word, rest: trimmed.slice(word.length), item: { ...it, pos: it.pos + lead + word.length }, line: it.line } };
      }
      if (word === 'break' || word === 'continue') {
        nodes.push({ t: word });
        continue;
      }
      if (word === 'if' || word === 'range' || word === 'with') {
        nodes.push(this.control(word, it.text.slice(lead + word.length), it.pos + lead + word.length, it.line));
        continue;
      }
      if (trimmed === '') throw new TemplateError(`template: :${it.line}: missing value for command`, 'parse');
      nodes.push({ t: 'action', pipe: parsePipeline(it.text, it.pos, it.line) });
    }
    return { nodes };
  }

  private control(word: 'if' | 'range' | 'with', text: string, pos: number, line: number): Node {
    if (text.trim() === '') throw new TemplateError(`template: :${line}: missing value for ${word}`, 'parse');
    const pipe = parsePipeline(text, pos, line);
    const { nodes: body, end } = this.list();
    if (!end) throw new TemplateError(`template: :${line}: unexpected EOF`, 'parse');
    let elseBody: Node[] | undefined;
    if (end.word === 'else') {
      const rest = end.rest.trim();
      const chained = /^(if|with)\b/.exec(rest);
      if (chained && (chained[1] === word || word !== 'range')) {
        // {{else if ...}} is sugar for {{else}}{{if ...}}...{{end}}{{end}}
        const kw = chained[1] as 'if' | 'with';
        const restTrim = end.rest.trimStart();
        const restPos = end.item.pos + (end.rest.length - restTrim.length) + kw.length;
        elseBody = [this.control(kw, restTrim.slice(kw.length), restPos, end.line)];
        return { t: word, pipe, body, elseBody };
      }
      if (rest !== '') throw new TemplateError(`template: :${end.line}: unexpected "${rest}" in else`, 'parse');
      const r = this.list();
      if (!r.end || r.end.word !== 'end') throw new TemplateError(`template: :${line}: unexpected EOF`, 'parse');
      elseBody = r.nodes;
    } else if (end.rest.trim() !== '') {
      throw new TemplateError(`template: :${end.line}: unexpected "${end.rest.trim()}" in end`, 'parse');
    }
    return { t: word, pipe, body, elseBody };
  }
}

function parsePipeline(text: string, pos: number, line: number): Pipeline {
  const toks = lexAction(text, pos, line);
  let k = 0;
  const fail = (msg: string): never => {
    throw new TemplateError(`template: :${line}: ${msg}`, 'parse');
  };
  const decl: string[] = [];
  let isAssign = false;
  // variable declaration: $x := / $i, $e :=
  {
    let j = 0;
    const names: string[] = [];
    while (toks[j]?.k === 'var' && (toks[j] as { path: string[] }).path.length === 0) {
      names.push((toks[j] as { name: string }).name);
      j++;
      const t = toks[j];
      if (t?.k === 'op' && t.v === ',') {
        j++;
        continue;
      }
      break;
    }
    const t = toks[j];
    if (names.length > 0 && t?.k === 'op' && (t.v === ':=' || t.v === '=')) {
      decl.push(...names);
      isAssign = t.v === '=';
      k = j + 1;
    }
  }
  const parseCmds = (untilParen: boolean): Arg[][] => {
    const cmds: Arg[][] = [];
    let cur: Arg[] = [];
    while (k < toks.length) {
      const t = toks[k++] as Tok;
      if (t.k === 'op') {
        if (t.v === '|') {
          if (cur.length === 0) fail('missing command');
          cmds.push(cur);
          cur = [];
          continue;
        }
        if (t.v === '(') {
          const startPos = t.pos;
          const inner = parseCmds(true);
          let path: string[] = [];
          let src = '';
          const nxt = toks[k];
          if (nxt?.k === 'dotfield') {
            path = nxt.path;
            src = nxt.src;
            k++;
          }
          cur.push({ t: 'pipe', pipe: { decl: [], isAssign: false, cmds: inner, pos: startPos }, path, pos: startPos, src });
          continue;
        }
        if (t.v === ')') {
          if (!untilParen) fail('unexpected right paren');
          if (cur.length) cmds.push(cur);
          return cmds;
        }
        fail(`unexpected "${t.v}" in command`);
      }
      switch (t.k) {
        case 'field':
          cur.push({ t: 'field', base: 'dot', varName: '', path: t.path, pos: t.pos, src: t.src });
          break;
        case 'var':
          cur.push({ t: 'field', base: 'var', varName: t.name, path: t.path, pos: t.pos, src: t.src });
          break;
        case 'str':
          cur.push({ t: 'str', v: t.v });
          break;
        case 'num':
          cur.push({ t: 'num', v: t.v });
          break;
        case 'ident':
          if (t.name === 'true' || t.name === 'false') cur.push({ t: 'bool', v: t.name === 'true' });
          else if (t.name === 'nil') cur.push({ t: 'nil' });
          else {
            if (!FUNCS.has(t.name)) fail(`function "${t.name}" not defined`);
            cur.push({ t: 'ident', name: t.name, pos: t.pos });
          }
          break;
        default:
          fail('unexpected token');
      }
    }
    if (untilParen) fail('unclosed left paren');
    if (cur.length) cmds.push(cur);
    return cmds;
  };
  const cmds = parseCmds(false);
  if (cmds.length === 0) fail('missing value for command');
  return { decl, isAssign, cmds, pos };
}

// ---------------------------------------------------------------------------------------------
// Printing values the way Go's fmt %v does

/** Keys whose objects are Go maps (print as map[k:v], sorted); other objects print as structs. */
const MAP_KEYS = new Set([
  'Labels', 'Ports', 'ExposedPorts', 'Volumes', 'Networks', 'Options', 'Data', 'PortBindings', 'Sysctls', 'Tmpfs',
  'Annotations', 'StorageOpt', 'DriverOpts', 'Attributes', 'Runtimes', 'Config', 'EndpointsConfig', 'DriverOpts',
]);
const SLICE_KEYS = new Set([
  'Cmd', 'Entrypoint', 'Env', 'Args', 'Binds', 'Links', 'Dns', 'DnsOptions', 'DnsSearch', 'ExtraHosts', 'CapAdd',
  'CapDrop', 'Mounts', 'ExecIDs', 'OnBuild', 'RepoTags', 'RepoDigests', 'Layers', 'Aliases', 'Devices', 'Warnings',
  'SecurityOpt', 'GroupAdd', 'VolumesFrom', 'Shell', 'Ulimits', 'DeviceRequests', 'Shell', 'DNSNames', 'Processes', 'Titles',
]);

const structObjects = new WeakSet<object>();
/** null values reached through these keys: how Go prints the zero value of their type */
const NIL_MAP = Symbol('nil-map');
const NIL_SLICE = Symbol('nil-slice');

function fmtNumber(n: number): string {
  if (Number.isInteger(n)) return String(n);
  const s = String(n);
  return s.replace(/e([+-])(\d)$/, 'e$10$2');
}

export function formatValue(v: unknown): string {
  if (v === undefined) return '<no value>';
  if (v === null) return '<nil>';
  if (v === NIL_MAP) return 'map[]';
  if (v === NIL_SLICE) return '[]';
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return fmtNumber(v);
  if (typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (Array.isArray(v)) return `[${v.map(formatValue).join(' ')}]`;
  if (isTemplateObject(v)) return `&{${formatValue(v.toJSON())}}`;
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if (structObjects.has(o)) return `{${Object.keys(o).map((k) => formatValue(o[k])).join(' ')}}`;
    const keys = Object.keys(o).sort();
    return `map[${keys.map((k) => `${k}:${formatValue(o[k])}`).join(' ')}]`;
  }
  return String(v);
}

/** Go's encoding/json output: HTML-safe escapes, compact. */
export function goJson(v: unknown): string {
  const s = JSON.stringify(v === undefined ? null : v, (_k, val: unknown) => (val === NIL_MAP || val === NIL_SLICE ? null : val)) ?? 'null';
  return s.replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function truth(v: unknown): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === '' || v === NIL_MAP || v === NIL_SLICE) return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object' && !isTemplateObject(v)) return Object.keys(v as object).length > 0;
  return true;
}

// ---------------------------------------------------------------------------------------------
// Execution

interface Scope {
  vars: Map<string, unknown>;
  parent: Scope | undefined;
}

class BreakSignal {
  constructor(readonly kind: 'break' | 'continue') {}
}

function lookupVar(scope: Scope, name: string, line: number): unknown {
  for (let s: Scope | undefined = scope; s; s = s.parent) if (s.vars.has(name)) return s.vars.get(name);
  throw new TemplateError(`template: :${line}: undefined variable "${name}"`, 'parse');
}

function goSprintf(format: string, args: unknown[]): string {
  let ai = 0;
  return format.replace(/%([-+# 0]*)(\d+)?(?:\.(\d+))?([vsdqfxXtTgeo%])/g, (_m, flags: string, width?: string, prec?: string, verb?: string) => {
    if (verb === '%') return '%';
    const arg = args[ai++];
    if (ai > args.length) return `%!${verb}(MISSING)`;
    let s: string;
    switch (verb) {
      case 'q':
        s = JSON.stringify(typeof arg === 'string' ? arg : formatValue(arg));
        break;
      case 'd':
        s = typeof arg === 'number' ? String(Math.trunc(arg)) : `%!d(${typeof arg}=${formatValue(arg)})`;
        break;
      case 'f':
      case 'e':
      case 'g':
        s = typeof arg === 'number' ? (verb === 'f' ? arg.toFixed(prec ? Number(prec) : 6) : verb === 'e' ? arg.toExponential(prec ? Number(prec) : 6) : fmtNumber(arg)) : formatValue(arg);
        break;
      case 'x':
      case 'X':
        s = typeof arg === 'number' ? arg.toString(16) : Buffer.from(String(arg)).toString('hex');
        if (verb === 'X') s = s.toUpperCase();
        break;
      case 'o':
        s = typeof arg === 'number' ? arg.toString(8) : formatValue(arg);
        break;
      case 't':
        s = formatValue(arg);
        break;
      case 'T':
        s = typeof arg;
        break;
      default:
        s = formatValue(arg);
        if (prec && verb === 's') s = s.slice(0, Number(prec));
    }
    if (width) s = flags.includes('-') ? s.padEnd(Number(width)) : s.padStart(Number(width), flags.includes('0') && verb !== 's' ? '0' : ' ');
    return s;
  });
}

function compare(a: unknown, b: unknown, name: string, fail: (m: string) => never): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  if (name === 'eq' || name === 'ne') return Object.is(a, b) ? 0 : 1;
  return fail(`error calling ${name}: incompatible types for comparison`);
}

export class Template {
  private constructor(
    private readonly nodes: Node[],
    private readonly source: string,
  ) {}

  static parse(source: string): Template {
    const nodes = new Parser(splitTemplate(source)).parse();
    return new Template(nodes, source);
  }

  /** `missingKey: 'error'` is Go's Option("missingkey=error"), which docker inspect's fallback uses. */
  execute(data: unknown, opts: { missingKey?: 'default' | 'error' } = {}): string {
    this.missingKeyError = opts.missingKey === 'error';
    if (typeof data === 'object' && data !== null && !Array.isArray(data) && !isTemplateObject(data)) structObjects.add(data);
    const out: string[] = [];
    const root: Scope = { vars: new Map([['$', data]]), parent: undefined };
    this.walk(this.nodes, data, root, out);
    return out.join('');
  }

  private missingKeyError = false;

  private errAt(pos: number, at: string, msg: string): never {
    const before = this.source.slice(0, pos);
    const line = before.split('\n').length;
    const col = pos - (before.lastIndexOf('\n') + 1);
    throw new TemplateError(`template: :${line}:${col}: executing "" at <${at}>: ${msg}`, 'execute');
  }

  private walk(nodes: Node[], dot: unknown, scope: Scope, out: string[]): void {
    for (const n of nodes) {
      switch (n.t) {
        case 'text':
          out.push(n.s);
          break;
        case 'action': {
          const v = this.pipeline(n.pipe, dot, scope);
          if (n.pipe.decl.length === 0) out.push(formatValue(v));
          break;
        }
        case 'if':
        case 'with': {
          const inner: Scope = { vars: new Map(), parent: scope };
          const v = this.pipeline(n.pipe, dot, inner);
          if (truth(v)) this.walk(n.body, n.t === 'with' ? v : dot, inner, out);
          else if (n.elseBody) this.walk(n.elseBody, dot, inner, out);
          break;
        }
        case 'range': {
          const inner: Scope = { vars: new Map(), parent: scope };
          const decl = n.pipe.decl;
          const v = this.pipeline({ ...n.pipe, decl: [] }, dot, inner);
          let entries: Array<[unknown, unknown]> = [];
          if (Array.isArray(v)) entries = v.map((e, i) => [i, e]);
          else if (typeof v === 'number' && Number.isInteger(v)) entries = Array.from({ length: Math.max(0, v) }, (_x, i) => [i, i]);
          else if (v && typeof v === 'object' && !isTemplateObject(v))
            entries = Object.keys(v as object)
              .sort()
              .map((k) => [k, (v as Record<string, unknown>)[k]]);
          else if (v !== null && v !== undefined && v !== NIL_MAP && v !== NIL_SLICE)
            this.errAt(n.pipe.pos, '', `range can't iterate over ${formatValue(v)}`);
          if (entries.length === 0) {
            if (n.elseBody) this.walk(n.elseBody, dot, inner, out);
            break;
          }
          for (const [key, elem] of entries) {
            if (decl.length === 1) inner.vars.set(decl[0] as string, elem);
            if (decl.length >= 2) {
              inner.vars.set(decl[0] as string, key);
              inner.vars.set(decl[1] as string, elem);
            }
            try {
              this.walk(n.body, elem, inner, out);
            } catch (e) {
              if (e instanceof BreakSignal) {
                if (e.kind === 'break') break;
                continue;
              }
              throw e;
            }
          }
          break;
        }
        case 'break':
        case 'continue':
          throw new BreakSignal(n.t);
      }
    }
  }

  private pipeline(p: Pipeline, dot: unknown, scope: Scope): unknown {
    let val: unknown;
    let hasVal = false;
    for (const cmd of p.cmds) {
      val = this.command(cmd, dot, scope, hasVal ? [val] : []);
      hasVal = true;
    }
    if (p.decl.length > 0) {
      const name = p.decl[0] as string;
      if (p.isAssign) {
        for (let s: Scope | undefined = scope; s; s = s.parent)
          if (s.vars.has(name)) {
            s.vars.set(name, val);
            return val;
          }
      }
      scope.vars.set(name, val);
    }
    return val;
  }

  private field(base: unknown, path: string[], pos: number, src: string): unknown {
    let cur = base;
    let i = 0;
    for (const name of path) {
      i++;
      const atText = src;
      if (cur === undefined || cur === null || cur === NIL_MAP || cur === NIL_SLICE) {
        if (cur === undefined || cur === NIL_MAP) return undefined;
        this.errAt(pos, atText, `nil pointer evaluating interface {}.${name}`);
      }
      if (isTemplateObject(cur)) {
        const f = cur.templateField(name);
        if (!f) this.errAt(pos, atText, `can't evaluate field ${name} in type ${cur.templateTypeName}`);
        cur = f.value;
        continue;
      }
      if (typeof cur === 'object' && !Array.isArray(cur)) {
        const o = cur as Record<string, unknown>;
        if (this.missingKeyError && !Object.prototype.hasOwnProperty.call(o, name)) this.errAt(pos, atText, `map has no entry for key "${name}"`);
        let next = Object.prototype.hasOwnProperty.call(o, name) ? o[name] : undefined;
        if (next === null && MAP_KEYS.has(name)) next = NIL_MAP;
        else if (next === null && SLICE_KEYS.has(name)) next = NIL_SLICE;
        if (next && typeof next === 'object' && !Array.isArray(next) && !MAP_KEYS.has(name)) structObjects.add(next);
        cur = next;
        continue;
      }
      void i;
      this.errAt(pos, atText, `can't evaluate field ${name} in type ${Array.isArray(cur) ? '[]interface {}' : typeof cur}`);
    }
    return cur;
  }

  private arg(a: Arg, dot: unknown, scope: Scope): unknown {
    switch (a.t) {
      case 'str':
        return a.v;
      case 'num':
        return a.v;
      case 'bool':
        return a.v;
      case 'nil':
        return null;
      case 'field': {
        const base = a.base === 'dot' ? dot : lookupVar(scope, a.varName, 1);
        const v = this.field(base, a.path, a.pos, a.src);
        return typeof v === 'function' ? (v as () => unknown)() : v;
      }
      case 'pipe': {
        const v = this.pipeline(a.pipe, dot, scope);
        return a.path.length ? this.field(v, a.path, a.pos, a.src) : v;
      }
      case 'ident':
        return this.call(a.name, [], a.pos);
    }
  }

  private command(cmd: Arg[], dot: unknown, scope: Scope, piped: unknown[]): unknown {
    const head = cmd[0] as Arg;
    if (head.t === 'ident') {
      const args = cmd.slice(1).map((a) => this.arg(a, dot, scope));
      return this.call(head.name, [...args, ...piped], head.pos);
    }
    if (head.t === 'field' && cmd.length + piped.length > 1) {
      // method call with arguments: {{.Label "com.example"}}
      const base = head.base === 'dot' ? dot : lookupVar(scope, head.varName, 1);
      const fn = this.field(base, head.path, head.pos, head.src);
      if (typeof fn !== 'function') this.errAt(head.pos, head.src, `can't give argument to non-function ${head.src}`);
      const args = cmd.slice(1).map((a) => this.arg(a, dot, scope));
      return (fn as (...a: unknown[]) => unknown)(...args, ...piped);
    }
    if (cmd.length > 1 || piped.length > 0) {
      const at = head.t === 'field' ? head.src : '';
      this.errAt(head.t === 'field' ? head.pos : 0, at, `can't give argument to non-function ${at}`);
    }
    return this.arg(head, dot, scope);
  }

  private call(name: string, args: unknown[], pos: number): unknown {
    const fail = (msg: string): never => this.errAt(pos, name, `error calling ${name}: ${msg}`);
    const need = (n: number): void => {
      if (args.length !== n) this.errAt(pos, name, `wrong number of args for ${name}: want ${n} got ${args.length}`);
    };
    const str = (v: unknown): string => (typeof v === 'string' ? v : formatValue(v));
    switch (name) {
      case 'json':
        need(1);
        return goJson(isTemplateObject(args[0]) ? (args[0] as TemplateObject).toJSON() : args[0]);
      case 'join': {
        need(2);
        const arr = args[0];
        if (arr === NIL_SLICE || arr === null) return '';
        if (!Array.isArray(arr)) return fail(`wrong type for value; expected []string; got ${typeof arr}`);
        return arr.map(str).join(str(args[1]));
      }
      case 'split':
        need(2);
        return str(args[0]).split(str(args[1]));
      case 'lower':
        need(1);
        return str(args[0]).toLowerCase();
      case 'upper':
        need(1);
        return str(args[0]).toUpperCase();
      case 'title':
        need(1);
        return str(args[0]).replace(/(^|[^\p{L}\p{N}_'])(\p{L})/gu, (_m, a: string, b: string) => a + b.toUpperCase());
      case 'pad':
        need(3);
        return ' '.repeat(Number(args[1])) + str(args[0]) + ' '.repeat(Number(args[2]));
      case 'truncate': {
        need(2);
        const s = [...str(args[0])];
        const n = Number(args[1]);
        return s.length > n ? s.slice(0, n).join('') : s.join('');
      }
      case 'index': {
        if (args.length < 1) this.errAt(pos, name, 'wrong number of args for index: want at least 1 got 0');
        let cur = args[0];
        for (const key of args.slice(1)) {
          if (cur === NIL_MAP || cur === undefined) {
            cur = undefined;
            continue;
          }
          if (Array.isArray(cur)) {
            if (typeof key !== 'number') return fail(`cannot index slice/array with type ${typeof key}`);
            if (key < 0 || key >= cur.length) return fail(`index out of range: ${key}`);
            cur = cur[key];
          } else if (isTemplateObject(cur)) {
            cur = cur.templateField(String(key))?.value;
          } else if (cur && typeof cur === 'object') {
            const o = cur as Record<string, unknown>;
            cur = Object.prototype.hasOwnProperty.call(o, String(key)) ? o[String(key)] : undefined;
          } else if (cur === null || cur === NIL_SLICE) {
            return fail('index of untyped nil');
          } else {
            return fail(`can't index item of type ${typeof cur}`);
          }
        }
        return cur;
      }
      case 'slice': {
        const v = args[0];
        const from = Number(args[1] ?? 0);
        if (typeof v === 'string') return v.slice(from, args[2] === undefined ? undefined : Number(args[2]));
        if (Array.isArray(v)) return v.slice(from, args[2] === undefined ? undefined : Number(args[2]));
        return fail(`can't slice item of type ${typeof v}`);
      }
      case 'len': {
        need(1);
        const v = args[0];
        if (typeof v === 'string') return Buffer.byteLength(v);
        if (Array.isArray(v)) return v.length;
        if (v === NIL_MAP || v === NIL_SLICE) return 0;
        if (v && typeof v === 'object') return Object.keys(v).length;
        return fail(`len of type ${typeof v}`);
      }
      case 'print': {
        let s = '';
        args.forEach((a, i) => {
          if (i > 0 && typeof a !== 'string' && typeof args[i - 1] !== 'string') s += ' ';
          s += formatValue(a);
        });
        return s;
      }
      case 'println':
        return `${args.map(formatValue).join(' ')}\n`;
      case 'printf':
        if (args.length < 1) this.errAt(pos, name, 'wrong number of args for printf: want at least 1 got 0');
        return goSprintf(str(args[0]), args.slice(1));
      case 'eq': {
        if (args.length < 2) this.errAt(pos, name, 'missing argument for comparison');
        return args.slice(1).some((b) => compare(args[0], b, 'eq', fail) === 0);
      }
      case 'ne':
        need(2);
        return compare(args[0], args[1], 'ne', fail) !== 0;
      case 'lt':
        need(2);
        return compare(args[0], args[1], 'lt', fail) < 0;
      case 'le':
        need(2);
        return compare(args[0], args[1], 'le', fail) <= 0;
      case 'gt':
        need(2);
        return compare(args[0], args[1], 'gt', fail) > 0;
      case 'ge':
        need(2);
        return compare(args[0], args[1], 'ge', fail) >= 0;
      case 'and': {
        for (const a of args) if (!truth(a)) return a;
        return args[args.length - 1];
      }
      case 'or': {
        for (const a of args) if (truth(a)) return a;
        return args[args.length - 1];
      }
      case 'not':
        need(1);
        return !truth(args[0]);
      case 'urlquery':
        return encodeURIComponent(args.map(str).join(''));
      case 'html':
        return args.map(str).join('').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
      case 'js':
        return JSON.stringify(args.map(str).join('')).slice(1, -1);
      default:
        return fail('function not defined');
    }
  }
}

/** Parses and runs a template once. Throws TemplateError. */
export function renderTemplate(source: string, data: unknown): string {
  return Template.parse(source).execute(data);
}
