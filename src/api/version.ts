/** API versions pier speaks. We advertise 1.41 (see docs/design/api.md). */
export const API_VERSION = '1.41';
export const MIN_API_VERSION = '1.24';
export const ENGINE_VERSION = '0.1.0';

/** Compares dotted API versions: -1, 0, 1. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number), pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] ?? 0, y = pb[i] ?? 0;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}
