/**
 * `pier version [-f FORMAT]`: the client block, then GET /version rendered like docker's
 * server block (one sub-block per component). A daemon error still prints the client block.
 */
import { isDaemonResponseError } from '../../../client/index.js';
import type { VersionResponse } from '../../../api/client-types.js';
import { flagString, type ParsedFlags } from '../../flags/index.js';
import { FormatError, prepareFormat, Template } from '../../format/index.js';
import { StatusError, type CommandEnv, type CommandSpec } from '../command.js';
import { PIER_GIT_COMMIT, PIER_VERSION } from '../pier-version.js';

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** time.RFC3339Nano → time.ANSIC in the string's own offset; unparsable input is returned as is. */
export function ansicTime(s: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(Z|[+-]\d{2}:\d{2})$/.exec(s);
  if (!m) return s;
  const [y, mo, d, h, mi, se] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const dow = new Date(Date.UTC(y, mo - 1, d)).getUTCDay();
  const p2 = (n: number): string => String(n).padStart(2, '0');
  return `${DAYS[dow]} ${MONTHS[mo - 1]} ${String(d).padStart(2, ' ')} ${p2(h)}:${p2(mi)}:${p2(se)} ${y}`;
}

const arch = (): string => ({ x64: 'amd64', arm64: 'arm64', ia32: '386', arm: 'arm' })[process.arch as string] ?? process.arch;

export function clientInfo(apiVersion: string, defaultApi: string): Record<string, unknown> {
  return {
    Platform: { Name: '' },
    Version: PIER_VERSION,
    ApiVersion: apiVersion,
    DefaultAPIVersion: defaultApi,
    GitCommit: PIER_GIT_COMMIT,
    GoVersion: process.version,
    Os: process.platform,
    Arch: arch(),
    BuildTime: '',
    Context: 'default',
  };
}

export function formatClientBlock(c: Record<string, unknown>): string {
  const api = c['ApiVersion'] === c['DefaultAPIVersion'] ? String(c['ApiVersion']) : `${String(c['ApiVersion'])} (downgraded from ${String(c['DefaultAPIVersion'])})`;
  return (
    `Client:\n` +
    ` Version:           ${String(c['Version'])}\n` +
    ` API version:       ${api}\n` +
    ` Node version:      ${String(c['GoVersion'])}\n` +
    ` Git commit:        ${String(c['GitCommit'])}\n` +
    ` Built:             ${String(c['BuildTime'])}\n` +
    ` OS/Arch:           ${String(c['Os'])}/${String(c['Arch'])}\n` +
    ` Context:           ${String(c['Context'])}\n`
  );
}

export function formatServerBlock(s: VersionResponse): string {
  let out = `\nServer:${s.Platform?.Name ? ` ${s.Platform.Name}` : ''}\n`;
  const comps = s.Components ?? [{ Name: 'Engine', Version: s.Version, Details: {} }];
  for (const c of comps) {
    out += ` ${c.Name}:\n`;
    const d = (c.Details ?? {}) as Record<string, unknown>;
    if (c.Name === 'Engine') {
      const get = (k: string): string => String(d[k] ?? (s as Record<string, unknown>)[k] ?? '');
      out +=
        `  Version:          ${c.Version}\n` +
        `  API version:      ${get('ApiVersion')} (minimum version ${get('MinAPIVersion')})\n` +
        `  Go version:       ${get('GoVersion')}\n` +
        `  Git commit:       ${get('GitCommit')}\n` +
        `  Built:            ${ansicTime(get('BuildTime'))}\n` +
        `  OS/Arch:          ${get('Os')}/${get('Arch')}\n` +
        `  Experimental:     ${get('Experimental')}\n`;
    } else {
      out += `  Version:          ${c.Version}\n`;
      for (const k of Object.keys(d).sort()) out += `  ${`${k}:`.padEnd(18)}${String(d[k])}\n`;
    }
  }
  return out;
}

export const command: CommandSpec = {
  usage: '[OPTIONS]',
  description: 'Show the Docker version information',
  flags: [{ long: 'format', short: 'f', kind: 'string', usage: 'Format output using a custom template' }],
  args: { kind: 'none' },
  async run(env: CommandEnv, p: ParsedFlags): Promise<number> {
    const client = env.client();
    let server: VersionResponse | undefined;
    let err: unknown;
    try {
      server = await client.serverVersion();
    } catch (e) {
      err = e;
    }
    if (server?.BuildTime) server.BuildTime = ansicTime(server.BuildTime);
    const ci = clientInfo(client.apiVersion, '1.41');
    const format = flagString(p, 'format');
    if (format) {
      let tmpl: Template;
      try {
        tmpl = format === 'json' ? Template.parse('{{json .}}') : prepareFormat(format).template;
      } catch (e) {
        throw new StatusError(64, `template parsing error: ${(e as FormatError).message.replace(/^failed to parse template: /, '')}`);
      }
      env.io.stdout.write(`${tmpl.execute({ Client: ci, Server: server ?? null })}\n`);
    } else {
      env.io.stdout.write(formatClientBlock(ci));
      if (server) env.io.stdout.write(formatServerBlock(server));
    }
    if (err) {
      if (isDaemonResponseError(err)) throw new StatusError(1, `Error response from daemon: ${err.message}`);
      throw err;
    }
    return 0;
  },
};
