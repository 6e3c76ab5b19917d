import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsContentStore } from './fs-content-store.js';

const sha = (b: Buffer): string => 'sha256:' + createHash('sha256').update(b).digest('hex');

/** A fake source: yields `data` in pieces, each only when `step()` is called; records when it is first read. */
function gated(data: Buffer, pieces = 4, failAt?: number) {
  const waiters: Array<() => void> = [];
  let credits = 0;
  const state = { started: false, step: (n = 1) => { credits += n; for (const w of waiters.splice(0)) w(); } };
  const size = Math.ceil(data.length / pieces);
  const source: AsyncIterable<Buffer> = {
    async *[Symbol.asyncIterator]() {
      state.started = true;
      for (let i = 0; i < pieces; i++) {
        while (credits === 0) await new Promise<void>((r) => waiters.push(r));
        credits--;
        if (i === failAt) throw new Error('source broke');
        yield data.subarray(i * size, (i + 1) * size);
      }
    },
  };
  return { source, state };
}

const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 20));

describe('FsContentStore', () => {
  let root: string;
  let store: FsContentStore;
  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'pier-cs-'));
    store = await FsContentStore.open(root);
  });
  after(() => rmSync(root, { recursive: true, force: true }));
  const blobs = (): string[] => readdirSync(join(root, 'blobs', 'sha256'));
  const ingesting = (): string[] => readdirSync(join(root, 'ingest'));

  it('a put() killed before its rename leaves a temp file: list() never shows it and open() removes it', async () => {
    const hex = 'ab'.repeat(32);
    const tmp = `.${hex}.0123456789ab.tmp`;
    writeFileSync(join(root, 'blobs', 'sha256', tmp), 'half');
    assert.ok(!(await store.list()).some((d) => d.includes('tmp')));
    await FsContentStore.open(root);
    assert.ok(!blobs().includes(tmp));
  });

  it('two ingests of one digest at once share one write: the second waits, then only checks its data', async () => {
    const data = Buffer.alloc(4096, 7);
    const digest = sha(data);
    const a = gated(data);
    const b = gated(data);
    const first = store.ingest(a.source, { digest, size: data.length });
    a.state.step();
    await tick();
    const second = store.ingest(b.source, { digest, size: data.length });
    b.state.step(4);
    await tick();
    assert.equal(b.state.started, false, 'the second writer read its data while the first was writing');
    assert.equal(ingesting().length, 1);
    a.state.step(3);
    assert.deepEqual(await first, { digest, size: data.length });
    assert.deepEqual(await second, { digest, size: data.length });
    assert.equal(b.state.started, true);
    assert.deepEqual(blobs().filter((x) => `sha256:${x}` === digest).length, 1);
    assert.deepEqual(ingesting(), []);
    assert.deepEqual(readFileSync(store.path(digest)), data);
  });

  it('a waiting ingest takes over when the first writer fails', async () => {
    const data = Buffer.alloc(4096, 9);
    const digest = sha(data);
    const a = gated(data, 4, 2);
    const b = gated(data);
    const first = store.ingest(a.source, { digest });
    a.state.step();
    await tick();
    const second = store.ingest(b.source, { digest });
    b.state.step(4);
    a.state.step(2);
    await assert.rejects(first, /source broke/);
    assert.deepEqual(await second, { digest, size: data.length });
    assert.deepEqual(readFileSync(store.path(digest)), data);
    assert.deepEqual(ingesting(), []);
  });

  it('a second writer whose data is not the blob it claims fails, and the committed blob stays', async () => {
    const data = Buffer.alloc(4096, 3);
    const digest = sha(data);
    const a = gated(data);
    const b = gated(Buffer.alloc(4096, 4));
    const first = store.ingest(a.source, { digest });
    a.state.step();
    await tick();
    const second = store.ingest(b.source, { digest });
    b.state.step(4);
    a.state.step(3);
    await first;
    await assert.rejects(second, /digest mismatch/);
    assert.deepEqual(readFileSync(store.path(digest)), data);
    // an ingest of a digest already stored does not write it again either
    const c = gated(data);
    c.state.step(4);
    assert.deepEqual(await store.ingest(c.source, { digest }), { digest, size: data.length });
    assert.deepEqual(ingesting(), []);
  });

  it('ingest without an expected digest keeps a blob committed meanwhile; a wrong size never becomes visible', async () => {
    const data = Buffer.alloc(1000, 1);
    const a = gated(data, 2);
    a.state.step(2);
    const r = await store.ingest(a.source);
    assert.equal(r.digest, sha(data));
    const b = gated(data, 2);
    b.state.step(2);
    assert.deepEqual(await store.ingest(b.source), r);
    const c = gated(data, 2);
    c.state.step(2);
    await assert.rejects(store.ingest(c.source, { size: 999 }), /larger than its expected size/);
    assert.deepEqual(ingesting(), []);
  });
});
