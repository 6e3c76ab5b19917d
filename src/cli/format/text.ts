/**
 * Small string helpers docker's formatters use: TruncateID, Ellipsis, Go's time.Time.String()
 * for unix seconds, and strconv.Quote.
 */

/** stringid.TruncateID: drop an `algo:` prefix, keep 12 characters. */
export function truncateId(id: string): string {
  const i = id.indexOf(':');
  const s = i >= 0 ? id.slice(i + 1) : id;
  return s.length > 12 ? s.slice(0, 12) : s;
}

/** formatter.Ellipsis: cut to `max` runes, the last one being `…`. */
export function ellipsis(s: string, max: number): string {
  if (max <= 0) return '';
  const rs = [...s];
  if (max === 1) return rs[0] ?? '';
  if (rs.length <= max) return s;
  return `${rs.slice(0, max - 1).join('')}…`;
}

const pad2 = (n: number): string => String(n).padStart(2, '0');

/** time.Unix(sec, 0).String() in the local zone: `2026-11-23 16:56:39 +0000 UTC`. */
export function goTimeString(unixSeconds: number): string {
  const d = new Date(unixSeconds * 1000);
  const offMin = -d.getTimezoneOffset();
  const sign = offMin >= 0 ? '+' : '-';
  const off = `${sign}${pad2(Math.trunc(Math.abs(offMin) / 60))}${pad2(Math.abs(offMin) % 60)}`;
  let zone = 'UTC';
  if (offMin !== 0 || (process.env['TZ'] ?? 'UTC') !== 'UTC') {
    const part = new Intl.DateTimeFormat('en-US', { timeZoneName: 'short' }).formatToParts(d).find((p) => p.type === 'timeZoneName');
    zone = part?.value && !part.value.startsWith('GMT') ? part.value : off;
    if (offMin === 0 && part?.value === 'GMT') zone = 'UTC';
  }
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())} ${off} ${zone}`;
}

/** strconv.Quote for printable text. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0) as number;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\r') out += '\\r';
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}
