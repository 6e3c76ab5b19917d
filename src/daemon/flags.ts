/** pierd's command line, like dockerd's: --root, --exec-root, -H, --pidfile, --log-level... */
import { invalidArgument } from '../lib/errdefs.js';
import { ramInBytes } from '../api/units.js';
import { parseUlimit, type Ulimit } from '../core/oci/index.js';

export interface DaemonFlags {
  root: string;
  execRoot: string;
  hosts: string[];
  pidfile?: string;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  defaultRuntime?: string;
  /** overlay2 (default) or vfs (the copy-based fallback). */
  storageDriver: 'overlay2' | 'vfs';
  configFile: string;
  /** Registries reached without TLS verification or over plain HTTP (host[:port] or CIDR). */
  insecureRegistries: string[];
  /** Per-registry CA and client certificates: <dir>/<host[:port]>/{ca.crt,client.cert,client.key}. */
  registryCertsDir: string;
  /** Docker Hub mirrors (`--registry-mirror`), normalised to `scheme://host[:port]/`; tried in order before docker.io. */
  registryMirrors: string[];
  maxConcurrentDownloads: number;
  /** Default bridge device (`none`: the default network has no interface but lo). */
  bridge: string;
  /** Default bridge gateway address and prefix (`--bip`). */
  bip: string;
  /** User networks without --subnet get blocks of `size` from `base`. */
  addressPool: { base: string; size: number };
  mtu: number;
  /** Set net.ipv4.ip_forward=1 (outbound NAT and access from other hosts need it). */
  ipForward: boolean;
  /** `--userns-remap`: default, user, user:group, uid, uid:gid (docs/design/security.md). */
  usernsRemap?: string;
  help: boolean;
  version: boolean;
  // Daemon-wide container defaults (docs/design/security.md); set only when given, so
  // daemon.json can supply them and a key given both ways is refused, as dockerd does.
  /** `--seccomp-profile`: a profile file, `unconfined` or `builtin`. */
  seccompProfile?: string;
  noNewPrivileges?: boolean;
  /** `--default-ulimit name=soft[:hard]`, repeatable (a later one replaces the same name). */
  defaultUlimits?: Ulimit[];
  defaultShmSize?: number;
  cgroupParent?: string;
  defaultCgroupnsMode?: 'host' | 'private';
}

export const USAGE = `Usage:	pierd [OPTIONS]

A container engine that speaks Docker's Engine API

Options:
  -b, --bridge string           Attach containers to this network bridge, or "none" (default "pier0")
      --bip string              Default bridge address and prefix (default "10.213.0.1/24")
      --default-address-pool    Subnets for user networks: base=CIDR,size=N (default base=10.214.0.0/16,size=24)
      --ip-forward              Enable net.ipv4.ip_forward (outbound NAT, other hosts) (default false)
      --mtu int                 MTU of container networks (default 1500)
      --cgroup-parent string    Set parent cgroup for all containers (default "/pier")
      --config-file string      Daemon configuration file (default "/etc/pier/daemon.json")
      --default-cgroupns-mode string  Default mode for containers cgroup namespace ("host" | "private") (default "host" on cgroup v1)
      --default-runtime string  Default OCI runtime for containers (default "runc")
      --default-shm-size bytes  Default shm size for containers (default 64MiB)
      --default-ulimit ulimit   Default ulimits for containers (default [])
      --exec-root string        Root directory for execution state files (default "/run/pier")
  -H, --host list               Daemon socket(s) to connect to (default unix:///run/pier/pier.sock)
  -h, --help                    Print usage
      --insecure-registry list  Enable insecure registry communication
  -l, --log-level string        Set the logging level ("debug"|"info"|"warn"|"error") (default "info")
      --max-concurrent-downloads int  Set the max concurrent downloads (default 3)
      --no-new-privileges       Set no-new-privileges by default for new containers
  -p, --pidfile string          Path to use for daemon PID file (default "<exec-root>/pierd.pid")
  -s, --storage-driver string   Storage driver to use ("overlay2"|"vfs") (default "overlay2")
      --registry-certs-dir string  Per-registry CA and client certificates (default "/etc/pier/certs.d")
      --registry-mirror list    Preferred Docker registry mirror
      --root string             Root directory of persistent pier state (default "/var/lib/pier")
      --seccomp-profile string  Path to seccomp profile, or "unconfined" or "builtin" (default "builtin")
      --userns-remap string     User/Group setting for user namespaces ("default", user[:group], uid[:gid])
  -v, --version                 Print version information and quit
`;

export function parseDaemonFlags(argv: string[]): DaemonFlags {
  const f: DaemonFlags = { bridge: 'pier0', bip: '10.213.0.1/24', addressPool: { base: '10.214.0.0/16', size: 24 }, mtu: 1500, ipForward: false, root: '/var/lib/pier', execRoot: '/run/pier', hosts: [], storageDriver: 'overlay2', logLevel: 'info', configFile: '/etc/pier/daemon.json', insecureRegistries: [], registryCertsDir: '/etc/pier/certs.d', registryMirrors: [], maxConcurrentDownloads: 3, help: false, version: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const eq = a.indexOf('=');
    const name = a.startsWith('--') && eq > 0 ? a.slice(0, eq) : a;
    const value = (): string => {
      if (a.startsWith('--') && eq > 0) return a.slice(eq + 1);
      const v = argv[++i];
      if (v === undefined) throw invalidArgument(`flag needs an argument: ${name}`);
      return v;
    };
    switch (name) {
      case '--root': case '--data-root': f.root = value(); break;
      case '--exec-root': f.execRoot = value(); break;
      case '-H': case '--host': f.hosts.push(value()); break;
      case '-p': case '--pidfile': f.pidfile = value(); break;
      case '-l': case '--log-level': {
        const v = value();
        if (!['debug', 'info', 'warn', 'error', 'fatal'].includes(v)) throw invalidArgument(`unable to parse logging level: ${v}`);
        f.logLevel = v === 'fatal' ? 'error' : (v as DaemonFlags['logLevel']);
        break;
      }
      case '--default-runtime': f.defaultRuntime = value(); break;
      case '-b': case '--bridge': f.bridge = value(); break;
      case '--bip': {
        const v = value();
        if (!/^\d+\.\d+\.\d+\.\d+\/\d+$/.test(v)) throw invalidArgument(`invalid --bip: ${v}`);
        f.bip = v;
        break;
      }
      case '--default-address-pool': {
        const v = value();
        const base = /base=([0-9./]+)/.exec(v)?.[1], size = Number(/size=(\d+)/.exec(v)?.[1] ?? 24);
        if (!base) throw invalidArgument(`invalid --default-address-pool: ${v}`);
        f.addressPool = { base, size };
        break;
      }
      case '--mtu': f.mtu = Number(value()); break;
      case '--ip-forward': f.ipForward = !(a.includes('=') && /^(false|0)$/.test(a.slice(eq + 1))); break;
      case '-s': case '--storage-driver': {
        const v = value();
        if (v !== 'overlay2' && v !== 'vfs' && v !== 'overlay') throw invalidArgument(`unsupported storage driver: ${v} (overlay2 or vfs)`);
        f.storageDriver = v === 'vfs' ? 'vfs' : 'overlay2';
        break;
      }
      case '--config-file': f.configFile = value(); break;
      case '--insecure-registry': f.insecureRegistries.push(value()); break;
      case '--registry-certs-dir': f.registryCertsDir = value(); break;
      case '--registry-mirror': f.registryMirrors.push(normalizeMirror(value())); break;
      case '--max-concurrent-downloads': {
        const n = Number(value());
        if (!Number.isInteger(n) || n < 1) throw invalidArgument('invalid max concurrent downloads: must be a positive integer');
        f.maxConcurrentDownloads = n;
        break;
      }
      case '--seccomp-profile': f.seccompProfile = value(); break;
      case '--no-new-privileges': f.noNewPrivileges = boolFlag(a, eq, name); break;
      case '--default-ulimit': {
        const v = value();
        const u = flagValue(v, name, () => parseUlimit(v));
        f.defaultUlimits = [...(f.defaultUlimits ?? []).filter((x) => x.Name !== u.Name), u];
        break;
      }
      case '--default-shm-size': {
        const v = value();
        f.defaultShmSize = flagValue(v, name, () => ramInBytes(v));
        break;
      }
      case '--cgroup-parent': f.cgroupParent = value(); break;
      case '--default-cgroupns-mode': f.defaultCgroupnsMode = cgroupnsMode(value()); break;
      case '--userns-remap': f.usernsRemap = value(); break;
      case '-h': case '--help': f.help = true; break;
      case '-v': case '--version': f.version = true; break;
      default: throw invalidArgument(`unknown flag: ${name}`);
    }
  }
  if (f.hosts.length === 0) f.hosts.push(`unix://${f.execRoot}/pier.sock`);
  return f;
}

/** pflag's wording for a value its parser refused. */
function flagValue<T>(v: string, name: string, parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    throw invalidArgument(`invalid argument ${JSON.stringify(v)} for ${JSON.stringify(name)} flag: ${(e as Error).message}`);
  }
}

/** `--flag` or `--flag=true|false` (strconv.ParseBool). */
function boolFlag(a: string, eq: number, name: string): boolean {
  if (!(a.startsWith('--') && eq > 0)) return true;
  const v = a.slice(eq + 1);
  if (/^(1|t|T|TRUE|true|True)$/.test(v)) return true;
  if (/^(0|f|F|FALSE|false|False)$/.test(v)) return false;
  throw invalidArgument(`invalid argument ${JSON.stringify(v)} for ${JSON.stringify(name)} flag: strconv.ParseBool: parsing ${JSON.stringify(v)}: invalid syntax`);
}

/** dockerd's check of `default-cgroupns-mode` (flag or daemon.json). */
export function cgroupnsMode(v: string): 'host' | 'private' {
  if (v !== 'host' && v !== 'private') throw invalidArgument(`default cgroup namespace mode (${v}) is invalid; use "host" or "private"`);
  return v;
}

/**
 * A registry mirror as dockerd accepts it: an http or https URL without credentials, query
 * or fragment; returned with one trailing slash (`https://mirror.example/`), which is how
 * `docker info` lists it.
 */
export function normalizeMirror(v: string): string {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(v)) throw invalidArgument(`invalid mirror: unsupported scheme "" in "${v}"`);
  let u: URL;
  try { u = new URL(v); } catch { throw invalidArgument(`invalid mirror: "${v}" is not a valid URI`); }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw invalidArgument(`invalid mirror: unsupported scheme "${u.protocol.replace(/:$/, '')}" in "${v}"`);
  if (u.search || u.hash) throw invalidArgument(`invalid mirror: query or fragment at end of the URI "${v}"`);
  if (u.username || u.password) throw invalidArgument(`invalid mirror: username/password not allowed in URI "${v}"`);
  return v.replace(/\/+$/, '') + '/';
}
