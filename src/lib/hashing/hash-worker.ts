/** The worker side of BackgroundHash: one crypto Hash per id. */
import { createHash, type Hash } from 'node:crypto';
import { parentPort } from 'node:worker_threads';

type Msg = { op: 'start' | 'update' | 'digest' | 'drop'; id: number; algorithm?: string; data?: Uint8Array };

const hashes = new Map<number, Hash>();
parentPort!.on('message', (m: Msg) => {
  try {
    if (m.op === 'start') hashes.set(m.id, createHash(m.algorithm ?? 'sha256'));
    const h = hashes.get(m.id);
    if (m.op === 'drop') { hashes.delete(m.id); return; }
    if (!h) throw new Error(`unknown hash ${m.id}`);
    if (m.data) h.update(m.data);
    if (m.op === 'digest') {
      hashes.delete(m.id);
      parentPort!.postMessage({ id: m.id, hex: h.digest('hex') });
    }
  } catch (e) {
    hashes.delete(m.id);
    parentPort!.postMessage({ id: m.id, error: (e as Error).message });
  }
});
