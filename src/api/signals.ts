/** Signal names and numbers (Linux x86_64), parsed as Docker does: `TERM`, `SIGTERM`, `15`. */
import { invalidArgument } from '../lib/errdefs.js';

export const SIGNALS: Readonly<Record<string, number>> = {
  ABRT: 6, ALRM: 14, BUS: 7, CHLD: 17, CLD: 17, CONT: 18, FPE: 8, HUP: 1, ILL: 4, INT: 2, IO: 29, IOT: 6,
  KILL: 9, PIPE: 13, POLL: 29, PROF: 27, PWR: 30, QUIT: 3, SEGV: 11, STKFLT: 16, STOP: 19, SYS: 31,
  TERM: 15, TRAP: 5, TSTP: 20, TTIN: 21, TTOU: 22, URG: 23, USR1: 10, USR2: 12, VTALRM: 26, WINCH: 28,
  XCPU: 24, XFSZ: 25,
};

/** Parses a signal; throws invalid-argument `Invalid signal: X` like moby's signal.ParseSignal. */
export function parseSignal(input: string): number {
  const s = input.trim();
  if (/^[0-9]+$/.test(s)) {
    const n = Number(s);
    if (n === 0 || n > 64) throw invalidArgument(`Invalid signal: ${input}`);
    return n;
  }
  let name = s.toUpperCase();
  if (name.startsWith('SIG')) name = name.slice(3);
  const rt = /^RTMIN(?:\+([0-9]+))?$|^RTMAX(?:-([0-9]+))?$/.exec(name);
  if (rt) {
    const n = rt[1] !== undefined ? 34 + Number(rt[1]) : rt[2] !== undefined ? 64 - Number(rt[2]) : name.startsWith('RTMIN') ? 34 : 64;
    if (n >= 34 && n <= 64) return n;
  }
  const n = SIGNALS[name];
  if (n === undefined) throw invalidArgument(`Invalid signal: ${input}`);
  return n;
}

/** The name without SIG prefix for a number, e.g. 15 → TERM. */
export function signalName(n: number): string {
  for (const [k, v] of Object.entries(SIGNALS)) if (v === n && k !== 'IOT' && k !== 'CLD' && k !== 'POLL') return k;
  return String(n);
}
