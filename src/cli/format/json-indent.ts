/**
 * Go's json.Indent over raw JSON text: re-indents without re-encoding, so escapes such as
 * `\u003c` and number spellings stay exactly as the daemon sent them. `{}` and `[]` stay compact.
 */
export function indentJson(raw: string, indent = '    '): string {
  let out = '';
  let depth = 0;
  let i = 0;
  const n = raw.length;
  const nextNonWs = (from: number): string | undefined => {
    for (let j = from; j < n; j++) if (!/\s/.test(raw[j] as string)) return raw[j];
    return undefined;
  };
  while (i < n) {
    const c = raw[i] as string;
    if (c === '"') {
      let j = i + 1;
      while (j < n && raw[j] !== '"') j += raw[j] === '\\' ? 2 : 1;
      out += raw.slice(i, j + 1);
      i = j + 1;
      continue;
    }
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '{' || c === '[') {
      const close = c === '{' ? '}' : ']';
      if (nextNonWs(i + 1) === close) {
        out += c + close;
        i = raw.indexOf(close, i + 1) + 1;
        continue;
      }
      depth++;
      out += `${c}\n${indent.repeat(depth)}`;
      i++;
      continue;
    }
    if (c === '}' || c === ']') {
      depth--;
      out += `\n${indent.repeat(depth)}${c}`;
      i++;
      continue;
    }
    if (c === ',') {
      out += `,\n${indent.repeat(depth)}`;
      i++;
      continue;
    }
    if (c === ':') {
      out += ': ';
      i++;
      continue;
    }
    out += c;
    i++;
  }
  return out;
}
