/**
 * `pier`: the command-line entry. Global flags, then the verb, loaded on demand with import()
 * so that each invocation pays only for what it runs. Errors print the way docker prints them.
 */
import { PIER_GIT_COMMIT, PIER_VERSION } from './commands/index.js';

interface Globals {
  host: string | undefined;
  debug: boolean;
}

const GLOBAL_WITH_VALUE = new Set(['-H', '--host', '-l', '--log-level', '--config', '-c', '--context', '--tlscacert', '--tlscert', '--tlskey']);

async function main(argv: string[]): Promise<number> {
  const out = process.stdout;
  const err = process.stderr;
  const g: Globals = { host: undefined, debug: false };
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i] as string;
    if (!a.startsWith('-') || a === '-') break;
    if (a === '--') {
      i++;
      break;
    }
    const eq = a.startsWith('--') ? a.indexOf('=') : -1;
    const name = eq >= 0 ? a.slice(0, eq) : a;
    if (name === '-v' || name === '--version') {
      out.write(`pier version ${PIER_VERSION}, build ${PIER_GIT_COMMIT}\n`);
      return 0;
    }
    if (name === '-h' || name === '--help') {
      argv = [...argv.slice(0, i), ...argv.slice(i + 1)];
      i = argv.length;
      break;
    }
    if (name === '-D' || name === '--debug' || name === '--tls' || name === '--tlsverify') {
      if (name === '-D' || name === '--debug') g.debug = true;
      continue;
    }
    if (/^-H./.test(a) && !a.startsWith('--')) {
      g.host = a.slice(2).replace(/^=/, '');
      continue;
    }
    if (GLOBAL_WITH_VALUE.has(name)) {
      const v = eq >= 0 ? a.slice(eq + 1) : argv[++i];
      if (v === undefined) {
        err.write(`flag needs an argument: ${name.startsWith('--') ? name : `'${name.slice(1)}' in ${name}`}\n\nUsage:  pier [OPTIONS] COMMAND [ARG...]\n\nRun 'pier --help' for more information\n`);
        return 125;
      }
      if (name === '-H' || name === '--host') g.host = v;
      continue;
    }
    err.write(`unknown ${a.startsWith('--') ? `flag: ${name}` : `shorthand flag: '${a[1]}' in ${a}`}\n\nUsage:  pier [OPTIONS] COMMAND [ARG...]\n\nRun 'pier --help' for more information\n`);
    return 125;
  }

  const registry = await import('./commands/index.js');
  const verb = argv[i];
  if (verb === undefined || verb === 'help') {
    out.write(mainHelp(registry.topListing(), Object.entries(registry.groups).map(([n, gr]) => [n, gr.description])));
    return 0;
  }
  let path = `pier ${verb}`;
  let entry = registry.topLevel[verb];
  let rest = argv.slice(i + 1);
  const group = registry.groups[verb];
  if (group) {
    const sub = rest[0];
    if (sub === undefined || sub === '--help' || sub === '-h') {
      out.write(groupHelp(verb, group.description, registry.groupListing(verb)));
      return 0;
    }
    entry = group.commands[sub];
    if (!entry) {
      err.write(`pier: unknown command: pier ${verb} ${sub}\n\nUsage:  pier ${verb}\n\nRun 'pier ${verb} --help' for more information\n`);
      return 1;
    }
    path = `pier ${verb} ${sub}`;
    rest = rest.slice(1);
  } else if (!entry) {
    err.write(`pier: unknown command: pier ${verb}\n\nRun 'pier --help' for more information\n`);
    return 1;
  }

  const [spec, flagsMod] = await Promise.all([entry.load(), import('./flags/index.js')]);
  let parsed;
  try {
    parsed = flagsMod.parseFlags(spec.flags, rest, { interspersed: spec.interspersed ?? true });
  } catch (e) {
    if (e instanceof flagsMod.FlagError) {
      err.write(`${registry.flagErrorText(e.message, path, spec.usage)}\n`);
      return 125;
    }
    throw e;
  }
  if (parsed.help) {
    out.write(commandHelp(path, spec.usage, spec.description, spec.aliases, flagsMod.formatFlagUsages(spec.flags)));
    return 0;
  }
  const argErr = registry.checkArgs(spec.args, parsed.args.length, path, spec.usage);
  if (argErr) {
    err.write(`${argErr.message}\n`);
    return argErr.status;
  }

  const clientMod = await import('../client/index.js');
  let client: InstanceType<typeof clientMod.EngineClient> | undefined;
  const env = {
    io: { stdout: out, stderr: err, stdin: process.stdin },
    env: process.env,
    commandPath: path,
    now: () => Date.now(),
    client: () =>
      (client ??= new clientMod.EngineClient({
        host: clientMod.resolveDaemonHost(g.host, process.env),
        apiVersion: process.env['DOCKER_API_VERSION'] || undefined,
        userAgent: `pier/${PIER_VERSION}`,
      })),
    process: { on: (s: NodeJS.Signals, fn: () => void) => process.on(s, fn), off: (s: NodeJS.Signals, fn: () => void) => process.off(s, fn) },
    readFile: async (p: string) => (await import('node:fs/promises')).readFile(p),
  };
  try {
    return await spec.run(env, parsed);
  } catch (e) {
    if (e instanceof registry.StatusError) {
      if (e.message) err.write(`${e.message}\n`);
      return e.status;
    }
    if (clientMod.isDaemonResponseError(e)) {
      err.write(`Error response from daemon: ${e.message}\n`);
      return 1;
    }
    if (g.debug && e instanceof Error && e.stack) err.write(`${e.stack}\n`);
    err.write(`${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
}

function table(rows: Array<[string, string]>): string {
  const w = Math.max(0, ...rows.map(([n]) => n.length));
  return rows.map(([n, d]) => `  ${n.padEnd(Math.max(w, 11))} ${d}`).join('\n');
}

function mainHelp(verbs: Array<[string, string]>, groups: Array<[string, string]>): string {
  return `
Usage:  pier [OPTIONS] COMMAND

A container engine that speaks Docker's Engine API

Commands:
${table(verbs)}

Management Commands:
${table(groups)}

Global Options:
  -D, --debug              Enable debug mode
  -H, --host string        Daemon socket to connect to (env PIER_HOST, then DOCKER_HOST)
  -v, --version            Print version information and quit

Run 'pier COMMAND --help' for more information on a command.
`;
}

function groupHelp(name: string, description: string, rows: Array<[string, string]>): string {
  return `Usage:  pier ${name} COMMAND

${description}

Commands:
${table(rows)}

Run 'pier ${name} COMMAND --help' for more information on a command.
`;
}

function commandHelp(path: string, usage: string, description: string, aliases: readonly string[] | undefined, flags: string): string {
  let s = `Usage:  ${path} ${usage}\n\n${description}\n`;
  if (aliases && aliases.length) s += `\nAliases:\n  ${aliases.join(', ')}\n`;
  if (flags) s += `\nOptions:\n${flags}\n`;
  return s;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
