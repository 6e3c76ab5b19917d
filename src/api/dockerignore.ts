/**
 * `.dockerignore` with Docker's pattern rules (moby patternmatcher): one pattern a line, `#`
 * comments, `!` re-includes, `*` and `?` stay within a path element, `**` spans any number
 * of them, and a pattern that matches a directory matches everything below it. The last
 * pattern that matches decides. In api/ because both sides use it: the CLI filters the
 * context it sends, the daemon filters COPY sources.
 */
export interface IgnorePattern { exclusion: boolean; source: string; re: RegExp }

export function parseIgnoreFile(text: string): string[] {
  const out: string[] = [];
  for (let line of text.split(/\r?\n/)) {
    if (line.startsWith('#')) continue;
    line = line.trim();
    if (!line) continue;
    let excl = false;
    if (line.startsWith('!')) { excl = true; line = line.slice(1).trim(); }
    line = cleanPath(line);
    if (line.length > 1 && line.startsWith('/')) line = line.slice(1);
    out.push(excl ? `!${line}` : line);
  }
  return out;
}

/** Go's filepath.Clean for slash paths. */
export function cleanPath(p: string): string {
  if (p === '') return '.';
  const rooted = p.startsWith('/');
  const parts: string[] = [];
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (parts.length && parts[parts.length - 1] !== '..') parts.pop();
      else if (!rooted) parts.push('..');
      continue;
    }
    parts.push(seg);
  }
  const s = (rooted ? '/' : '') + parts.join('/');
  return s === '' ? '.' : s;
}

export function compilePattern(pattern: string): RegExp {
  let re = '^';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === '*') {
      if (pattern[i + 1] === '*') {
        i++;
        if (pattern[i + 1] === '/') i++;
        re += i + 1 >= pattern.length ? '.*' : '(.*/)?';
      } else re += '[^/]*';
    } else if (ch === '?') re += '[^/]';
    else if (ch === '\\') { i++; if (i < pattern.length) re += escapeRe(pattern[i]!); }
    else if (ch === '[') {
      const end = pattern.indexOf(']', i + 1);
      if (end < 0) { re += '\\['; continue; }
      let cls = pattern.slice(i + 1, end);
      if (cls.startsWith('^')) cls = '!' + cls.slice(1);
      re += '[' + (cls.startsWith('!') ? '^' + cls.slice(1) : cls).replace(/\\/g, '\\\\') + ']';
      i = end;
    } else re += escapeRe(ch);
  }
  return new RegExp(re + '$');
}
const escapeRe = (c: string): string => c.replace(/[.+^${}()|[\]\\*?]/g, '\\$&');

export class IgnoreMatcher {
  readonly patterns: IgnorePattern[];
  constructor(lines: string[]) {
    this.patterns = lines.map((l) => {
      const exclusion = l.startsWith('!');
      const source = exclusion ? l.slice(1) : l;
      return { exclusion, source, re: compilePattern(source) };
    });
  }

  static fromFile(text: string): IgnoreMatcher {
    return new IgnoreMatcher(parseIgnoreFile(text));
  }

  get hasExclusions(): boolean {
    return this.patterns.some((p) => p.exclusion);
  }

  /** Whether a context-relative slash path is ignored. */
  matches(path: string): boolean {
    const file = cleanPath(path).replace(/^\/+/, '');
    const parents = file.split('/').slice(0, -1);
    let matched = false;
    for (const p of this.patterns) {
      if (p.exclusion !== matched) continue;
      let m = p.re.test(file);
      for (let i = 0; !m && i < parents.length; i++) m = p.re.test(parents.slice(0, i + 1).join('/'));
      if (m) matched = !p.exclusion;
    }
    return matched;
  }
}
