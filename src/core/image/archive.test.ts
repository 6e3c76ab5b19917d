import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  archivePath, blobPath, descriptorName, digestOfBlobPath, historyRows, memberKey, parseDockerManifest, platformMatches,
  resolveOciIndex, saveManifest, saveMetadata, MEDIA, type Descriptor,
} from './archive.js';

const sha = (b: Buffer | string): string => 'sha256:' + createHash('sha256').update(b).digest('hex');
const D = (c: string): string => `sha256:${c.repeat(64)}`;

describe('archive paths', () => {
  it('memberKey() normalises names and drops those outside the archive', () => {
    assert.equal(memberKey('./a//b/'), 'a/b');
    assert.equal(memberKey('a/../b'), 'b');
    assert.equal(memberKey('/etc/passwd'), undefined);
    assert.equal(memberKey('../x'), undefined);
    assert.equal(memberKey('a/../../x'), undefined);
    assert.equal(memberKey('.'), undefined);
  });

  it('archivePath() rejects absolute paths and climbs out of the archive', () => {
    assert.equal(archivePath('./abc/layer.tar', 'layer'), 'abc/layer.tar');
    assert.throws(() => archivePath('../../etc/passwd', 'config'), /config path "..\/..\/etc\/passwd" points outside the archive/);
    assert.throws(() => archivePath('/etc/shadow', 'layer'), /points outside the archive/);
    assert.throws(() => archivePath('a/../../b', 'layer'), /points outside the archive/);
    assert.throws(() => archivePath(42, 'layer'), /has no path/);
  });

  it('blobPath() accepts only well-formed sha256 digests', () => {
    assert.equal(blobPath(D('a')), `blobs/sha256/${'a'.repeat(64)}`);
    assert.throws(() => blobPath('sha256:../../etc/passwd'), /malformed digest/);
    assert.throws(() => blobPath('sha512:' + 'a'.repeat(128)), /malformed digest/);
    assert.equal(digestOfBlobPath(`blobs/sha256/${'b'.repeat(64)}`), D('b'));
    assert.equal(digestOfBlobPath('blobs/sha256/short'), undefined);
  });
});

describe('parseDockerManifest()', () => {
  it('reads entries and checks every path', () => {
    const m = Buffer.from(JSON.stringify([{ Config: 'c.json', RepoTags: ['a:1'], Layers: ['x/layer.tar'] }, { Config: 'd.json', RepoTags: null, Layers: [] }]));
    assert.deepEqual(parseDockerManifest(m), [
      { configPath: 'c.json', layerPaths: ['x/layer.tar'], names: ['a:1'] },
      { configPath: 'd.json', layerPaths: [], names: [] },
    ]);
    assert.throws(() => parseDockerManifest(Buffer.from('{')), /manifest.json is not valid JSON/);
    assert.throws(() => parseDockerManifest(Buffer.from('{}')), /not a list/);
    assert.throws(() => parseDockerManifest(Buffer.from(JSON.stringify([{ Config: 'c', Layers: ['../l'] }]))), /outside the archive/);
  });
});

describe('resolveOciIndex()', () => {
  const manifest = (cfg: string, layers: string[]): Buffer => Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA.ociManifest, config: { digest: cfg }, layers: layers.map((digest) => ({ digest })) }));

  it('follows nested indexes, picks this platform, names from annotations, skips attestations', async () => {
    const mAmd = manifest(D('1'), [D('2')]);
    const mArm = manifest(D('3'), [D('4')]);
    const inner = Buffer.from(JSON.stringify({ manifests: [
      { mediaType: MEDIA.ociManifest, digest: sha(mAmd), platform: { os: 'linux', architecture: 'amd64' } },
      { mediaType: MEDIA.ociManifest, digest: sha(mArm), platform: { os: 'linux', architecture: 'arm64' } },
      { mediaType: MEDIA.ociManifest, digest: D('9'), platform: { os: 'unknown', architecture: 'unknown' } },
    ] }));
    const blobs = new Map([[sha(mAmd), mAmd], [sha(mArm), mArm], [sha(inner), inner]]);
    const index = Buffer.from(JSON.stringify({ manifests: [{ mediaType: MEDIA.ociIndex, digest: sha(inner), annotations: { 'io.containerd.image.name': 'docker.io/library/x:1' } }] }));
    const plans = await resolveOciIndex(index, 'amd64', async (d: Descriptor) => blobs.get(d.digest)!);
    assert.deepEqual(plans, [{ configPath: blobPath(D('1')), layerPaths: [blobPath(D('2'))], names: ['docker.io/library/x:1'] }]);
  });

  it('merges tags of one config; a bare ref.name is only a tag', async () => {
    const m = manifest(D('1'), []);
    const index = Buffer.from(JSON.stringify({ manifests: [
      { mediaType: MEDIA.ociManifest, digest: sha(m), annotations: { 'org.opencontainers.image.ref.name': 'a:1' } },
      { mediaType: MEDIA.ociManifest, digest: sha(m), annotations: { 'org.opencontainers.image.ref.name': 'b:2' } },
      { mediaType: MEDIA.ociManifest, digest: sha(m), annotations: { 'org.opencontainers.image.ref.name': 'latest' } },
    ] }));
    const plans = await resolveOciIndex(index, 'amd64', async () => m);
    assert.deepEqual(plans[0]!.names, ['a:1', 'b:2']);
    assert.equal(descriptorName({ digest: D('1'), annotations: { 'org.opencontainers.image.ref.name': 'v1' } }), undefined);
    assert.equal(platformMatches({ os: 'windows', architecture: 'amd64' }, 'amd64'), false);
    assert.equal(platformMatches(undefined, 'arm64'), true);
  });

  it('refuses indexes nested without end', async () => {
    const self: Buffer = Buffer.from(JSON.stringify({ manifests: [{ mediaType: MEDIA.ociIndex, digest: D('5') }] }));
    await assert.rejects(resolveOciIndex(self, 'amd64', async () => self), /nested too deep/);
  });
});

describe('save metadata', () => {
  it('writes an OCI manifest, an index with both name annotations, manifest.json and repositories', () => {
    const img = { id: D('c'), configSize: 10, layers: [{ digest: D('1'), size: 1024 }], tags: [{ familiar: 'bb:1', canonical: 'docker.io/library/bb:1', tag: '1', repo: 'bb' }] };
    const man = saveManifest(img);
    const parsed = JSON.parse(man.toString());
    assert.equal(parsed.config.digest, D('c'));
    assert.deepEqual(parsed.layers, [{ mediaType: MEDIA.ociLayer, digest: D('1'), size: 1024 }]);
    const meta = saveMetadata([{ ...img, manifestDigest: sha(man), manifestSize: man.length }, { ...img, id: D('d'), tags: [], manifestDigest: D('e'), manifestSize: 5 }]);
    const index = JSON.parse(meta.index.toString());
    assert.deepEqual(index.manifests[0].annotations, { 'io.containerd.image.name': 'docker.io/library/bb:1', 'org.opencontainers.image.ref.name': '1' });
    assert.equal(index.manifests[1].annotations, undefined);
    assert.deepEqual(JSON.parse(meta.manifest.toString()), [
      { Config: blobPath(D('c')), RepoTags: ['bb:1'], Layers: [blobPath(D('1'))] },
      { Config: blobPath(D('d')), RepoTags: null, Layers: [blobPath(D('1'))] },
    ]);
    assert.deepEqual(JSON.parse(meta.repositories.toString()), { bb: { 1: 'c'.repeat(64) } });
  });
});

describe('historyRows()', () => {
  it('is newest first, gives empty layers 0 B, and only the top row the ID and tags', () => {
    const rows = historyRows({
      id: D('f'), tags: ['x:1'], layerSizes: [100, 200],
      history: [{ created: '2024-01-01T00:00:00Z', created_by: 'a' }, { created_by: 'env', empty_layer: true }, { created_by: 'b', comment: 'c' }],
    });
    assert.deepEqual(rows.map((r) => [r.id, r.createdBy, r.size, r.tags]), [[D('f'), 'b', 200, ['x:1']], ['<missing>', 'env', 0, []], ['<missing>', 'a', 100, []]]);
    assert.equal(rows[2]!.created, 1704067200);
  });

  it('makes one row per layer when the config has no history', () => {
    const rows = historyRows({ id: D('f'), tags: [], layerSizes: [1, 2], history: undefined, created: '2024-01-01T00:00:00Z' });
    assert.deepEqual(rows.map((r) => [r.id, r.size]), [[D('f'), 2], ['<missing>', 1]]);
  });
});
