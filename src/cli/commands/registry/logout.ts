/** `pier logout [SERVER]`: removes stored credentials; no API call, as docker does. */
import type { ParsedFlags } from '../../flags/index.js';
import type { CommandEnv, CommandSpec } from '../command.js';
import { INDEX_SERVER, eraseCredentials, serverKey } from './credentials.js';

export const command: CommandSpec = {
  usage: '[SERVER]',
  description: 'Log out from a registry',
  aliases: ['pier logout'],
  flags: [],
  args: { kind: 'max', n: 1 },
  async run(env: CommandEnv, p: ParsedFlags): Promise<number> {
    const key = serverKey((p.args[0] as string | undefined) ?? INDEX_SERVER);
    const had = await eraseCredentials(env.env, key);
    env.io.stdout.write(had ? `Removing login credentials for ${key}\n` : `Not logged in to ${key}\n`);
    return 0;
  },
};
