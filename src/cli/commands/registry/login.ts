/** `pier login [-u USER] [-p PASS | --password-stdin] [SERVER]`: POST /auth, then config.json. */
import { flagBool, flagString, type ParsedFlags } from '../../flags/index.js';
import { StatusError, type CommandEnv, type CommandSpec } from '../command.js';
import { INDEX_SERVER, serverKey, storeCredentials } from './credentials.js';

export const command: CommandSpec = {
  usage: '[OPTIONS] [SERVER]',
  description: 'Log in to a registry',
  aliases: ['pier login'],
  flags: [
    { long: 'password', short: 'p', kind: 'string', usage: 'Password' },
    { long: 'password-stdin', kind: 'bool', usage: 'Take the password from stdin' },
    { long: 'username', short: 'u', kind: 'string', usage: 'Username' },
  ],
  args: { kind: 'max', n: 1 },
  async run(env: CommandEnv, p: ParsedFlags): Promise<number> {
    const server = (p.args[0] as string | undefined) ?? INDEX_SERVER;
    const username = flagString(p, 'username');
    let password = flagString(p, 'password');
    if (flagBool(p, 'password-stdin')) {
      if (password) throw new StatusError(1, '--password and --password-stdin are mutually exclusive');
      if (!username) throw new StatusError(1, 'Must provide --username with --password-stdin');
      const parts: Buffer[] = [];
      for await (const c of env.io.stdin) parts.push(Buffer.isBuffer(c) ? c : Buffer.from(String(c)));
      password = Buffer.concat(parts).toString('utf8').replace(/\r?\n$/, '');
    } else if (password) {
      env.io.stderr.write('WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n');
    }
    if (!username || !password) throw new StatusError(1, 'Error: Cannot perform an interactive login from a non TTY device');
    const key = serverKey(server);
    const res = await env.client().request('POST', '/auth', { body: { username, password, serveraddress: key } });
    const parts: Buffer[] = [];
    for await (const c of res) parts.push(c as Buffer);
    const body = JSON.parse(Buffer.concat(parts).toString('utf8') || '{}') as { IdentityToken?: string; Status?: string };
    const file = await storeCredentials(env.env, key, body.IdentityToken ? { identitytoken: body.IdentityToken } : { username, password });
    if (file) env.io.stderr.write(`WARNING! Your credentials are stored unencrypted in '${file}'.\nConfigure a credential helper to remove this warning. See\nhttps://docs.docker.com/go/credential-store/\n\n`);
    env.io.stdout.write(`${body.Status || 'Login Succeeded'}\n`);
    return 0;
  },
};
