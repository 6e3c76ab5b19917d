/**
 * `pier info [-f FORMAT]`: GET /info printed in docker's layout (the fields pierd and dockerd
 * report; absent fields are skipped). Warnings go to stderr.
 */
import { bytesSize } from '../../../api/units.js';
import { isDaemonResponseError } from '../../../client/index.js';
import { flagString, type ParsedFlags } from '../../flags/index.js';
import { prepareFormat } from '../../format/index.js';
import { StatusError, type CommandEnv, type CommandSpec } from '../command.js';
import { PIER_VERSION } from '../pier-version.js';

type Info = Record<string, unknown>;
const s = (v: unknown): string => (v === undefined || v === null ? '' : String(v));

export function formatServerInfo(i: Info): string {
  const lines: string[] = ['Server:'];
  const add = (label: string, v: unknown, indent = ' '): void => {
    if (v !== undefined && v !== null && v !== '') lines.push(`${indent}${label}: ${s(v)}`);
  };
  add('Containers', i['Containers']);
  add('Running', i['ContainersRunning'], '  ');
  add('Paused', i['ContainersPaused'], '  ');
  add('Stopped', i['ContainersStopped'], '  ');
  add('Images', i['Images']);
  add('Server Version', i['ServerVersion']);
  add('Storage Driver', i['Driver']);
  for (const pair of (i['DriverStatus'] as string[][] | null) ?? []) lines.push(`  ${s(pair[0])}: ${s(pair[1])}`);
  add('Logging Driver', i['LoggingDriver']);
  add('Cgroup Driver', i['CgroupDriver']);
  add('Cgroup Version', i['CgroupVersion']);
  const plugins = i['Plugins'] as Record<string, string[] | null> | undefined;
  if (plugins) {
    lines.push(' Plugins:');
    for (const k of ['Volume', 'Network', 'Authorization', 'Log']) {
      const v = plugins[k];
      if (v && v.length) lines.push(`  ${k}: ${v.join(' ')}`);
    }
  }
  const swarm = i['Swarm'] as { LocalNodeState?: string } | undefined;
  if (swarm) add('Swarm', swarm.LocalNodeState);
  const runtimes = i['Runtimes'] as Record<string, unknown> | undefined;
  if (runtimes) add('Runtimes', Object.keys(runtimes).sort().join(' '));
  add('Default Runtime', i['DefaultRuntime']);
  add('Init Binary', i['InitBinary']);
  const sec = (i['SecurityOptions'] as string[] | null) ?? [];
  if (sec.length) {
    lines.push(' Security Options:');
    for (const o of sec) {
      const parts = o.split(',');
      for (const part of parts) {
        const [k, v] = part.split('=');
        if (k === 'name') lines.push(`  ${s(v)}`);
        else if (k === 'profile') lines.push(`   Profile: ${s(v)}`);
      }
    }
  }
  add('Kernel Version', i['KernelVersion']);
  add('Operating System', i['OperatingSystem']);
  add('OSType', i['OSType']);
  add('Architecture', i['Architecture']);
  add('CPUs', i['NCPU']);
  if (typeof i['MemTotal'] === 'number') add('Total Memory', bytesSize(i['MemTotal'] as number));
  add('Name', i['Name']);
  add('ID', i['ID']);
  add('Docker Root Dir', i['DockerRootDir']);
  add('Debug Mode', i['Debug']);
  add('Experimental', i['ExperimentalBuild']);
  const reg = i['RegistryConfig'] as { InsecureRegistryCIDRs?: string[]; Mirrors?: string[] } | undefined;
  if (reg?.InsecureRegistryCIDRs?.length) {
    lines.push(' Insecure Registries:');
    for (const c of reg.InsecureRegistryCIDRs) lines.push(`  ${c}`);
  }
  if (reg?.Mirrors?.length) {
    lines.push(' Registry Mirrors:');
    for (const m of reg.Mirrors) lines.push(`  ${m}`);
  }
  add('Live Restore Enabled', i['LiveRestoreEnabled']);
  return `${lines.join('\n')}\n`;
}

export const command: CommandSpec = {
  usage: '[OPTIONS]',
  description: 'Display system-wide information',
  aliases: ['pier system info', 'pier info'],
  flags: [{ long: 'format', short: 'f', kind: 'string', usage: 'Format output using a custom template' }],
  args: { kind: 'none' },
  async run(env: CommandEnv, p: ParsedFlags): Promise<number> {
    const format = flagString(p, 'format');
    let info: Info | undefined;
    let err: unknown;
    try {
      info = await env.client().info();
    } catch (e) {
      err = e;
    }
    if (format) {
      if (err) throw err;
      const t = prepareFormat(format).template;
      env.io.stdout.write(`${t.execute({ ...info, ClientInfo: { Version: PIER_VERSION, Context: 'default', Debug: false } })}\n`);
      return 0;
    }
    env.io.stdout.write(`Client:\n Version:    ${PIER_VERSION}\n Context:    default\n Debug Mode: false\n\n`);
    if (err) {
      const msg = isDaemonResponseError(err) ? `Error response from daemon: ${err.message}` : (err as Error).message;
      env.io.stdout.write(`Server:\n`);
      throw new StatusError(1, `ERROR: ${msg}\nerrors pretty printing info`);
    }
    env.io.stdout.write(formatServerInfo(info as Info));
    const warnings = ((info as Info)['Warnings'] as string[] | null) ?? [];
    if (warnings.length) env.io.stderr.write(`\n${warnings.join('\n')}\n`);
    return 0;
  },
};
