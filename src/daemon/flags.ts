/** pierd's command line, like dockerd's: --root, --exec-root, -H, --pidfile, --log-level... */
import { invalidArgument } from '../lib/errdefs.js';

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
  maxConcurrentDownloads: number;
  help: boolean;
  version: boolean;
}

export const USAGE = `Usage:	pierd [OPTIONS]

A container engine that speaks Docker's Engine API

Options:
      --config-file string      Daemon configuration file (default "/etc/pier/daemon.json")
      --default-runtime string  Default OCI runtime for containers (default "runc")
      --exec-root string        Root directory for execution state files (default "/run/pier")
  -H, --host list               Daemon socket(s) to connect to (default unix:///run/pier/pier.sock)
  -h, --help                    Print usage
      --insecure-registry list  Enable insecure registry communication
  -l, --log-level string        Set the logging level ("debug"|"info"|"warn"|"error") (default "info")
      --max-concurrent-downloads int  Set the max concurrent downloads (default 3)
  -p, --pidfile string          Path to use for daemon PID file (default "<exec-root>/pierd.pid")
  -s, --storage-driver string   Storage driver to use ("overlay2"|"vfs") (default "overlay2")
      --registry-certs-dir string  Per-registry CA and client certificates (default "/etc/pier/certs.d")
      --root string             Root directory of persistent pier state (default "/var/lib/pier")
  -v, --version                 Print version information and quit
`;

export function parseDaemonFlags(argv: string[]): DaemonFlags {
  const f: DaemonFlags = { root: '/var/lib/pier', execRoot: '/run/pier', hosts: [], storageDriver: 'overlay2', logLevel: 'info', configFile: '/etc/pier/daemon.json', insecureRegistries: [], registryCertsDir: '/etc/pier/certs.d', maxConcurrentDownloads: 3, help: false, version: false };
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
      case '-s': case '--storage-driver': {
        const v = value();
        if (v !== 'overlay2' && v !== 'vfs' && v !== 'overlay') throw invalidArgument(`unsupported storage driver: ${v} (overlay2 or vfs)`);
        f.storageDriver = v === 'vfs' ? 'vfs' : 'overlay2';
        break;
      }
      case '--config-file': f.configFile = value(); break;
      case '--insecure-registry': f.insecureRegistries.push(value()); break;
      case '--registry-certs-dir': f.registryCertsDir = value(); break;
      case '--max-concurrent-downloads': {
        const n = Number(value());
        if (!Number.isInteger(n) || n < 1) throw invalidArgument('invalid max concurrent downloads: must be a positive integer');
        f.maxConcurrentDownloads = n;
        break;
      }
      case '-h': case '--help': f.help = true; break;
      case '-v': case '--version': f.version = true; break;
      default: throw invalidArgument(`unknown flag: ${name}`);
    }
  }
  if (f.hosts.length === 0) f.hosts.push(`unix://${f.execRoot}/pier.sock`);
  return f;
}
