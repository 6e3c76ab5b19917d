/**
 * Option values docker's CLI post-processes: environment lists (`-e`, `--env-file`),
 * key=value label lists, filters (`-f k=v`). Pure; env lookups go through a parameter.
 */

export type EnvLookup = (name: string) => string | undefined;

/** opts.ValidateEnv: `KEY=VAL` as is; a bare `KEY` takes the caller's value when set. */
export function resolveEnvEntry(entry: string, lookup: EnvLookup): string {
  const eq = entry.indexOf('=');
  const key = eq >= 0 ? entry.slice(0, eq) : entry;
  if (key === '') throw new Error(`invalid environment variable: ${entry}`);
  if (eq >= 0) return entry;
  const v = lookup(key);
  return v === undefined ? entry : `${key}=${v}`;
}

/** Parses the text of an env file (docker's kvfile rules). */
export function parseEnvFileText(text: string, fileName: string, lookup: EnvLookup): string[] {
  const out: string[] = [];
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    let line = (lines[n] as string).replace(/\r$/, '').replace(/^[ \t]+/, '');
    if (n === 0) line = line.replace(/^\uFEFF/, '');
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    const variable = (eq >= 0 ? line.slice(0, eq) : line).replace(/^\s+/, '');
    if (/\s/.test(variable)) throw new Error(`variable '${variable}' contains whitespaces`);
    if (variable === '') throw new Error(`no variable name on line '${line}' in ${fileName}`);
    if (eq >= 0) out.push(`${variable}=${line.slice(eq + 1)}`);
    else {
      const v = lookup(variable);
      if (v !== undefined) out.push(`${variable}=${v}`);
    }
  }
  return out;
}

/** `k=v` list to a map; a bare `k` maps to "" (opts.ConvertKVStringsToMap). */
export function kvListToMap(list: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of list) {
    const eq = item.indexOf('=');
    if (eq >= 0) out[item.slice(0, eq)] = item.slice(eq + 1);
    else out[item] = '';
  }
  return out;
}

/** Filter flags (`-f status=exited -f label=a`) to the wire shape `{"status":{"exited":true}}`. */
export function parseFilterList(list: readonly string[]): Record<string, Record<string, boolean>> {
  const out: Record<string, Record<string, boolean>> = {};
  for (const item of list) {
    const eq = item.indexOf('=');
    if (eq < 0) throw new Error(`bad format of filter (expected name=value)`);
    const key = item.slice(0, eq).trim().toLowerCase();
    const value = item.slice(eq + 1).trim();
    (out[key] ??= {})[value] = true;
  }
  return out;
}
