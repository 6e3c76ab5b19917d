// docker images, tag, rmi, import, version, info through the real docker CLI.
import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { startPierd, requires, engineRequirements, type Engine } from './harness.js';

const SHA = /^sha256:[0-9a-f]{64}$/;

describe('images and system', { skip: requires(...engineRequirements) }, () => {
  let h: Engine;
  const images = new Set<string>();
  before(async () => { h = await startPierd(); });
  after(async () => {
    if (!h) return;
    await h.cleanup();
    if (images.size) await h.docker(['rmi', '-f', ...images]).catch(() => undefined);
    await h.stop();
  });
  afterEach(async () => { await h.cleanup(); });

  const repo = (hint: string) => `it-${hint}-${process.pid}`;

  it('import creates an image from a rootfs tarball (file and stdin)', async () => {
    const r1 = repo('imp');
    const id = await h.ok(['import', h.rootfsTar, `${r1}:1`]);
    images.add(id);
    assert.match(id, SHA);
    assert.equal(await h.ok(['image', 'inspect', '-f', '{{.Id}} {{json .RepoTags}} {{.Os}} {{.Architecture}}', `${r1}:1`]), `${id} ["${r1}:1"] linux amd64`);
    assert.equal(await h.ok(['run', '--rm', `${r1}:1`, 'echo', 'from-import']), 'from-import');

    // from stdin, with the repo given without a tag (=> latest) and a commit message
    const data = await readFile(h.rootfsTar);
    const r2 = repo('impstdin');
    const id2 = await h.ok(['import', '-m', 'it message', '-', r2], { input: data });
    images.add(id2);
    assert.match(id2, SHA);
    assert.equal(await h.ok(['image', 'inspect', '-f', '{{json .RepoTags}} {{.Comment}}', id2]), `["${r2}:latest"] it message`);
  });

  it('import --change sets the image config', async () => {
    const r = repo('impchg');
    const id = await h.ok(['import', '-c', 'ENV FOO=bar', '-c', 'CMD ["sh","-c","echo $FOO"]', '-c', 'WORKDIR /tmp', h.rootfsTar, `${r}:1`]);
    images.add(id);
    assert.equal(await h.ok(['image', 'inspect', '-f', '{{json .Config.Env}} {{json .Config.Cmd}} {{.Config.WorkingDir}}', id]), '["FOO=bar"] ["sh","-c","echo $FOO"] /tmp');
    assert.equal(await h.ok(['run', '--rm', `${r}:1`]), 'bar');
    assert.equal(await h.ok(['run', '--rm', `${r}:1`, 'pwd']), '/tmp');
  });

  it('images lists repositories, tags and ids; -q; --filter reference', async () => {
    const out = await h.ok(['images', '--filter', `reference=${h.image}`]);
    const lines = out.split('\n');
    assert.match(lines[0]!, /^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE$/);
    assert.equal(lines.length, 2, out);
    assert.match(lines[1]!, new RegExp(`^${h.image}\\s+latest\\s+[0-9a-f]{12}\\s+.+\\s+[0-9.]+[kM]B$`));
    const id = await h.ok(['image', 'inspect', '-f', '{{.Id}}', h.image]);
    assert.equal(await h.ok(['images', '-q', '--filter', `reference=${h.image}`]), id.slice(7, 19));
    assert.equal(await h.ok(['images', '--no-trunc', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}', '--filter', `reference=${h.image}:latest`]), `${h.image}:latest ${id}`);
  });

  it('tag adds a name; rmi untags, then deletes; errors use docker\'s words', async () => {
    const r = repo('tag');
    const id = await h.ok(['import', h.rootfsTar, `${r}:1`]);
    images.add(id);
    const t = await h.docker(['tag', `${r}:1`, `${r}:2`]);
    assert.deepEqual([t.code, t.stdout], [0, '']);
    await h.ok(['tag', id.slice(7, 19), `${r}/sub:3`]);
    assert.equal(await h.ok(['images', '--format', '{{.Repository}}:{{.Tag}}', '--filter', `reference=${r}:*`]).then((s) => s.split('\n').sort().join(' ')), `${r}:1 ${r}:2`);
    assert.equal(await h.ok(['image', 'inspect', '-f', '{{.Id}}', `${r}:2`]), id);
    assert.equal(await h.ok(['image', 'inspect', '-f', '{{.Id}}', `${r}/sub:3`]), id);

    const bad = await h.docker(['tag', 'it-nosuch-img', `${r}:x`]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /No such image: it-nosuch-img:latest/);

    // removing one of several tags only untags
    assert.equal(await h.ok(['rmi', `${r}:2`]), `Untagged: ${r}:2`);
    assert.equal(await h.ok(['rmi', `${r}/sub:3`]), `Untagged: ${r}/sub:3`);
    assert.equal(await h.ok(['image', 'inspect', '-f', '{{.Id}}', `${r}:1`]), id);

    // in use by a container: 409 unless forced
    const c = h.name('rmiuse');
    const cid = await h.ok(['create', '--name', c, `${r}:1`, 'true']);
    const inUse = await h.docker(['rmi', `${r}:1`]);
    assert.equal(inUse.code, 1);
    assert.ok(inUse.stderr.includes(`conflict: unable to remove repository reference "${r}:1" (must force) - container ${cid.slice(0, 12)} is using its referenced image ${id.slice(7, 19)}`), inUse.stderr);
    await h.ok(['rm', c]);

    const del = await h.ok(['rmi', `${r}:1`]);
    const dl = del.split('\n');
    assert.equal(dl[0], `Untagged: ${r}:1`);
    assert.ok(dl.includes(`Deleted: ${id}`), del);
    images.delete(id);
    assert.equal((await h.docker(['image', 'inspect', id])).code, 1);

    const nf = await h.docker(['rmi', 'it-nosuch-img']);
    assert.equal(nf.code, 1);
    assert.match(nf.stderr, /No such image: it-nosuch-img:latest/);
    assert.equal((await h.docker(['rmi', '-f', 'it-nosuch-img'])).code, 0);
  });

  it('rmi -f deletes an image a stopped container uses', async () => {
    const r = repo('rmif');
    const id = await h.ok(['import', h.rootfsTar, `${r}:1`]);
    images.add(id);
    const c = h.name('rmif');
    await h.ok(['create', '--name', c, `${r}:1`, 'true']);
    const out = await h.ok(['rmi', '-f', `${r}:1`]);
    assert.match(out, new RegExp(`^Untagged: ${r}:1`));
    assert.equal(await h.ok(['images', '-q', '--filter', `reference=${r}`]), '');
  });

  it('version reports API 1.41 for linux', async () => {
    assert.equal(await h.ok(['version', '--format', '{{.Server.APIVersion}} {{.Server.Os}} {{.Server.Arch}}']), '1.41 linux amd64');
    assert.equal(await h.ok(['version', '--format', '{{.Client.APIVersion}}']), '1.41');
    const r = await h.docker(['version']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Client:/m);
    assert.match(r.stdout, /^Server:/m);
    assert.match(r.stdout, /^ Engine:\n  Version:\s+\S+\n  API version:\s+1\.41 \(minimum version [0-9.]+\)/m);
  });

  it('info reports the engine and counts containers', async () => {
    assert.equal(await h.ok(['info', '--format', '{{.OSType}} {{.Architecture}} {{.Swarm.LocalNodeState}} {{.DefaultRuntime}} {{.LoggingDriver}}']), 'linux x86_64 inactive runc json-file');
    const runtimes = JSON.parse(await h.ok(['info', '--format', '{{json .Runtimes}}']));
    assert.ok(runtimes.runc, JSON.stringify(runtimes));
    if (!h.external) assert.equal(await h.ok(['info', '--format', '{{.DockerRootDir}}']), h.root);
    const r = await h.docker(['info']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Server:\n Containers: \d+\n  Running: \d+\n  Paused: \d+\n  Stopped: \d+\n Images: \d+\n Server Version: \S+/m);

    if (!h.external) {
      // an engine of our own: the counts are exact
      const counts = () => h.ok(['info', '--format', '{{.Containers}} {{.ContainersRunning}} {{.ContainersPaused}} {{.ContainersStopped}}']);
      const base = (await counts()).split(' ').map(Number);
      const a = h.name('infoa');
      const b = h.name('infob');
      await h.ok(['run', '-d', '--name', a, h.image, 'sleep', '1000']);
      await h.ok(['create', '--name', b, h.image, 'true']);
      assert.equal(await counts(), [base[0]! + 2, base[1]! + 1, base[2], base[3]! + 1].join(' '));
      await h.ok(['pause', a]);
      assert.equal(await counts(), [base[0]! + 2, base[1], base[2]! + 1, base[3]! + 1].join(' '));
      await h.ok(['unpause', a]);
    }
  });
});
