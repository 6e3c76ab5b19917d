/** `pier search [--limit N] [--no-trunc] TERM`: GET /images/search, docker's table. */
import { parseImageName } from '../../../api/image-name.js';
import { flagBool, flagString, type ParsedFlags } from '../../flags/index.js';
import { tabwrite } from '../../format/index.js';
import type { CommandEnv, CommandSpec } from '../command.js';
import { encodeAuthHeader, getCredentials } from './credentials.js';

interface Result { name: string; description: string; star_count: number; is_official: boolean }

export const command: CommandSpec = {
  usage: '[OPTIONS] TERM',
  description: 'Search Docker Hub for images',
  aliases: ['pier search'],
  flags: [
    { long: 'limit', kind: 'string', usage: 'Max number of search results' },
    { long: 'no-trunc', kind: 'bool', usage: "Don't truncate output" },
  ],
  args: { kind: 'exact', n: 1 },
  async run(env: CommandEnv, p: ParsedFlags): Promise<number> {
    const term = p.args[0] as string;
    const domain = term.includes('/') ? parseImageName(term).domain : 'docker.io';
    const auth = await getCredentials(env.env, domain);
    const limit = flagString(p, 'limit');
    const res = await env.client().request('GET', '/images/search', { query: { term, limit: limit || undefined }, headers: { 'X-Registry-Auth': encodeAuthHeader(auth) } });
    const parts: Buffer[] = [];
    for await (const c of res) parts.push(c as Buffer);
    const rows = JSON.parse(Buffer.concat(parts).toString('utf8')) as Result[];
    const trunc = (s: string): string => (!flagBool(p, 'no-trunc') && s.length > 45 ? s.slice(0, 44) + '…' : s);
    const lines = ['NAME\tDESCRIPTION\tSTARS\tOFFICIAL', ...rows.map((r) => `${r.name}\t${trunc(r.description.replace(/\n/g, ' '))}\t${r.star_count}\t${r.is_official ? '[OK]' : ''}`)];
    env.io.stdout.write(tabwrite(lines.join('\n') + '\n'));
    return 0;
  },
};
