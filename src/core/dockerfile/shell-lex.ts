/**
 * Variable substitution in Dockerfile words, as moby's shell lexer does it: quotes group and
 * are removed, the escape character escapes, `$VAR`, `${VAR}`, `${VAR:-default}`,
 * `${VAR-default}`, `${VAR:+alt}`, `${VAR+alt}`, `${VAR:?msg}` expand from the given env.
 */
import { DockerfileError } from './errors.js';

export type Env = ReadonlyMap<string, string> | Record<string, string>;

const lookup = (env: Env, name: string): string | undefined =>
  env instanceof Map ? env.get(name) : (env as Record<string, string>)[name];

/** One word: quotes removed, variables expanded (moby ProcessWord). */
export function processWord(word: string, env: Env, escape = '\\'): string {
  return lex(word, env, escape, false)[0] ?? '';
}

/** Splits on unquoted whitespace after expansion (moby ProcessWords). */
export function processWords(word: string, env: Env, escape = '\\'): string[] {
  return lex(word, env, escape, true);
}

function lex(src: string, env: Env, esc: string, split: boolean): string[] {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  let i = 0;
  const flush = (): void => { if (inWord) words.push(cur); cur = ''; inWord = false; };
  while (i < src.length) {
    const ch = src[i]!;
    if (split && /\s/.test(ch)) { flush(); i++; continue; }
    inWord = true;
    if (ch === esc) {
      if (i + 1 < src.length) { cur += src[i + 1]; i += 2; } else { cur += ch; i++; }
      continue;
    }
    if (ch === "'") {
      const end = src.indexOf("'", i + 1);
      if (end < 0) throw new DockerfileError('unexpected end of statement while looking for matching single-quote');
      cur += src.slice(i + 1, end);
      i = end + 1;
      continue;
    }
    if (ch === '"') {
      i++;
      let closed = false;
      while (i < src.length) {
        const c = src[i]!;
        if (c === '"') { closed = true; i++; break; }
        if (c === esc && i + 1 < src.length && (src[i + 1] === '"' || src[i + 1] === '$' || src[i + 1] === esc)) { cur += src[i + 1]; i += 2; continue; }
        if (c === '$') { const r = variable(src, i, env, esc); cur += r.value; i = r.next; continue; }
        cur += c; i++;
      }
      if (!closed) throw new DockerfileError('unexpected end of statement while looking for matching double-quote');
      continue;
    }
    if (ch === '$') { const r = variable(src, i, env, esc); cur += r.value; i = r.next; continue; }
    cur += ch; i++;
  }
  flush();
  if (!split && words.length === 0) words.push('');
  return words;
}

function variable(src: string, at: number, env: Env, esc: string): { value: string; next: number } {
  let i = at + 1;
  if (src[i] === '{') {
    i++;
    let name = '';
    while (i < src.length && /[A-Za-z0-9_]/.test(src[i]!)) name += src[i++];
    if (!name) throw new DockerfileError(`bad substitution: ${src.slice(at)}`);
    if (src[i] === '}') return { value: lookup(env, name) ?? '', next: i + 1 };
    let op = src[i] ?? '';
    i++;
    if (op === ':') { op += src[i] ?? ''; i++; }
    if (![':-', '-', ':+', '+', ':?', '?'].includes(op)) throw new DockerfileError(`unsupported modifier (${op}) in substitution`);
    // the word runs to the matching brace; it is itself expanded
    let depth = 1, j = i;
    for (; j < src.length; j++) {
      if (src[j] === esc) { j++; continue; }
      if (src[j] === '{') depth++;
      if (src[j] === '}' && --depth === 0) break;
    }
    if (j >= src.length) throw new DockerfileError(`missing '}' in substitution: ${src.slice(at)}`);
    const word = processWord(src.slice(i, j), env, esc);
    const v = lookup(env, name);
    const set = v !== undefined, nonEmpty = v !== undefined && v !== '';
    let value: string;
    switch (op) {
      case ':-': value = nonEmpty ? v! : word; break;
      case '-': value = set ? v! : word; break;
      case ':+': value = nonEmpty ? word : ''; break;
      case '+': value = set ? word : ''; break;
      case ':?': if (!nonEmpty) throw new DockerfileError(`${name}: ${word || 'is not allowed to be unset'}`); value = v!; break;
      default: if (!set) throw new DockerfileError(`${name}: ${word || 'is not allowed to be unset'}`); value = v!;
    }
    return { value, next: j + 1 };
  }
  let name = '';
  while (i < src.length && /[A-Za-z0-9_]/.test(src[i]!)) {
    name += src[i++];
    if (/^[0-9]$/.test(name)) break; // positional: one digit
  }
  if (!name) return { value: '$', next: at + 1 };
  return { value: lookup(env, name) ?? '', next: i };
}
