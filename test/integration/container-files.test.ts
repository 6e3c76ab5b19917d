// docker cp, export, diff and commit through the real docker CLI.
import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync, lstatSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { startPierd, requires, engineRequirements, waitFor, type Engine } from './harness.js';

const SHA = /^sha256:[0-9a-f]{64}$/;

function tarList(buf: Buffer): string[] {
  const r = spawnSync('tar', ['-t'], { input: buf });
  assert.equal(r.status, 0, r.stderr.toString());
  return r.stdout.toString().split('\n').filter(Boolean);
}

/** A snapshot of a host directory's names, sizes and mtimes (to prove nothing changed). */
function snapshot(dir: string): string {
  return readdirSync(dir).sort().map((n) => {
    const st = lstatSync(join(dir, n));
    return `${n}:${st.size}:${st.mtimeMs}`;
  }).join('\n');
}

describe('container files: cp, export, diff, commit', { skip: requires(...engineRequirements) }, () => {
  let h: Engine;
  let work: string;
  const images = new Set<string>();
  before(async () => {
    h = await startPierd();
    work = join(h.tmp, 'cpwork');
    mkdirSync(work);
  });
  after(async () => {
    if (!h) return;
    await h.cleanup();
    if (images.size) await h.docker(['rmi', '-f', ...images]).catch(() => undefined);
    await h.stop();
  });
  afterEach(async () => { await h.cleanup(); });

  const sleeper = async (hint: string, script = 'true'): Promise<string> => {
    const n = h.name(hint);
    await h.ok(['run', '-d', '--name', n, h.image, 'sh', '-c', `${script}; sleep 600`]);
    return n;
  };

  it('cp copies a file out of and into a running container', async () => {
    const n = await sleeper('cprun', 'echo hello > /tmp/f.txt; mkdir -p /d/sub; echo deep > /d/sub/x');
    await h.ok(['exec', n, 'true']);
    const out = join(work, 'f.txt');
    await h.ok(['cp', `${n}:/tmp/f.txt`, out]);
    assert.equal(readFileSync(out, 'utf8'), 'hello\n');
    // a directory, into an existing local directory
    const dir = join(work, 'dirout');
    mkdirSync(dir);
    await h.ok(['cp', `${n}:/d`, dir]);
    assert.equal(readFileSync(join(dir, 'd/sub/x'), 'utf8'), 'deep\n');
    // into the container: a file into a directory, and under a new name
    const src = join(work, 'in.txt');
    writeFileSync(src, 'from host\n');
    await h.ok(['cp', src, `${n}:/tmp/`]);
    await h.ok(['cp', src, `${n}:/tmp/renamed.txt`]);
    assert.equal(await h.ok(['exec', n, 'cat', '/tmp/in.txt', '/tmp/renamed.txt']), 'from host\nfrom host');
    // missing source: Docker's words
    const r = await h.docker(['cp', `${n}:/nope`, join(work, 'x')]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, new RegExp(`Could not find the file /nope in container ${n}`));
  });

  it('cp works on created and stopped containers and leaves no mount behind', async () => {
    const n = h.name('cpstop');
    await h.ok(['create', '--name', n, h.image, 'sh', '-c', 'echo x']);
    const src = join(work, 'stopped.txt');
    writeFileSync(src, 'into created\n');
    await h.ok(['cp', src, `${n}:/etc/stopped.txt`]);
    await h.ok(['cp', `${n}:/etc/stopped.txt`, join(work, 'back.txt')]);
    assert.equal(readFileSync(join(work, 'back.txt'), 'utf8'), 'into created\n');
    await h.ok(['start', '-a', n]);
    await h.ok(['cp', `${n}:/etc/passwd`, join(work, 'passwd')]);
    assert.match(readFileSync(join(work, 'passwd'), 'utf8'), /^root:/);
    // the run's own mount goes when pierd has handled the exit; cp's temporary mounts never stay
    await waitFor(() => h.leaks().filter((l) => l.startsWith('mount')).length === 0, { message: () => h.leaks().join(', ') });
    assert.equal(await h.ok(['run', '--rm', h.image, 'sh', '-c', 'echo ok']), 'ok');
  });

  it('cp with - streams a tar on stdout and reads one from stdin', async () => {
    const n = await sleeper('cpstream', 'mkdir -p /s; echo a > /s/a; echo b > /s/b');
    await h.ok(['exec', n, 'true']);
    const r = spawnSync('sh', ['-c', `${h.cmdline(['cp', `${n}:/s`, '-'])} | tar -t`], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.stdout.split('\n').filter(Boolean).sort(), ['s/', 's/a', 's/b']);
    const t = spawnSync('tar', ['-c', '-C', work, 'in2'], { input: '' });
    void t;
    mkdirSync(join(work, 'in2'));
    writeFileSync(join(work, 'in2', 'z'), 'zz\n');
    const tar = spawnSync('tar', ['-c', '-C', work, 'in2']).stdout;
    await h.ok(['cp', '-', `${n}:/tmp`], { input: tar });
    assert.equal(await h.ok(['exec', n, 'cat', '/tmp/in2/z']), 'zz');
  });

  it('cp never reaches the host: symlinks to /etc, ../ paths, escaping tar entries', async () => {
    const n = await sleeper('cphostile', 'ln -s /etc /hostetc; ln -s ../../../../../.. /up; mkdir -p /tmp/t');
    await h.ok(['exec', n, 'true']);
    const before = snapshot('/etc');
    const src = join(work, 'evil.txt');
    writeFileSync(src, 'evil\n');
    // through an absolute symlink: lands in the container's /etc
    await h.ok(['cp', src, `${n}:/hostetc/`]);
    await h.ok(['cp', src, `${n}:/up/etc/evil2.txt`]);
    await h.ok(['cp', src, `${n}:/../../../../etc/evil3.txt`]);
    assert.equal(existsSync('/etc/evil.txt') || existsSync('/etc/evil2.txt') || existsSync('/etc/evil3.txt'), false);
    assert.equal(await h.ok(['exec', n, 'sh', '-c', 'cat /etc/evil.txt /etc/evil2.txt /etc/evil3.txt']), 'evil\nevil\nevil');
    // reading through the symlinks reads the container's files, not the host's
    await h.ok(['cp', `${n}:/hostetc/passwd`, join(work, 'p1')]);
    await h.ok(['cp', `${n}:/up/etc/passwd`, join(work, 'p2')]);
    const ctrPasswd = await h.ok(['exec', n, 'cat', '/etc/passwd']);
    assert.equal(readFileSync(join(work, 'p1'), 'utf8').trim(), ctrPasswd);
    assert.equal(readFileSync(join(work, 'p2'), 'utf8').trim(), ctrPasswd);
    // a tar whose entries climb out is refused
    const evilDir = join(work, 'evtar');
    mkdirSync(evilDir);
    writeFileSync(join(evilDir, 'x'), 'x');
    const evilTar = spawnSync('tar', ['-c', '-P', '-C', evilDir, '--transform', 's,^x,../../../../../tmp/pier-escape-x,', 'x']).stdout;
    assert.ok(tarList(evilTar)[0]!.startsWith('../'));
    const r = await h.docker(['cp', '-', `${n}:/tmp/t`], { input: evilTar });
    assert.notEqual(r.code, 0);
    assert.equal(existsSync('/tmp/pier-escape-x'), false);
    // a symlink entry followed by a file through it stays inside
    const linkDir = join(work, 'lnktar');
    mkdirSync(join(linkDir, 'l'), { recursive: true });
    const t1 = spawnSync('sh', ['-c', `cd ${linkDir} && ln -s /etc esc && tar -cf - esc`]).stdout;
    await h.ok(['cp', '-', `${n}:/tmp/t`], { input: t1 });
    writeFileSync(join(linkDir, 'l', 'pwned'), 'p');
    const t2 = spawnSync('sh', ['-c', `cd ${linkDir} && tar -cf - --transform 's,^l,esc,' l/pwned`]).stdout;
    await h.docker(['cp', '-', `${n}:/tmp/t`], { input: t2 });
    assert.equal(existsSync('/etc/pwned'), false);
    assert.equal(snapshot('/etc'), before);
  });

  it('export streams the whole root filesystem as a tar', async () => {
    const n = await sleeper('export', 'echo e > /exported');
    await h.ok(['exec', n, 'true']);
    const out = join(work, 'exp.tar');
    await h.ok(['export', '-o', out, n]);
    const names = tarList(readFileSync(out));
    assert.ok(names.includes('exported'), names.slice(0, 20).join(' '));
    assert.ok(names.includes('bin/busybox'));
    assert.ok(names.includes('etc/passwd'));
    const r = spawnSync('sh', ['-c', `${h.cmdline(['export', n])} | tar -t | grep -c .`], { encoding: 'utf8' });
    assert.equal(r.status, 0);
    assert.ok(Number(r.stdout.trim()) > 100);
  });

  it('diff lists A, C and D like Docker', async () => {
    const n = await sleeper('diff', 'mkdir -p /new/sub; echo hi > /new/sub/f; rm /etc/group; echo x >> /etc/passwd; rm -rf /usr/sbin; mkdir /tmp/t; touch /tmp/t/a');
    await h.ok(['exec', n, 'true']);
    const out = await h.ok(['diff', n]);
    const lines = out.split('\n');
    for (const l of ['A /new', 'A /new/sub', 'A /new/sub/f', 'C /etc', 'C /etc/passwd', 'D /etc/group', 'C /tmp', 'A /tmp/t', 'A /tmp/t/a', 'C /usr', 'D /usr/sbin']) {
      assert.ok(lines.includes(l), `${l} missing in:\n${out}`);
    }
    assert.equal(lines.length, 11, out);
    // a fresh container has no changes (mount points the runtime made are not listed)
    const m = h.name('diff0');
    await h.ok(['run', '--name', m, h.image, 'true']);
    assert.equal(await h.ok(['diff', m]), '');
  });

  it('commit makes an image with the changes, deletions included; --change; two levels', async () => {
    const n = await sleeper('commit', 'echo data > /committed; rm /etc/group; mkdir /cdir');
    await h.ok(['exec', n, 'true']);
    const repo = `it-commit-${process.pid}`;
    const id = await h.ok(['commit', '-m', 'my msg', '-a', 'me', '-c', 'ENV A=1', '-c', 'CMD ["sh","-c","echo $A"]', n, `${repo}:1`]);
    images.add(`${repo}:1`);
    assert.match(id, SHA);
    assert.equal(await h.ok(['inspect', '-f', '{{.State.Status}}', n]), 'running');
    assert.equal(await h.ok(['run', '--rm', `${repo}:1`, 'sh', '-c', 'cat /committed; ls -d /cdir; test -e /etc/group || echo gone']), 'data\n/cdir\ngone');
    assert.equal(await h.ok(['run', '--rm', `${repo}:1`]), '1');
    assert.equal(await h.ok(['image', 'inspect', '-f', '{{.Comment}}|{{.Author}}|{{json .Config.Env}}|{{len .RootFS.Layers}}', `${repo}:1`]), 'my msg|me|["A=1"]|2');
    // commit of a container of the committed image: 3 layers, earlier deletions stay deleted
    const m = h.name('commit2');
    await h.ok(['run', '--name', m, `${repo}:1`, 'sh', '-c', 'echo more > /second']);
    const id2 = await h.ok(['commit', '-p=false', m, `${repo}:2`]);
    images.add(`${repo}:2`);
    assert.match(id2, SHA);
    assert.equal(await h.ok(['image', 'inspect', '-f', '{{len .RootFS.Layers}}', `${repo}:2`]), '3');
    assert.equal(await h.ok(['run', '--rm', `${repo}:2`, 'sh', '-c', 'cat /committed /second; test -e /etc/group || echo gone']), 'data\nmore\ngone');
    // bad --change: Docker's error, no image
    const bad = await h.docker(['commit', '-c', 'BOGUS x', n, `${repo}:bad`]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /BOGUS x is not a valid change command|not a valid change command/i);
  });

  it('a pierd killed during commit leaves no half image and no mount', { skip: requires('pier-only') }, async () => {
    const n = await sleeper('crash', 'dd if=/dev/zero of=/big bs=1M count=64 2>/dev/null');
    await h.ok(['exec', n, 'ls', '/big']);
    const before = await h.ok(['images', '-q', '--no-trunc']);
    const p = h.spawn(['commit', n, 'it-crash:1']);
    await new Promise((r) => setTimeout(r, 150));
    await h.kill9();
    await p.kill('SIGKILL').catch(() => undefined);
    await h.restart();
    const after = await h.ok(['images', '-q', '--no-trunc']);
    const added = after.split('\n').filter((i) => i && !before.includes(i));
    // either the commit finished before the kill (a whole image) or nothing was recorded
    for (const i of added) assert.equal(await h.ok(['run', '--rm', i, 'ls', '/big']), '/big');
    if (added.length) images.add('it-crash:1');
    const mounts = h.leaks().filter((l) => l.startsWith('mount') && !l.includes('/rootfs'));
    assert.deepEqual(mounts, []);
    if ((await h.ok(['inspect', '-f', '{{.State.Status}}', n])) === 'paused') await h.ok(['unpause', n]);
    // -p=false: a kill between `runc pause` and saving the paused state leaves the container
    // frozen while its record says running (restore does not reconcile the freezer yet)
    const id = await h.ok(['commit', '-p=false', n, 'it-crash:2']);
    images.add('it-crash:2');
    assert.match(id, SHA);
    void statSync;
  });
});
