// User namespaces (issue 7 item 4): a pierd started with --userns-remap runs containers in
// their own user namespace, mapped onto a test-only subordinate range of the `daemon` user
// that this file adds to /etc/subuid and /etc/subgid and removes again. Image layers are
// idmapped, never copied: the tests check ownership inside and on the host.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startPierd, requires, engineRequirements, mountsUnder, repoRoot, waitFor, type Engine } from './harness.js';

const START = 420000;
const RANGE = `daemon:${START}:65536`;
const SUBID_FILES = ['/etc/subuid', '/etc/subgid'];

/** Adds the test range (once) and answers an undo that removes exactly that line. */
function addTestRange(): () => void {
  const added: string[] = [];
  for (const f of SUBID_FILES) {
    const text = existsSync(f) ? readFileSync(f, 'utf8') : '';
    if (text.split('\n').includes(RANGE)) continue;
    writeFileSync(f, (text && !text.endsWith('\n') ? `${text}\n` : text) + `${RANGE}\n`);
    added.push(f);
  }
  return () => {
    for (const f of added) {
      const lines = readFileSync(f, 'utf8').split('\n');
      const i = lines.indexOf(RANGE);
      if (i >= 0) lines.splice(i, 1);
      writeFileSync(f, lines.join('\n'));
    }
  };
}

const owner = (p: string): string => { const st = statSync(p); return `${st.uid}:${st.gid}`; };

describe('userns-remap', { skip: requires(...engineRequirements, 'pier-only') }, () => {
  let e: Engine;
  let undo: () => void = () => {};
  before(async () => {
    undo = addTestRange();
    try {
      e = await startPierd({ args: ['--userns-remap', 'daemon'], tmpMode: 0o711 });
    } catch (err) {
      undo();
      throw err;
    }
  });
  after(async () => {
    try {
      await e?.cleanup();
      await e?.stop();
    } finally {
      undo();
    }
  });

  it('info lists name=userns in SecurityOptions', async () => {
    assert.match(await e.ok(['info', '--format', '{{json .SecurityOptions}}']), /"name=userns"/);
  });

  it('a container sees its uid/gid map, is root inside and sees the image root-owned', async () => {
    const out = await e.ok(['run', '--rm', e.image, 'sh', '-c',
      'cat /proc/self/uid_map /proc/self/gid_map; id -u; id -g; stat -c "%u:%g" / /bin/busybox /etc/passwd /etc/hosts /etc/hostname /etc/resolv.conf']);
    const lines = out.split('\n').map((l) => l.trim().split(/\s+/).join(' '));
    assert.deepEqual(lines.slice(0, 2), [`0 ${START} 65536`, `0 ${START} 65536`]);
    assert.deepEqual(lines.slice(2, 4), ['0', '0']);
    assert.deepEqual(lines.slice(4), Array(6).fill('0:0'));
  });

  it('writes in the rootfs and the hosts files land on the host as the remapped root; layers stay untouched', async () => {
    const name = e.name('us-rootfs');
    await e.ok(['run', '--name', name, e.image, 'sh', '-c',
      'echo hi > /etc/it-new && echo more >> /etc/passwd && mkdir -p /var/it && touch /var/it/f && echo "10.9.9.9 it" >> /etc/hosts && echo it-host > /etc/hostname']);
    const id = await e.ok(['inspect', '-f', '{{.Id}}', name]);
    const upper = join(e.root!, 'snapshots', 'containers', id, 'upper');
    for (const p of ['', 'etc/it-new', 'etc/passwd', 'var/it/f']) assert.equal(owner(join(upper, p)), `${START}:${START}`, p);
    for (const f of ['hosts', 'hostname']) assert.equal(owner(join(e.root!, 'containers', id, f)), `${START}:${START}`, f);
    assert.match(readFileSync(join(e.root!, 'containers', id, 'hosts'), 'utf8'), /10\.9\.9\.9 it/);
    // the image's layers: still host-root-owned, one copy, no idmapped mount left behind
    const layers = readdirSync(join(e.root!, 'snapshots', 'layers'));
    assert.ok(layers.length >= 1);
    for (const l of layers) assert.equal(owner(join(e.root!, 'snapshots', 'layers', l, 'fs', 'etc', 'passwd')), '0:0');
    assert.doesNotMatch(readFileSync(join(e.root!, 'snapshots', 'layers', layers[0]!, 'fs', 'etc', 'passwd'), 'utf8'), /^more$/m);
    assert.deepEqual(mountsUnder(join(e.root!, 'snapshots', 'idmap')), []);
    assert.deepEqual(readdirSync(join(e.root!, 'snapshots', 'idmap')), []);
    // cp out of the stopped container mounts its rootfs (idmapped) for the copy
    await e.ok(['cp', `${name}:/etc/it-new`, join(e.tmp, 'it-new')]);
    assert.equal(readFileSync(join(e.tmp, 'it-new'), 'utf8'), 'hi\n');
    // the temporary mount goes once the archive is sent (just after the CLI has it)
    await waitFor(() => mountsUnder(join(e.execRoot!, 'c', id)).length === 0, { timeout: 5000, message: 'rootfs mount of the cp' });
  });

  it('named volumes, image content copied into an empty volume and bind mounts are owned by the remapped root', async () => {
    const vol = e.name('us-vol'), vol2 = e.name('us-etc');
    e.track(vol); e.track(vol2);
    try {
      await e.ok(['run', '--rm', '-v', `${vol}:/data`, e.image, 'sh', '-c', 'echo a > /data/f; stat -c %u:%g /data /data/f']).then((o) => assert.equal(o, '0:0\n0:0'));
      const data = join(e.root!, 'volumes', vol, '_data');
      assert.equal(owner(data), `${START}:${START}`);
      assert.equal(owner(join(data, 'f')), `${START}:${START}`);
      // copy-up: /etc of the image into an empty volume, shifted like the rootfs
      assert.equal(await e.ok(['run', '--rm', '-v', `${vol2}:/etc`, e.image, 'stat', '-c', '%u:%g', '/etc/passwd']), '0:0');
      assert.equal(owner(join(e.root!, 'volumes', vol2, '_data', 'passwd')), `${START}:${START}`);
      // bind mounts: a writable host dir, and a source the engine creates
      const dir = mkdtempSync(join(e.tmp, 'bind-'));
      chmodSync(dir, 0o777);
      const made = join(e.tmp, 'made', 'deep');
      await e.ok(['run', '--rm', '-v', `${dir}:/b`, '-v', `${made}:/m`, e.image, 'sh', '-c', 'touch /b/f /m/g']);
      assert.equal(owner(join(dir, 'f')), `${START}:${START}`);
      assert.equal(owner(made), `${START}:${START}`);
      assert.equal(owner(join(made, 'g')), `${START}:${START}`);
    } finally {
      await e.docker(['volume', 'rm', '-f', vol, vol2]);
    }
  });

  it('commit, build, cp and export show owners as the container saw them, not the shifted host ids', async () => {
    const name = e.name('us-commit'), img = `it-us-commit-${Date.now()}`, built = `it-us-built-${Date.now()}`;
    try {
      await e.ok(['run', '-d', '--name', name, e.image, 'sh', '-c', 'touch /f && touch /g && chown 5:6 /g && exec sleep 1000']);
      await e.ok(['exec', name, 'test', '-e', '/g']);
      // cp in: the host file (root-owned) arrives as the container's root, not as an unmapped id
      const src = join(e.tmp, 'cp-in');
      writeFileSync(src, 'in\n');
      await e.ok(['cp', src, `${name}:/tmp/cp-in`]);
      assert.equal(await e.ok(['exec', name, 'stat', '-c', '%u:%g', '/tmp/cp-in']), '0:0');
      // cp out and export: numeric owners as inside
      const cpOut = spawnSync('sh', ['-c', `${e.cmdline(['cp', `${name}:/g`, '-'])} | tar tvf - --numeric-owner`], { encoding: 'utf8' });
      assert.match(cpOut.stdout, /^-\S+ 5\/6 /m, cpOut.stderr);
      const exp = spawnSync('sh', ['-c', `${e.cmdline(['export', name])} | tar tvf - --numeric-owner etc/passwd f`], { encoding: 'utf8' });
      assert.equal(exp.stdout.split('\n').filter(Boolean).map((l) => l.split(/\s+/)[1]).join(' '), '0/0 0/0', exp.stderr);
      // commit: the new layer carries the container's ids; seen through the host namespace too
      await e.ok(['commit', name, img]);
      assert.equal(await e.ok(['run', '--rm', img, 'stat', '-c', '%u:%g', '/f', '/g']), '0:0\n5:6');
      assert.equal(await e.ok(['run', '--rm', '--userns=host', img, 'stat', '-c', '%u:%g', '/f', '/g']), '0:0\n5:6');
      // a RUN step of a build, committed the same way
      const ctx = mkdtempSync(join(e.tmp, 'ctx-'));
      writeFileSync(join(ctx, 'Dockerfile'), `FROM ${e.image}\nRUN touch /built && chown 7:8 /built\n`);
      await e.ok(['build', '--network', 'none', '-q', '-t', built, ctx], { env: { DOCKER_BUILDKIT: '0' }, timeout: 120_000 });
      assert.equal(await e.ok(['run', '--rm', '--userns=host', built, 'stat', '-c', '%u:%g', '/built']), '7:8');
    } finally {
      await e.docker(['rm', '-f', name]);
      await e.docker(['rmi', '-f', img, built]);
    }
  });

  it('--network container:<remapped> shares that container\'s user namespace too', async () => {
    const a = e.name('us-net-a');
    await e.ok(['run', '-d', '--name', a, e.image, 'sleep', '1000']);
    const pid = await e.ok(['inspect', '-f', '{{.State.Pid}}', a]);
    const out = await e.ok(['run', '--rm', '--network', `container:${a}`, e.image, 'sh', '-c', 'readlink /proc/self/ns/user; cat /proc/self/uid_map; id -u']);
    const [ns, map, uid] = out.split('\n').map((l) => l.trim().split(/\s+/).join(' '));
    assert.equal(ns, readlinkSync(`/proc/${pid}/ns/user`));
    assert.equal(map, `0 ${START} 65536`);
    assert.equal(uid, '0');
    await e.ok(['rm', '-f', a]);
  });

  it('--userns=host opts out: identity map, files owned by host root', async () => {
    const name = e.name('us-host');
    const out = await e.ok(['run', '--name', name, '--userns=host', e.image, 'sh', '-c', 'cat /proc/self/uid_map; touch /it-host']);
    assert.equal(out.trim().split(/\s+/).join(' '), '0 0 4294967295');
    const id = await e.ok(['inspect', '-f', '{{.Id}} {{.HostConfig.UsernsMode}}', name]);
    assert.match(id, / host$/);
    assert.equal(owner(join(e.root!, 'snapshots', 'containers', id.split(' ')[0]!, 'upper', 'it-host')), '0:0');
  });

  it('--privileged, --network host and --pid host need --userns=host; other --userns values are rejected', async () => {
    const priv = await e.docker(['run', '--rm', '--privileged', e.image, 'true']);
    assert.equal(priv.code, 125);
    assert.match(priv.stderr, /privileged mode is incompatible with user namespaces\.  You must run the container in the host namespace when running privileged mode/);
    assert.equal(await e.ok(['run', '--rm', '--privileged', '--userns=host', e.image, 'sh', '-c', 'cat /proc/self/uid_map | wc -l']), '1');
    const net = await e.docker(['run', '--rm', '--network', 'host', e.image, 'true']);
    assert.equal(net.code, 125);
    assert.match(net.stderr, /cannot share the host's network namespace when user namespaces are enabled/);
    const pid = await e.docker(['run', '--rm', '--pid', 'host', e.image, 'true']);
    assert.equal(pid.code, 125);
    assert.match(pid.stderr, /cannot share the host PID namespace when user namespaces are enabled/);
    const bad = await e.docker(['run', '--rm', '--userns=private', e.image, 'true']);
    assert.equal(bad.code, 125);
    assert.match(bad.stderr, /--userns: invalid USER mode/);
  });

  it('running containers survive a pierd kill -9; the restarted pierd clears idmapped mounts a crash left and stops them cleanly', async () => {
    const name = e.name('us-survivor');
    await e.ok(['run', '-d', '--name', name, e.image, 'sleep', '1000']);
    const id = await e.ok(['inspect', '-f', '{{.Id}}', name]);
    await e.kill9();
    // what a pierd killed between the idmapped layer mounts and the overlay mount leaves
    const layer = readdirSync(join(e.root!, 'snapshots', 'layers'))[0]!;
    const stale = join(e.root!, 'snapshots', 'idmap', 'deadbeef', '0');
    mkdirSync(stale, { recursive: true });
    const bind = spawnSync('mount', ['--bind', join(e.root!, 'snapshots', 'layers', layer, 'fs'), stale]);
    assert.equal(bind.status, 0, String(bind.stderr));
    await e.restart();
    assert.deepEqual(mountsUnder(join(e.root!, 'snapshots', 'idmap')), []);
    assert.deepEqual(readdirSync(join(e.root!, 'snapshots', 'idmap')), []);
    assert.ok(existsSync(join(e.root!, 'snapshots', 'layers', layer, 'fs', 'bin', 'busybox')), 'the layer behind the stale mount is intact');
    assert.equal(await e.ok(['exec', name, 'sh', '-c', 'id -u; cat /proc/self/uid_map']).then((o) => o.split('\n').map((l) => l.trim().split(/\s+/).join(' ')).join('|')), `0|0 ${START} 65536`);
    await e.ok(['stop', '-t', '0', name]);
    await e.ok(['start', name]);
    assert.equal(await e.ok(['exec', name, 'cat', '/proc/1/uid_map']).then((o) => o.trim().split(/\s+/)[1]), String(START));
    await e.ok(['rm', '-f', name]);
    assert.deepEqual(mountsUnder(join(e.execRoot!, 'c', id)), []);
    assert.deepEqual(mountsUnder(join(e.root!, 'snapshots')), []);
  });
});

describe('userns-remap start-up errors', { skip: requires('root', 'pierd', 'pier-only') }, () => {
  /** Runs pierd on a scratch root until it exits; answers its exit code and stderr. */
  function pierdFails(args: string[], tmpMode = 0o711): { code: number | null; stderr: string } {
    const tmp = mkdtempSync('/tmp/pt-');
    try {
      chmodSync(tmp, tmpMode);
      const r = spawnSync(process.execPath, [join(repoRoot, 'bin/pierd'), '--root', join(tmp, 'root'), '--exec-root', join(tmp, 'run'),
        '-H', `unix://${join(tmp, 'run', 's.sock')}`, '--bridge', 'none', ...args], { encoding: 'utf8', timeout: 20_000 });
      return { code: r.status, stderr: r.stderr };
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }

  it('a user without subordinate ranges, an unknown user and a closed data-root path stop pierd with dockerd\'s messages', () => {
    const noRanges = pierdFails(['--userns-remap', 'bin']);
    assert.equal(noRanges.code, 1);
    assert.match(noRanges.stderr, /Can't create ID mappings: No subuid ranges found for user "bin"/);
    const unknown = pierdFails(['--userns-remap', 'it-no-such-user']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /Error during uid lookup for "it-no-such-user"/);
    // daemon.json's key is read too, and refused when the flag gives it as well
    const cfgDir = mkdtempSync('/tmp/pt-cfg-');
    try {
      writeFileSync(join(cfgDir, 'daemon.json'), JSON.stringify({ 'userns-remap': 'bin' }));
      const fromFile = pierdFails(['--config-file', join(cfgDir, 'daemon.json')]);
      assert.equal(fromFile.code, 1);
      assert.match(fromFile.stderr, /No subuid ranges found for user "bin"/);
      const both = pierdFails(['--config-file', join(cfgDir, 'daemon.json'), '--userns-remap', 'daemon']);
      assert.equal(both.code, 1);
      assert.match(both.stderr, /specified both as a flag and in the configuration file: userns-remap: \(from flag: daemon, from file: bin\)/);
    } finally {
      rmSync(cfgDir, { recursive: true, force: true });
    }
    const undo = addTestRange();
    try {
      const closed = pierdFails(['--userns-remap', 'daemon'], 0o700);
      assert.equal(closed.code, 1);
      assert.match(closed.stderr, /restricts access to the remapped root uid\/gid; please fix by allowing 'o\+x' permissions on existing directories/);
    } finally {
      undo();
    }
  });
});

describe('userns-remap with shifted layer copies (the fallback where idmapped mounts fail)', { skip: requires(...engineRequirements, 'pier-only') }, () => {
  let e: Engine;
  let undo: () => void = () => {};
  before(async () => {
    undo = addTestRange();
    process.env.PIER_USERNS_LAYERS = 'copy'; // read by pierd at start-up only
    try {
      e = await startPierd({ args: ['--userns-remap', 'daemon'], tmpMode: 0o711 });
    } catch (err) {
      undo();
      throw err;
    } finally {
      delete process.env.PIER_USERNS_LAYERS;
    }
  });
  after(async () => {
    try {
      await e?.cleanup();
      await e?.stop();
    } finally {
      undo();
    }
  });

  it('shifts each layer once per mapping, keeps setuid bits and owners, leaves the original layer alone and drops the copy with the image', async () => {
    const src = e.name('us-suid'), img = `it-us-suid-${Date.now()}`;
    await e.ok(['run', '--name', src, '--userns=host', e.image, 'sh', '-c', 'touch /su && chown 5:6 /su && chmod 4755 /su']);
    await e.ok(['commit', src, img]);
    await e.ok(['rm', src]);
    try {
      const out = await e.ok(['run', '--rm', img, 'sh', '-c', 'cat /proc/self/uid_map; stat -c "%a %u:%g" /su /bin/busybox; echo w > /etc/w && cat /etc/w']);
      assert.deepEqual(out.split('\n').map((l) => l.trim().split(/\s+/).join(' ')), [`0 ${START} 65536`, '4755 5:6', '755 0:0', 'w']);
      const shifted = join(e.root!, 'snapshots', 'shifted');
      const [mapping, ...others] = readdirSync(shifted);
      assert.deepEqual(others, []);
      const copies = readdirSync(join(shifted, mapping!));
      assert.equal(copies.length, 2, 'one copy per layer of the image');
      for (const c of copies) {
        const busybox = join(shifted, mapping!, c, 'fs', 'bin', 'busybox');
        if (existsSync(busybox)) assert.equal(owner(busybox), `${START}:${START}`);
      }
      for (const l of readdirSync(join(e.root!, 'snapshots', 'layers'))) {
        const p = join(e.root!, 'snapshots', 'layers', l, 'fs', 'bin', 'busybox');
        if (existsSync(p)) assert.equal(owner(p), '0:0');
      }
      // a second container reuses the copies
      await e.ok(['run', '--rm', img, 'true']);
      assert.deepEqual(readdirSync(join(shifted, mapping!)).sort(), copies.sort());
      await e.ok(['rmi', img]);
      assert.equal(readdirSync(join(shifted, mapping!)).length, 1, 'the removed image\'s own layer copy is gone');
    } finally {
      await e.docker(['rmi', '-f', img]);
    }
  });
});
