/**
 * Compression sniffing for layer and archive streams: gzip is undone transparently, the other
 * formats image layers may use are recognised and refused with a clear message.
 */
import { EngineError } from '../errdefs.js';
import { gunzip, type GunzipOptions } from './gunzip.js';
import type { TarSource } from './tar-reader.js';

export type Compression = 'none' | 'gzip' | 'zstd' | 'bzip2' | 'xz';

/** Identifies a compression format by its magic number (needs the first 6 bytes). */
export function detectCompression(head: Buffer): Compression {
  const starts = (...bytes: number[]): boolean => bytes.every((b, i) => head[i] === b);
  if (starts(0x1f, 0x8b)) return 'gzip';
  if (starts(0x28, 0xb5, 0x2f, 0xfd)) return 'zstd';
  if (starts(0x42, 0x5a, 0x68)) return 'bzip2'; // "BZh"
  if (starts(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00)) return 'xz';
  return 'none';
}

function toBuffer(chunk: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  if (typeof chunk === 'string') return Buffer.from(chunk, 'latin1');
  throw new TypeError('stream yielded a chunk that is not bytes');
}

/**
 * Returns the stream's bytes, gunzipped if they start with the gzip magic. zstd, bzip2 and xz
 * throw `invalid-argument` "unsupported compression: <format>"; a corrupt or truncated gzip
 * stream throws `invalid-argument` "invalid gzip stream: ...". `opts`: see GunzipOptions.
 */
export async function* maybeDecompress(source: TarSource, opts: GunzipOptions = {}): AsyncGenerator<Buffer, void, undefined> {
  const it = (source as AsyncIterable<unknown>)[Symbol.asyncIterator]();
  const head: Buffer[] = [];
  let headLength = 0;
  let ended = false;
  try {
    while (headLength < 6) {
      const r = await it.next();
      if (r.done) {
        ended = true;
        break;
      }
      const b = toBuffer(r.value);
      head.push(b);
      headLength += b.length;
    }
    const first = Buffer.concat(head);
    const kind = detectCompression(first);
    if (kind !== 'none' && kind !== 'gzip') {
      throw new EngineError('invalid-argument', `unsupported compression: ${kind} (only gzip and uncompressed archives are supported)`, { code: 'ERR_TAR_COMPRESSION' });
    }
    async function* all(): AsyncGenerator<Buffer> {
      if (first.length > 0) yield first;
      while (!ended) {
        const r = await it.next();
        if (r.done) break;
        yield toBuffer(r.value);
      }
    }
    if (kind === 'none') {
      yield* all();
      return;
    }
    yield* gunzip(all(), opts);
  } finally {
    await it.return?.();
  }
}
