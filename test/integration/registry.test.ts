// Registries (issue 4): pier against Debian's docker-registry, skopeo and the reference dockerd
// against `pier registry`, pier ↔ pier with htpasswd + TLS, a Bearer token flow, and faults
// (cut connection, wrong digest, 401, kill -9 of pierd mid-pull). Ports 5100-5199, 127.0.0.1 only.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, linkSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { startPierd, requires, engineRequirements, refDockerHost, refDockerUp, repoRoot, waitFor, sleep, type Engine } from './harness.js';

const P = { pier: 5100, dreg: 5101, dregAuth: 5102, tls: 5103, tokenSrv: 5104, tokenReg: 5105, fault: 5106, refPush: 5107, deadMirror: 5108, second: 5109 };
const REF_DOCKER = refDockerHost;

interface Proc { proc: ChildProcess; log: () => string; stop: () => Promise<void> }

function startProc(cmd: string, args: string[]): Proc {
  const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (b: Buffer) => { out += b.toString(); });
  proc.stderr!.on('data', (b: Buffer) => { out += b.toString(); });
  const exited = new Promise<void>((r) => proc.on('exit', () => r()));
  return {
    proc,
    log: () => out,
    stop: async () => {
      const alive = (): boolean => proc.exitCode === null && proc.signalCode === null;
      const kill = (sig: NodeJS.Signals): void => { try { if (proc.pid) process.kill(proc.pid, sig); } catch { /* gone */ } };
      if (alive()) kill('SIGTERM');
      await Promise.race([exited, sleep(3000)]);
      if (alive()) { kill('SIGKILL'); await exited; }
    },
  };
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((r) => {
    const s = net.connect(port, '127.0.0.1', () => { s.destroy(); r(true); });
    s.on('error', () => r(false));
  });
}

function listen(server: http.Server, port: number): Promise<void> {
  return new Promise((r, j) => { server.once('error', j); server.listen(port, '127.0.0.1', () => r()); });
}

function pierRegistry(root: string, port: number, extra: string[] = []): Proc {
  return startProc(process.execPath, [join(repoRoot, 'bin/pier'), 'registry', 'serve', '--addr', `127.0.0.1:${port}`, '--root', root, ...extra]);
}

/** A proxy to the pier registry with a per-request hook (faults, token checks). */
function proxy(target: number, hook: (req: http.IncomingMessage, res: http.ServerResponse, forward: (onBody?: (up: http.IncomingMessage) => void) => void) => void): http.Server {
  return http.createServer((req, res) => {
    const forward = (onBody?: (up: http.IncomingMessage) => void): void => {
      const headers = { ...req.headers };
      delete headers.authorization;
      const up = http.request({ host: '127.0.0.1', port: target, method: req.method, path: req.url, headers }, (u) => {
        if (onBody) return onBody(u);
        res.writeHead(u.statusCode!, u.headers);
        u.pipe(res);
      });
      up.on('error', () => res.destroy());
      req.pipe(up);
    };
    hook(req, res, forward);
  });
}

describe('registries', { skip: requires(...engineRequirements) || requires('pier-only') }, () => {
  let h: Engine;
  let tmp: string;
  const procs: Proc[] = [];
  const servers: http.Server[] = [];
  let certsDir: string;
  let bigTar: string;

  /** docker save of `refs`, unpacked: every blob's sha256 must be its name (layers: their diff ID). */
  const saveAndCheck = async (refs: string[]): Promise<{ saved: string; out: string }> => {
    const saved = join(tmp, 'save-check.tar');
    await h.ok(['save', '-o', saved, ...refs], { timeout: 60_000 });
    const out = join(tmp, 'save-check');
    spawnSync('rm', ['-rf', out]);
    mkdirSync(out);
    assert.equal(spawnSync('tar', ['-C', out, '-xf', saved]).status, 0);
    for (const f of readdirSync(join(out, 'blobs', 'sha256'))) {
      assert.equal(createHash('sha256').update(readFileSync(join(out, 'blobs', 'sha256', f))).digest('hex'), f, `blob ${f} of the saved archive`);
    }
    return { saved, out };
  };

  const pierPush = async (ref: string): Promise<string> => {
    await h.ok(['tag', h.image, ref]);
    return h.ok(['push', ref], { timeout: 60_000 });
  };

  before(async () => {
    tmp = `/tmp/preg-${randomBytes(3).toString('hex')}`;
    mkdirSync(tmp, { recursive: true });
    certsDir = join(tmp, 'certs.d');
    mkdirSync(certsDir);
    h = await startPierd({ args: ['--registry-certs-dir', certsDir] });
    const p = pierRegistry(join(tmp, 'pier-reg'), P.pier);
    procs.push(p);
    await waitFor(() => portOpen(P.pier), { message: () => p.log() });
    // a 4 MiB incompressible layer for the fault tests
    const dir = join(tmp, 'big');
    mkdirSync(dir);
    writeFileSync(join(dir, 'blob'), randomBytes(4 << 20));
    bigTar = join(tmp, 'big.tar');
    assert.equal(spawnSync('tar', ['-C', dir, '-cf', bigTar, '.']).status, 0);
    await h.ok(['import', bigTar, 'big:1']);
    await h.ok(['tag', 'big:1', `127.0.0.1:${P.pier}/big:1`]);
    await h.ok(['push', `127.0.0.1:${P.pier}/big:1`], { timeout: 60_000 });
    await h.ok(['rmi', 'big:1', `127.0.0.1:${P.pier}/big:1`]);
    // two layers: a small one the fault proxy passes and a 4 MiB one it can stall
    const two = join(tmp, 'two');
    mkdirSync(two);
    writeFileSync(join(two, 'small'), randomBytes(64 << 10));
    writeFileSync(join(two, 'blob'), randomBytes(4 << 20));
    writeFileSync(join(two, 'Dockerfile'), 'FROM scratch\nCOPY small /small\nCOPY blob /blob\n');
    await h.ok(['build', '-q', '-t', `127.0.0.1:${P.pier}/two:1`, two], { env: { DOCKER_BUILDKIT: '0' }, timeout: 60_000 });
    await h.ok(['push', `127.0.0.1:${P.pier}/two:1`], { timeout: 60_000 });
    await h.ok(['rmi', `127.0.0.1:${P.pier}/two:1`]);
  });

  after(async () => {
    for (const s of servers) { s.closeAllConnections(); s.close(); }
    for (const p of procs) await p.stop();
    await h?.stop();
    spawnSync('rm', ['-rf', tmp]);
  });

  it('pushes to and pulls from pier registry with Docker output, re-push, mount, catalog and search', async () => {
    const ref = `127.0.0.1:${P.pier}/team/bb:1`;
    const out = await pierPush(ref);
    assert.match(out, new RegExp(`The push refers to repository \\[127.0.0.1:${P.pier}/team/bb\\]`));
    assert.match(out, /: Pushed/);
    assert.match(out, /1: digest: sha256:[0-9a-f]{64} size: \d+/);
    assert.match(await h.ok(['push', ref]), /Layer already exists/);
    assert.match(await pierPush(`127.0.0.1:${P.pier}/other/bb:2`), /Mounted from team\/bb/);
    await h.ok(['rmi', ref, `127.0.0.1:${P.pier}/other/bb:2`]);
    const pull = await h.ok(['pull', ref]);
    assert.match(pull, /1: Pulling from team\/bb/);
    assert.match(pull, /Pull complete|Already exists/);
    assert.match(pull, /Digest: sha256:[0-9a-f]{64}/);
    assert.match(pull, new RegExp(`Status: (Downloaded newer image|Image is up to date) for ${ref.replace(/\./g, '\\.')}`));
    assert.match(await h.ok(['pull', ref]), /Status: Image is up to date/);
    assert.equal(await h.ok(['run', '--rm', '--network', 'none', ref, 'echo', 'pulled']), 'pulled');
    const cat = await (await fetch(`http://127.0.0.1:${P.pier}/v2/_catalog?n=1`)).json() as { repositories: string[] };
    assert.equal(cat.repositories.length, 1);
    assert.match(await h.ok(['search', `127.0.0.1:${P.pier}/bb`]), /team\/bb/);
    await h.ok(['rmi', ref]);
  });

  it('docker pull in a terminal shows Downloading and Extracting bars with byte counts, ending at the layer size', { skip: requires('script') }, async () => {
    const ref = `127.0.0.1:${P.pier}/big:1`;
    const r = await h.dockerTty(['pull', ref], { size: [50, 200], timeout: 60_000 });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const bar = (status: string): RegExp => new RegExp(`${status} \\[=*>? *\\] +([\\d.]+[kM]?B)/([\\d.]+[kM]?B)`, 'g');
    const down = [...r.stdout.matchAll(bar('Downloading'))];
    const ext = [...r.stdout.matchAll(bar('Extracting'))];
    assert.ok(down.length > 0 && ext.length > 0, r.stdout);
    const last = ext[ext.length - 1]!;
    assert.equal(last[1], last[2], `the last Extracting bar is full: ${last[0]}`);
    assert.equal(last[2], down[0]![2], 'Extracting counts compressed bytes, like Downloading');
    assert.ok(r.stdout.lastIndexOf('Extracting') < r.stdout.lastIndexOf('Pull complete'), r.stdout);
    await h.ok(['rmi', ref]);
  });

  it('docker run of a missing image pulls it', async () => {
    await pierPush(`127.0.0.1:${P.pier}/runme:1`);
    await h.ok(['rmi', `127.0.0.1:${P.pier}/runme:1`]);
    const r = await h.docker(['run', '--rm', '--network', 'none', `127.0.0.1:${P.pier}/runme:1`, 'echo', 'ran']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /Unable to find image/);
    assert.match(r.stdout, /ran/);
    await h.ok(['rmi', `127.0.0.1:${P.pier}/runme:1`]);
  });

  it('pulls Docker Hub images from registry mirrors (daemon.json registry-mirrors), falling back past a dead mirror; docker info lists them', async () => {
    // Docker Hub is not reachable here: the pull can only succeed through the mirror.
    await h.ok(['tag', h.image, `127.0.0.1:${P.pier}/library/busybox:latest`]);
    await h.ok(['push', `127.0.0.1:${P.pier}/library/busybox:latest`], { timeout: 60_000 });
    await h.ok(['rmi', `127.0.0.1:${P.pier}/library/busybox:latest`]);
    const conf = join(tmp, 'mirrors.json');
    writeFileSync(conf, JSON.stringify({ 'registry-mirrors': [`http://127.0.0.1:${P.deadMirror}`, `http://127.0.0.1:${P.pier}/`] }));
    const m = await startPierd({ args: ['--config-file', conf] });
    try {
      const info = await m.ok(['info']);
      assert.match(info, new RegExp(` Registry Mirrors:\n  http://127\.0\.0\.1:${P.deadMirror}/\n  http://127\.0\.0\.1:${P.pier}/\n`));
      assert.equal(await m.ok(['info', '--format', '{{json .RegistryConfig.Mirrors}}']), JSON.stringify([`http://127.0.0.1:${P.deadMirror}/`, `http://127.0.0.1:${P.pier}/`]));
      await m.ok(['rmi', 'busybox']);
      const out = await m.ok(['pull', 'busybox'], { timeout: 60_000 });
      assert.match(out, /latest: Pulling from library\/busybox/);
      assert.match(out, /Status: Downloaded newer image for busybox:latest/);
      assert.match(await m.ok(['image', 'inspect', '--format', '{{json .RepoDigests}}', 'busybox']), /"busybox@sha256:[0-9a-f]{64}"/);
      assert.equal(await m.ok(['run', '--rm', '--network', 'none', 'busybox', 'echo', 'from the mirror']), 'from the mirror');
      // an image no mirror has ends with Docker Hub's own error, not a mirror's
      const miss = await m.docker(['pull', 'busybox:not-on-any-mirror']);
      assert.notEqual(miss.code, 0);
      assert.match(miss.stderr, /registry-1\.docker\.io|docker\.io/);
    } finally {
      await m.stop();
    }
  });

  describe('Debian docker-registry', { skip: existsSync('/usr/bin/docker-registry') ? false : 'docker-registry is not installed (scripts/install-deps.sh --test)' }, () => {
    const dreg = (port: number, htpasswd?: string): Proc => {
      const dir = join(tmp, `dreg-${port}`);
      mkdirSync(dir, { recursive: true });
      const conf = join(dir, 'config.yml');
      writeFileSync(conf, [
        'version: 0.1', 'log:', '  level: error', 'storage:', '  filesystem:', `    rootdirectory: ${dir}/data`, '  delete:', '    enabled: true',
        'http:', `  addr: 127.0.0.1:${port}`,
        ...(htpasswd ? ['auth:', '  htpasswd:', '    realm: test', `    path: ${htpasswd}`] : []),
      ].join('\n') + '\n');
      const p = startProc('/usr/bin/docker-registry', ['serve', conf]);
      procs.push(p);
      return p;
    };

    it('pier pushes to and pulls from docker-registry', async () => {
      const p = dreg(P.dreg);
      await waitFor(() => portOpen(P.dreg), { message: () => p.log() });
      const ref = `127.0.0.1:${P.dreg}/bb:1`;
      assert.match(await pierPush(ref), /digest: sha256/);
      await h.ok(['rmi', ref]);
      assert.match(await h.ok(['pull', ref]), /Digest: sha256/);
      assert.equal(await h.ok(['run', '--rm', '--network', 'none', ref, 'echo', 'ok']), 'ok');
      await h.ok(['rmi', ref]);
    });

    it('with htpasswd auth: 401 without credentials, login, push, pull, logout', async () => {
      const pw = join(tmp, 'dreg.htpasswd');
      writeFileSync(pw, `alice:${bcrypt.hashSync('s3cret', 5)}\n`);
      const p = dreg(P.dregAuth, pw);
      await waitFor(() => portOpen(P.dregAuth), { message: () => p.log() });
      const ref = `127.0.0.1:${P.dregAuth}/bb:1`;
      await h.ok(['tag', h.image, ref]);
      const denied = await h.docker(['push', ref]);
      assert.notEqual(denied.code, 0);
      assert.match(denied.stderr + denied.stdout, /no basic auth credentials/);
      const bad = await h.docker(['login', '-u', 'alice', '-p', 'wrong', `127.0.0.1:${P.dregAuth}`]);
      assert.notEqual(bad.code, 0);
      assert.match(bad.stderr, /401 Unauthorized/);
      assert.match(await h.ok(['login', '-u', 'alice', '--password-stdin', `127.0.0.1:${P.dregAuth}`], { input: 's3cret\n' }), /Login Succeeded/);
      assert.match(await h.ok(['push', ref]), /digest: sha256/);
      await h.ok(['rmi', ref]);
      assert.match(await h.ok(['pull', ref]), /Digest: sha256/);
      await h.ok(['logout', `127.0.0.1:${P.dregAuth}`]);
      await h.ok(['rmi', ref]);
      const r = await h.docker(['pull', ref]);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /no basic auth credentials/);
    });
  });

  it('skopeo copies to and from pier registry (OCI manifests both ways)', { skip: existsSync('/usr/bin/skopeo') ? false : 'skopeo is not installed' }, async () => {
    const ref = `127.0.0.1:${P.pier}/sk/src:1`;
    await pierPush(ref);
    const layout = join(tmp, 'oci');
    let r = spawnSync('skopeo', ['copy', '--src-tls-verify=false', `docker://${ref}`, `oci:${layout}:1`], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    r = spawnSync('skopeo', ['copy', '--dest-tls-verify=false', `oci:${layout}:1`, `docker://127.0.0.1:${P.pier}/sk/oci:1`], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const m = await fetch(`http://127.0.0.1:${P.pier}/v2/sk/oci/manifests/1`, { headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' } });
    assert.equal(m.headers.get('content-type'), 'application/vnd.oci.image.manifest.v1+json');
    await h.ok(['rmi', ref]);
    assert.match(await h.ok(['pull', `127.0.0.1:${P.pier}/sk/oci:1`]), /Digest: sha256/);
    assert.equal(await h.ok(['run', '--rm', '--network', 'none', `127.0.0.1:${P.pier}/sk/oci:1`, 'echo', 'oci']), 'oci');
    await h.ok(['rmi', `127.0.0.1:${P.pier}/sk/oci:1`]);
  });

  it('pier ↔ pier with htpasswd auth over TLS from a test CA', async () => {
    const d = join(tmp, 'tls');
    mkdirSync(d);
    const ossl = (args: string[]): void => { const r = spawnSync('openssl', args, { cwd: d, encoding: 'utf8' }); assert.equal(r.status, 0, r.stderr); };
    ossl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=pier test CA']);
    ossl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'srv.key', '-out', 'srv.csr', '-subj', '/CN=127.0.0.1']);
    writeFileSync(join(d, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1\n');
    ossl(['x509', '-req', '-in', 'srv.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'srv.crt', '-days', '2', '-extfile', 'ext.cnf']);
    const host = `127.0.0.1:${P.tls}`;
    mkdirSync(join(certsDir, host));
    writeFileSync(join(certsDir, host, 'ca.crt'), spawnSync('cat', [join(d, 'ca.crt')]).stdout);
    const pw = join(tmp, 'pier.htpasswd');
    writeFileSync(pw, `bob:${bcrypt.hashSync('pw', 5).replace(/^\$2b\$/, '$2y$')}\n`);
    const p = pierRegistry(join(tmp, 'pier-tls'), P.tls, ['--htpasswd', pw, '--tls-cert', join(d, 'srv.crt'), '--tls-key', join(d, 'srv.key')]);
    procs.push(p);
    await waitFor(() => portOpen(P.tls), { message: () => p.log() });
    const ref = `${host}/secure/bb:1`;
    await h.ok(['tag', h.image, ref]);
    const denied = await h.docker(['push', ref]);
    assert.match(denied.stderr + denied.stdout, /no basic auth credentials/);
    assert.match(await h.ok(['login', '-u', 'bob', '-p', 'pw', host]), /Login Succeeded/);
    assert.match(await h.ok(['push', ref]), /digest: sha256/);
    await h.ok(['rmi', ref]);
    assert.match(await h.ok(['pull', ref]), /Digest: sha256/);
    await h.ok(['rmi', ref]);
    await h.ok(['logout', host]);
  });

  it('gets scoped Bearer tokens from a token server (anonymous pull, authenticated push)', async () => {
    const issued: string[] = [];
    const tokens = new Map<string, string[]>();
    const tokenSrv = http.createServer((req, res) => {
      const u = new URL(req.url!, 'http://x');
      const scopes = u.searchParams.getAll('scope');
      const basic = req.headers.authorization?.startsWith('Basic ') ? Buffer.from(req.headers.authorization.slice(6), 'base64').toString() : undefined;
      if (basic !== undefined && basic !== 'carol:tok') { res.writeHead(401); return void res.end(); }
      const tok = randomBytes(8).toString('hex');
      const actions = scopes.flatMap((s) => s.split(':')[2]?.split(',') ?? []).filter((a) => basic || a === 'pull');
      tokens.set(tok, actions);
      issued.push(`${basic ? 'carol' : 'anonymous'} ${scopes.join(' ')}`);
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ token: tok, expires_in: 300 }));
    });
    await listen(tokenSrv, P.tokenSrv);
    servers.push(tokenSrv);
    const challenge = `Bearer realm="http://127.0.0.1:${P.tokenSrv}/token",service="pier-test"`;
    const reg = proxy(P.pier, (req, res, forward) => {
      const tok = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
      const granted = tok ? tokens.get(tok) : undefined;
      const needs = req.method === 'GET' || req.method === 'HEAD' ? 'pull' : 'push';
      if (req.url !== '/v2/' && (!granted || !granted.includes(needs))) {
        req.resume();
        res.writeHead(401, { 'WWW-Authenticate': challenge, 'Content-Type': 'application/json' });
        return void res.end('{"errors":[{"code":"UNAUTHORIZED","message":"authentication required","detail":null}]}');
      }
      if (req.url === '/v2/' && !granted) { res.writeHead(401, { 'WWW-Authenticate': challenge }); return void res.end(); }
      forward();
    });
    await listen(reg, P.tokenReg);
    servers.push(reg);
    const ref = `127.0.0.1:${P.tokenReg}/tok/bb:1`;
    await h.ok(['tag', h.image, ref]);
    const denied = await h.docker(['push', ref]);
    assert.notEqual(denied.code, 0);
    await h.ok(['login', '-u', 'carol', '-p', 'tok', `127.0.0.1:${P.tokenReg}`]);
    assert.match(await h.ok(['push', ref]), /digest: sha256/);
    await h.ok(['logout', `127.0.0.1:${P.tokenReg}`]);
    await h.ok(['rmi', ref]);
    assert.match(await h.ok(['pull', ref]), /Digest: sha256/);
    assert.ok(issued.some((i) => i.startsWith('carol') && i.includes('repository:tok/bb:pull,push')), issued.join('\n'));
    assert.ok(issued.some((i) => i.startsWith('anonymous') && i.includes('repository:tok/bb:pull')), issued.join('\n'));
    await h.ok(['rmi', ref]);
  });

  it('a pulled layer is kept as a tar-split record, not a tar: save, skopeo, a push to another registry and a restart see the original digests', { skip: existsSync('/usr/bin/skopeo') ? false : 'skopeo is not installed' }, async () => {
    // layer A: PAX headers, a long name, hard and symbolic links, an empty file, 3 MB of
    // zeros and a whiteout; layer B writes one path twice (kept as a plain blob instead)
    const src = join(tmp, 'split-src');
    mkdirSync(join(src, 'd', 'ünï'), { recursive: true });
    writeFileSync(join(src, 'd', 'f'), 'hello\n');
    linkSync(join(src, 'd', 'f'), join(src, 'd', 'hard'));
    symlinkSync('f', join(src, 'd', 'sym'));
    writeFileSync(join(src, 'd', 'empty'), '');
    writeFileSync(join(src, 'd', 'zeros'), Buffer.alloc(3_000_000));
    writeFileSync(join(src, 'd', 'ünï', 'n'.repeat(180)), 'long');
    writeFileSync(join(src, 'd', '.wh.gone'), '');
    const aTar = join(tmp, 'split-a.tar');
    assert.equal(spawnSync('tar', ['-C', src, '--format=posix', '-cf', aTar, '.']).status, 0);
    const bTar = join(tmp, 'split-b.tar');
    assert.equal(spawnSync('tar', ['-C', src, '-cf', bTar, 'd/f']).status, 0);
    appendFileSync(join(src, 'd', 'f'), 'again\n');
    assert.equal(spawnSync('tar', ['-C', src, '-rf', bTar, 'd/f']).status, 0);
    const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
    const refA = `127.0.0.1:${P.pier}/split/a:1`;
    const refB = `127.0.0.1:${P.pier}/split/b:1`;
    for (const [tar, ref] of [[aTar, refA], [bTar, refB]] as const) {
      await h.ok(['import', tar, ref]);
      await h.ok(['push', ref], { timeout: 60_000 });
      await h.ok(['rmi', ref]);
      assert.match(await h.ok(['pull', ref], { timeout: 60_000 }), /Pull complete/);
    }
    const diffA = `sha256:${sha(readFileSync(aTar))}`;
    const diffB = `sha256:${sha(readFileSync(bTar))}`;
    assert.equal(await h.ok(['inspect', '--format', '{{index .RootFS.Layers 0}}', refA]), diffA);
    const blobs = (): string[] => readdirSync(join(h.root!, 'content', 'blobs', 'sha256'));
    const layer = (diff: string): string => join(h.root!, 'snapshots', 'layers', diff.slice(7));
    assert.ok(!blobs().includes(diffA.slice(7)), 'layer A has no stored tar');
    assert.ok(existsSync(join(layer(diffA), 'tar-split')), 'layer A has a tar-split record');
    assert.ok(blobs().includes(diffB.slice(7)), 'layer B (a path written twice) is stored as a blob');
    assert.ok(!existsSync(join(layer(diffB), 'tar-split')));
    assert.equal(readdirSync(join(h.root!, 'content', 'ingest')).length, 0, 'no spill file left');

    const checkSave = async (): Promise<void> => {
      const { saved, out } = await saveAndCheck([refA, refB]);
      assert.ok(readFileSync(join(out, 'blobs', 'sha256', diffA.slice(7))).equals(readFileSync(aTar)), 'the saved layer is the original tar');
      const r = spawnSync('skopeo', ['copy', `docker-archive:${saved}:${refA}`, `oci:${join(tmp, 'split-oci')}:a`], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
    };
    await checkSave();

    // another registry: nothing to mount or skip there, so the layer is read (rebuilt) and uploaded
    const second = pierRegistry(join(tmp, 'pier-reg-2'), P.second);
    procs.push(second);
    await waitFor(() => portOpen(P.second), { message: () => second.log() });
    const refA2 = `127.0.0.1:${P.second}/split/a:1`;
    await h.ok(['tag', refA, refA2]);
    assert.match(await h.ok(['push', refA2], { timeout: 60_000 }), /: Pushed/);
    const id = await h.ok(['inspect', '--format', '{{.Id}}', refA]);
    await h.ok(['rmi', refA2]);

    // the start-up sweep keeps a record-backed layer of a recorded image
    await h.terminate();
    await h.restart();
    await checkSave();
    await h.ok(['rmi', refA]);
    assert.match(await h.ok(['pull', refA2], { timeout: 60_000 }), /Pull complete/);
    assert.equal(await h.ok(['inspect', '--format', '{{.Id}}', refA2]), id);

    // a layer changed on disk is not saved as if it were the original
    writeFileSync(join(layer(diffA), 'fs', 'd', 'ünï', 'n'.repeat(180)), 'LONG');
    const bad = await h.docker(['save', '-o', join(tmp, 'split-bad.tar'), refA2]);
    assert.notEqual(bad.code, 0, 'save of a tampered layer fails');
    await h.ok(['rmi', refA2, refB]);
  });

  describe('faults', () => {
    let mode: 'cut' | 'corrupt' | 'stall' | 'pass' = 'pass';
    let ranges: string[] = [];
    let stalled = false;
    before(async () => {
      const s = proxy(P.pier, (req, res, forward) => {
        if (req.headers.range) ranges.push(String(req.headers.range));
        const isBlob = req.method === 'GET' && /\/blobs\/sha256:/.test(req.url ?? '');
        if (!isBlob || mode === 'pass') return forward();
        forward((up) => {
          const len = Number(up.headers['content-length'] ?? 0);
          if (len < 1 << 20) { res.writeHead(up.statusCode!, up.headers); return void up.pipe(res); }
          res.writeHead(up.statusCode!, up.headers);
          let sent = 0;
          const m = mode;
          if (m === 'cut') mode = 'pass';
          up.on('data', (c: Buffer) => {
            if (m === 'corrupt') { const b = Buffer.from(c); if (sent === 0) b[100] = b[100]! ^ 0xff; sent += b.length; return void res.write(b); }
            if (sent + c.length > len / 2) {
              if (m === 'cut') { res.write(c.subarray(0, len / 2 - sent)); up.destroy(); res.socket?.destroy(); return; }
              if (m === 'stall') { stalled = true; up.pause(); return; }
            }
            sent += c.length;
            res.write(c);
          });
          up.on('end', () => res.end());
        });
      });
      await listen(s, P.fault);
      servers.push(s);
    });

    it('resumes a blob with Range after the connection is cut', async () => {
      mode = 'cut'; ranges = [];
      const r = await h.docker(['pull', `127.0.0.1:${P.fault}/big:1`], { timeout: 60_000 });
      assert.equal(r.code, 0, r.stderr);
      assert.ok(ranges.some((x) => /^bytes=\d+-$/.test(x)), `no Range request: ${ranges.join(',')}`);
      await h.ok(['rmi', `127.0.0.1:${P.fault}/big:1`]);
    });

    it('rejects a blob whose digest does not match and stores nothing', async () => {
      mode = 'corrupt';
      const r = await h.docker(['pull', `127.0.0.1:${P.fault}/big:1`], { timeout: 60_000 });
      mode = 'pass';
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /filesystem layer verification failed for digest sha256:[0-9a-f]{64}/);
      const imgs = await h.ok(['images', '--format', '{{.Repository}}']);
      assert.doesNotMatch(imgs, /big/);
    });

    it('kill -9 of pierd mid-pull leaves no image; the next pull reuses the complete layer', async () => {
      mode = 'stall'; stalled = false;
      const ref = `127.0.0.1:${P.fault}/two:1`;
      const cli = h.spawn(['pull', ref]);
      await waitFor(() => stalled, { timeout: 20_000 });
      await cli.waitForOutput('Pull complete', 20_000); // the small layer
      await h.kill9();
      await cli.exited;
      mode = 'pass';
      await h.restart(); // its start-up sweep must keep the leased layer
      assert.doesNotMatch(await h.ok(['images', '--format', '{{.Repository}}']), /two/);
      const out = await h.ok(['pull', ref], { timeout: 60_000 });
      assert.match(out, /Digest: sha256/);
      assert.equal(out.match(/: Already exists/g)?.length, 1, out);
      assert.equal(out.match(/: Pull complete/g)?.length, 1, out);
      // once the image is recorded its lease is gone (the failed pull above keeps its own)
      const digest = /Digest: sha256:([0-9a-f]{64})/.exec(out)![1]!;
      assert.ok(!readdirSync(join(h.root!, 'images', 'leases')).some((f) => f.includes(digest)), 'lease left after the pull');
      // both layers (the one kept across the kill included) rebuild their exact tars
      const { out: saved } = await saveAndCheck([ref]);
      const layers = (JSON.parse(readFileSync(join(saved, 'manifest.json'), 'utf8')) as Array<{ Layers: string[] }>)[0]!.Layers;
      assert.equal(layers.length, 2);
      const stored = readdirSync(join(h.root!, 'content', 'blobs', 'sha256'));
      for (const d of JSON.parse(await h.ok(['inspect', '--format', '{{json .RootFS.Layers}}', ref])) as string[]) {
        assert.ok(!stored.includes(d.slice(7)), `layer ${d} is kept as a tar-split record, not a blob`);
      }
      await h.ok(['rmi', ref]);
    });
  });

  it('the reference dockerd pulls from and pushes to pier registry', { skip: refDockerUp() ? false : 'no reference dockerd answers' }, async () => {
    const ref = `127.0.0.1:${P.pier}/refd/bb:1`;
    await pierPush(ref);
    const env = { ...process.env, DOCKER_CONFIG: join(tmp, 'refcli') } as Record<string, string>;
    const d = (args: string[]): ReturnType<typeof spawnSync> => spawnSync('docker', ['-H', REF_DOCKER, ...args], { encoding: 'utf8', env, timeout: 120_000 });
    try {
      let r = d(['pull', ref]);
      assert.equal(r.status, 0, String(r.stderr));
      r = d(['tag', ref, `127.0.0.1:${P.pier}/refd/pushed:1`]);
      assert.equal(r.status, 0, String(r.stderr));
      r = d(['push', `127.0.0.1:${P.pier}/refd/pushed:1`]);
      assert.equal(r.status, 0, String(r.stderr));
      assert.match(String(r.stdout), /digest: sha256/);
    } finally {
      d(['rmi', '-f', ref, `127.0.0.1:${P.pier}/refd/pushed:1`]);
    }
    assert.match(await h.ok(['pull', `127.0.0.1:${P.pier}/refd/pushed:1`]), /Digest: sha256/);
    await h.ok(['rmi', `127.0.0.1:${P.pier}/refd/pushed:1`, ref]);
  });
});
