// docker build (classic builder, DOCKER_BUILDKIT=0) and pier build against a real pierd; the
// produced image config is compared with what the reference dockerd builds from the same
// Dockerfile when one answers (harness refDockerHost: the run's own, started by tools/run-tests.mjs).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import net from 'node:net';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { startPierd, requires, engineRequirements, refDockerHost, refDockerUp, repoRoot, waitFor, type Engine, type DockerResult } from './harness.js';

const REF = refDockerHost.replace(/^unix:\/\//, '');
// A socket file can outlive its daemon: ask it.
const hasRef = refDockerUp();
const BK0 = { DOCKER_BUILDKIT: '0' };
// `pier registry serve` for the FROM-pull test: 127.0.0.1 only, a port of this file's own
const REGISTRY_PORT = 41837;

function writeTree(dir: string, files: Record<string, string | Buffer>): string {
  for (const [name, data] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), data);
  }
  return dir;
}

describe('build', { skip: requires(...engineRequirements) }, () => {
  let h: Engine;
  let tmp: string;
  let server: Server;
  let port = 0;
  const tags: string[] = [];
  const tag = (hint: string): string => { const t = `it-build-${hint}-${process.pid}`; tags.push(t); return t; };
  const ctx = (files: Record<string, string | Buffer>): string => writeTree(mkdtempSync(join(tmp, 'ctx-')), files);
  const build = (dir: string, args: string[] = []): Promise<DockerResult> =>
    h.docker(['build', '--network', 'none', ...args, dir], { env: BK0, timeout: 120_000 });
  const pier = (args: string[]): DockerResult => {
    const r = spawnSync(join(repoRoot, 'bin/pier'), ['-H', h.host, ...args], { encoding: 'utf8', env: { ...process.env, DOCKER_HOST: '', XDG_CACHE_HOME: join(tmp, 'xdg-cache') } });
    return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr, ms: 0 };
  };
  const config = async (img: string): Promise<Record<string, unknown>> => JSON.parse(await h.ok(['image', 'inspect', '-f', '{{json .Config}}', img])) as Record<string, unknown>;

  before(async () => {
    h = await startPierd();
    tmp = mkdtempSync(join(h.tmp, 'build-'));
    server = createServer((req, res) => {
      if (req.url === '/hello.txt') { res.writeHead(200, { 'Content-Type': 'text/plain' }); res.end('hello from http\n'); return; }
      res.writeHead(404); res.end('nope');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    port = (server.address() as { port: number }).port;
  });
  after(async () => {
    server?.close();
    if (!h) return;
    if (tags.length) await h.docker(['rmi', '-f', ...tags]).catch(() => undefined);
    await h.stop();
  });

  const allInstructions = [
    'ARG BASE=busybox',
    'FROM ${BASE}',
    'LABEL maintainer="it" version=1',
    'ENV A=1 B="x y"',
    'ENV C ${A}-${B}',
    'ARG WHO=world',
    'RUN echo "hello $WHO" > /greeting && echo to-stderr >&2',
    'WORKDIR /app',
    'COPY f.txt sub/ ./',
    'COPY --chown=1:2 --chmod=750 f.txt /owned',
    'USER 1000:1000',
    'EXPOSE 80 90/udp 7000-7001',
    'VOLUME ["/data", "/cache"]',
    'STOPSIGNAL SIGINT',
    'HEALTHCHECK --interval=5s --timeout=2s --retries=3 CMD true',
    'SHELL ["/bin/sh", "-ec"]',
    'ONBUILD RUN echo triggered',
    'ENTRYPOINT ["/bin/echo"]',
    'CMD ["default"]',
  ].join('\n') + '\n';

  it('runs every instruction and prints the classic builder output', async () => {
    const dir = ctx({ Dockerfile: allInstructions, 'f.txt': 'file\n', 'sub/inner.txt': 'inner\n' });
    const t = tag('all');
    const r = await build(dir, ['-t', t]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /Sending build context to Docker daemon/);
    assert.match(r.stdout, /Step 1\/19 : ARG BASE=busybox\nStep 2\/19 : FROM \$\{BASE\}\n ---> [0-9a-f]{12}\n/);
    assert.match(r.stdout, /Step 7\/19 : RUN echo "hello \$WHO".*\n ---> Running in [0-9a-f]{12}\n\u001b\[91mto-stderr\n\u001b\[0m/);
    assert.match(r.stdout, /Removing intermediate container [0-9a-f]{12}\n/);
    assert.match(r.stdout, /Successfully built [0-9a-f]{12}\nSuccessfully tagged .*:latest\n/);
    const c = await config(t);
    assert.deepEqual(c.Env, ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'A=1', 'B=x y', 'C=1-x y']);
    assert.deepEqual(c.Entrypoint, ['/bin/echo']);
    assert.deepEqual(c.Cmd, ['default']);
    assert.equal(c.WorkingDir, '/app');
    assert.equal(c.User, '1000:1000');
    assert.deepEqual(c.Labels, { maintainer: 'it', version: '1' });
    assert.deepEqual(c.ExposedPorts, { '80/tcp': {}, '90/udp': {}, '7000/tcp': {}, '7001/tcp': {} });
    assert.deepEqual(c.Volumes, { '/data': {}, '/cache': {} });
    assert.equal(c.StopSignal, 'SIGINT');
    assert.deepEqual(c.Healthcheck, { Test: ['CMD-SHELL', 'true'], Interval: 5e9, Timeout: 2e9, Retries: 3 });
    assert.deepEqual(c.OnBuild, ['RUN echo triggered']);
    assert.deepEqual(c.Shell, ['/bin/sh', '-ec']);
    const files = await h.ok(['run', '--rm', '--network', 'none', '--user', '0', '--entrypoint', 'sh', t, '-c', 'cat /greeting /app/f.txt /app/inner.txt; stat -c "%u:%g %a" /owned']);
    assert.equal(files, 'hello world\nfile\ninner\n1:2 750');
    const hist = await h.ok(['history', '--no-trunc', '--format', '{{.CreatedBy}}', t]);
    assert.match(hist, /^\/bin\/sh -ec #\(nop\)  CMD \["default"\]$/m);
    assert.match(hist, /^\|1 WHO=world \/bin\/sh -c echo "hello \$WHO"/m);
    assert.match(hist, /^\/bin\/sh -c #\(nop\)  HEALTHCHECK &\{\["CMD-SHELL" "true"\] "5s" "2s" "0s" '\\x03'\}$/m);
  });

  it('produces the same image config as the reference dockerd', { skip: hasRef ? false : 'no reference dockerd' }, async () => {
    // the classic builder refuses --chmod (BuildKit only); pier accepts it
    const dir = ctx({ Dockerfile: allInstructions.replace('--chmod=750 ', ''), 'f.txt': 'file\n', 'sub/inner.txt': 'inner\n' });
    const t = tag('cmp');
    const r = await build(dir, ['-t', t]);
    assert.equal(r.code, 0, r.stderr);
    const ref = spawnSync('docker', ['-H', `unix://${REF}`, 'build', '--network', 'none', '-q', '-t', t, dir], { encoding: 'utf8', env: { ...process.env, ...BK0 } });
    assert.equal(ref.status, 0, ref.stderr);
    try {
      const refCfg = JSON.parse(spawnSync('docker', ['-H', `unix://${REF}`, 'image', 'inspect', '-f', '{{json .Config}}', t], { encoding: 'utf8' }).stdout) as Record<string, unknown>;
      const ours = await config(t);
      for (const k of ['Env', 'Cmd', 'Entrypoint', 'WorkingDir', 'User', 'Labels', 'ExposedPorts', 'Volumes', 'Healthcheck', 'StopSignal', 'OnBuild', 'Shell']) {
        assert.deepEqual(ours[k] ?? null, refCfg[k] ?? null, k);
      }
    } finally {
      spawnSync('docker', ['-H', `unix://${REF}`, 'rmi', '-f', t], { encoding: 'utf8' });
      spawnSync('docker', ['-H', `unix://${REF}`, 'image', 'prune', '-f'], { encoding: 'utf8' });
    }
  });

  it('multi-stage: builds only what --target needs, COPY --from reads another stage', async () => {
    const df = [
      'FROM busybox AS one', 'RUN echo one > /one',
      'FROM busybox AS two', 'RUN echo two > /two',
      'FROM busybox AS unused', 'RUN exit 9',
      'FROM busybox AS final', 'COPY --from=one /one /got-one', 'COPY --from=1 /two /got-two',
    ].join('\n');
    const dir = ctx({ Dockerfile: df });
    const t = tag('multi');
    const r = await build(dir, ['-t', t, '--target', 'final']);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.doesNotMatch(r.stdout, /exit 9/);
    assert.equal(await h.ok(['run', '--rm', '--network', 'none', t, 'cat', '/got-one', '/got-two']), 'one\ntwo');
    const t2 = tag('multi2');
    const r2 = await build(dir, ['-t', t2, '--target', 'two', '-q']);
    assert.equal(r2.code, 0, r2.stderr);
    assert.match(r2.stdout.trim(), /^sha256:[0-9a-f]{64}$/);
    const bad = await build(dir, ['--target', 'nope']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /failed to reach build target nope/);
  });

  it('a RUN step\'s root is a volatile overlay (no disk sync when it stops); a run container\'s is not', async () => {
    const dir = ctx({ Dockerfile: 'FROM busybox\nRUN grep " / " /proc/mounts | grep -c volatile\n' });
    const r = await build(dir, ['--no-cache']);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /^1$/m);
    assert.equal(await h.ok(['run', '--rm', '--network', 'none', h.image, 'sh', '-c', 'grep " / " /proc/mounts | grep -c volatile; true']), '0');
  });

  it('.dockerignore leaves files out, `!` brings them back', async () => {
    const dir = ctx({
      Dockerfile: 'FROM busybox\nCOPY . /ctx/\nRUN find /ctx -type f | sort\n',
      '.dockerignore': '*.log\nsecret/\nnode_modules\n!node_modules/keep.js\n',
      'a.txt': 'a', 'b.log': 'b', 'secret/key': 'k', 'node_modules/keep.js': 'k', 'node_modules/drop.js': 'd',
    });
    const t = tag('ignore');
    const r = await build(dir, ['-t', t]);
    assert.equal(r.code, 0, r.stderr);
    const files = await h.ok(['run', '--rm', '--network', 'none', t, 'sh', '-c', 'cd /ctx && find . -type f | sort']);
    assert.equal(files, './.dockerignore\n./Dockerfile\n./a.txt\n./node_modules/keep.js');
  });

  it('build args: defaults, --build-arg overrides, meta ARG in FROM, unused ones warned', async () => {
    const dir = ctx({ Dockerfile: 'ARG IMG=busybox\nFROM $IMG\nARG IMG\nARG MSG=dflt\nRUN echo "msg=$MSG img=$IMG" > /out\n' });
    const t = tag('args');
    const r = await build(dir, ['-t', t, '--build-arg', 'MSG=given', '--build-arg', 'UNUSED=1']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /\[Warning\] One or more build-args \[UNUSED\] were not consumed/);
    assert.equal(await h.ok(['run', '--rm', '--network', 'none', t, 'cat', '/out']), 'msg=given img=busybox');
    const c = await config(t);
    assert.ok(!(c.Env as string[]).some((e) => e.startsWith('MSG=')), 'build args are not in the image env');
  });

  it('cache: a rebuild hits every step; changing one file re-runs only the steps after its COPY', async () => {
    const files: Record<string, string> = {
      Dockerfile: 'FROM busybox\nCOPY a.txt /a.txt\nRUN cat /a.txt > /a.copy\nCOPY b.txt /b.txt\nRUN cat /b.txt > /b.copy\nENV X=1\n',
      'a.txt': 'a1', 'b.txt': 'b1',
    };
    const dir = ctx(files);
    const t = tag('cache');
    assert.equal((await build(dir, ['-t', t])).code, 0);
    const warm = await build(dir, ['-t', t]);
    assert.equal(warm.stdout.match(/Using cache/g)?.length, 5, warm.stdout);
    writeFileSync(join(dir, 'b.txt'), 'b2');
    const changed = await build(dir, ['-t', t]);
    assert.equal(changed.stdout.match(/Using cache/g)?.length, 2, changed.stdout);
    assert.match(changed.stdout, /Step 4\/6 : COPY b.txt \/b.txt\n ---> [0-9a-f]{12}\n/);
    assert.equal(await h.ok(['run', '--rm', '--network', 'none', t, 'cat', '/b.copy']), 'b2');
    const nocache = await build(dir, ['-t', t, '--no-cache']);
    assert.equal(nocache.stdout.match(/Using cache/g), null);
    // the cache survives a daemon restart
    await h.terminate();
    await h.restart();
    const after = await build(dir, ['-t', t]);
    assert.equal(after.stdout.match(/Using cache/g)?.length, 5, after.stdout);
  });

  it('ADD extracts local tar archives (plain and gzip) and fetches http URLs', async () => {
    const src = mkdtempSync(join(tmp, 'tarsrc-'));
    writeTree(src, { 'x/inner.txt': 'in tar\n' });
    const tarFile = join(tmp, 'a.tar');
    assert.equal(spawnSync('tar', ['-cf', tarFile, '-C', src, 'x']).status, 0);
    const dir = ctx({
      Dockerfile: `FROM busybox\nADD a.tar /plain/\nADD b.tar.gz /gz\nADD http://127.0.0.1:${port}/hello.txt /web/\nCOPY a.tar /copied/\n`,
      'a.tar': readFileSync(tarFile), 'b.tar.gz': gzipSync(readFileSync(tarFile)),
    });
    const t = tag('add');
    const r = await h.docker(['build', '--network', 'host', '-t', t, dir], { env: BK0, timeout: 120_000 });
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const out = await h.ok(['run', '--rm', '--network', 'none', t, 'sh', '-c', 'cat /plain/x/inner.txt /gz/x/inner.txt /web/hello.txt; stat -c %a /web/hello.txt; ls /copied']);
    assert.equal(out, 'in tar\nin tar\nhello from http\n600\na.tar');
  });

  it('heredocs: RUN <<EOF runs the script, COPY <<EOF writes a file', async () => {
    const dir = ctx({ Dockerfile: 'FROM busybox\nENV WHO=there\nRUN <<EOF\necho line1 > /h\necho "hi $WHO" >> /h\nEOF\nCOPY <<EOF /conf\nname=$WHO\nEOF\nRUN cat > /i <<X\nfed\nX\n' });
    const t = tag('heredoc');
    const r = await build(dir, ['-t', t]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.equal(await h.ok(['run', '--rm', '--network', 'none', t, 'cat', '/h', '/conf', '/i']), 'line1\nhi there\nname=there\nfed');
  });

  it('failures: the RUN exit code and message, parse errors with the line, missing files; no containers left', async () => {
    const before = await h.ok(['ps', '-aq']);
    const r = await build(ctx({ Dockerfile: 'FROM busybox\nRUN echo out; exit 3\n' }));
    assert.equal(r.code, 3);
    assert.match(r.stderr, /The command '\/bin\/sh -c echo out; exit 3' returned a non-zero code: 3/);
    assert.match(r.stdout, /\nout\n/);
    const p = await build(ctx({ Dockerfile: 'FROM busybox\nRUN true\n\n\n\n\nCPY a b\n' }));
    assert.equal(p.code, 1);
    assert.match(p.stderr, /Dockerfile:7: unknown instruction: CPY/);
    const m = await build(ctx({ Dockerfile: 'FROM busybox\nCOPY nosuch /x\n' }));
    assert.equal(m.code, 1);
    assert.match(m.stderr, /COPY failed: file not found in build context or excluded by \.dockerignore: stat nosuch: file does not exist/);
    assert.equal(await h.ok(['ps', '-aq']), before);
  });

  it('pier build: -q, --iidfile, -f outside the context, stdin Dockerfile', async () => {
    const dir = ctx({ 'f.txt': 'x' });
    const dfDir = mkdtempSync(join(tmp, 'df-'));
    writeFileSync(join(dfDir, 'My.Dockerfile'), 'FROM busybox\nCOPY f.txt /f\nLABEL from=pier\n');
    const iid = join(tmp, 'iid');
    const t = tag('pier');
    const r = pier(['build', '--network', 'none', '-q', '--iidfile', iid, '-t', t, '-f', join(dfDir, 'My.Dockerfile'), dir]);
    assert.equal(r.code, 0, r.stderr);
    const id = readFileSync(iid, 'utf8');
    assert.match(id, /^sha256:[0-9a-f]{64}$/);
    assert.equal(r.stdout.trim(), id);
    assert.equal(await h.ok(['image', 'inspect', '-f', '{{.Id}} {{.Config.Labels.from}}', t]), `${id} pier`);
    const s = spawnSync(join(repoRoot, 'bin/pier'), ['-H', h.host, 'build', '--network', 'none', '-'], { input: 'FROM busybox\nRUN echo from-stdin\n', encoding: 'utf8', env: { ...process.env, XDG_CACHE_HOME: join(tmp, 'xdg-cache') } });
    assert.equal(s.status, 0, s.stderr);
    assert.match(s.stdout, /from-stdin\nRemoving intermediate container/);
  });

  it('POST /build/prune forgets the cache', async () => {
    const dir = ctx({ Dockerfile: 'FROM busybox\nRUN echo p > /p\n' });
    assert.equal((await build(dir)).code, 0);
    assert.match((await build(dir)).stdout, /Using cache/);
    await h.ok(['builder', 'prune', '-f']).catch(async () => h.ok(['system', 'prune', '-f']));
    assert.doesNotMatch((await build(dir)).stdout, /Using cache/);
  });
  it('FROM pulls an image that is not present, with the pull progress in the build output', async () => {
    const regRoot = mkdtempSync(join(tmp, 'reg-'));
    const reg = spawn(process.execPath, [join(repoRoot, 'bin/pier'), 'registry', 'serve', '--addr', `127.0.0.1:${REGISTRY_PORT}`, '--root', regRoot], { stdio: 'ignore' });
    const remote = `127.0.0.1:${REGISTRY_PORT}/it-build-pull-${process.pid}:1`;
    try {
      await waitFor(() => new Promise<boolean>((r) => { const c = net.connect(REGISTRY_PORT, '127.0.0.1', () => { c.destroy(); r(true); }); c.on('error', () => r(false)); }), { timeout: 15_000 });
      // an image with a layer of its own, pushed from pier, then removed here
      const base = tag('pullbase');
      assert.equal((await build(ctx({ Dockerfile: 'FROM busybox\nRUN echo pushed > /pushed\n' }), ['-t', base])).code, 0);
      await h.ok(['tag', base, remote]);
      await h.ok(['push', remote]);
      await h.ok(['rmi', remote, base]);
      assert.notEqual((await h.docker(['image', 'inspect', remote])).code, 0);
      const t = tag('pulled');
      const r = await build(ctx({ Dockerfile: `FROM ${remote}\nRUN cat /pushed > /seen\n` }), ['-t', t]);
      assert.equal(r.code, 0, r.stderr + r.stdout);
      assert.match(r.stdout, /Step 1\/2 : FROM 127\.0\.0\.1:\d+\/it-build-pull-\d+:1\n1: Pulling from it-build-pull-\d+\n/);
      assert.match(r.stdout, /: Pull complete\n/);
      assert.match(r.stdout, /Status: Downloaded newer image for 127\.0\.0\.1:\d+\/it-build-pull-\d+:1\n ---> [0-9a-f]{12}\nStep 2\/2 : RUN/);
      assert.equal(await h.ok(['run', '--rm', '--network', 'none', t, 'cat', '/seen']), 'pushed');
      // the pulled image keeps its name, as after `docker pull`
      assert.match(await h.ok(['images', '--format', '{{.Repository}}:{{.Tag}}']), new RegExp(`^${remote.replace(/\./g, '\\.')}$`, 'm'));
      const missing = await build(ctx({ Dockerfile: `FROM 127.0.0.1:${REGISTRY_PORT}/it-build-nothing-${process.pid}:1\n` }));
      assert.equal(missing.code, 1, missing.stdout);
      assert.match(missing.stderr, /it-build-nothing/);
    } finally {
      reg.kill('SIGTERM');
      await h.docker(['rmi', '-f', remote]).catch(() => undefined);
    }
  });

  it('intermediate images are hidden from `docker images` but listed with -a; rmi removes them with the image', async () => {
    const t = tag('inter');
    const r = await build(ctx({ Dockerfile: 'FROM busybox\nENV I=1\nRUN echo i > /i\nCMD ["sh"]\n' }), ['-t', t]);
    assert.equal(r.code, 0, r.stderr);
    const ids = [...r.stdout.matchAll(/^ ---> ([0-9a-f]{12})$/gm)].map((m) => m[1]!);
    assert.equal(ids.length, 4, r.stdout); // busybox, ENV, RUN, CMD
    const [, env, run, final] = ids as [string, string, string, string];
    const shown = (await h.ok(['images', '-q'])).split('\n');
    const all = (await h.ok(['images', '-aq'])).split('\n');
    const dangling = (await h.ok(['images', '-q', '-f', 'dangling=true'])).split('\n');
    assert.ok(shown.includes(final) && !shown.includes(env) && !shown.includes(run), `images: ${shown.join(' ')}`);
    assert.ok(all.includes(final) && all.includes(env) && all.includes(run), `images -a: ${all.join(' ')}`);
    assert.ok(!dangling.includes(env) && !dangling.includes(run), `dangling: ${dangling.join(' ')}`);
    const rm = await h.ok(['rmi', t]);
    for (const id of [final, run, env]) assert.match(rm, new RegExp(`^Deleted: sha256:${id}`, 'm'));
    const after = (await h.ok(['images', '-aq'])).split('\n');
    assert.ok(!after.includes(env) && !after.includes(run) && !after.includes(final));
    tags.splice(tags.indexOf(t), 1);
  });

  // pier-only: Docker's classic builder refuses both (checked against the reference at the end)
  it('RUN --mount=type=cache|bind|tmpfs and COPY --link (BuildKit syntax the classic builder refuses)', { skip: requires('pier-only') }, async () => {
    const df = [
      'FROM busybox AS base',
      'RUN echo from-stage > /s',
      'FROM busybox',
      'RUN --mount=type=cache,target=/var/cache/it echo run >> /var/cache/it/log && wc -l < /var/cache/it/log > /cache-count',
      'RUN --mount=type=bind,source=dir,target=/mnt cat /mnt/a > /from-ctx && (touch /mnt/x 2>/dev/null && echo writable || echo readonly) > /bind-ro',
      'RUN --mount=type=bind,from=base,source=/s,target=/s2 cat /s2 > /from-stage',
      'RUN --mount=type=tmpfs,target=/t,size=1m mount | grep " /t " | cut -d" " -f5 > /tmpfs && echo x > /t/y',
      'RUN --mount=type=bind,source=dir,target=/mnt,rw echo changed > /mnt/a && cat /mnt/a > /rw',
      'COPY --link f /linked/f',
    ].join('\n') + '\n';
    const dir = ctx({ Dockerfile: df, 'dir/a': 'ctxfile\n', f: 'linked\n' });
    const t = tag('mount');
    const r = await build(dir, ['-t', t]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const show = 'for f in cache-count from-ctx bind-ro from-stage tmpfs rw linked/f; do echo "$f=$(cat /$f)"; done; ls -d /var/cache/it /mnt /s2 /t 2>/dev/null | wc -l';
    assert.equal(await h.ok(['run', '--rm', '--network', 'none', t, 'sh', '-c', show]),
      'cache-count=1\nfrom-ctx=ctxfile\nbind-ro=readonly\nfrom-stage=from-stage\ntmpfs=tmpfs\nrw=changed\nlinked/f=linked\n0');
    // a writable bind mount never reaches the context: the next build still reads the original
    const again = await build(dir, ['-t', t]);
    assert.equal(again.stdout.match(/Using cache/g)?.length, 7, again.stdout);
    // a changed bind-mounted file re-runs the step that mounts it (and what follows)
    writeFileSync(join(dir, 'dir/a'), 'ctxfile2\n');
    const changed = await build(dir, ['-t', t]);
    assert.equal(changed.stdout.match(/Using cache/g)?.length, 2, changed.stdout);
    assert.match(changed.stdout, /Step 5\/9 : RUN --mount=type=bind,source=dir[^\n]*\n ---> Running in/);
    assert.equal(await h.ok(['run', '--rm', '--network', 'none', t, 'cat', '/cache-count', '/from-ctx']), '1\nctxfile2');
    // the cache mount outlives the build
    assert.equal((await build(dir, ['-t', t, '--no-cache'])).code, 0);
    assert.equal(await h.ok(['run', '--rm', '--network', 'none', t, 'cat', '/cache-count']), '2');
    // `docker builder prune` empties the cache mounts
    await h.ok(['builder', 'prune', '-f']);
    assert.equal((await build(dir, ['-t', t, '--no-cache'])).code, 0);
    assert.equal(await h.ok(['run', '--rm', '--network', 'none', t, 'cat', '/cache-count']), '1');
    const bad = await build(ctx({ Dockerfile: 'FROM busybox\nRUN --mount=type=secret,id=x true\n' }));
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /mount type "secret" is not supported/);
    if (hasRef) {
      const ref = spawnSync('docker', ['-H', `unix://${REF}`, 'build', '--network', 'none', dir], { encoding: 'utf8', env: { ...process.env, ...BK0 } });
      assert.notEqual(ref.status, 0, 'the classic builder refuses RUN --mount');
      // 20.10 stops at its own --mount parser (tmpfs size=) or, past it, at "the --mount option requires BuildKit"
      assert.match(ref.stdout + ref.stderr, /the --mount option requires BuildKit|dockerfile parse error line \d+/);
      spawnSync('docker', ['-H', `unix://${REF}`, 'image', 'prune', '-f'], { encoding: 'utf8' });
    }
  });
});
