/**
 * Decodes a stream of concatenated JSON values (events, pull/import progress), with or without
 * newlines between them, as Go's json.Decoder does.
 */
import type { Readable } from 'node:stream';

export class JsonStreamDecoder {
  private buf = '';

  /** Returns the complete values found so far. */
  push(chunk: string): unknown[] {
    return this.pushRaw(chunk).map((t) => JSON.parse(t) as unknown);
  }

  /** Returns the text of each complete value found so far (for exact big integers). */
  pushRaw(chunk: string): string[] {
    this.buf += chunk;
    const out: string[] = [];
    let start = -1;
    let depth = 0;
    let inStr = false;
    let esc = false;
    let consumed = 0;
    for (let i = 0; i < this.buf.length; i++) {
      const c = this.buf[i];
      if (start < 0) {
        if (c === '{' || c === '[') {
          start = i;
          depth = 1;
        } else if (c !== undefined && /\S/.test(c)) {
          // scalar top-level values are not used by the Engine API streams; skip
          consumed = i + 1;
        }
        continue;
      }
      if (inStr) {
        if (esc) esc = false;
        else if (c === '\\') esc = true;
        else if (c === '"') inStr = false;
        continue;
      }
      if (c === '"') inStr = true;
      else if (c === '{' || c === '[') depth++;
      else if (c === '}' || c === ']') {
        depth--;
        if (depth === 0) {
          out.push(this.buf.slice(start, i + 1));
          start = -1;
          consumed = i + 1;
        }
      }
    }
    this.buf = start >= 0 ? this.buf.slice(start) : this.buf.slice(consumed);
    return out;
  }
}

/** Iterates the JSON values of a response body. */
export async function* readJsonStream<T = unknown>(body: Readable): AsyncGenerator<T> {
  const dec = new JsonStreamDecoder();
  body.setEncoding('utf8');
  for await (const chunk of body) {
    for (const v of dec.push(chunk as string)) yield v as T;
  }
}
