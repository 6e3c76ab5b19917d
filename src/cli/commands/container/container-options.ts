/**
 * The flags `run` and `create` share, and the create request built from them (docker/cli's
 * opts.go parse()). Pure apart from the env-file reader passed in.
 */
import type { ContainerCreateRequest } from '../../../api/client-types.js';
import { ramInBytes } from '../../../api/units.js';
import { parseGoDuration } from '../../../api/duration.js';
import {
  flagBool,
  flagInt,
  flagList,
  flagString,
  kvListToMap,
  parseEnvFileText,
  resolveEnvEntry,
  type FlagDef,
  type ParsedFlags,
} from '../../flags/index.js';
import { StatusError } from '../command.js';
import { RESOURCE_FLAGS, resourceHostConfig } from './resource-flags.js';
import { parseMountFlag, type MountSpec } from './mount-flag.js';

export const CONTAINER_FLAGS: readonly FlagDef[] = [
  { long: 'add-host', kind: 'stringArray', valueName: 'list', usage: 'Add a custom host-to-IP mapping (host:ip)' },
  { long: 'attach', short: 'a', kind: 'stringArray', valueName: 'list', usage: 'Attach to STDIN, STDOUT or STDERR' },
  { long: 'cap-add', kind: 'stringArray', valueName: 'list', usage: 'Add Linux capabilities' },
  { long: 'cap-drop', kind: 'stringArray', valueName: 'list', usage: 'Drop Linux capabilities' },
  { long: 'cpus', kind: 'string', valueName: 'decimal', usage: 'Number of CPUs' },
  { long: 'dns', kind: 'stringArray', valueName: 'list', usage: 'Set custom DNS servers' },
  { long: 'dns-option', kind: 'stringArray', valueName: 'list', usage: 'Set DNS options' },
  { long: 'dns-search', kind: 'stringArray', valueName: 'list', usage: 'Set custom DNS search domains' },
  { long: 'domainname', kind: 'string', usage: 'Container NIS domain name' },
  { long: 'entrypoint', kind: 'string', usage: 'Overwrite the default ENTRYPOINT of the image' },
  { long: 'env', short: 'e', kind: 'stringArray', valueName: 'list', usage: 'Set environment variables' },
  { long: 'env-file', kind: 'stringArray', valueName: 'list', usage: 'Read in a file of environment variables' },
  { long: 'expose', kind: 'stringArray', valueName: 'list', usage: 'Expose a port or a range of ports' },
  { long: 'health-cmd', kind: 'string', usage: 'Command to run to check health' },
  { long: 'health-interval', kind: 'string', valueName: 'duration', usage: 'Time between running the check (ms|s|m|h) (default 0s)' },
  { long: 'health-retries', kind: 'int', usage: 'Consecutive failures needed to report unhealthy' },
  { long: 'health-start-period', kind: 'string', valueName: 'duration', usage: 'Start period for the container to initialize before starting health-retries countdown (ms|s|m|h) (default 0s)' },
  { long: 'health-timeout', kind: 'string', valueName: 'duration', usage: 'Maximum time to allow one check to run (ms|s|m|h) (default 0s)' },
  { long: 'no-healthcheck', kind: 'bool', usage: 'Disable any container-specified HEALTHCHECK' },
  { long: 'hostname', short: 'h', kind: 'string', usage: 'Container host name' },
  { long: 'init', kind: 'bool', usage: 'Run an init inside the container that forwards signals and reaps processes' },
  { long: 'interactive', short: 'i', kind: 'bool', usage: 'Keep STDIN open even if not attached' },
  { long: 'label', short: 'l', kind: 'stringArray', valueName: 'list', usage: 'Set meta data on a container' },
  { long: 'label-file', kind: 'stringArray', valueName: 'list', usage: 'Read in a line delimited file of labels' },
  { long: 'log-driver', kind: 'string', usage: 'Logging driver for the container' },
  { long: 'log-opt', kind: 'stringArray', valueName: 'list', usage: 'Log driver options' },
  { long: 'memory', short: 'm', kind: 'string', valueName: 'bytes', usage: 'Memory limit' },
  { long: 'name', kind: 'string', usage: 'Assign a name to the container' },
  { long: 'network', kind: 'string', valueName: 'network', usage: 'Connect a container to a network', defaultValue: 'default' },
  { long: 'net', kind: 'string', hidden: true, defaultValue: 'default' },
  { long: 'network-alias', kind: 'stringArray', valueName: 'list', usage: 'Add network-scoped alias for the container' },
  { long: 'ip', kind: 'string', usage: 'IPv4 address (e.g., 172.30.100.104)' },
  { long: 'link', kind: 'stringArray', valueName: 'list', usage: 'Add link to another container' },
  { long: 'mac-address', kind: 'string', usage: 'Container MAC address (e.g., 92:d0:c6:0a:29:33)' },
  { long: 'publish-all', short: 'P', kind: 'bool', usage: 'Publish all exposed ports to random ports' },
  { long: 'platform', kind: 'string', usage: 'Set platform if server is multi-platform capable' },
  { long: 'privileged', kind: 'bool', usage: 'Give extended privileges to this container' },
  { long: 'publish', short: 'p', kind: 'stringArray', valueName: 'list', usage: "Publish a container's port(s) to the host" },
  { long: 'pull', kind: 'string', usage: 'Pull image before running ("always", "missing", "never")', defaultValue: 'missing' },
  { long: 'quiet', short: 'q', kind: 'bool', usage: 'Suppress the pull output' },
  { long: 'read-only', kind: 'bool', usage: "Mount the container's root filesystem as read only" },
  { long: 'restart', kind: 'string', usage: 'Restart policy to apply when a container exits', defaultValue: 'no' },
  { long: 'rm', kind: 'bool', usage: 'Automatically remove the container and its associated anonymous volumes when it exits' },
  { long: 'runtime', kind: 'string', usage: 'Runtime to use for this container' },
  { long: 'security-opt', kind: 'stringArray', valueName: 'list', usage: 'Security Options' },
  { long: 'stop-signal', kind: 'string', usage: 'Signal to stop the container' },
  { long: 'stop-timeout', kind: 'int', usage: 'Timeout (in seconds) to stop a container' },
  { long: 'tmpfs', kind: 'stringArray', valueName: 'list', usage: 'Mount a tmpfs directory' },
  { long: 'mount', kind: 'stringArray', valueName: 'mount', usage: 'Attach a filesystem mount to the container' },
  { long: 'volumes-from', kind: 'stringArray', valueName: 'list', usage: 'Mount volumes from the specified container(s)' },
  { long: 'tty', short: 't', kind: 'bool', usage: 'Allocate a pseudo-TTY' },
  { long: 'user', short: 'u', kind: 'string', usage: 'Username or UID (format: <name|uid>[:<group|gid>])' },
  { long: 'userns', kind: 'string', usage: 'User namespace to use' },
  { long: 'volume', short: 'v', kind: 'stringArray', valueName: 'list', usage: 'Bind mount a volume' },
  { long: 'workdir', short: 'w', kind: 'string', usage: 'Working directory inside the container' },
  ...RESOURCE_FLAGS,
];

export interface ContainerOptions {
  readonly name: string;
  readonly image: string;
  readonly pull: string;
  readonly quiet: boolean;
  readonly platform: string;
  readonly body: ContainerCreateRequest;
}

/** `-p [ip:][hostPort:]containerPort[/proto]` → exposed port key and binding. */
export function parsePublish(spec: string): { key: string; hostIp: string; hostPort: string } {
  let proto = 'tcp';
  let s = spec;
  const slash = s.lastIndexOf('/');
  if (slash >= 0) {
    proto = s.slice(slash + 1) || 'tcp';
    s = s.slice(0, slash);
  }
  let hostIp = '';
  let hostPort = '';
  let containerPort: string;
  const ipv6 = /^\[([^\]]+)\]:(.*)$/.exec(s);
  if (ipv6) {
    hostIp = ipv6[1] as string;
    const rest = (ipv6[2] as string).split(':');
    hostPort = rest.length > 1 ? (rest[0] as string) : '';
    containerPort = rest[rest.length - 1] as string;
  } else {
    const parts = s.split(':');
    if (parts.length === 1) containerPort = parts[0] as string;
    else if (parts.length === 2) [hostPort, containerPort] = parts as [string, string];
    else if (parts.length === 3) [hostIp, hostPort, containerPort] = parts as [string, string, string];
    else throw new Error(`invalid port format for --publish: ${spec}`);
  }
  if (!/^\d+(-\d+)?$/.test(containerPort)) throw new Error(`invalid containerPort: ${containerPort}`);
  return { key: `${containerPort}/${proto}`, hostIp, hostPort };
}

function nanoCpus(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || v.trim() === '') throw new Error(`invalid argument "${v}" for "--cpus" flag: failed to parse ${v} as a rational number`);
  return Math.round(n * 1e9);
}

function restartPolicy(v: string): { Name: string; MaximumRetryCount: number } {
  const [name = '', count] = v.split(':');
  if (!['no', 'always', 'unless-stopped', 'on-failure', ''].includes(name)) throw new Error(`invalid restart policy format: ${v}`);
  if (count !== undefined && name !== 'on-failure') throw new Error(`invalid restart policy format: maximum retry count can only be used with 'on-failure'`);
  return { Name: name === '' ? 'no' : name, MaximumRetryCount: count === undefined ? 0 : Number(count) };
}

/** Builds the create request from parsed flags and `IMAGE [COMMAND] [ARG...]`. */
export async function buildContainerOptions(
  p: ParsedFlags,
  args: readonly string[],
  deps: { env: Readonly<Record<string, string | undefined>>; readFile?: (path: string) => Promise<Buffer>; detach: boolean; stdinIsTerminal: boolean },
): Promise<ContainerOptions> {
  const image = args[0] as string;
  const cmd = args.slice(1);
  const lookup = (k: string): string | undefined => deps.env[k];
  const fail = (msg: string): never => {
    throw new StatusError(125, `pier: ${msg}\n\nRun 'pier run --help' for more information`);
  };

  const readText = async (path: string): Promise<string> => {
    if (!deps.readFile) return fail(`open ${path}: no such file or directory`);
    try {
      return (await deps.readFile(path)).toString('utf8');
    } catch (e) {
      const code = (e as { code?: string }).code;
      return fail(code === 'ENOENT' ? `open ${path}: no such file or directory` : (e as Error).message);
    }
  };

  const env: string[] = [];
  for (const f of flagList(p, 'env-file')) {
    try {
      env.push(...parseEnvFileText(await readText(f), f, lookup));
    } catch (e) {
      if (e instanceof StatusError) throw e;
      fail((e as Error).message);
    }
  }
  for (const e of flagList(p, 'env')) {
    try {
      env.push(resolveEnvEntry(e, lookup));
    } catch (err) {
      fail((err as Error).message);
    }
  }
  const labelLines: string[] = [];
  for (const f of flagList(p, 'label-file')) {
    for (const line of (await readText(f)).split('\n')) {
      const t = line.trim();
      if (t && !t.startsWith('#')) labelLines.push(t);
    }
  }
  labelLines.push(...flagList(p, 'label'));

  const tty = flagBool(p, 'tty');
  const stdinOpen = flagBool(p, 'interactive');
  let attach = flagList(p, 'attach').map((s) => s.toLowerCase());
  for (const a of attach) if (!['stdin', 'stdout', 'stderr'].includes(a)) fail(`invalid argument "${a}" for "-a, --attach" flag: valid streams are STDIN, STDOUT and STDERR`);
  if (deps.detach && attach.length) fail('Conflicting options: -a and -d');
  if (!deps.detach && attach.length === 0) attach = stdinOpen ? ['stdin', 'stdout', 'stderr'] : ['stdout', 'stderr'];
  if (flagBool(p, 'rm') && flagString(p, 'restart') !== 'no' && flagString(p, 'restart') !== '')
    fail('Conflicting options: --restart and --rm');

  const exposed: Record<string, Record<string, never>> = {};
  const bindings: Record<string, Array<{ HostIp: string; HostPort: string }>> = {};
  for (const spec of flagList(p, 'publish')) {
    try {
      const b = parsePublish(spec);
      exposed[b.key] = {};
      (bindings[b.key] ??= []).push({ HostIp: b.hostIp, HostPort: b.hostPort });
    } catch (e) {
      fail((e as Error).message);
    }
  }
  for (const e of flagList(p, 'expose')) exposed[e.includes('/') ? e : `${e}/tcp`] = {};

  let memory = 0;
  if (flagString(p, 'memory')) {
    try {
      memory = ramInBytes(flagString(p, 'memory'));
    } catch (e) {
      fail(`invalid argument "${flagString(p, 'memory')}" for "-m, --memory" flag: ${(e as Error).message}`);
    }
  }
  let cpus = 0;
  if (flagString(p, 'cpus')) {
    try {
      cpus = nanoCpus(flagString(p, 'cpus'));
    } catch (e) {
      fail((e as Error).message);
    }
  }
  let restart = { Name: 'no', MaximumRetryCount: 0 };
  try {
    restart = restartPolicy(flagString(p, 'restart'));
  } catch (e) {
    fail((e as Error).message);
  }

  // docker/cli's UsernsMode.Valid: empty or `host` (before any `:`)
  const userns = flagString(p, 'userns');
  if (userns !== '' && userns.split(':')[0] !== 'host') fail('--userns: invalid USER mode');

  const network = p.changed.has('network') ? flagString(p, 'network') : p.changed.has('net') ? flagString(p, 'net') : 'default';
  const entrypoint = p.changed.has('entrypoint') ? (flagString(p, 'entrypoint') === '' ? [''] : [flagString(p, 'entrypoint')]) : null;
  // `-v /path` (no source) is an anonymous volume: Config.Volumes, as docker/cli sends it.
  const binds = flagList(p, 'volume').filter((v) => v.includes(':'));
  const volumes = Object.fromEntries(flagList(p, 'volume').filter((v) => !v.includes(':')).map((v) => [v, {}])) as Record<string, Record<string, never>>;
  const mounts: MountSpec[] = [];
  for (const m of flagList(p, 'mount')) {
    try { mounts.push(parseMountFlag(m)); } catch (e) { fail(`invalid argument "${m}" for "--mount" flag: ${(e as Error).message}`); }
  }
  const tmpfs: Record<string, string> = {};
  for (const t of flagList(p, 'tmpfs')) {
    const c = t.indexOf(':');
    if (c >= 0) tmpfs[t.slice(0, c)] = t.slice(c + 1);
    else tmpfs[t] = '';
  }
  const logOpts = kvListToMap(flagList(p, 'log-opt'));

  let resources: Record<string, unknown> = {};
  try {
    resources = resourceHostConfig(p);
  } catch (e) {
    fail((e as Error).message);
  }

  const body: ContainerCreateRequest = {
    Hostname: flagString(p, 'hostname'),
    Domainname: flagString(p, 'domainname'),
    User: flagString(p, 'user'),
    AttachStdin: attach.includes('stdin'),
    AttachStdout: attach.includes('stdout'),
    AttachStderr: attach.includes('stderr'),
    ExposedPorts: exposed,
    Tty: tty,
    OpenStdin: stdinOpen,
    StdinOnce: stdinOpen && attach.includes('stdin'),
    Env: env,
    Cmd: cmd.length ? cmd : null,
    Image: image,
    Volumes: volumes,
    WorkingDir: flagString(p, 'workdir'),
    Entrypoint: entrypoint,
    OnBuild: null,
    Labels: kvListToMap(labelLines),
    ...(p.changed.has('stop-signal') ? { StopSignal: flagString(p, 'stop-signal') } : {}),
    ...(p.changed.has('stop-timeout') ? { StopTimeout: flagInt(p, 'stop-timeout') } : {}),
    ...healthcheck(p),
    HostConfig: {
      Binds: binds.length ? binds : null,
      ContainerIDFile: '',
      LogConfig: { Type: flagString(p, 'log-driver'), Config: logOpts },
      NetworkMode: network,
      PortBindings: bindings,
      RestartPolicy: restart,
      AutoRemove: flagBool(p, 'rm'),
      VolumeDriver: '',
      VolumesFrom: flagList(p, 'volumes-from').length ? flagList(p, 'volumes-from') : null,
      ...(mounts.length ? { Mounts: mounts } : {}),
      ConsoleSize: [0, 0],
      CapAdd: flagList(p, 'cap-add').length ? flagList(p, 'cap-add') : null,
      CapDrop: flagList(p, 'cap-drop').length ? flagList(p, 'cap-drop') : null,
      CgroupnsMode: '',
      Dns: flagList(p, 'dns'),
      DnsOptions: flagList(p, 'dns-option'),
      DnsSearch: flagList(p, 'dns-search'),
      ExtraHosts: flagList(p, 'add-host').length ? flagList(p, 'add-host') : null,
      GroupAdd: null,
      IpcMode: '',
      Cgroup: '',
      Links: flagList(p, 'link').length ? flagList(p, 'link').map((l) => (l.includes(':') ? l : `${l}:${l}`)) : null,
      OomScoreAdj: 0,
      PidMode: '',
      Privileged: flagBool(p, 'privileged'),
      PublishAllPorts: flagBool(p, 'publish-all'),
      ReadonlyRootfs: flagBool(p, 'read-only'),
      SecurityOpt: flagList(p, 'security-opt').length ? flagList(p, 'security-opt') : null,
      ...(Object.keys(tmpfs).length ? { Tmpfs: tmpfs } : {}),
      UTSMode: '',
      UsernsMode: userns,
      ShmSize: 0,
      ...(p.changed.has('runtime') ? { Runtime: flagString(p, 'runtime') } : {}),
      Isolation: '',
      CpuShares: 0,
      Memory: memory,
      NanoCpus: cpus,
      MemorySwappiness: -1,
      Init: p.changed.has('init') ? flagBool(p, 'init') : null,
      ...resources,
    },
    NetworkingConfig: {
      EndpointsConfig: {
        [network]: {
          IPAMConfig: flagString(p, 'ip') ? { IPv4Address: flagString(p, 'ip') } : null,
          Links: null,
          Aliases: flagList(p, 'network-alias').length ? flagList(p, 'network-alias') : null,
          ...(flagString(p, 'mac-address') ? { MacAddress: flagString(p, 'mac-address') } : {}),
        },
      },
    },
  };

  return {
    name: flagString(p, 'name'),
    image,
    pull: flagString(p, 'pull'),
    quiet: flagBool(p, 'quiet'),
    platform: flagString(p, 'platform'),
    body,
  };
}

/** `--health-*` and `--no-healthcheck` → Config.Healthcheck (docker/cli opts.go rules). */
function healthcheck(p: Parameters<typeof flagString>[0]): { Healthcheck?: { Test: string[] | null; Interval?: number; Timeout?: number; StartPeriod?: number; Retries?: number } } {
  const dur = (name: string): number => {
    if (!p.changed.has(name)) return 0;
    const ns = parseGoDuration(flagString(p, name));
    if (ns < 0) throw new Error(`--${name} cannot be negative`);
    return ns;
  };
  const cmd = flagString(p, 'health-cmd');
  const interval = dur('health-interval'), timeout = dur('health-timeout'), start = dur('health-start-period');
  const retries = p.changed.has('health-retries') ? flagInt(p, 'health-retries') : 0;
  if (retries < 0) throw new Error('--health-retries cannot be negative');
  if (flagBool(p, 'no-healthcheck')) {
    if (cmd || interval || timeout || start || retries) throw new Error('--no-healthcheck conflicts with --health-* options');
    return { Healthcheck: { Test: ['NONE'] } };
  }
  if (!cmd && !interval && !timeout && !start && !retries) return {};
  return { Healthcheck: { Test: cmd ? ['CMD-SHELL', cmd] : null, Interval: interval, Timeout: timeout, StartPeriod: start, Retries: retries } };
}
