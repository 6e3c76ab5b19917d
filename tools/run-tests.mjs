#!/usr/bin/env node
// Runs the compiled tests with node's own runner. `node tools/run-tests.mjs [unit|integration]`.
// Unit tests sit beside their source (dist/src/**/*.test.js); integration tests under
// dist/test/integration. Node 20's --test takes no globs, so the files are listed here.
//
// The integration tests compare some results with a reference dockerd (Debian's docker.io).
// When none answers at PIER_TEST_REF_DOCKER or /run/ref-docker, and `dockerd` is installed,
// this starts a private one for the run (no networking, no iptables: --bridge=none
// --iptables=false --ip-masq=false --ip-forward=false; its own data root, exec root and
// containerd namespace), imports the busybox image into it, and stops it (by pid) and
// removes its directories at the end.
import { readdirSync, statSync, existsSync, mkdtempSync, mkdirSync, openSync, readFileSync, rmSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

const which = process.argv[2] ?? 'all';
const repo = new URL('../', import.meta.url).pathname;
const dist = join(repo, 'dist');
if (!existsSync(dist)) { console.error('dist/ is missing: run npm run build first'); process.exit(2); }
const found = [];
(function walk(dir) {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (p.endsWith('.test.js')) found.push(p);
  }
})(dist);
const isIntegration = (p) => p.includes('/test/integration/');
const files = found.filter((p) => which === 'all' || (which === 'integration') === isIntegration(p));

const answers = (host) => spawnSync('docker', ['-H', host, 'version'], { stdio: 'ignore', timeout: 10_000 }).status === 0;
const onPath = (bin) => spawnSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' }).status === 0;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Starts a private reference dockerd; returns its stop function, or undefined. */
async function startReference() {
  if (process.env.PIER_TEST_DOCKER_HOST || !files.some(isIntegration)) return undefined;
  const wanted = process.env.PIER_TEST_REF_DOCKER || 'unix:///run/ref-docker/docker.sock';
  if (answers(wanted)) return undefined;
  if (process.getuid?.() !== 0 || !onPath('dockerd') || !onPath('docker')) return undefined;
  // dockerd puts its containers under a `docker` cgroup in every hierarchy; the ones it makes
  // now (none existed before) are removed again at the end
  const cgroupRoots = readFileSync('/proc/self/mounts', 'utf8').split('\n').map((l) => l.split(' ')).filter((f) => f[2] === 'cgroup' || f[2] === 'cgroup2').map((f) => f[1]);
  const newCgroups = cgroupRoots.map((r) => join(r, 'docker')).filter((d) => !existsSync(d));
  const tag = randomBytes(4).toString('hex');
  const data = mkdtempSync('/var/tmp/pier-refd-');
  const exec = `/run/pier-refd-${tag}`;
  mkdirSync(exec, { recursive: true, mode: 0o700 });
  const host = `unix://${exec}/docker.sock`;
  const log = openSync(join(data, 'dockerd.log'), 'a');
  const d = spawn('dockerd', ['-H', host, '--data-root', join(data, 'root'), '--exec-root', join(exec, 'x'), '--pidfile', join(exec, 'dockerd.pid'),
    '--containerd-namespace', `pier-refd-${tag}`, '--containerd-plugins-namespace', `pier-refd-${tag}-p`,
    '--bridge=none', '--iptables=false', '--ip-masq=false', '--ip-forward=false', '--userland-proxy=false'],
  { stdio: ['ignore', log, log], detached: false });
  const stop = async () => {
    if (d.exitCode === null && d.signalCode === null) {
      d.kill('SIGTERM');
      for (let i = 0; i < 200 && d.exitCode === null && d.signalCode === null; i++) await sleep(100);
      if (d.exitCode === null && d.signalCode === null) d.kill('SIGKILL');
    }
    // whatever dockerd left mounted under its roots (it unmounts on a clean stop)
    for (const root of [data, exec]) {
      const mounts = readFileSync('/proc/self/mounts', 'utf8').split('\n').map((l) => l.split(' ')[1]).filter((m) => m && (m === root || m.startsWith(`${root}/`)));
      for (const m of mounts.reverse()) spawnSync('umount', ['-l', m]);
    }
    rmSync(data, { recursive: true, force: true });
    rmSync(exec, { recursive: true, force: true });
    for (const d of newCgroups) { try { rmdirSync(d); } catch { /* absent, or in use by another dockerd */ } }
  };
  for (let i = 0; i < 300 && !answers(host); i++) {
    if (d.exitCode !== null) break;
    await sleep(100);
  }
  if (!answers(host)) {
    console.error(`# reference dockerd did not start: see its log\n${readFileSync(join(data, 'dockerd.log'), 'utf8').slice(-2000)}`);
    await stop();
    return undefined;
  }
  const bb = join(data, 'busybox.tar');
  const ok = spawnSync(join(repo, 'scripts/busybox-rootfs.sh'), [bb], { stdio: 'ignore' }).status === 0 &&
    spawnSync('docker', ['-H', host, 'import', bb, 'busybox:latest'], { stdio: 'ignore', timeout: 60_000 }).status === 0;
  if (!ok) { console.error('# reference dockerd: importing busybox failed'); await stop(); return undefined; }
  process.env.PIER_TEST_REF_DOCKER = host;
  console.log(`# reference dockerd for this run: ${host} (pid ${d.pid})`);
  return stop;
}

const stopReference = await startReference();
const args = ['--test', '--test-concurrency=1', ...(process.env.TEST_REPORTER ? [`--test-reporter=${process.env.TEST_REPORTER}`] : []), ...files];
const child = spawn(process.execPath, args, { stdio: 'inherit' });
const stopChild = (sig) => () => child.kill(sig);
process.on('SIGINT', stopChild('SIGINT'));
process.on('SIGTERM', stopChild('SIGTERM'));
const status = await new Promise((r) => child.on('exit', (code, signal) => r(code ?? (signal ? 1 : 1))));
if (stopReference) await stopReference();
process.exit(status);
