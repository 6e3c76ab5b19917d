/**
 * `pier events [--since] [--until] [-f FILTER] [--format]`: GET /events, one line per event
 * (`<time> <Type> <Action> <ID> (k=v, ...)`) or the template per event.
 */
import { apiTimestamp } from '../../../api/duration.js';
import { JsonStreamDecoder } from '../../../client/index.js';
import type { EventMessage } from '../../../api/client-types.js';
import { flagList, flagString, parseFilterList, type ParsedFlags } from '../../flags/index.js';
import { FormatError, prepareFormat } from '../../format/index.js';
import { StatusError, type CommandEnv, type CommandSpec } from '../command.js';

const p2 = (n: number, w = 2): string => String(n).padStart(w, '0');

/** RFC3339NanoFixed in local time from unix nanoseconds given as a decimal string. */
export function rfc3339NanoFixed(nanos: string): string {
  const big = BigInt(nanos);
  const secs = Number(big / 1000000000n);
  const frac = String(big % 1000000000n).padStart(9, '0');
  const d = new Date(secs * 1000);
  const off = -d.getTimezoneOffset();
  const zone = off === 0 ? 'Z' : `${off > 0 ? '+' : '-'}${p2(Math.trunc(Math.abs(off) / 60))}:${p2(Math.abs(off) % 60)}`;
  return `${d.getFullYear()}-${p2(d.getMonth() + 1)}-${p2(d.getDate())}T${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())}.${frac}${zone}`;
}

export function formatEventLine(e: EventMessage, timeNanoText: string | undefined): string {
  let out = '';
  if (timeNanoText && timeNanoText !== '0') out += `${rfc3339NanoFixed(timeNanoText)} `;
  else if (e.time) out += `${rfc3339NanoFixed(`${e.time}000000000`)} `;
  out += `${e.Type} ${e.Action} ${e.Actor?.ID ?? ''}`;
  const attrs = e.Actor?.Attributes ?? {};
  const keys = Object.keys(attrs).sort();
  if (keys.length) out += ` (${keys.map((k) => `${k}=${attrs[k]}`).join(', ')})`;
  return `${out}\n`;
}

export const command: CommandSpec = {
  usage: '[OPTIONS]',
  description: 'Get real time events from the server',
  aliases: ['pier system events', 'pier events'],
  flags: [
    { long: 'filter', short: 'f', kind: 'stringArray', valueName: 'filter', usage: 'Filter output based on conditions provided' },
    { long: 'format', kind: 'string', usage: 'Format output using a custom template' },
    { long: 'since', kind: 'string', usage: 'Show all events created since timestamp' },
    { long: 'until', kind: 'string', usage: 'Stream events until this timestamp' },
  ],
  args: { kind: 'none' },
  async run(env: CommandEnv, p: ParsedFlags): Promise<number> {
    const now = env.now();
    const since = flagString(p, 'since') ? apiTimestamp(flagString(p, 'since'), now) : undefined;
    const until = flagString(p, 'until') ? apiTimestamp(flagString(p, 'until'), now) : undefined;
    const f = parseFilterList(flagList(p, 'filter'));
    const format = flagString(p, 'format');
    let tmpl;
    try {
      tmpl = format ? prepareFormat(format).template : undefined;
    } catch (e) {
      if (e instanceof FormatError) throw new StatusError(64, e.message);
      throw e;
    }
    const res = await env.client().events({ since, until, filters: Object.keys(f).length ? JSON.stringify(f) : undefined });
    const onSignal = (): void => {
      res.destroy();
    };
    env.process?.on('SIGINT', onSignal);
    const dec = new JsonStreamDecoder();
    res.setEncoding('utf8');
    try {
      for await (const chunk of res) {
        for (const raw of dec.pushRaw(chunk as string)) {
          const e = JSON.parse(raw) as EventMessage;
          const nano = /"timeNano"\s*:\s*(\d+)/.exec(raw)?.[1];
          env.io.stdout.write(tmpl ? `${tmpl.execute(e)}\n` : formatEventLine(e, nano));
        }
      }
    } catch (e) {
      if (!res.destroyed) throw e;
    } finally {
      env.process?.off('SIGINT', onSignal);
    }
    return 0;
  },
};
