// The image store under concurrency and crashes, through the real docker CLI: two loads of one
// archive at once share the blob writes and both succeed; a pierd killed (kill -9) during a
// load or a commit leaves, after its next start, no blob, layer or container snapshot that no
// record references, and no ingest or staging leftovers.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startPierd, requires, engineRequirements, waitFor, type Engine } from './harness.js';
import { tarChunks, type TarWriterEntry } from '../../src/lib/tar/index.js';

const sha = (b: Buffer | string): string => 'sha256:' + createHash('sha256').update(b).digest('hex');

async function tarBuffer(entries: TarWriterEntry[]): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of tarChunks(entries)) parts.push(c);
  return Buffer.concat(parts);
}

/** A docker-archive (legacy layout) of `n` layers of `mb` MiB of random bytes each, on top of `base`. */
async function bigArchive(base: Buffer, n: number, mb: number, tag: string): Promise<Buffer> {
  const layers = [base];
  for (let i = 0; i < n; i++) layers.push(await tarBuffer([{ name: `data/blob${i}`, body: randomBytes(mb << 20), mtime: 0 }]));
  const diffIds = layers.map((l) => sha(l));
  const cfg = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', created: '2024-01-02T03:04:05Z', config: { Cmd: ['sh'] }, rootfs: { type: 'layers', diff_ids: diffIds } }));
  const manifest = [{ Config: `${sha(cfg).slice(7)}.json`, RepoTags: [tag], Layers: diffIds.map((d) => `${d.slice(7)}/layer.tar`) }];
  return tarBuffer([
    ...layers.map((l, i) => ({ name: `${diffIds[i]!.slice(7)}/layer.tar`, body: l })),
    { name: `${sha(cfg).slice(7)}.json`, body: cfg },
    { name: 'manifest.json', body: JSON.stringify(manifest) },
  ]);
}

const chainOf = (diffIds: string[]): string[] => {
  const out: string[] = [];
  for (const d of diffIds) out.push(out.length === 0 ? d : sha(`${out[out.length - 1]} ${d}`));
  return out;
};

describe('image store: concurrent writers and crashes', { skip: requires(...engineRequirements, 'pier-only') }, () => {
  let h: Engine;
  let base: Buffer;
  before(async () => {
    h = await startPierd();
    base = readFileSync(h.rootfsTar);
  });
  after(async () => {
    if (!h) return;
    await h.cleanup();
    await h.stop();
  });

  const dir = (...p: string[]): string[] => (existsSync(join(h.root!, ...p)) ? readdirSync(join(h.root!, ...p)).sort() : []);
  const blobs = (): string[] => dir('content', 'blobs', 'sha256');
  const layers = (): string[] => dir('snapshots', 'layers');

  /** Blobs and layers on disk are exactly what the images reference; nothing half-written is left. */
  async function assertOnlyReferenced(what: string): Promise<void> {
    const ids = (await h.ok(['images', '-a', '-q', '--no-trunc'])).split('\n').filter(Boolean);
    const wantBlobs = new Set<string>();
    const wantLayers = new Set<string>();
    for (const id of new Set(ids)) {
      const diffIds = JSON.parse(await h.ok(['image', 'inspect', '-f', '{{json .RootFS.Layers}}', id])) as string[];
      wantBlobs.add(id.slice(7));
      for (const d of diffIds) wantBlobs.add(d.slice(7));
      for (const c of chainOf(diffIds)) wantLayers.add(c.slice(7));
    }
    assert.deepEqual(blobs(), [...wantBlobs].sort(), `${what}: blobs`);
    assert.deepEqual(layers(), [...wantLayers].sort(), `${what}: layers`);
    assert.deepEqual(dir('content', 'ingest'), [], `${what}: ingest leftovers`);
    assert.deepEqual(dir('snapshots', 'tmp'), [], `${what}: staging leftovers`);
  }

  it('two concurrent loads of one archive both succeed, store each blob once and leave nothing behind', async () => {
    const tag = `it-conc-${process.pid}:1`;
    const legacy = join(h.tmp, 'conc-legacy.tar');
    writeFileSync(legacy, await bigArchive(base, 3, 16, tag));
    // the legacy layout (digests learnt while writing) ...
    const [a, b] = await Promise.all([h.docker(['load', '-i', legacy], { timeout: 120_000 }), h.docker(['load', '-i', legacy], { timeout: 120_000 })]);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.code, 0, b.stderr);
    assert.equal(a.stdout.trim(), `Loaded image: ${tag}`);
    assert.equal(b.stdout.trim(), `Loaded image: ${tag}`);
    await assertOnlyReferenced('legacy layout');
    // ... and pier's own save output (blobs named by digest: the second writer waits for the first)
    const saved = join(h.tmp, 'conc-saved.tar');
    await h.ok(['save', '-o', saved, tag]);
    await h.ok(['rmi', tag]);
    const [c, d] = await Promise.all([h.docker(['load', '-i', saved], { timeout: 120_000 }), h.docker(['load', '-i', saved], { timeout: 120_000 })]);
    assert.equal(c.code, 0, c.stderr);
    assert.equal(d.code, 0, d.stderr);
    await assertOnlyReferenced('blobs layout');
    assert.equal(await h.ok(['run', '--rm', '--network', 'none', tag, 'sh', '-c', 'ls /data | wc -l']), '3');
    await h.ok(['rmi', tag]);
    await assertOnlyReferenced('after rmi');
  });

  it('a pierd killed during a load leaves nothing unreferenced after its next start', async () => {
    const tag = `it-crashload-${process.pid}:1`;
    const file = join(h.tmp, 'crash-load.tar');
    writeFileSync(file, await bigArchive(base, 6, 24, tag));
    const blobsBefore = blobs();
    const p = h.spawn(['load', '-i', file]);
    // killed once the load has committed a blob of its own and is writing more
    await waitFor(() => blobs().length > blobsBefore.length && (dir('content', 'ingest').length > 0 || dir('snapshots', 'tmp').length > 0), { timeout: 60_000, interval: 10, message: 'the load never committed a blob' });
    await h.kill9();
    await p.kill('SIGKILL').catch(() => undefined);
    const left = blobs().filter((b) => !blobsBefore.includes(b));
    assert.ok(left.length > 0, 'the kill left no blob to collect');
    await h.restart();
    assert.equal((await h.docker(['image', 'inspect', tag])).code, 1, 'a half-loaded image is visible');
    await assertOnlyReferenced('after a killed load');
    // the next try works
    assert.equal(await h.ok(['load', '-q', '-i', file], { timeout: 120_000 }), `Loaded image: ${tag}`);
    await h.ok(['rmi', tag]);
  });

  it('a pierd killed during a commit of a big upper dir leaves nothing unreferenced after its next start', async () => {
    const n = h.name('crashcommit');
    await h.ok(['run', '-d', '--network', 'none', '--name', n, h.image, 'sh', '-c', 'for i in 1 2 3 4 5 6; do head -c 25165824 /dev/urandom > /big$i; done; touch /done; sleep 600']);
    await waitFor(async () => (await h.docker(['exec', n, 'test', '-e', '/done'])).code === 0, { timeout: 60_000, interval: 200 });
    const before = (await h.ok(['images', '-a', '-q', '--no-trunc'])).split('\n').filter(Boolean);
    const blobsBefore = blobs();
    const p = h.spawn(['commit', n, `it-crashcommit-${process.pid}:1`]);
    // killed while the new layer is written or unpacked
    await waitFor(() => dir('content', 'ingest').length > 0 || dir('snapshots', 'tmp').length > 0, { timeout: 60_000, interval: 5, message: 'the commit never started writing' });
    await new Promise((r) => setTimeout(r, 300));
    await h.kill9();
    await p.kill('SIGKILL').catch(() => undefined);
    const leftover = blobs().length - blobsBefore.length + dir('content', 'ingest').length + dir('snapshots', 'tmp').length;
    assert.ok(leftover > 0, 'the kill left nothing to collect');
    // as a create killed between making its snapshot and recording the container would leave it
    mkdirSync(join(h.root!, 'snapshots', 'containers', 'it-orphan', 'upper'), { recursive: true });
    await h.restart();
    assert.deepEqual(dir('snapshots', 'containers').filter((k) => k === 'it-orphan'), []);
    const id = await h.ok(['inspect', '-f', '{{.Id}}', n]);
    assert.ok(dir('snapshots', 'containers').includes(id), 'the container lost its snapshot');
    const after = (await h.ok(['images', '-a', '-q', '--no-trunc'])).split('\n').filter(Boolean);
    // either the commit finished before the kill (a whole image) or nothing was recorded
    for (const id of after.filter((i) => !before.includes(i))) {
      assert.equal(await h.ok(['run', '--rm', '--network', 'none', id, 'ls', '/big6']), '/big6');
      await h.ok(['rmi', id]);
    }
    await assertOnlyReferenced('after a killed commit');
    if ((await h.ok(['inspect', '-f', '{{.State.Status}}', n])) === 'paused') await h.ok(['unpause', n]);
    await h.ok(['rm', '-f', n]);
  });
});
