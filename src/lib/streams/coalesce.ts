/**
 * Joins small chunks into chunks of at least `min` bytes (a chunk already that big passes
 * untouched). A socket hands a request body over in pieces of a few KiB; every stage after it
 * (tar parsing, hashing, tee, writes) pays per chunk, so one copy here costs less than their
 * per-chunk overhead.
 */
export async function* coalesce(source: AsyncIterable<Buffer>, min = 256 << 10): AsyncGenerator<Buffer, void, undefined> {
  let parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of source) {
    if (size === 0 && chunk.length >= min) {
      yield chunk;
      continue;
    }
    parts.push(chunk);
    size += chunk.length;
    if (size >= min) {
      const out = Buffer.concat(parts, size);
      parts = [];
      size = 0;
      yield out;
    }
  }
  if (size > 0) yield parts.length === 1 ? parts[0]! : Buffer.concat(parts, size);
}
