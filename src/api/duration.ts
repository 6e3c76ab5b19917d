/**
 * Go durations (`10s`, `1h30m`, `300ms`) and docker's timestamp arguments for
 * `--since`/`--until` (pkg timetypes.GetTimestamp): a duration relative to now, an RFC3339
 * date, or unix seconds with optional nanoseconds. Pure: `now` is a parameter.
 */

const UNIT_NS: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, μs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** time.ParseDuration, in nanoseconds (a float; exact below 2^53 ns ≈ 104 days). */
export function parseGoDuration(s: string): number {
  const orig = s;
  let neg = false;
  if (s.startsWith('-') || s.startsWith('+')) {
    neg = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') throw new Error(`time: invalid duration "${orig}"`);
  let total = 0;
  const re = /^(\d*\.?\d*)(ns|us|µs|μs|ms|s|m|h)/;
  while (s.length > 0) {
    const m = re.exec(s);
    if (!m || m[1] === '' || m[1] === '.') {
      if (/^(\d*\.?\d*)$/.test(s)) throw new Error(`time: missing unit in duration "${orig}"`);
      const u = /^\d*\.?\d*([^\d.]*)/.exec(s)?.[1] ?? '';
      throw new Error(u ? `time: unknown unit "${u}" in duration "${orig}"` : `time: invalid duration "${orig}"`);
    }
    total += Number(m[1]) * (UNIT_NS[m[2] as string] ?? 1);
    s = s.slice(m[0].length);
  }
  return neg ? -total : total;
}

/**
 * timetypes.GetTimestamp: the value the API expects for since/until/`events --since`.
 * Durations count back from `nowMs`; dates become `seconds.nanoseconds`; unix timestamps pass.
 */
export function apiTimestamp(value: string, nowMs: number): string {
  if (value === '') return '';
  let durationNs: number | undefined;
  try {
    durationNs = parseGoDuration(value);
  } catch {
    durationNs = undefined;
  }
  if (durationNs !== undefined && value !== '0') return String(Math.floor((nowMs * 1e6 - durationNs) / 1e9));
  if (/^-?\d+(\.\d+)?$/.test(value)) return value;
  // RFC3339 and the shorter layouts docker accepts; no zone means local time.
  const date = parseDateLike(value);
  if (date === undefined) throw new Error(`failed to parse value as time or duration: "${value}"`);
  const secs = Math.floor(date.ms / 1000);
  const nanos = (date.ms - secs * 1000) * 1e6 + date.extraNanos;
  return `${secs}.${String(nanos).padStart(9, '0')}`;
}

function parseDateLike(v: string): { ms: number; extraNanos: number } | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?(Z|[+-]\d{2}:?\d{2})?$/.exec(v);
  if (!m) return undefined;
  const frac = (m[7] ?? '').padEnd(9, '0');
  const ms0 = Number(frac.slice(0, 3));
  const extraNanos = Number(frac.slice(3));
  const [y, mo, d, h, mi, s] = [m[1], m[2], m[3], m[4] ?? '0', m[5] ?? '0', m[6] ?? '0'].map(Number) as number[];
  let ms: number;
  const zone = m[8];
  if (zone === undefined) ms = new Date(y as number, (mo as number) - 1, d, h, mi, s, ms0).getTime();
  else {
    ms = Date.UTC(y as number, (mo as number) - 1, d, h, mi, s, ms0);
    if (zone !== 'Z') {
      const zm = /([+-])(\d{2}):?(\d{2})/.exec(zone) as RegExpExecArray;
      const off = (Number(zm[2]) * 60 + Number(zm[3])) * 60000;
      ms -= zm[1] === '+' ? off : -off;
    }
  }
  return Number.isNaN(ms) ? undefined : { ms, extraNanos };
}
