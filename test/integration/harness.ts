// Integration-test harness: starts a real pierd on a temporary root and socket and drives it
// with the real `docker` CLI (compatibility tests, STYLE.md section 5.3/5.4).
//
// Environment:
//   PIER_TEST_DOCKER_HOST=unix:///path  run against an already-running engine (e.g. a real
//                                       dockerd, to validate the tests themselves); pier-only
//                                       tests (kill -9 of pierd, leak checks) are skipped.
//   PIER_TEST_NETWORK_NONE=1            add `--network none` to every `run`/`create`.
//   PIER_TEST_KEEP=1                    keep the temporary directories (and pierd.log).
//   PIER_TEST_VERBOSE=1                 echo every docker command and its result.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, mkdirSync, openSync, closeSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file runs from dist/test/integration/). */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const externalHost = process.env.PIER_TEST_DOCKER_HOST || undefined;
export const isExternal = externalHost !== undefined;
export const networkNone = process.env.PIER_TEST_NETWORK_NONE === '1';
/**
 * The reference dockerd the comparison tests ask: the one tools/run-tests.mjs started for this
 * run (PIER_TEST_REF_DOCKER), or one an operator runs at /run/ref-docker (bench/README).
 */
export const refDockerHost = process.env.PIER_TEST_REF_DOCKER || 'unix:///run/ref-docker/docker.sock';
/** Whether the reference dockerd answers (asked once per test file). */
export function refDockerUp(): boolean {
  refUpCache ??= spawnSync('docker', ['-H', refDockerHost, 'version'], { stdio: 'ignore', timeout: 10_000 }).status === 0;
  return refUpCache;
}
let refUpCache: boolean | undefined;
const keepTmp = process.env.PIER_TEST_KEEP === '1';
const verbose = process.env.PIER_TEST_VERBOSE === '1';

export interface DockerResult {
  code: number;
  stdout: string;
  stderr: string;
  /** Wall-clock duration in milliseconds. */
  ms: number;
}

export interface DockerOpts {
  input?: string | Buffer;
  env?: Record<string, string>;
  /** Milliseconds before the CLI is killed (SIGKILL); default 30 s. */
  timeout?: number;
}

/** A long-running docker CLI process (logs -f, events, attach ...). */
export interface DockerProc {
  proc: ChildProcess;
  /** Everything read so far. */
  readonly stdout: string;
  readonly stderr: string;
  write(data: string | Buffer): void;
  closeStdin(): void;
  /** Resolves when stdout matches (string: includes). */
  waitForOutput(match: string | RegExp, timeout?: number): Promise<string>;
  /** Resolves with the result once the process exits. */
  exited: Promise<DockerResult>;
  /** SIGTERM (or the given signal) to this CLI process, then wait for it. */
  kill(signal?: NodeJS.Signals): Promise<DockerResult>;
}

export interface Engine {
  /** unix:///... address of the engine under test. */
  host: string;
  /** True when the suite runs against an engine the harness did not start. */
  external: boolean;
  /** The image the tests run (busybox rootfs imported by the harness). */
  image: string;
  /** Temporary directory of this suite (docker config, rootfs tarball, pierd root). */
  tmp: string;
  /** pierd's --root and --exec-root (undefined in external mode). */
  root?: string;
  execRoot?: string;
  /** Path of the busybox rootfs tarball built by scripts/busybox-rootfs.sh. */
  rootfsTar: string;
  /**
   * pierd's `--cgroup-parent` (`/pier-test-<hash of root>` unless the test passes its own):
   * containers' cgroups are `<parent>/<id>` in every hierarchy; undefined in external mode.
   */
  cgroupParent?: string;
  /** pid of the running pierd (undefined in external mode or while it is down). */
  pid(): number | undefined;
  docker(args: string[], opts?: DockerOpts): Promise<DockerResult>;
  /** Like docker(), but throws unless the exit code is 0; returns trimmed stdout. */
  ok(args: string[], opts?: DockerOpts): Promise<string>;
  /** Starts a long-running docker CLI process. */
  spawn(args: string[], opts?: { env?: Record<string, string> }): DockerProc;
  /** Starts a long-running docker CLI process under a pty (`script -qec`); output has CRLFs. */
  spawnTty(args: string[], opts?: { env?: Record<string, string>; size?: [number, number] }): DockerProc;
  /** The docker argv (with -H and --network none where needed) as one shell-quoted string. */
  cmdline(args: string[]): string;
  /**
   * Runs `docker ARGS` under a pty (util-linux `script -qec`), for -t tests. `size` sets the
   * pty's rows and columns first (`stty rows R cols C`), so the CLI sends resizes.
   */
  dockerTty(args: string[], opts?: DockerOpts & { size?: [number, number] }): Promise<DockerResult>;
  /** A unique container name with the `it-` prefix, removed by cleanup(). */
  name(hint: string): string;
  /** Registers an id or name to be force-removed by cleanup(). */
  track(idOrName: string): string;
  /** Force-removes everything created through name()/track() since the last cleanup. */
  cleanup(): Promise<void>;
  /** SIGTERM to pierd, wait for it, check for leaks, remove temp dirs. */
  stop(): Promise<void>;
  /** SIGTERM to pierd and wait, keeping root and exec root for restart(). */
  terminate(): Promise<void>;
  /** SIGKILL to pierd and wait, keeping root and exec root for restart(). */
  kill9(): Promise<void>;
  /** Starts pierd again on the same root / exec root / socket. */
  restart(): Promise<void>;
  /** Leftovers under the temp root right now (mounts, conmon, container processes, runc state, cgroups under the parent). */
  leaks(opts?: { includeDaemonState?: boolean }): string[];
  /** Tail of pierd's log (for failure messages). */
  log(): string;
}

// ---------------------------------------------------------------------------------------------
// small helpers

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls cond until it returns a truthy value (which is returned) or the timeout elapses. */
export async function waitFor<T>(
  cond: () => T | Promise<T>,
  opts: { timeout?: number; interval?: number; message?: string | (() => string) } = {},
): Promise<NonNullable<T>> {
  const timeout = opts.timeout ?? 10_000;
  const interval = opts.interval ?? 50;
  const deadline = Date.now() + timeout;
  let last: unknown;
  for (;;) {
    try {
      const v = await cond();
      if (v) return v as NonNullable<T>;
      last = v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      const msg = typeof opts.message === 'function' ? opts.message() : opts.message;
      throw new Error(`waitFor timed out after ${timeout} ms${msg ? `: ${msg}` : ''} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
    }
    await sleep(interval);
  }
}

function which(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

function overlaySupported(): boolean {
  try {
    return readFileSync('/proc/filesystems', 'utf8').includes('overlay');
  } catch {
    return false;
  }
}

export type Requirement = 'root' | 'runc' | 'conmon' | 'overlayfs' | 'docker' | 'script' | 'pierd' | 'pier-only';

/**
 * Returns a skip reason (for `describe(name, { skip: requires(...) })`) or false when every
 * requirement holds. `pier-only` is unmet in external mode (PIER_TEST_DOCKER_HOST).
 */
export function requires(...reqs: Requirement[]): string | false {
  const missing: string[] = [];
  for (const r of reqs) {
    switch (r) {
      case 'root': if (process.getuid?.() !== 0) missing.push('must run as root'); break;
      case 'runc': if (!isExternal && !which('runc')) missing.push('runc not on PATH'); break;
      case 'conmon': if (!isExternal && !which('conmon')) missing.push('conmon not on PATH'); break;
      case 'overlayfs': if (!isExternal && !overlaySupported()) missing.push('kernel has no overlayfs'); break;
      case 'docker': if (!which('docker')) missing.push('docker CLI not on PATH'); break;
      case 'script': if (!which('script')) missing.push('util-linux script not on PATH'); break;
      case 'pierd': if (!isExternal && !existsSync(join(repoRoot, 'dist/src/daemon/main.js'))) missing.push('pierd is not built (dist/src/daemon/main.js missing)'); break;
      case 'pier-only': if (isExternal) missing.push(`pier-only test: PIER_TEST_DOCKER_HOST=${externalHost} is an external engine`); break;
    }
  }
  if (missing.length === 0) return false;
  const reason = missing.join('; ');
  console.log(`# skipped: ${reason}`);
  return reason;
}

/** The usual requirements of a compatibility test file. */
export const engineRequirements: Requirement[] = ['root', 'docker', 'runc', 'conmon', 'overlayfs', 'pierd'];

function shq(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

function rand(n = 4): string {
  return randomBytes(n).toString('hex');
}

/** Parses one JSON document from `docker inspect` output (which is an array). */
export function parseInspect<T = any>(stdout: string): T {
  const arr = JSON.parse(stdout) as T[];
  if (!Array.isArray(arr) || arr.length !== 1) throw new Error(`unexpected inspect output: ${stdout.slice(0, 200)}`);
  return arr[0] as T;
}

function ping(sockPath: string, timeout = 1000): Promise<boolean> {
  return new Promise((res) => {
    const req = request({ socketPath: sockPath, path: '/_ping', method: 'GET', timeout }, (r) => {
      r.resume();
      r.on('end', () => res(r.statusCode === 200));
      r.on('error', () => res(false));
    });
    req.on('error', () => res(false));
    req.on('timeout', () => { req.destroy(); res(false); });
    req.end();
  });
}

export function procAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    // a zombie still answers kill(0); check its state
    const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = st.slice(st.lastIndexOf(')') + 2, st.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

function cmdlineOf(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return [];
  }
}

function allPids(): number[] {
  return readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number);
}

/** Mount points at or below dir, from /proc/self/mountinfo (octal escapes decoded). */
export function mountsUnder(dir: string): string[] {
  const out: string[] = [];
  const text = readFileSync('/proc/self/mountinfo', 'utf8');
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    const mp = f[4];
    if (!mp) continue;
    const dec = mp.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    if (dec === dir || dec.startsWith(dir + '/')) out.push(dec);
  }
  return out;
}

/** conmon processes whose command line names dir. */
export function conmonsUnder(dir: string): { pid: number; cmd: string }[] {
  const out: { pid: number; cmd: string }[] = [];
  for (const pid of allPids()) {
    const argv = cmdlineOf(pid);
    if (argv.length === 0) continue;
    const exe = argv[0]!.split('/').pop();
    if (exe === 'conmon' && argv.some((a) => a.includes(dir))) out.push({ pid, cmd: argv.join(' ') });
  }
  return out;
}

/** Processes whose root directory (/proc/PID/root) lies under dir: container processes. */
export function processesRootedUnder(dir: string): { pid: number; cmd: string }[] {
  const out: { pid: number; cmd: string }[] = [];
  for (const pid of allPids()) {
    let root: string;
    try {
      root = readlinkSync(`/proc/${pid}/root`);
    } catch {
      continue;
    }
    if (root === dir || root.startsWith(dir + '/')) out.push({ pid, cmd: cmdlineOf(pid).join(' ') });
  }
  return out;
}

/** Mount points of every cgroup hierarchy (v1 controllers, named ones, and cgroup2 such as /sys/fs/cgroup/unified). */
export function cgroupMounts(): string[] {
  const out: string[] = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const fstype = line.slice(sep + 3).split(' ')[0];
    if (fstype === 'cgroup' || fstype === 'cgroup2') out.push(line.split(' ')[4]!.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))));
  }
  return out;
}

/** Cgroup directories below `parent` in any mounted hierarchy, deepest first. */
export function cgroupsUnder(parent: string): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    let ents;
    try { ents = readdirSync(dir, { withFileTypes: true }); } catch { return; }
    for (const e of ents) {
      if (!e.isDirectory()) continue;
      walk(join(dir, e.name));
      out.push(join(dir, e.name));
    }
  };
  for (const m of cgroupMounts()) walk(join(m, parent));
  return out;
}

/** Removes `parent` (and cgroups left below it) from every hierarchy; rmdir only works on empty cgroups. */
export function removeCgroupParent(parent: string): void {
  for (const d of cgroupsUnder(parent)) spawnSync('rmdir', [d], { stdio: 'ignore' });
  for (const m of cgroupMounts()) {
    const d = join(m, parent);
    if (existsSync(d)) spawnSync('rmdir', [d], { stdio: 'ignore' });
  }
}

/** runc state files (state.json) anywhere under dir. */
export function runcStateUnder(dir: string): string[] {
  const out: string[] = [];
  (function walk(d: string, depth: number) {
    if (depth > 6) return;
    let names: string[];
    try {
      names = readdirSync(d);
    } catch {
      return;
    }
    for (const n of names) {
      const p = join(d, n);
      let st;
      try {
        st = statSync(p, { throwIfNoEntry: false });
      } catch {
        continue;
      }
      if (!st) continue;
      if (st.isDirectory()) walk(p, depth + 1);
      else if (n === 'state.json') out.push(p);
    }
  })(dir, 0);
  return out;
}

// ---------------------------------------------------------------------------------------------
// the docker CLI

function runDocker(host: string, configDir: string, args: string[], opts: DockerOpts = {}): Promise<DockerResult> {
  const t0 = Date.now();
  return new Promise((res, rej) => {
    const env = cliEnv(configDir, opts.env);
    const p = spawn('docker', ['-H', host, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    p.stdout!.on('data', (b: Buffer) => out.push(b));
    p.stderr!.on('data', (b: Buffer) => err.push(b));
    p.stdin!.on('error', () => {});
    if (opts.input !== undefined) p.stdin!.end(opts.input);
    else p.stdin!.end();
    const timeout = opts.timeout ?? 30_000;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      p.kill('SIGKILL');
    }, timeout);
    p.on('error', (e) => { clearTimeout(timer); rej(e); });
    p.on('close', (code, signal) => {
      clearTimeout(timer);
      const r: DockerResult = {
        code: code ?? (signal ? 128 + (({ SIGKILL: 9, SIGTERM: 15, SIGINT: 2 } as Record<string, number>)[signal] ?? 0) : -1),
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        ms: Date.now() - t0,
      };
      if (verbose) console.log(`# docker ${args.map(shq).join(' ')} -> ${r.code} (${r.ms} ms)\n#   stdout: ${JSON.stringify(r.stdout.slice(0, 500))}\n#   stderr: ${JSON.stringify(r.stderr.slice(0, 500))}`);
      if (timedOut) {
        rej(new Error(`docker ${args.map(shq).join(' ')} timed out after ${timeout} ms; stdout=${JSON.stringify(r.stdout.slice(0, 500))} stderr=${JSON.stringify(r.stderr.slice(0, 500))}`));
        return;
      }
      res(r);
    });
  });
}

function cliEnv(configDir: string, extra?: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, DOCKER_CONFIG: configDir, ...extra };
  delete env.DOCKER_HOST;
  delete env.DOCKER_CONTEXT;
  delete env.DOCKER_API_VERSION;
  delete env.DOCKER_TLS_VERIFY;
  return env;
}

/** The shell line `script -qec` runs for a docker command under a pty. */
function ttyLine(host: string, configDir: string, args: string[], size?: [number, number]): string {
  const stty = size ? `stty rows ${size[0]} cols ${size[1]}; ` : '';
  return `${stty}DOCKER_CONFIG=${shq(configDir)} ${['docker', '-H', host, ...args].map(shq).join(' ')}`;
}

/** Inserts `--network none` after the run/create verb when PIER_TEST_NETWORK_NONE=1. */
function withNetwork(args: string[]): string[] {
  if (!networkNone) return args;
  let i = 0;
  if (args[0] === 'container') i = 1;
  const verb = args[i];
  if (verb !== 'run' && verb !== 'create') return args;
  if (args.some((a) => a === '--network' || a.startsWith('--network=') || a === '--net' || a.startsWith('--net='))) return args;
  return [...args.slice(0, i + 1), '--network', 'none', ...args.slice(i + 1)];
}

function makeProc(host: string, configDir: string, args: string[], env?: Record<string, string>, tty?: { size?: [number, number] }): DockerProc {
  const t0 = Date.now();
  const p = tty
    ? spawn('script', ['-qec', ttyLine(host, configDir, args, tty.size), '/dev/null'], { env: cliEnv(configDir, { TERM: 'xterm', ...env }), stdio: ['pipe', 'pipe', 'pipe'] })
    : spawn('docker', ['-H', host, ...args], { env: cliEnv(configDir, env), stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const listeners = new Set<() => void>();
  p.stdout!.on('data', (b: Buffer) => { stdout += b.toString('utf8'); for (const l of listeners) l(); });
  p.stderr!.on('data', (b: Buffer) => { stderr += b.toString('utf8'); });
  p.stdin!.on('error', () => {});
  const exited = new Promise<DockerResult>((res) => {
    p.on('close', (code, signal) => {
      for (const l of listeners) l();
      res({ code: code ?? (signal === 'SIGKILL' ? 137 : signal === 'SIGTERM' ? 143 : -1), stdout, stderr, ms: Date.now() - t0 });
    });
    p.on('error', (e) => res({ code: -1, stdout, stderr: stderr + String(e), ms: Date.now() - t0 }));
  });
  let done = false;
  void exited.then(() => { done = true; });
  const dp: DockerProc = {
    proc: p,
    get stdout() { return stdout; },
    get stderr() { return stderr; },
    write(d) { p.stdin!.write(d); },
    closeStdin() { p.stdin!.end(); },
    waitForOutput(match, timeout = 10_000) {
      const test = () => (typeof match === 'string' ? stdout.includes(match) : match.test(stdout));
      return new Promise((res, rej) => {
        if (test()) return res(stdout);
        const l = () => {
          if (test()) { cleanup(); res(stdout); }
          else if (done) { cleanup(); rej(new Error(`docker ${args.join(' ')} exited before printing ${String(match)}; stdout=${JSON.stringify(stdout)} stderr=${JSON.stringify(stderr)}`)); }
        };
        const timer = setTimeout(() => { cleanup(); rej(new Error(`timed out after ${timeout} ms waiting for ${String(match)} from docker ${args.join(' ')}; stdout=${JSON.stringify(stdout)} stderr=${JSON.stringify(stderr)}`)); }, timeout);
        const cleanup = () => { clearTimeout(timer); listeners.delete(l); };
        listeners.add(l);
        void exited.then(l);
      });
    },
    exited,
    async kill(signal = 'SIGTERM') {
      if (!done) p.kill(signal);
      const t = setTimeout(() => { if (!done) p.kill('SIGKILL'); }, 5000);
      const r = await exited;
      clearTimeout(t);
      return r;
    },
  };
  return dp;
}

// ---------------------------------------------------------------------------------------------
// starting pierd

export interface StartOpts {
  /** Extra pierd flags. */
  args?: string[];
  /** Skip the busybox import. */
  noImport?: boolean;
  /** Mode of the temporary directory (mkdtemp makes it 0700; `--userns-remap` needs others' x: 0o711). */
  tmpMode?: number;
}

let rootfsCache: string | undefined;

function buildRootfs(dir: string): string {
  const out = join(dir, 'busybox.tar');
  const r = spawnSync('sh', [join(repoRoot, 'scripts/busybox-rootfs.sh'), out], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`scripts/busybox-rootfs.sh failed: ${r.stderr}`);
  rootfsCache = out;
  return out;
}

/** A bridge name and a free /24 of the project's test range 10.213.0.0/16 for one test daemon. */
export function testBridgeArgs(): string[] {
  let routes = '';
  try { routes = readFileSync('/proc/net/route', 'utf8'); } catch { /* none */ }
  for (let i = 0; i < 64; i++) {
    const k = 1 + Math.floor(Math.random() * 254);
    const hex = (0x0a | (0xd5 << 8) | (k << 16)).toString(16).toUpperCase().padStart(8, '0'); // 10.213.k.0, little-endian
    if (routes.includes(`\t${hex}\t`)) continue;
    return ['--bridge', `pt${rand(3)}`, '--bip', `10.213.${k}.1/24`];
  }
  return ['--bridge', 'none'];
}

/** Starts pierd on a fresh temporary root (or attaches to PIER_TEST_DOCKER_HOST). */
export async function startPierd(opts: StartOpts = {}): Promise<Engine> {
  // short paths: unix socket paths are limited to 107 bytes
  const tmp = mkdtempSync('/tmp/pt-');
  if (opts.tmpMode !== undefined) chmodSync(tmp, opts.tmpMode);
  const configDir = join(tmp, 'cli');
  mkdirSync(configDir);
  const rootfsTar = buildRootfs(tmp);
  void rootfsCache;

  const external = isExternal;
  const root = external ? undefined : join(tmp, 'root');
  const execRoot = external ? undefined : join(tmp, 'run');
  const sock = external ? undefined : join(tmp, 'run', 'pier.sock');
  const host = external ? externalHost! : `unix://${sock}`;
  const image = external ? 'it-busybox' : 'busybox';
  const logPath = join(tmp, 'pierd.log');
  // Each test daemon gets its own default bridge and /24 (docs/design/networking.md), so
  // daemons of concurrent test runs never share a bridge, a subnet or an nftables table.
  const netArgs = external ? [] : testBridgeArgs();
  // ... and its own cgroup parent, so the leak check sees exactly this daemon's cgroups.
  let cgroupParent: string | undefined;
  if (!external) {
    const given = (opts.args ?? []).flatMap((a, i, all) => (a === '--cgroup-parent' ? [all[i + 1]!] : a.startsWith('--cgroup-parent=') ? [a.slice(16)] : []));
    const p = given.at(-1) ?? `/pier-test-${createHash('sha256').update(root!).digest('hex').slice(0, 8)}`;
    cgroupParent = p.startsWith('/') ? p : `/${p}`;
  }

  let child: ChildProcess | undefined;
  let childExit: Promise<void> | undefined;
  let pid: number | undefined;

  const readLog = () => {
    try {
      const t = readFileSync(logPath, 'utf8');
      return t.length > 4000 ? '…' + t.slice(-4000) : t;
    } catch {
      return '';
    }
  };

  async function launch(): Promise<void> {
    if (external) return;
    mkdirSync(execRoot!, { recursive: true });
    const fd = openSync(logPath, 'a');
    const argv = [
      join(repoRoot, 'bin/pierd'),
      '--root', root!,
      '--exec-root', execRoot!,
      '-H', `unix://${sock}`,
      '--pidfile', join(execRoot!, 'pierd.pid'),
      ...netArgs,
      '--cgroup-parent', cgroupParent!,
      ...(opts.args ?? []),
    ];
    // detached: pierd gets its own process group, so a test's signals never reach it
    child = spawn(process.execPath, argv, { stdio: ['ignore', fd, fd], detached: true, cwd: repoRoot });
    closeSync(fd);
    const c = child;
    // if the test process dies without stop(), do not leave this pierd behind
    const onExit = () => { try { c.kill('SIGKILL'); } catch { /* gone */ } };
    process.on('exit', onExit);
    c.on('exit', () => process.off('exit', onExit));
    pid = c.pid;
    let exited = false;
    childExit = new Promise((res) => c.on('exit', () => { exited = true; res(); }));
    const deadline = Date.now() + 20_000;
    for (;;) {
      if (exited) throw new Error(`pierd exited during start-up (code ${c.exitCode}, signal ${c.signalCode}); log:\n${readLog()}`);
      if (existsSync(sock!) && (await ping(sock!))) break;
      if (Date.now() > deadline) {
        c.kill('SIGKILL');
        throw new Error(`pierd did not answer /_ping within 20 s; log:\n${readLog()}`);
      }
      await sleep(25);
    }
  }

  async function signalAndWait(sig: NodeJS.Signals, timeout: number): Promise<void> {
    if (!child || !pid) return;
    const c = child;
    const ex = childExit!;
    if (c.exitCode === null && c.signalCode === null) {
      c.kill(sig);
      // a cleared timer: a pending one would keep the test process alive for `timeout`
      let timer: NodeJS.Timeout | undefined;
      const ok = await Promise.race([ex.then(() => true), new Promise<boolean>((r) => { timer = setTimeout(() => r(false), timeout); })]);
      clearTimeout(timer);
      if (!ok) {
        c.kill('SIGKILL');
        await ex;
        child = undefined;
        pid = undefined;
        throw new Error(`pierd did not exit within ${timeout} ms of ${sig}; killed it. log:\n${readLog()}`);
      }
    }
    child = undefined;
    pid = undefined;
  }

  const tracked = new Set<string>();
  let importedId: string | undefined;

  function leaks(o: { includeDaemonState?: boolean } = {}): string[] {
    if (external) return [];
    const found: string[] = [];
    for (const m of mountsUnder(tmp)) found.push(`mount ${m}`);
    for (const c of conmonsUnder(tmp)) found.push(`conmon pid ${c.pid}: ${c.cmd}`);
    for (const p of processesRootedUnder(tmp)) found.push(`container process pid ${p.pid}: ${p.cmd}`);
    for (const s of runcStateUnder(execRoot!)) found.push(`runc state ${s}`);
    for (const d of cgroupsUnder(cgroupParent!)) found.push(`cgroup ${d}`);
    if (o.includeDaemonState && pid && procAlive(pid)) found.push(`pierd pid ${pid} still running`);
    return found;
  }

  /** This daemon's bridges (default and user networks) and nftables table (docs/design/networking.md). */
  function reapNetwork(): void {
    if (external) return;
    const links = new Set<string>();
    const b = netArgs.indexOf('--bridge');
    if (b >= 0 && netArgs[b + 1] !== 'none') links.add(netArgs[b + 1]!);
    try {
      for (const f of readdirSync(join(root!, 'network'))) {
        try { const br = (JSON.parse(readFileSync(join(root!, 'network', f), 'utf8')) as { bridge?: string }).bridge; if (br && br !== 'pier0') links.add(br); } catch { /* skip */ }
      }
    } catch { /* no networks */ }
    for (const l of links) if (existsSync(`/sys/class/net/${l}`)) spawnSync('ip', ['link', 'del', l], { stdio: 'ignore' });
    spawnSync('nft', ['delete', 'table', 'ip', `pier_${createHash('sha256').update(root!).digest('hex').slice(0, 8)}`], { stdio: 'ignore' });
  }

  /** Last-resort cleanup of what our pierd left behind, so one failure does not poison the host. */
  function reap(): void {
    for (const p of processesRootedUnder(tmp)) { try { process.kill(p.pid, 'SIGKILL'); } catch { /* gone */ } }
    for (const c of conmonsUnder(tmp)) { try { process.kill(c.pid, 'SIGKILL'); } catch { /* gone */ } }
    const ms = mountsUnder(tmp).sort((a, b) => b.length - a.length);
    for (const m of ms) spawnSync('umount', ['-l', m], { stdio: 'ignore' });
    if (cgroupParent) removeCgroupParent(cgroupParent);
    if (!pid || !procAlive(pid)) reapNetwork();
  }

  const engine: Engine = {
    host,
    external,
    image,
    tmp,
    root,
    execRoot,
    rootfsTar,
    cgroupParent,
    pid: () => pid,
    docker: (args, o) => runDocker(host, configDir, withNetwork(args), o),
    async ok(args, o) {
      const r = await runDocker(host, configDir, withNetwork(args), o);
      if (r.code !== 0) throw new Error(`docker ${args.map(shq).join(' ')} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
      return r.stdout.trim();
    },
    spawn: (args, o) => makeProc(host, configDir, withNetwork(args), o?.env),
    spawnTty: (args, o) => makeProc(host, configDir, withNetwork(args), o?.env, { size: o?.size }),
    cmdline: (args) => ['docker', '-H', host, ...withNetwork(args)].map(shq).join(' '),
    async dockerTty(args, o = {}) {
      const line = ttyLine(host, configDir, withNetwork(args), o.size);
      const t0 = Date.now();
      return new Promise((res, rej) => {
        const p = spawn('script', ['-qec', line, '/dev/null'], { env: cliEnv(configDir, { TERM: 'xterm', ...o.env }), stdio: ['pipe', 'pipe', 'pipe'] });
        let out = '';
        let err = '';
        p.stdout!.on('data', (b: Buffer) => { out += b.toString('utf8'); });
        p.stderr!.on('data', (b: Buffer) => { err += b.toString('utf8'); });
        p.stdin!.on('error', () => {});
        // keep script's stdin open while the command runs: on EOF script would send ^D
        if (o.input !== undefined) p.stdin!.write(o.input);
        const timeout = o.timeout ?? 30_000;
        const timer = setTimeout(() => { p.kill('SIGKILL'); rej(new Error(`script -qec ${line} timed out; output=${JSON.stringify(out)}`)); }, timeout);
        p.on('close', (code) => {
          clearTimeout(timer);
          res({ code: code ?? -1, stdout: out, stderr: err, ms: Date.now() - t0 });
        });
      });
    },
    name(hint) {
      const n = `it-${hint}-${rand(3)}`;
      tracked.add(n);
      return n;
    },
    track(x) {
      tracked.add(x);
      return x;
    },
    async cleanup() {
      if (tracked.size === 0) return;
      const list = [...tracked];
      tracked.clear();
      // kill first so cleanup stays fast even if an engine's rm -f waits for a graceful stop
      // (rm -f timing has its own assertion in lifecycle.test.ts)
      await runDocker(host, configDir, ['kill', ...list], { timeout: 30_000 }).catch(() => undefined);
      await runDocker(host, configDir, ['rm', '-f', '-v', ...list], { timeout: 60_000 }).catch(() => undefined);
    },
    async terminate() {
      await signalAndWait('SIGTERM', 20_000);
    },
    async kill9() {
      await signalAndWait('SIGKILL', 10_000);
    },
    async restart() {
      if (external) throw new Error('restart() is pier-only');
      if (pid && procAlive(pid)) throw new Error('restart(): pierd is still running');
      await launch();
    },
    async stop() {
      const problems: string[] = [];
      try {
        await engine.cleanup();
      } catch (e) {
        problems.push(String(e));
      }
      if (external) {
        await runDocker(host, configDir, ['rmi', '-f', importedId ?? `${image}:latest`]).catch(() => undefined);
        if (!keepTmp) rmSync(tmp, { recursive: true, force: true });
        return;
      }
      try {
        await signalAndWait('SIGTERM', 20_000);
      } catch (e) {
        problems.push(String(e));
      }
      // conmon and container processes outlive pierd by design; after removing everything
      // nothing of ours may remain.
      let found = leaks();
      if (found.length > 0) {
        // conmon may need a moment to notice its container is gone
        found = await waitFor(() => leaks().length === 0, { timeout: 3000 }).then(() => [], () => leaks());
      }
      if (found.length > 0) {
        problems.push(`leftovers after pierd stopped:\n  ${found.join('\n  ')}`);
        reap();
      }
      if (found.length === 0) {
        reapNetwork(); // pierd removes these itself; this covers a pierd that was killed
        removeCgroupParent(cgroupParent!); // the empty parent dirs runc made; dockerd leaves them too
      }
      if (!keepTmp && mountsUnder(tmp).length === 0) rmSync(tmp, { recursive: true, force: true });
      else if (keepTmp) console.log(`# kept ${tmp}`);
      if (problems.length > 0) throw new Error(problems.join('\n') + `\npierd log:\n${readLog()}`);
    },
    log: readLog,
    leaks,
  };

  try {
    await launch();
    if (!opts.noImport) {
      // external engine: drop a stale copy first so re-imports leave no dangling images
      if (external) await engine.docker(['rmi', '-f', `${image}:latest`]);
      const r = await engine.docker(['import', rootfsTar, `${image}:latest`], { timeout: 60_000 });
      if (r.code !== 0) throw new Error(`docker import of the busybox rootfs failed (${r.code}): ${r.stderr}`);
      importedId = r.stdout.trim();
    }
  } catch (e) {
    await signalAndWait('SIGKILL', 5000).catch(() => undefined);
    reap();
    if (!keepTmp) rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  return engine;
}

/** `docker inspect -f '{{json .}}'` of one object, parsed. */
export async function inspect(e: Engine, what: string): Promise<any> {
  const out = await e.ok(['inspect', '--type', 'container', what]);
  return parseInspect(out);
}

/** Runs `docker inspect -f FORMAT X` and returns the trimmed output. */
export function fmt(e: Engine, what: string, format: string): Promise<string> {
  return e.ok(['inspect', '-f', format, what]);
}

export const ZERO_TIME = '0001-01-01T00:00:00Z';
export const RFC3339_NANO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;
