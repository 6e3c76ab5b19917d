// `pier build` over pier's incremental build context (a manifest plus only the contents
// pierd's context store lacks) against a real pierd: same images and cache hits as
// `docker build` (tar) of the same context, .dockerignore, what is sent (pierd's debug log),
// hostile manifests, and the tar fallback against an engine without the endpoint.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { startPierd, requires, engineRequirements, repoRoot, type Engine, type DockerResult } from './harness.js';

const BK0 = { DOCKER_BUILDKIT: '0' };
const DOCKERFILE = [
  'FROM busybox',
  'COPY a.txt /a',
  'COPY src/ /src/',
  'RUN cat /a /src/* > /all',
  'COPY late.txt /late',
  'RUN cat /late > /late.copy',
  'CMD ["sh"]',
].join('\n') + '\n';

function writeTree(dir: string, files: Record<string, string | Buffer>): string {
  for (const [name, data] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), data);
  }
  return dir;
}

describe('build: pier build with the incremental context', { skip: requires(...engineRequirements, 'pier-only') }, () => {
  let h: Engine;
  let tmp: string;
  let cacheHome: string;
  const tags: string[] = [];
  const tag = (hint: string): string => { const t = `it-bsync-${hint}-${process.pid}`; tags.push(t); return t; };
  const ctx = (files: Record<string, string | Buffer>): string => writeTree(mkdtempSync(join(tmp, 'ctx-')), files);
  const docker = (dir: string, args: string[] = []): Promise<DockerResult> => h.docker(['build', '--network', 'none', ...args, dir], { env: BK0, timeout: 120_000 });
  /** bin/pier, asynchronously (a synchronous spawn would block the fallback test's proxy) */
  const pier = (args: string[], host = h.host, env: Record<string, string> = {}): Promise<DockerResult> => new Promise((resolve) => {
    const c = spawn(process.execPath, [join(repoRoot, 'bin/pier'), '-H', host, ...args], { env: { ...process.env, DOCKER_HOST: '', XDG_CACHE_HOME: cacheHome, ...env } });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d: Buffer) => { stdout += d; });
    c.stderr.on('data', (d: Buffer) => { stderr += d; });
    c.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr, ms: 0 }));
  });
  const pierBuild = (dir: string, args: string[] = []): Promise<DockerResult> => pier(['build', '--network', 'none', ...args, dir]);
  /** pierd's debug lines about received contexts since `from` */
  const contextLines = (): string[] => readFileSync(join(h.tmp, 'pierd.log'), 'utf8').split('\n').filter((l) => l.includes('DEBUG build context:'));
  const lastContext = (): string => contextLines().at(-1) ?? '';
  const idOf = (out: string): string => /Successfully built ([0-9a-f]{12})/.exec(out)?.[1] ?? '';
  const cached = (out: string): number => (out.match(/ ---> Using cache/g) ?? []).length;
  const sha = (s: string): string => createHash('sha256').update(s).digest('hex');

  before(async () => {
    h = await startPierd({ args: ['--log-level', 'debug'] });
    tmp = mkdtempSync(join(h.tmp, 'bsync-'));
    cacheHome = join(tmp, 'xdg-cache');
  });
  after(async () => {
    if (!h) return;
    if (tags.length) await h.docker(['rmi', '-f', ...tags]).catch(() => undefined);
    await h.stop();
  });

  it('gives the image docker build gives, sharing its cache both ways, and sends only what pierd lacks', async () => {
    const files = { Dockerfile: DOCKERFILE, 'a.txt': 'a-one\n', 'src/x': 'x\n', 'src/y': 'y\n', 'late.txt': 'late-1\n' };
    // pier first, then docker: every step from the cache
    const d1 = ctx(files);
    const t1 = tag('one');
    const p = await pierBuild(d1, ['-t', t1]);
    assert.equal(p.code, 0, p.stderr);
    assert.match(p.stdout, /^Sending build context to Docker daemon {2}\d/);
    assert.match(lastContext(), /manifest of 6 entries, \d+ bytes, 5 contents sent/);
    const d = await docker(d1, ['-t', tag('one-docker')]);
    assert.equal(d.code, 0, d.stderr);
    assert.equal(cached(d.stdout), 6);
    assert.equal(idOf(d.stdout), idOf(p.stdout));
    // docker first, then pier: the same, and no content goes (the tar put it all in the store)
    const d2 = ctx({ ...files, 'a.txt': 'a-two\n' });
    const dd = await docker(d2, ['-t', tag('two-docker')]);
    assert.equal(dd.code, 0, dd.stderr);
    assert.equal(cached(dd.stdout), 0);
    const pp = await pierBuild(d2, ['-t', tag('two')]);
    assert.equal(pp.code, 0, pp.stderr);
    assert.equal(cached(pp.stdout), 6);
    assert.equal(idOf(pp.stdout), idOf(dd.stdout));
    assert.match(lastContext(), /manifest of 6 entries, \d+ bytes, 0 contents sent \(0 bytes\)/);
    assert.equal(
      await h.ok(['image', 'inspect', '-f', '{{json .Config}} {{json .RootFS.Layers}}', t1]),
      await h.ok(['image', 'inspect', '-f', '{{json .Config}} {{json .RootFS.Layers}}', `it-bsync-one-docker-${process.pid}`]),
    );
    // a rebuild with no change sends nothing and hits every step
    const again = await pierBuild(d1, ['-q']);
    assert.equal(again.code, 0, again.stderr);
    assert.match(lastContext(), /0 contents sent \(0 bytes\)/);
  });

  it('a changed file re-runs only the steps from its COPY on, and only its content is sent', async () => {
    const dir = ctx({ Dockerfile: DOCKERFILE, 'a.txt': 'a-change\n', 'src/x': 'x\n', 'src/y': 'y\n', 'late.txt': 'late-1\n' });
    const first = await pierBuild(dir);
    assert.equal(first.code, 0, first.stderr);
    writeFileSync(join(dir, 'late.txt'), 'late-2, longer\n');
    const r = await pierBuild(dir, ['-t', tag('change')]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(cached(r.stdout), 3); // COPY a.txt, COPY src/, RUN
    assert.match(r.stdout, /Step 5\/7 : COPY late.txt \/late\n ---> [0-9a-f]{12}\n/);
    assert.match(r.stdout, /Step 6\/7 : RUN cat \/late > \/late.copy\n ---> Running in/);
    assert.match(lastContext(), new RegExp(`1 contents sent \\(${'late-2, longer\n'.length} bytes\\)`));
    const out = await h.ok(['run', '--rm', tag('change'), 'cat', '/late.copy']);
    assert.equal(out, 'late-2, longer');
  });

  it('honours .dockerignore: ignored files are neither sent nor visible, `!` brings files back', async () => {
    const dir = ctx({
      Dockerfile: 'FROM busybox\nCOPY . /ctx/\nRUN find /ctx -type f | sort > /list\n',
      '.dockerignore': 'secret*\nlogs\n!logs/keep.log\n*.tmp\n',
      'app.txt': 'app\n', 'secret.key': 'top secret\n', 'logs/a.log': 'a\n', 'logs/keep.log': 'keep\n', 'x.tmp': 'tmp\n',
    });
    const t = tag('ignore');
    const r = await pierBuild(dir, ['-t', t]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await h.ok(['run', '--rm', t, 'cat', '/list']), ['/ctx/.dockerignore', '/ctx/Dockerfile', '/ctx/app.txt', '/ctx/logs/keep.log'].join('\n'));
    const log = contextLines().join('\n');
    assert.ok(!log.includes(sha('top secret\n')));
    // changing an ignored file changes nothing: no content sent, every step cached
    writeFileSync(join(dir, 'secret.key'), 'another secret\n');
    writeFileSync(join(dir, 'logs/a.log'), 'more\n');
    const again = await pierBuild(dir);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(cached(again.stdout), 2);
    assert.match(lastContext(), /0 contents sent/);
    // and docker build of the same context agrees
    const d = await docker(dir);
    assert.equal(d.code, 0, d.stderr);
    assert.equal(cached(d.stdout), 2);
    assert.equal(idOf(d.stdout), idOf(r.stdout));
  });

  it('sends at once when the stat cache knew every file, and recovers when pierd lacks a content after all', async () => {
    const dir = ctx({ Dockerfile: 'FROM busybox\nCOPY f /f\n', f: `optimistic ${process.pid}\n` });
    // files changed within 2 s of a walk are not cached (racy): let them age
    await new Promise((r) => setTimeout(r, 2100));
    const first = await pierBuild(dir);
    assert.equal(first.code, 0, first.stderr);
    assert.match(lastContext(), /2 contents sent/);
    const second = await pierBuild(dir);
    assert.equal(second.code, 0, second.stderr);
    assert.match(lastContext(), /0 contents sent/);
    // the Dockerfile's object is linked by no layer: builder prune removes it, the stat cache still knows it
    await h.ok(['builder', 'prune', '-f']);
    const third = await pierBuild(dir);
    assert.equal(third.code, 0, third.stderr);
    assert.match(lastContext(), /1 contents sent \(\d+ bytes\)/);
  });

  it('refuses hostile manifests sent straight to the endpoint', async () => {
    const send = (entries: unknown[], blobs: unknown[] = [], extra: Buffer = Buffer.alloc(0)): Promise<{ status: number; body: string }> => new Promise((resolve, reject) => {
      const json = Buffer.from(JSON.stringify({ Entries: entries, Blobs: blobs }));
      const len = Buffer.alloc(4); len.writeUInt32BE(json.length);
      const req = http.request({ socketPath: h.host.replace('unix://', ''), path: '/v1.41/pier/build?networkmode=none', method: 'POST', headers: { 'Content-Type': 'application/vnd.pier.build-context.v1' } }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => { body += d; });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.end(Buffer.concat([len, json, extra]));
    });
    const df = 'FROM busybox\n';
    const dfe = { Path: 'Dockerfile', Type: 'file', Mode: 0o644, Uid: 0, Gid: 0, Mtime: 1, Size: df.length, Digest: sha(df) };
    let r = await send([dfe, { ...dfe, Path: '../escape' }], [[sha(df), df.length]], Buffer.from(df));
    assert.equal(r.status, 400);
    assert.match(r.body, /path escapes the context/);
    r = await send([{ Path: 'l', Type: 'symlink', Mode: 0o777, Uid: 0, Gid: 0, Mtime: 1, Link: '/etc' }, { ...dfe, Path: 'l/passwd' }]);
    assert.equal(r.status, 400);
    assert.match(r.body, /parent l is a symlink/);
    const unknown = sha(`never stored ${process.pid}`);
    r = await send([{ ...dfe, Digest: unknown }]);
    assert.equal(r.status, 400);
    assert.match(r.body, /neither in the store nor sent/);
    r = await send([{ ...dfe, Path: 'Dockerfile' }], [[sha(df), df.length]], Buffer.from('FROM evilbox\n'));
    assert.equal(r.status, 400);
    assert.match(r.body, /does not match its digest/);
  });

  it('falls back to the tar upload against an engine without the endpoint', async () => {
    // a proxy to pierd that hides Pier-Build-Context and answers 404 under /pier, as dockerd does
    const sock = join(tmp, 'proxy.sock');
    const seen: string[] = [];
    const target = h.host.replace('unix://', '');
    const server = http.createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      if (/^\/v[\d.]+\/pier\//.test(req.url ?? '')) { res.writeHead(404, { 'Content-Type': 'application/json' }); res.end('{"message":"page not found"}\n'); return; }
      const up = http.request({ socketPath: target, path: req.url, method: req.method, headers: req.headers }, (ur) => {
        const headers = { ...ur.headers };
        delete headers['pier-build-context'];
        res.writeHead(ur.statusCode ?? 502, headers);
        ur.pipe(res);
      });
      up.on('error', () => res.destroy());
      req.pipe(up);
    });
    await new Promise<void>((r) => server.listen(sock, () => r()));
    try {
      const dir = ctx({ Dockerfile: 'FROM busybox\nCOPY f /f\nRUN cat /f\n', f: 'via tar\n' });
      const before = contextLines().length;
      const r = await pier(['build', '--network', 'none', '-t', tag('fallback'), dir], `unix://${sock}`);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^Sending build context to Docker daemon {2}\d/);
      assert.match(r.stdout, /via tar/);
      assert.ok(seen.some((s) => /^POST \/v[\d.]+\/build\?/.test(s)), seen.join('\n'));
      assert.ok(!seen.some((s) => s.includes('/pier/')), seen.join('\n'));
      assert.match(contextLines().slice(before).join('\n'), /build context: \d+ entries/);
      assert.doesNotMatch(contextLines().slice(before).join('\n'), /manifest/);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
      rmSync(sock, { force: true });
    }
  });
});
