// docker save / load / history / image prune / system df through the real docker CLI;
// interop with skopeo, umoci and the reference dockerd; hostile archives; long layer chains;
// the vfs storage driver.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { startPierd, requires, engineRequirements, refDockerHost, refDockerUp, type Engine } from './harness.js';
import { tarChunks, type TarWriterEntry } from '../../src/lib/tar/index.js';

const REF = refDockerHost;
const sha = (b: Buffer | string): string => 'sha256:' + createHash('sha256').update(b).digest('hex');
const has = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const refUp = refDockerUp;

async function tarBuffer(entries: TarWriterEntry[]): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of tarChunks(entries)) parts.push(c);
  return Buffer.concat(parts);
}

async function layerTar(files: Record<string, string>): Promise<Buffer> {
  return tarBuffer(Object.entries(files).map(([name, body]) => ({ name, body, mtime: 0 })));
}

/** A docker-archive (legacy layout: `<hex>/layer.tar`, `<hex>.json`) with the members in the given order. */
async function dockerArchive(o: { layers: Buffer[]; tags: string[]; manifestFirst?: boolean; mutate?: (m: any[], cfg: any) => void; extra?: TarWriterEntry[]; skip?: string[] }): Promise<Buffer> {
  const diffIds = o.layers.map((l) => sha(l));
  const cfg: any = { architecture: 'amd64', os: 'linux', created: '2024-01-02T03:04:05Z', config: { Cmd: ['sh'] }, rootfs: { type: 'layers', diff_ids: diffIds }, history: diffIds.map((_, i) => ({ created: '2024-01-02T03:04:05Z', created_by: `step ${i}` })) };
  const manifest: any[] = [{ Config: '', RepoTags: o.tags, Layers: diffIds.map((d) => `${d.slice(7)}/layer.tar`) }];
  o.mutate?.(manifest, cfg);
  const cfgBytes = Buffer.from(JSON.stringify(cfg));
  if (!manifest[0].Config) manifest[0].Config = `${sha(cfgBytes).slice(7)}.json`;
  const meta: TarWriterEntry = { name: 'manifest.json', body: JSON.stringify(manifest) };
  const entries: TarWriterEntry[] = [
    ...o.layers.map((l, i) => ({ name: `${diffIds[i]!.slice(7)}/layer.tar`, body: l })),
    { name: `${sha(cfgBytes).slice(7)}.json`, body: cfgBytes },
    ...(o.extra ?? []),
  ].filter((e) => !o.skip?.includes(e.name));
  return tarBuffer(o.manifestFirst ? [meta, ...entries] : [...entries, meta]);
}

function dirBytes(dir: string): number {
  const r = spawnSync('du', ['-sb', dir], { encoding: 'utf8' });
  return Number(r.stdout.split(/\s/)[0]);
}

describe('image exchange: save, load, history, prune, df', { skip: requires(...engineRequirements) }, () => {
  let h: Engine;
  let bbId: string;
  const created = new Set<string>();
  before(async () => {
    h = await startPierd();
    bbId = await h.ok(['image', 'inspect', '-f', '{{.Id}}', h.image]);
  });
  after(async () => {
    if (!h) return;
    await h.cleanup();
    if (created.size) await h.docker(['rmi', '-f', ...created]).catch(() => undefined);
    await h.stop();
  });
  const img = (n: string): string => { const x = `it-x-${n}-${process.pid}`; created.add(`${x}:1`); return `${x}:1`; };
  const file = (n: string): string => join(h.tmp, n);

  it('save → rmi → load keeps the image ID and tags; the archive has both layouts', async () => {
    const a = img('rt');
    await h.ok(['tag', h.image, a]);
    await h.ok(['save', '-o', file('rt.tar'), a]);
    const names = spawnSync('tar', ['tf', file('rt.tar')], { encoding: 'utf8' }).stdout.split('\n');
    for (const n of ['manifest.json', 'repositories', 'index.json', 'oci-layout', `blobs/sha256/${bbId.slice(7)}`]) assert.ok(names.includes(n), `${n} in ${names.join(' ')}`);
    await h.ok(['rmi', a]);
    const out = await h.ok(['load', '-i', file('rt.tar')]);
    assert.equal(out, `Loaded image: ${a}`);
    assert.equal(await h.ok(['image', 'inspect', '-f', '{{.Id}}', a]), bbId);
    // stdin and -q; GET /images/{name}/get (docker-py's endpoint) gives the same bytes
    const q = await h.docker(['load', '-q'], { input: readFileSync(file('rt.tar')) });
    assert.equal(q.code, 0, q.stderr);
    assert.equal(q.stdout.trim(), `Loaded image: ${a}`);
    // an untagged save loads as an ID
    await h.ok(['save', '-o', file('id.tar'), bbId.slice(7, 19)]);
    const r = await h.ok(['load', '-i', file('id.tar')]);
    assert.equal(r, `Loaded image ID: ${bbId}`);
  });

  it('docker save refuses a terminal; save of a missing image fails before writing', async () => {
    const r = await h.docker(['save', 'it-no-such-image:1', '-o', file('none.tar')]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /No such image: it-no-such-image:1/);
    assert.ok(!existsSync(file('none.tar')));
    if (has('script')) {
      const t = await h.dockerTty(['save', h.image]);
      assert.notEqual(t.code, 0);
      assert.match(t.stdout + t.stderr, /[Cc]owardly refusing to save to a terminal/);
    }
  });

  it('loads what skopeo writes: docker-archive, oci-archive, and an oci dir tarred (gzip layers)', { skip: has('skopeo') ? false : 'skopeo missing' }, async () => {
    const a = img('sksrc');
    await h.ok(['tag', h.image, a]);
    await h.ok(['save', '-o', file('sk-src.tar'), a]);
    const sk = (args: string[]): void => {
      const r = spawnSync('skopeo', ['--insecure-policy', 'copy', '-q', ...args], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
    };
    // from the pier save output (skopeo reads it as docker-archive and as oci-archive)
    sk([`docker-archive:${file('sk-src.tar')}`, `oci:${file('ocidir')}:it-sk-oci:2`]);
    sk([`oci-archive:${file('sk-src.tar')}`, `docker-archive:${file('sk-da.tar')}:it-sk-da:3`]);
    sk([`oci:${file('ocidir')}:it-sk-oci:2`, `oci-archive:${file('sk-oa.tar')}:it-sk-oa:4`]);
    sk(['--dest-compress-format', 'gzip', `oci:${file('ocidir')}:it-sk-oci:2`, `oci:${file('ocigz')}:it-sk-gz:5`]);
    spawnSync('tar', ['-C', file('ocigz'), '-cf', file('ocigz.tar'), '.']);
    for (const n of ['it-sk-da:3', 'it-sk-oa:4', 'it-sk-gz:5']) created.add(n);
    assert.equal(await h.ok(['load', '-i', file('sk-da.tar')]), 'Loaded image: it-sk-da:3');
    assert.equal(await h.ok(['load', '-i', file('sk-oa.tar')]), 'Loaded image: it-sk-oa:4');
    assert.equal(await h.ok(['load', '-i', file('ocigz.tar')]), 'Loaded image: it-sk-gz:5');
    for (const n of ['it-sk-da:3', 'it-sk-oa:4', 'it-sk-gz:5']) assert.equal(await h.ok(['run', '--rm', n, 'echo', `ran ${n}`]), `ran ${n}`);
    // docker-archive keeps the config bytes: the same image ID
    assert.equal(await h.ok(['image', 'inspect', '-f', '{{.Id}}', 'it-sk-da:3']), bbId);
  });

  it('loads an umoci image layout with a nested index and a bare tag (untagged by name)', { skip: has('umoci') ? false : 'umoci missing' }, async () => {
    const layout = file('umoci');
    let r = spawnSync('umoci', ['init', '--layout', layout], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    r = spawnSync('umoci', ['new', '--image', `${layout}:v1`], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    mkdirSync(file('umoci-bundle'));
    r = spawnSync('umoci', ['unpack', '--rootless', '--image', `${layout}:v1`, file('umoci-bundle/b')], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    spawnSync('tar', ['-xf', h.rootfsTar, '-C', file('umoci-bundle/b/rootfs')]);
    r = spawnSync('umoci', ['repack', '--image', `${layout}:v1`, file('umoci-bundle/b')], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    // wrap the index in a nested index naming the image, as containerd and buildx do
    const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8'));
    const inner = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: index.manifests.map((m: any) => ({ ...m, annotations: undefined, platform: { os: 'linux', architecture: 'amd64' } })) }));
    writeFileSync(join(layout, 'blobs/sha256', sha(inner).slice(7)), inner);
    writeFileSync(join(layout, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.index.v1+json', digest: sha(inner), size: inner.length, annotations: { 'io.containerd.image.name': 'docker.io/library/it-umoci:1' } }] }));
    spawnSync('tar', ['-C', layout, '-cf', file('umoci.tar'), '.']);
    created.add('it-umoci:1');
    assert.equal(await h.ok(['load', '-i', file('umoci.tar')]), 'Loaded image: it-umoci:1');
    assert.equal(await h.ok(['run', '--rm', 'it-umoci:1', 'echo', 'umoci']), 'umoci');
  });

  it('pier save output loads into the reference dockerd and runs there', { skip: refUp() ? false : 'reference dockerd not running' }, async () => {
    const a = `it-ref-${process.pid}:1`;
    created.add(a);
    await h.ok(['tag', h.image, a]);
    await h.ok(['save', '-o', file('ref.tar'), a]);
    const ref = (args: string[]) => spawnSync('docker', ['-H', REF, ...args], { encoding: 'utf8', timeout: 60_000 });
    try {
      const l = ref(['load', '-i', file('ref.tar')]);
      assert.equal(l.status, 0, l.stderr);
      assert.match(l.stdout, new RegExp(`Loaded image: ${a}`));
      assert.equal(ref(['image', 'inspect', '-f', '{{.Id}}', a]).stdout.trim(), bbId);
      const run = ref(['run', '--rm', '--network', 'none', a, 'echo', 'on-ref']);
      assert.equal(run.status, 0, run.stderr);
      assert.equal(run.stdout.trim(), 'on-ref');
      // and back: what dockerd 20.10 saves (legacy layout) loads into pier
      const s = ref(['save', '-o', file('from-ref.tar'), a]);
      assert.equal(s.status, 0, s.stderr);
    } finally {
      ref(['rmi', a]);
    }
    await h.ok(['rmi', a]);
    assert.equal(await h.ok(['load', '-i', file('from-ref.tar')]), `Loaded image: ${a}`);
    assert.equal(await h.ok(['image', 'inspect', '-f', '{{.Id}}', a]), bbId);
  });

  it('two images sharing a base store its layers once', { skip: requires('pier-only') }, async () => {
    const base = readFileSync(h.rootfsTar);
    const before = dirBytes(join(h.root!, 'snapshots', 'layers')) + dirBytes(join(h.root!, 'content'));
    const t1 = await dockerArchive({ layers: [base, await layerTar({ 'one.txt': 'one\n' })], tags: [img('share1')] });
    const t2 = await dockerArchive({ layers: [base, await layerTar({ 'two.txt': 'two\n' })], tags: [img('share2')] });
    await h.ok(['load'], { input: t1 });
    const mid = dirBytes(join(h.root!, 'snapshots', 'layers')) + dirBytes(join(h.root!, 'content'));
    await h.ok(['load'], { input: t2 });
    const after = dirBytes(join(h.root!, 'snapshots', 'layers')) + dirBytes(join(h.root!, 'content'));
    // the busybox base is already there (the harness imported it): neither load adds ~2 MB
    assert.ok(mid - before < 200_000, `first load added ${mid - before} bytes`);
    assert.ok(after - mid < 200_000, `second load added ${after - mid} bytes`);
    assert.equal(await h.ok(['run', '--rm', img('share2'), 'cat', '/two.txt']), 'two');
  });

  it('hostile archives fail clearly and leave nothing behind', { skip: requires('pier-only') }, async () => {
    const base = await layerTar({ 'f.txt': 'x\n' });
    const cases: Array<[string, Buffer, RegExp]> = [
      ['config path escaping', await dockerArchive({ layers: [base], tags: ['it-evil:1'], mutate: (m) => { m[0].Config = '../../etc/passwd'; } }), /points outside the archive/],
      ['absolute layer path', await dockerArchive({ layers: [base], tags: ['it-evil:1'], mutate: (m) => { m[0].Layers = ['/etc/shadow']; } }), /points outside the archive/],
      ['missing layer', await dockerArchive({ layers: [base], tags: ['it-evil:1'], skip: [`${sha(base).slice(7)}/layer.tar`] }), /not found in the archive/],
      ['wrong diff id', await dockerArchive({ layers: [base], tags: ['it-evil:1'], mutate: (_m, cfg) => { cfg.rootfs.diff_ids = [sha('other')]; } }), /digest mismatch|not found/],
      ['symlink out of the archive', await dockerArchive({ layers: [base], tags: ['it-evil:1'], mutate: (m) => { m[0].Layers = ['evil/layer.tar']; }, extra: [{ name: 'evil/layer.tar', type: 'symlink', linkname: '/etc/passwd' }] }), /points outside the archive/],
      ['not an image archive', await layerTar({ 'hello.txt': 'hi' }), /neither manifest.json nor index.json/],
      ['bad blob digest in an OCI layout', await tarBuffer([{ name: 'oci-layout', body: '{"imageLayoutVersion":"1.0.0"}' }, { name: `blobs/sha256/${'0'.repeat(64)}`, body: 'not it' }, { name: 'index.json', body: JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${'0'.repeat(64)}`, size: 6 }] }) }]), /digest mismatch/],
      ['digest used as a path', await tarBuffer([{ name: 'index.json', body: JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: 'sha256:../../../etc/passwd', size: 6 }] }) }]), /malformed digest/],
    ];
    const good = await dockerArchive({ layers: [base], tags: ['it-evil:1'] });
    cases.push(['truncated', good.subarray(0, 1500), /unexpected end of archive|not found|neither/]);
    cases.push(['gzip layer with a wrong diff id', await dockerArchive({ layers: [gzipSync(base)], tags: ['it-evil:1'], mutate: (_m, cfg) => { cfg.rootfs.diff_ids = [sha(gzipSync(base))]; } }), /digest mismatch/]);
    const blobsBefore = readdirSync(join(h.root!, 'content', 'blobs', 'sha256')).sort();
    const layersBefore = readdirSync(join(h.root!, 'snapshots', 'layers')).sort();
    const imagesBefore = await h.ok(['images', '-q', '--no-trunc']);
    for (const [what, tar, re] of cases) {
      const r = await h.docker(['load'], { input: tar });
      assert.notEqual(r.code, 0, `${what}: loaded?! ${r.stdout}`);
      assert.match(r.stderr, re, `${what}: ${r.stderr}`);
    }
    assert.deepEqual(readdirSync(join(h.root!, 'content', 'ingest')), []);
    assert.deepEqual(readdirSync(join(h.root!, 'content', 'blobs', 'sha256')).sort(), blobsBefore);
    assert.deepEqual(readdirSync(join(h.root!, 'snapshots', 'layers')).sort(), layersBefore);
    assert.equal(await h.ok(['images', '-q', '--no-trunc']), imagesBefore);
    // members in any order: manifest first works as well as last
    created.add('it-evil:1');
    assert.equal(await h.ok(['load'], { input: await dockerArchive({ layers: [base], tags: ['it-evil:1'], manifestFirst: true }) }), 'Loaded image: it-evil:1');
  });

  it('a 120-layer image loads, mounts (short links) and runs', { skip: requires('pier-only') }, async () => {
    const layers: Buffer[] = [readFileSync(h.rootfsTar)];
    for (let i = 1; i < 120; i++) layers.push(await layerTar({ [`deep/${String(i).padStart(3, '0')}`]: `${i}\n` }));
    const tag = img('deep');
    assert.equal(await h.ok(['load'], { input: await dockerArchive({ layers, tags: [tag] }), timeout: 120_000 }), `Loaded image: ${tag}`);
    assert.equal(await h.ok(['run', '--rm', tag, 'sh', '-c', 'ls /deep | wc -l; cat /deep/119']), '119\n119');
    const links = readdirSync(join(h.root!, 'snapshots', 'l'));
    assert.ok(links.length >= 120 && links.every((l) => /^[A-Z2-7]{26}$/.test(l)), links.slice(0, 3).join(' '));
    const hist = (await h.ok(['history', '-q', tag])).split('\n');
    assert.equal(hist.length, 120);
  });

  it('history: newest first, <missing> below the top, sizes, created-by, --no-trunc, --format', async () => {
    const tag = img('hist');
    const l1 = await layerTar({ 'a.txt': 'a'.repeat(1000) });
    await h.ok(['load'], { input: await dockerArchive({ layers: [l1, await layerTar({ 'b.txt': 'b'.repeat(2000) })], tags: [tag], mutate: (_m, cfg) => { cfg.history.splice(1, 0, { created: '2024-01-02T03:04:05Z', created_by: '/bin/sh -c #(nop)  ENV X=1', empty_layer: true }); cfg.history[2].comment = 'top'; } }) });
    const rows = (await h.ok(['history', '--format', '{{.ID}}|{{.CreatedBy}}|{{.Size}}|{{.Comment}}', tag])).split('\n');
    const id = (await h.ok(['image', 'inspect', '-f', '{{.Id}}', tag])).slice(7, 19);
    assert.deepEqual(rows, [`${id}|step 1|2kB|top`, '<missing>|/bin/sh -c #(nop)  ENV X=1|0B|', '<missing>|step 0|1kB|']);
    const table = (await h.ok(['history', tag])).split('\n');
    assert.match(table[0]!, /^IMAGE\s+CREATED\s+CREATED BY\s+SIZE\s+COMMENT$/);
    assert.match((await h.ok(['history', '--no-trunc', '-q', tag])).split('\n')[0]!, /^sha256:[0-9a-f]{64}$/);
    assert.match((await h.ok(['history', '-H=false', '--format', '{{.Size}} {{.CreatedSince}}', tag])).split('\n')[0]!, /^2000 2024-01-02T03:04:05Z$/);
  });

  it('image prune removes dangling images; -a removes unused ones; --filter label; system df counts', { skip: requires('pier-only') }, async () => {
    const dangling = await dockerArchive({ layers: [await layerTar({ 'd.txt': 'dangling' })], tags: [] });
    const loaded = await h.ok(['load'], { input: dangling });
    const danglingId = loaded.replace('Loaded image ID: ', '');
    const keep = img('keep');
    await h.ok(['load'], { input: await dockerArchive({ layers: [await layerTar({ 'k.txt': 'keep' })], tags: [keep], mutate: (_m, cfg) => { cfg.config.Labels = { keep: 'yes' }; } }) });
    const used = img('used');
    await h.ok(['tag', h.image, used]);
    const c = h.name('df');
    await h.ok(['create', '--name', c, used, 'true']);
    const out = await h.ok(['image', 'prune', '-f']);
    assert.match(out, new RegExp(`deleted: ${danglingId}`));
    assert.match(out, /Total reclaimed space: \d/);
    assert.equal((await h.docker(['image', 'inspect', danglingId])).code, 1);
    // df: the image with a container is active
    const df = await h.ok(['system', 'df']);
    assert.match(df, /^TYPE\s+TOTAL\s+ACTIVE\s+SIZE\s+RECLAIMABLE$/m);
    assert.match(df, /^Images\s+\d+\s+1\s+/m);
    assert.match(df, /^Containers\s+1\s+0\s+/m);
    const v = await h.ok(['system', 'df', '-v']);
    assert.match(v, /Images space usage:/);
    assert.match(v, new RegExp(`${c}`));
    // -a with a label filter only takes what matches; images used by containers stay
    const r = await h.ok(['image', 'prune', '-a', '-f', '--filter', 'label=keep=yes']);
    assert.match(r, new RegExp(`untagged: ${keep}`));
    assert.equal((await h.docker(['image', 'inspect', keep])).code, 1);
    assert.equal((await h.docker(['image', 'inspect', used])).code, 0);
    await h.cleanup();
  });
});

describe('vfs storage driver (copy snapshotter)', { skip: requires(...engineRequirements, 'pier-only') }, () => {
  let h: Engine;
  before(async () => { h = await startPierd({ args: ['--storage-driver', 'vfs'] }); });
  after(async () => { if (h) await h.stop(); });

  it('runs containers from a flattened copy, whiteouts applied, changes kept per container', async () => {
    assert.equal(await h.ok(['info', '-f', '{{.Driver}}']), 'vfs');
    const base = readFileSync(h.rootfsTar);
    const top = await tarBuffer([{ name: 'etc/.wh.hostname', body: '' }, { name: 'added.txt', body: 'added\n' }, { name: 'bin/.wh.vi', body: '' }]);
    const tar = await dockerArchive({ layers: [base, top], tags: ['it-vfs:1'] });
    assert.equal(await h.ok(['load'], { input: tar }), 'Loaded image: it-vfs:1');
    assert.equal(await h.ok(['run', '--rm', 'it-vfs:1', 'sh', '-c', 'cat /added.txt; test -e /bin/vi && echo vi || echo no-vi']), 'added\nno-vi');
    const c = h.name('vfs');
    await h.ok(['run', '--name', c, 'it-vfs:1', 'sh', '-c', 'echo mine > /mine.txt']);
    await h.ok(['start', '-a', c]);
    assert.equal(await h.ok(['run', '--rm', 'it-vfs:1', 'sh', '-c', 'test -e /mine.txt && echo leaked || echo clean']), 'clean');
    assert.ok(existsSync(join(h.root!, 'vfs', 'layers')));
    await h.cleanup();
    await h.ok(['rmi', 'it-vfs:1']);
  });
});
