/**
 * Dockerfile text → instruction nodes: parser directives (`# syntax=`, `# escape=`), comments,
 * line continuations with the escape character, heredocs (`RUN <<EOF`), flags (`--from=x`)
 * and the JSON (exec) form. Words are not expanded here: that needs the build's variables.
 */
import { atLine } from './errors.js';

export interface Heredoc {
  name: string;
  content: string;
  /** false when the delimiter was quoted (`<<"EOF"`): no variable expansion. */
  expand: boolean;
}

export interface Node {
  /** Upper-case instruction name. */
  cmd: string;
  line: number;
  endLine: number;
  /** The instruction as written, continuations joined (without heredoc bodies). */
  original: string;
  /** `--name=value` flags before the arguments, as written. */
  flags: string[];
  /** The text after the flags. */
  rest: string;
  /** The JSON (exec) form's strings, when the arguments are a JSON array. */
  json?: string[];
  heredocs: Heredoc[];
}

export interface ParsedDockerfile {
  directives: { syntax?: string; escape: string };
  nodes: Node[];
}

export const INSTRUCTIONS = new Set([
  'FROM', 'RUN', 'CMD', 'ENTRYPOINT', 'ENV', 'ARG', 'LABEL', 'EXPOSE', 'VOLUME', 'USER', 'WORKDIR',
  'COPY', 'ADD', 'ONBUILD', 'HEALTHCHECK', 'SHELL', 'STOPSIGNAL', 'MAINTAINER',
]);
const HEREDOC_INSTRUCTIONS = new Set(['RUN', 'COPY', 'ADD']);
const DIRECTIVE = /^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$/;
const HEREDOC = /<<(-?)\s*(["']?)([A-Za-z_][A-Za-z0-9_.-]*)\2/g;

export function parseDockerfile(text: string, file = 'Dockerfile'): ParsedDockerfile {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const directives: ParsedDockerfile['directives'] = { escape: '\\' };
  let i = 0;
  // Directives: only at the very top, before any other line.
  const seen = new Set<string>();
  for (; i < lines.length; i++) {
    const m = DIRECTIVE.exec(lines[i]!.trim());
    if (!m) break;
    const key = m[1]!.toLowerCase();
    if (key !== 'syntax' && key !== 'escape' && key !== 'check') break;
    if (seen.has(key)) throw atLine(file, i + 1, `only one ${key} parser directive can be used`);
    seen.add(key);
    if (key === 'escape') {
      if (m[2] !== '\\' && m[2] !== '`') throw atLine(file, i + 1, `invalid escape token '${m[2]}' does not match ` + '` or \\');
      directives.escape = m[2]!;
    } else if (key === 'syntax') directives.syntax = m[2]!;
  }
  const esc = directives.escape;
  const nodes: Node[] = [];
  const isComment = (l: string): boolean => l.trimStart().startsWith('#');
  const continues = (l: string): boolean => {
    const t = l.replace(/\s+$/, '');
    if (!t.endsWith(esc)) return false;
    // an escaped escape character does not continue the line
    let n = 0;
    for (let k = t.length - 1; k >= 0 && t[k] === esc; k--) n++;
    return n % 2 === 1;
  };
  while (i < lines.length) {
    const raw = lines[i]!;
    if (raw.trim() === '' || isComment(raw)) { i++; continue; }
    const start = i + 1;
    let joined = '';
    let cur = raw;
    for (;;) {
      if (continues(cur)) {
        const t = cur.replace(/\s+$/, '');
        joined += t.slice(0, -1);
        i++;
        // comments and blank lines inside a continuation are skipped
        while (i < lines.length && (isComment(lines[i]!) || lines[i]!.trim() === '')) i++;
        if (i >= lines.length) break;
        cur = lines[i]!;
        continue;
      }
      joined += cur;
      i++;
      break;
    }
    const endLine = i;
    const trimmed = joined.trim();
    const m = /^(\S+)(?:\s+([\s\S]*))?$/.exec(trimmed);
    if (!m) continue;
    const cmd = m[1]!.toUpperCase();
    if (!INSTRUCTIONS.has(cmd)) throw atLine(file, start, `unknown instruction: ${m[1]!}`);
    let rest = (m[2] ?? '').trim();
    const flags: string[] = [];
    if (cmd !== 'ONBUILD') {
      for (;;) {
        const f = /^--([a-zA-Z][a-zA-Z0-9-]*)(=\S*)?(?:\s+|$)/.exec(rest);
        if (!f) break;
        flags.push(f[0].trim());
        rest = rest.slice(f[0].length);
      }
    }
    const node: Node = { cmd, line: start, endLine, original: trimmed, flags, rest, heredocs: [] };
    if (HEREDOC_INSTRUCTIONS.has(cmd) && !rest.startsWith('[')) {
      const docs: Array<{ name: string; expand: boolean; chomp: boolean }> = [];
      for (const h of rest.matchAll(HEREDOC)) docs.push({ name: h[3]!, expand: h[2] === '', chomp: h[1] === '-' });
      for (const d of docs) {
        const body: string[] = [];
        let closed = false;
        while (i < lines.length) {
          const l = lines[i++]!;
          const cmp = d.chomp ? l.replace(/^\t+/, '') : l;
          if (cmp === d.name) { closed = true; break; }
          body.push(cmp);
        }
        if (!closed) throw atLine(file, start, `unterminated heredoc ${d.name}`);
        node.heredocs.push({ name: d.name, content: body.length ? body.join('\n') + '\n' : '', expand: d.expand });
      }
      node.endLine = i;
    }
    if (rest.startsWith('[')) {
      try {
        const v: unknown = JSON.parse(rest);
        if (Array.isArray(v) && v.every((s) => typeof s === 'string')) node.json = v as string[];
      } catch { /* shell form */ }
    }
    nodes.push(node);
  }
  return { directives, nodes };
}
