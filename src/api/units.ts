/**
 * Human-readable sizes and durations as docker prints them (github.com/docker/go-units):
 * HumanSizeWithPrecision (decimal units, `%.*g`), BytesSize (binary units), HumanDuration,
 * and RAMInBytes for `-m 512m` style values.
 */

const DECIMAL = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB', 'ZB', 'YB'];
const BINARY = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB', 'ZiB', 'YiB'];

/** Go's fmt `%.{precision}g` for a float64. */
export function formatGoG(value: number, precision: number): string {
  if (value === 0) return '0';
  if (!Number.isFinite(value)) return value > 0 ? '+Inf' : value < 0 ? '-Inf' : 'NaN';
  const p = precision === 0 ? 1 : precision;
  const exp = Math.floor(Math.log10(Math.abs(Number(value.toPrecision(p)))));
  if (exp < -4 || exp >= p) {
    const [mant, e] = value.toExponential(p - 1).split('e') as [string, string];
    const m = mant.includes('.') ? mant.replace(/0+$/, '').replace(/\.$/, '') : mant;
    const en = Number(e);
    return `${m}e${en < 0 ? '-' : '+'}${String(Math.abs(en)).padStart(2, '0')}`;
  }
  const fixed = value.toFixed(Math.max(0, p - 1 - exp));
  return fixed.includes('.') ? fixed.replace(/0+$/, '').replace(/\.$/, '') : fixed;
}

function sizeAndUnit(size: number, base: number, units: string[]): [number, string] {
  let i = 0;
  while (size >= base && i < units.length - 1) {
    size /= base;
    i++;
  }
  return [size, units[i] as string];
}

/** units.HumanSizeWithPrecision: `1.99MB`, `0B`, `123kB`. */
export function humanSizeWithPrecision(bytes: number, precision: number): string {
  const [s, u] = sizeAndUnit(bytes, 1000, DECIMAL);
  return `${formatGoG(s, precision)}${u}`;
}

/** units.HumanSize (4 significant digits): `1.986MB`. */
export const humanSize = (bytes: number): string => humanSizeWithPrecision(bytes, 4);

/** units.BytesSize (binary units, 4 significant digits): `23.54GiB`. */
export function bytesSize(bytes: number): string {
  const [s, u] = sizeAndUnit(bytes, 1024, BINARY);
  return `${formatGoG(s, 4)}${u}`;
}

/** units.HumanDuration for a duration in milliseconds: `Less than a second`, `5 seconds`, `About an hour`. */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.trunc(ms / 60000);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.round(ms / 3600000);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.trunc(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.trunc(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.trunc(hours / 24 / 30)} months`;
  return `${Math.trunc(Math.trunc(ms / 3600000) / 24 / 365)} years`;
}

const RAM_UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };

/** units.RAMInBytes: `512m` → 536870912; throws on bad input with go-units' message. */
export function ramInBytes(s: string): number {
  const m = /^(\d+(?:\.\d+)?) ?([kKmMgGtTpP])?[iI]?[bB]?$/.exec(s);
  if (!m) throw new Error(`invalid size: '${s}'`);
  const mul = RAM_UNITS[(m[2] ?? '').toLowerCase()] ?? 1;
  return Math.trunc(Number(m[1]) * mul);
}
