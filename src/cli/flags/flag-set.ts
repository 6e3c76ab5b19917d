/**
 * A pure argv parser with pflag/cobra semantics, as the docker CLI uses them:
 * combined short booleans (`-it`), `--flag=value` and `--flag value`, `-eVALUE` and `-e=VALUE`,
 * repeatable flags, `--` to end the flags, and optional stop at the first positional
 * (`run`, `exec`: everything after the image is the container's command).
 *
 * Errors carry pflag's exact wording, so the CLI can print them like docker does.
 */

export type FlagKind = 'bool' | 'string' | 'stringArray' | 'int';

export interface FlagDef {
  /** long name without dashes */
  readonly long: string;
  /** one-letter shorthand */
  readonly short?: string;
  readonly kind: FlagKind;
  readonly usage?: string;
  /** shown in help as the value type (`string`, `list`, `int`) */
  readonly valueName?: string;
  /** default shown in help and returned when the flag is absent */
  readonly defaultValue?: string | number | boolean;
  readonly hidden?: boolean;
}

export type FlagValue = string | number | boolean | string[];

export interface ParsedFlags {
  /** value of every defined flag by long name (defaults filled in) */
  readonly values: Map<string, FlagValue>;
  /** long names of the flags given on the command line */
  readonly changed: Set<string>;
  readonly args: string[];
  readonly help: boolean;
}

/** A flag error: printed with usage, exit 125 (cobra's FlagErrorFunc in docker). */
export class FlagError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FlagError';
  }
}

const TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const FALSE = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

/** strconv.ParseBool */
export function parseGoBool(s: string): boolean | undefined {
  if (TRUE.has(s)) return true;
  if (FALSE.has(s)) return false;
  return undefined;
}

/** strconv.ParseInt(s, 0, 64) as pflag's int flag calls it */
export function parseGoInt(s: string): number | undefined {
  const m = /^([+-]?)(0[xX][0-9a-fA-F_]+|0[oO]?[0-7_]+|0[bB][01_]+|[0-9_]+)$/.exec(s);
  if (!m) return undefined;
  const body = (m[2] ?? '').replace(/_/g, '');
  let n: number;
  if (/^0[xX]/.test(body)) n = parseInt(body.slice(2), 16);
  else if (/^0[bB]/.test(body)) n = parseInt(body.slice(2), 2);
  else if (/^0[oO]/.test(body)) n = parseInt(body.slice(2), 8);
  else if (body.length > 1 && body.startsWith('0')) n = parseInt(body.slice(1), 8);
  else n = parseInt(body, 10);
  if (Number.isNaN(n)) return undefined;
  return m[1] === '-' ? -n : n;
}

function flagTitle(def: FlagDef): string {
  return def.short ? `-${def.short}, --${def.long}` : `--${def.long}`;
}

function defaultOf(def: FlagDef): FlagValue {
  switch (def.kind) {
    case 'bool':
      return def.defaultValue === true;
    case 'int':
      return typeof def.defaultValue === 'number' ? def.defaultValue : 0;
    case 'stringArray':
      return [];
    case 'string':
      return typeof def.defaultValue === 'string' ? def.defaultValue : '';
  }
}

export interface ParseOptions {
  /** false: flags end at the first positional argument (cobra's SetInterspersed(false)) */
  readonly interspersed?: boolean;
}

export function parseFlags(defs: readonly FlagDef[], argv: readonly string[], opts: ParseOptions = {}): ParsedFlags {
  const interspersed = opts.interspersed ?? true;
  const byLong = new Map<string, FlagDef>();
  const byShort = new Map<string, FlagDef>();
  for (const d of defs) {
    byLong.set(d.long, d);
    if (d.short) byShort.set(d.short, d);
  }
  const values = new Map<string, FlagValue>();
  for (const d of defs) values.set(d.long, defaultOf(d));
  const changed = new Set<string>();
  const args: string[] = [];
  let help = false;

  const set = (def: FlagDef, raw: string): void => {
    switch (def.kind) {
      case 'bool': {
        const b = parseGoBool(raw);
        if (b === undefined)
          throw new FlagError(`invalid argument "${raw}" for "${flagTitle(def)}" flag: strconv.ParseBool: parsing "${raw}": invalid syntax`);
        values.set(def.long, b);
        break;
      }
      case 'int': {
        const n = parseGoInt(raw);
        if (n === undefined)
          throw new FlagError(`invalid argument "${raw}" for "${flagTitle(def)}" flag: strconv.ParseInt: parsing "${raw}": invalid syntax`);
        values.set(def.long, n);
        break;
      }
      case 'stringArray': {
        const cur = changed.has(def.long) ? (values.get(def.long) as string[]) : [];
        values.set(def.long, [...cur, raw]);
        break;
      }
      case 'string':
        values.set(def.long, raw);
        break;
    }
    changed.add(def.long);
  };

  let i = 0;
  while (i < argv.length) {
    const a = argv[i++] as string;
    if (a === '--') {
      args.push(...argv.slice(i));
      break;
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq >= 0 ? a.slice(2, eq) : a.slice(2);
      const def = byLong.get(name);
      if (!def) {
        if (name === 'help') {
          help = true;
          continue;
        }
        throw new FlagError(`unknown flag: --${name}`);
      }
      if (eq >= 0) set(def, a.slice(eq + 1));
      else if (def.kind === 'bool') set(def, 'true');
      else if (i < argv.length) set(def, argv[i++] as string);
      else throw new FlagError(`flag needs an argument: --${name}`);
      continue;
    }
    if (a.startsWith('-') && a.length > 1) {
      let rest = a.slice(1);
      while (rest.length > 0) {
        const c = rest[0] as string;
        const def = byShort.get(c);
        if (!def) {
          if (c === 'h') {
            help = true;
            rest = rest.slice(1);
            continue;
          }
          throw new FlagError(`unknown shorthand flag: '${c}' in -${rest}`);
        }
        if (def.kind === 'bool') {
          if (rest.length > 2 && rest[1] === '=') {
            set(def, rest.slice(2));
            rest = '';
          } else {
            set(def, 'true');
            rest = rest.slice(1);
          }
          continue;
        }
        if (rest.length > 1) {
          set(def, rest[1] === '=' ? rest.slice(2) : rest.slice(1));
        } else if (i < argv.length) {
          set(def, argv[i++] as string);
        } else {
          throw new FlagError(`flag needs an argument: '${c}' in -${c}`);
        }
        rest = '';
      }
      continue;
    }
    // positional
    args.push(a);
    if (!interspersed) {
      args.push(...argv.slice(i));
      break;
    }
  }
  return { values, changed, args, help };
}

/** Typed accessors over ParsedFlags. */
export const flagString = (p: ParsedFlags, name: string): string => {
  const v = p.values.get(name);
  return typeof v === 'string' ? v : '';
};
export const flagBool = (p: ParsedFlags, name: string): boolean => p.values.get(name) === true;
export const flagInt = (p: ParsedFlags, name: string): number => {
  const v = p.values.get(name);
  return typeof v === 'number' ? v : 0;
};
export const flagList = (p: ParsedFlags, name: string): string[] => {
  const v = p.values.get(name);
  return Array.isArray(v) ? v : [];
};

/** The options block of `--help`, laid out like cobra's FlagUsages. */
export function formatFlagUsages(defs: readonly FlagDef[]): string {
  const rows = defs
    .filter((d) => !d.hidden)
    .map((d) => {
      const type = d.kind === 'bool' ? '' : ` ${d.valueName ?? (d.kind === 'stringArray' ? 'list' : d.kind)}`;
      const left = d.short ? `  -${d.short}, --${d.long}${type}` : `      --${d.long}${type}`;
      let usage = d.usage ?? '';
      if (d.defaultValue !== undefined && d.defaultValue !== '' && d.defaultValue !== false && d.defaultValue !== 0)
        usage += d.kind === 'string' ? ` (default "${String(d.defaultValue)}")` : ` (default ${String(d.defaultValue)})`;
      return [left, usage] as const;
    })
    .sort((a, b) => a[0].trimStart().replace(/^-., /, '').localeCompare(b[0].trimStart().replace(/^-., /, '')));
  const width = Math.max(0, ...rows.map((r) => r[0].length));
  return rows.map(([l, u]) => `${l.padEnd(width)}   ${u}`.trimEnd()).join('\n');
}
