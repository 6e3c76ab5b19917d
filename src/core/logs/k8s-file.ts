/**
 * conmon's k8s-file log format: `<RFC3339Nano> <stdout|stderr> <F|P> <text>\n`, where `P`
 * marks a partial line continued by the next entry. Parsing is pure; reading files is the
 * log adapter's job.
 */
export type StreamName = 'stdout' | 'stderr';

export interface LogEntry {
  /** RFC3339Nano as written by conmon (with its local offset). */
  time: string;
  stream: StreamName;
  /** The bytes of the line, with '\n' appended for full ('F') lines. */
  data: Buffer;
}

/** Parses one line (without its trailing '\n'); undefined for a malformed line. */
export function parseK8sLine(line: Buffer): LogEntry | undefined {
  const s1 = line.indexOf(0x20);
  if (s1 < 0) return undefined;
  const s2 = line.indexOf(0x20, s1 + 1);
  if (s2 < 0) return undefined;
  const s3 = line.indexOf(0x20, s2 + 1);
  const tag = line.subarray(s2 + 1, s3 < 0 ? line.length : s3).toString();
  const stream = line.subarray(s1 + 1, s2).toString();
  if (stream !== 'stdout' && stream !== 'stderr') return undefined;
  const text = s3 < 0 ? Buffer.alloc(0) : line.subarray(s3 + 1);
  const full = tag.split(':').includes('F');
  return { time: line.subarray(0, s1).toString(), stream, data: full ? Buffer.concat([text, Buffer.from('\n')]) : Buffer.from(text) };
}

/** Converts conmon's timestamp (any offset) to epoch nanoseconds as a bigint. */
export function timeToNanos(t: string): bigint {
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(t);
  if (!m) return 0n;
  const ms = Date.parse(`${m[1]}${m[3]}`);
  const frac = (m[2] ?? '').padEnd(9, '0').slice(0, 9);
  return BigInt(ms) * 1_000_000n + BigInt(frac);
}

/** Docker's `--timestamps` form: UTC, always 9 fraction digits. */
export function formatNanos(ns: bigint): string {
  const ms = Number(ns / 1_000_000n);
  const frac = String(ns % 1_000_000_000n).padStart(9, '0');
  return new Date(ms).toISOString().slice(0, 19) + '.' + frac + 'Z';
}
