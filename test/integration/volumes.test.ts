// Volumes and mounts (issue 7 item 1) through the real docker CLI: named and anonymous
// volumes, copy-up of image content, bind modes, tmpfs, --volumes-from, rm -v, ls filters,
// in-use conflicts, prune, local driver options, system df, events, restart survival, and
// docker-compose 1.29 with a named volume. Where it helps, the same request goes to the
// reference dockerd and the answers are compared.
import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startPierd, requires, engineRequirements, refDockerHost, refDockerUp, inspect, mountsUnder, repoRoot, type Engine } from './harness.js';

const REF = refDockerHost;
const refUp = refDockerUp();
const ref = (args: string[]) => spawnSync('docker', ['-H', REF, ...args], { encoding: 'utf8' });
const hasCompose = spawnSync('sh', ['-c', 'command -v docker-compose'], { stdio: 'ignore' }).status === 0;

describe('volumes and mounts', { skip: requires(...engineRequirements) }, () => {
  let h: Engine;
  let hostDir: string;
  const vols: string[] = [];
  const vol = (hint: string): string => { const n = `itv-${hint}-${Math.random().toString(16).slice(2, 8)}`; vols.push(n); return n; };

  before(async () => {
    h = await startPierd();
    hostDir = mkdtempSync('/tmp/pier-vol-it-');
  });
  after(async () => {
    rmSync(hostDir, { recursive: true, force: true });
    await h?.stop();
  });
  afterEach(async () => {
    await h.cleanup();
    for (const v of vols.splice(0)) await h.docker(['volume', 'rm', '-f', v]);
  });

  it('volume create/inspect/ls/rm: generated names, labels, filters, errors in Docker words', async () => {
    const a = vol('a');
    assert.equal(await h.ok(['volume', 'create', '--label', 'team=x', '--label', 'tier', a]), a);
    const anon = await h.ok(['volume', 'create']);
    vols.push(anon);
    assert.match(anon, /^[0-9a-f]{64}$/);
    const [v] = JSON.parse(await h.ok(['volume', 'inspect', a]));
    assert.deepEqual(Object.keys(v).sort(), ['CreatedAt', 'Driver', 'Labels', 'Mountpoint', 'Name', 'Options', 'Scope']);
    assert.equal(v.Driver, 'local');
    assert.equal(v.Scope, 'local');
    assert.deepEqual(v.Labels, { team: 'x', tier: '' });
    assert.match(v.Mountpoint, new RegExp(`/volumes/${a}/_data$`));
    assert.equal(v.Options, null);
    assert.ok(existsSync(v.Mountpoint) || h.external);
    // Creating an existing volume again returns it.
    assert.equal(await h.ok(['volume', 'create', a]), a);

    const ls = async (...f: string[]) => (await h.ok(['volume', 'ls', '-q', ...f.flatMap((x) => ['--filter', x])])).split('\n').filter(Boolean);
    assert.deepEqual(await ls(`name=${a}`), [a]);
    assert.deepEqual(await ls('label=team=x'), [a]);
    assert.deepEqual((await ls('label=tier')).filter((n) => n === a), [a]);
    assert.ok((await ls('driver=local')).includes(anon));
    assert.ok((await ls('dangling=true')).includes(a));

    let r = await h.docker(['volume', 'inspect', 'itv-nope']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /get itv-nope: no such volume/);
    r = await h.docker(['volume', 'create', 'bad/name']);
    assert.match(r.stderr, /"bad\/name" includes invalid characters for a local volume name, only "\[a-zA-Z0-9\]\[a-zA-Z0-9_.-\]" are allowed/);
    r = await h.docker(['volume', 'create', '-d', 'nodriver', vol('x')]);
    assert.match(r.stderr, /error looking up volume plugin nodriver: plugin "nodriver" not found/);
    assert.equal(await h.ok(['volume', 'rm', a]), a);
    assert.ok(!(await ls()).includes(a));
  });

  it('a named volume keeps its data across containers and a pierd restart; in use → 409', async () => {
    const v = vol('persist');
    const c1 = h.name('v-w');
    await h.ok(['run', '--name', c1, '-v', `${v}:/data`, h.image, 'sh', '-c', 'echo kept > /data/f']); // auto-created
    assert.equal(await h.ok(['run', '--rm', '-v', `${v}:/d`, h.image, 'cat', '/d/f']), 'kept');
    const id = await h.ok(['inspect', '-f', '{{.Id}}', c1]);
    const r = await h.docker(['volume', 'rm', v]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, new RegExp(`remove ${v}: volume is in use - \\[${id}\\]`));
    assert.match((await h.docker(['volume', 'rm', '-f', v])).stderr, /volume is in use/);
    assert.equal(await h.ok(['ps', '-a', '-q', '--no-trunc', '--filter', `volume=${v}`]), id);
    assert.equal(await h.ok(['ps', '-a', '-q', '--no-trunc', '--filter', 'volume=/data', '--filter', `name=${c1}`]), id);
    if (!h.external) {
      await h.terminate();
      await h.restart();
      assert.equal(await h.ok(['volume', 'ls', '-q', '--filter', `name=${v}`]), v);
      assert.equal(await h.ok(['run', '--rm', '-v', `${v}:/d`, h.image, 'cat', '/d/f']), 'kept');
      assert.equal(await h.ok(['start', '-a', c1]), '');
      assert.equal(await h.ok(['inspect', '-f', '{{range .Mounts}}{{.Name}}{{end}}', c1]), v);
    }
  });

  it('copy-up: the image content at the mount path fills a new named volume and the anonymous VOLUME ones', async () => {
    const v = vol('etc');
    assert.equal(await h.ok(['run', '--rm', '-v', `${v}:/etc`, h.image, 'true']), '');
    assert.match(await h.ok(['run', '--rm', '-v', `${v}:/x`, h.image, 'cat', '/x/passwd']), /^root:/);
    // A volume that already has content is not overwritten.
    await h.ok(['run', '--rm', '-v', `${v}:/x`, h.image, 'sh', '-c', 'rm -rf /x/* && echo mine > /x/only']);
    assert.equal(await h.ok(['run', '--rm', '-v', `${v}:/etc`, h.image, 'ls', '/etc']), 'only');
    // nocopy leaves a new volume empty.
    const n = vol('nocopy');
    assert.equal(await h.ok(['run', '--rm', '-v', `${n}:/etc:nocopy`, h.image, 'ls', '-A', '/etc']), '');
    // An image with VOLUME: its content lands in the anonymous volume, owners and modes kept.
    const src = h.name('v-src');
    await h.ok(['run', '--name', src, h.image, 'sh', '-c', 'mkdir -p /data/sub && echo img > /data/sub/f && chown 1234:99 /data/sub/f && chmod 640 /data/sub/f']);
    const img = `itv-volimg-${Math.random().toString(16).slice(2, 8)}:1`;
    await h.ok(['commit', '-c', 'VOLUME /data', src, img]);
    try {
      const c = h.name('v-img');
      assert.equal(await h.ok(['run', '--name', c, img, 'stat', '-c', '%u:%g %a %n', '/data/sub/f']), '1234:99 640 /data/sub/f');
      const m = (await inspect(h, c)).Mounts;
      assert.equal(m.length, 1);
      assert.equal(m[0].Type, 'volume');
      assert.match(m[0].Name, /^[0-9a-f]{64}$/);
      assert.equal(m[0].Destination, '/data');
      assert.equal(m[0].Mode, '');
      assert.equal(m[0].RW, true);
      assert.equal(m[0].Driver, 'local');
      // rm -v removes the anonymous volume; without -v it stays (dangling).
      await h.ok(['rm', '-v', c]);
      assert.equal((await h.docker(['volume', 'inspect', m[0].Name])).code, 1);
      const c2 = h.name('v-img2');
      await h.ok(['create', '--name', c2, '-v', `${v}:/named`, img, 'true']);
      const anon = (await inspect(h, c2)).Mounts.find((x: any) => x.Destination === '/data').Name;
      await h.ok(['rm', c2]);
      assert.equal(await h.ok(['volume', 'ls', '-q', '--filter', 'dangling=true', '--filter', `name=${anon}`]), anon);
      await h.ok(['volume', 'rm', anon]);
      const c3 = h.name('v-img3');
      await h.ok(['create', '--name', c3, '-v', `${v}:/named`, img, 'true']);
      await h.ok(['rm', '-v', c3]);
      assert.equal(await h.ok(['volume', 'ls', '-q', '--filter', `name=${v}`]), v, 'named volumes survive rm -v');
    } finally {
      await h.docker(['rmi', img]);
    }
  });

  it('bind mounts: rw writes reach the host, ro refuses writes, missing -v sources are created, --mount sources must exist', async () => {
    writeFileSync(join(hostDir, 'in'), 'from-host\n');
    assert.equal(await h.ok(['run', '--rm', '-v', `${hostDir}:/h`, h.image, 'sh', '-c', 'cat /h/in; echo out > /h/out']), 'from-host');
    assert.equal(readFileSync(join(hostDir, 'out'), 'utf8'), 'out\n');
    const r = await h.docker(['run', '--rm', '-v', `${hostDir}:/h:ro`, h.image, 'sh', '-c', 'echo x > /h/no']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Read-only file system/);
    assert.match(await h.ok(['run', '--rm', '--mount', `type=bind,src=${hostDir},dst=/h,readonly`, h.image, 'grep', ' /h ', '/proc/mounts']), / ro[, ]/);
    const missing = join(hostDir, 'made', 'here');
    await h.ok(['run', '--rm', '-v', `${missing}:/m`, h.image, 'true']);
    assert.ok(existsSync(missing));
    const e = await h.docker(['create', '--mount', `type=bind,src=${join(hostDir, 'nope')},dst=/x`, h.image, 'true']);
    assert.match(e.stderr, new RegExp(`invalid mount config for type "bind": bind source path does not exist: ${join(hostDir, 'nope')}`));
    const c = h.name('v-bind');
    await h.ok(['create', '--name', c, '-v', `${hostDir}:/h:ro`, '--mount', `type=bind,src=${hostDir},dst=/b2`, h.image, 'true']);
    const m = (await inspect(h, c)).Mounts;
    assert.deepEqual(m.find((x: any) => x.Destination === '/h'), { Type: 'bind', Source: hostDir, Destination: '/h', Mode: 'ro', RW: false, Propagation: 'rprivate' });
    assert.deepEqual(m.find((x: any) => x.Destination === '/b2'), { Type: 'bind', Source: hostDir, Destination: '/b2', Mode: '', RW: true, Propagation: 'rprivate' });
  });

  it('invalid specifications answer with Docker\'s messages (same as the reference dockerd)', async () => {
    const cases: string[][] = [
      ['-v', '/tmp:/x', '-v', '/etc:/x'],
      ['-v', '/tmp:rel'],
      ['-v', '/tmp:/x:bogus'],
      ['-v', '/tmp:/'],
      ['-v', 'rel/path:/x'],
      ['-v', '/tmp:/x:ro,rw'],
      ['--mount', 'type=bind,dst=/x'],
      ['--mount', 'type=tmpfs,dst=/t,src=foo'],
      ['--volumes-from', 'itv-no-such-ctr'],
    ];
    for (const args of cases) {
      const r = await h.docker(['create', ...args, h.image, 'true']);
      assert.notEqual(r.code, 0, args.join(' '));
      if (refUp && !h.external) {
        const want = ref(['create', '--network', 'none', ...args, 'busybox', 'true']);
        if (want.status === 0) { ref(['rm', want.stdout.trim()]); continue; }
        if (/Unable to find image/.test(want.stderr)) continue; // the reference's busybox is being replaced by another suite
        assert.equal(r.stderr.trim().split('\n')[0], want.stderr.trim().split('\n')[0], args.join(' '));
      }
    }
  });

  it('tmpfs: --tmpfs and --mount type=tmpfs with size and mode', async () => {
    const out = await h.ok(['run', '--rm', '--tmpfs', '/t2:size=2m', '--tmpfs', '/t3', '--mount', 'type=tmpfs,dst=/t,tmpfs-size=1m,tmpfs-mode=0700', h.image,
      'sh', '-c', 'grep -E " /t2? " /proc/mounts | sort; stat -c "%n %a" /t /t2 /t3']);
    assert.match(out, /^tmpfs \/t tmpfs rw,nosuid,nodev,noexec,relatime,size=1024k,mode=700 0 0$/m);
    assert.match(out, /^tmpfs \/t2 tmpfs rw,nosuid,nodev,noexec,relatime,size=2048k 0 0$/m);
    assert.match(out, /^\/t 700$/m);
    assert.match(out, /^\/t2 1777$/m);
    assert.match(out, /^\/t3 1777$/m);
    const c = h.name('v-tmpfs');
    await h.ok(['create', '--name', c, '--tmpfs', '/t2', '--mount', 'type=tmpfs,dst=/t', h.image, 'true']);
    assert.deepEqual((await inspect(h, c)).Mounts, [{ Type: 'tmpfs', Source: '', Destination: '/t', Mode: '', RW: true, Propagation: '' }]);
  });

  it('--volumes-from shares the volumes and binds, :ro makes them read-only', async () => {
    const v = vol('from');
    const src = h.name('v-from');
    await h.ok(['create', '--name', src, '-v', `${v}:/data`, '-v', `${hostDir}:/h`, h.image, 'true']);
    assert.equal(await h.ok(['run', '--rm', '--volumes-from', src, h.image, 'sh', '-c', 'echo shared > /data/f; ls -d /h']), '/h');
    assert.equal(await h.ok(['run', '--rm', '-v', `${v}:/x`, h.image, 'cat', '/x/f']), 'shared');
    const r = await h.docker(['run', '--rm', '--volumes-from', `${src}:ro`, h.image, 'sh', '-c', 'echo no > /data/g']);
    assert.match(r.stderr, /Read-only file system/);
  });

  it('prune removes unused volumes (API 1.41: named ones too), label filter; events; system df -v', async () => {
    const since = Math.floor(Date.now() / 1000);
    const keep = vol('keep'), gone = vol('gone'), used = vol('used');
    await h.ok(['volume', 'create', '--label', 'keep=1', keep]);
    await h.ok(['volume', 'create', gone]);
    const c = h.name('v-used');
    await h.ok(['create', '--name', c, '-v', `${used}:/u`, h.image, 'true']);
    await h.ok(['run', '--rm', '-v', `${used}:/u`, h.image, 'sh', '-c', 'head -c 10000 /dev/zero > /u/z']);
    const df = await h.ok(['system', 'df', '-v']);
    assert.match(df, new RegExp(`^${used}\\s+1\\s+10kB$`, 'm'), df);
    const out = await h.ok(['volume', 'prune', '-f', '--filter', 'label!=keep']);
    assert.match(out, new RegExp(gone));
    assert.doesNotMatch(out, new RegExp(`${keep}|${used}`));
    const names = await h.ok(['volume', 'ls', '-q']);
    assert.ok(names.includes(keep) && names.includes(used) && !names.includes(gone));
    const ev = await h.ok(['events', '--since', String(since), '--until', String(Math.floor(Date.now() / 1000) + 1), '--filter', 'type=volume', '--format', '{{.Action}} {{.Actor.ID}} {{.Actor.Attributes.driver}}']);
    assert.match(ev, new RegExp(`^create ${gone} local$`, 'm'));
    assert.match(ev, new RegExp(`^destroy ${gone} local$`, 'm'));
    assert.match(ev, new RegExp(`^mount ${used} local$`, 'm'));
    assert.match(ev, new RegExp(`^unmount ${used} local$`, 'm'));
  });

  it('local driver options: a tmpfs volume and a bind volume are mounted while used and unmounted after', async () => {
    const t = vol('opt-tmpfs');
    await h.ok(['volume', 'create', '--opt', 'type=tmpfs', '--opt', 'device=tmpfs', '--opt', 'o=size=3m,uid=1000', t]);
    assert.equal(JSON.parse(await h.ok(['volume', 'inspect', t]))[0].Options.type, 'tmpfs');
    const out = await h.ok(['run', '--rm', '-v', `${t}:/t`, h.image, 'sh', '-c', 'grep " /t " /proc/mounts; stat -c %u /t']);
    assert.match(out, /^tmpfs \/t tmpfs rw,relatime,size=3072k,uid=1000/m);
    const b = vol('opt-bind');
    mkdirSync(join(hostDir, 'dev'), { recursive: true });
    writeFileSync(join(hostDir, 'dev', 'x'), 'dev\n');
    await h.ok(['volume', 'create', '--opt', 'type=none', '--opt', 'o=bind', '--opt', `device=${join(hostDir, 'dev')}`, b]);
    assert.equal(await h.ok(['run', '--rm', '-v', `${b}:/b`, h.image, 'cat', '/b/x']), 'dev');
    if (!h.external) assert.deepEqual(mountsUnder(h.root!).filter((m) => m.includes('/volumes/')), [], 'no volume mounts left after the containers exit');
  });

  it('Mounts in inspect match the reference dockerd for the same create', { skip: !refUp && 'no reference dockerd' }, async () => {
    const v = vol('cmp');
    const args = ['-v', `${v}:/data`, '-v', `${hostDir}:/h:ro`, '-v', '/anon', '--mount', 'type=tmpfs,dst=/t', '--mount', 'type=volume,dst=/v3,volume-nocopy', '--tmpfs', '/t2'];
    const c = h.name('v-cmp');
    await h.ok(['create', '--name', c, ...args, h.image, 'true']);
    const rc = ref(['create', '--network', 'none', ...args, 'busybox', 'true']);
    assert.equal(rc.status, 0, rc.stderr);
    const rid = rc.stdout.trim();
    try {
      const norm = (ms: any[]) => ms.map((m) => ({ ...m, ...(m.Name ? { Name: m.Name === v ? v : 'ANON', Source: 'VOL' } : {}) }))
        .sort((a, b) => (a.Destination < b.Destination ? -1 : 1));
      const want = norm(JSON.parse(ref(['inspect', '-f', '{{json .Mounts}}', rid]).stdout));
      const got = norm((await inspect(h, c)).Mounts);
      assert.deepEqual(got, want);
    } finally {
      const anon = JSON.parse(ref(['inspect', '-f', '{{json .Mounts}}', rid]).stdout).filter((m: any) => m.Name && m.Name !== v).map((m: any) => m.Name);
      ref(['rm', '-v', rid]);
      ref(['volume', 'rm', v, ...anon]);
    }
  });

  it('pier volume create/ls/inspect/rm/prune print what docker prints', async () => {
    const pier = (args: string[]) => spawnSync(join(repoRoot, 'bin', 'pier'), ['-H', h.host, ...args], { encoding: 'utf8' });
    const v = vol('pcli');
    let r = pier(['volume', 'create', '--label', 'k=v', v]);
    assert.equal(r.stdout, `${v}\n`, r.stderr);
    assert.equal(pier(['volume', 'ls', '-q', '--filter', `name=${v}`]).stdout, `${v}\n`);
    assert.match(pier(['volume', 'ls', '--filter', `name=${v}`]).stdout, new RegExp(`^DRIVER +VOLUME NAME\nlocal +${v}\n$`));
    assert.equal(pier(['volume', 'inspect', '-f', '{{.Labels.k}} {{.Driver}}', v]).stdout, 'v local\n');
    assert.equal(pier(['volume', 'inspect', '-f', '{{.Name}}', v]).stdout, (await h.ok(['volume', 'inspect', '-f', '{{.Name}}', v])) + '\n');
    // --format, as the docker CLI renders it against the same daemon (network ls too)
    for (const args of [['volume', 'ls', '--format', 'json', '--filter', `name=${v}`], ['volume', 'ls', '--format', 'table {{.Name}}\t{{.Labels}}\t{{.Label "k"}}\t{{.Links}}', '--filter', `name=${v}`], ['network', 'ls', '--format', 'json'], ['network', 'ls', '--format', '{{.ID}} {{.Name}} {{.IPv6}} {{.Internal}} {{.CreatedAt}}']]) {
      assert.equal(pier(args).stdout, (await h.ok(args)) + '\n', args.join(' '));
    }
    // prune asks first; "n" removes nothing
    r = spawnSync(join(repoRoot, 'bin', 'pier'), ['-H', h.host, 'volume', 'prune', '-a', '--filter', 'label=k=v'], { encoding: 'utf8', input: 'n\n' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'WARNING! This will remove all local volumes not used by at least one container.\nAre you sure you want to continue? [y/N] ');
    assert.equal(pier(['volume', 'ls', '-q', '--filter', `name=${v}`]).stdout, `${v}\n`);
    assert.equal(pier(['network', 'rm', '-f', `no-such-net-${v}`]).status, 0);
    const c = h.name('v-pcli');
    await h.ok(['create', '--name', c, '-v', `${v}:/x`, h.image, 'true']);
    r = pier(['volume', 'rm', v]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^Error response from daemon: remove .*: volume is in use - \[[0-9a-f]{64}\]$/m);
    await h.ok(['rm', c]);
    r = pier(['volume', 'prune', '-f', '--filter', 'label=k=v']);
    assert.match(r.stdout, new RegExp(`^Deleted Volumes:\n${v}\n\nTotal reclaimed space: 0B\n$`), r.stderr);
    // pier run -v / --mount / --volumes-from reach the same mounts.
    const p = h.name('v-pcli-run');
    r = pier(['create', '--name', p, '-v', '/anon', '--mount', 'type=tmpfs,dst=/t,tmpfs-size=1m', '--volumes-from', `${c.replace(/.*/, '')}${p}x`, h.image, 'true']);
    assert.match(r.stderr, /No such container/);
    r = pier(['create', '--name', p, '-v', '/anon', '--mount', 'type=tmpfs,dst=/t,tmpfs-size=1m', h.image, 'true']);
    assert.equal(r.status, 0, r.stderr);
    const m = (await inspect(h, p)).Mounts.map((x: any) => `${x.Type}:${x.Destination}`).sort();
    assert.deepEqual(m, ['tmpfs:/t', 'volume:/anon']);
    await h.ok(['rm', '-v', p]);
  });

  it('docker-compose 1.29 brings up a project with a named volume and takes it down', { skip: !hasCompose && 'docker-compose is not installed' }, async () => {
    const dir = mkdtempSync('/tmp/pier-compose-vol-');
    const project = `itvc${Math.random().toString(16).slice(2, 8)}`;
    writeFileSync(join(dir, 'docker-compose.yml'), [
      "version: '2.4'",
      'services:',
      '  app:',
      `    image: ${h.image}`,
      "    command: sh -c 'echo up >> /data/log; sleep 1000'",
      '    network_mode: none',
      '    volumes:',
      '      - data:/data',
      'volumes:',
      '  data: {}',
      '',
    ].join('\n'));
    const compose = (args: string[]) => spawnSync('docker-compose', ['-p', project, ...args], {
      cwd: dir, encoding: 'utf8', env: { ...process.env, DOCKER_HOST: h.host, COMPOSE_INTERACTIVE_NO_CLI: '1' }, timeout: 120_000,
    });
    try {
      let r = compose(['up', '-d']);
      assert.equal(r.status, 0, r.stderr);
      const volName = `${project}_data`;
      const [v] = JSON.parse(await h.ok(['volume', 'inspect', volName]));
      assert.equal(v.Labels['com.docker.compose.project'], project);
      assert.equal(v.Labels['com.docker.compose.volume'], 'data');
      r = compose(['ps']);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`${project}_app_1 .* Up`));
      assert.equal(await h.ok(['exec', `${project}_app_1`, 'cat', '/data/log']), 'up');
      r = compose(['down']);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(await h.ok(['ps', '-a', '-q', '--filter', `label=com.docker.compose.project=${project}`]), '');
      assert.equal(await h.ok(['volume', 'ls', '-q', '--filter', `name=${volName}`]), volName, 'down keeps named volumes');
      r = compose(['down', '-v']);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(await h.ok(['volume', 'ls', '-q', '--filter', `name=${volName}`]), '');
    } finally {
      compose(['down', '-v', '-t', '1']);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
