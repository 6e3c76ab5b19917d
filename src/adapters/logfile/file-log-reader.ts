/**
 * Reads conmon's k8s-file logs. Following uses inotify (fs.watch) with a slow poll as a
 * safety net; the same code serves `logs -f` and attach output, before and after a pierd
 * restart, since the file is the only source of output.
 */
import { open, stat } from 'node:fs/promises';
import { watch } from 'node:fs';
import type { LogReader } from '../../core/ports/index.js';
import { errnoCode } from '../../lib/errdefs.js';

const CHUNK = 256 * 1024;

export class FileLogReader implements LogReader {
  async size(path: string): Promise<number> {
    try { return (await stat(path)).size; } catch (e) { if (errnoCode(e) === 'ENOENT') return 0; throw e; }
  }

  async *lines(path: string, opts: { offset?: number; follow?: () => boolean; signal?: AbortSignal; wake?: Promise<unknown> }): AsyncIterable<Buffer> {
    let pos = opts.offset ?? 0;
    let rest: Buffer = Buffer.alloc(0);
    let fh: Awaited<ReturnType<typeof open>> | undefined;
    let wake: (() => void) | undefined;
    let changed = false;
    const poke = (): void => { changed = true; wake?.(); };
    let watcher: ReturnType<typeof watch> | undefined;
    const onAbort = (): void => poke();
    opts.signal?.addEventListener('abort', onAbort);
    opts.wake?.then(poke, poke);
    try {
      const buf = Buffer.allocUnsafe(CHUNK);
      for (;;) {
        if (opts.signal?.aborted) return;
        if (!fh) {
          try { fh = await open(path, 'r'); } catch (e) { if (errnoCode(e) !== 'ENOENT') throw e; }
          if (fh && opts.follow && !watcher) { try { watcher = watch(path, poke); } catch { /* poll */ } }
        }
        let n = 0;
        if (fh) {
          changed = false;
          n = (await fh.read(buf, 0, CHUNK, pos)).bytesRead;
        }
        if (n > 0) {
          pos += n;
          let data = rest.length ? Buffer.concat([rest, buf.subarray(0, n)]) : buf.subarray(0, n);
          let nl: number;
          let start = 0;
          while ((nl = data.indexOf(0x0a, start)) >= 0) {
            yield Buffer.from(data.subarray(start, nl));
            start = nl + 1;
          }
          rest = Buffer.from(data.subarray(start));
          data = Buffer.alloc(0);
          continue;
        }
        // At the end of the file.
        if (!opts.follow || !opts.follow()) {
          // One more look: the writer may have finished between our read and the check, or
          // created the file only after our last attempt to open it.
          if (!fh) { try { fh = await open(path, 'r'); } catch (e) { if (errnoCode(e) !== 'ENOENT') throw e; } }
          if (fh && (await fh.read(buf, 0, 1, pos)).bytesRead > 0) continue;
          return;
        }
        // Rotated away (pier renamed the file and conmon reopened a new one at the path):
        // the old file is drained, continue with the new one from its start.
        if (fh && (await rotatedAway(path, fh))) {
          await fh.close();
          fh = undefined;
          watcher?.close();
          watcher = undefined;
          pos = 0;
          continue;
        }
        if (!changed) {
          await new Promise<void>((resolve) => {
            wake = resolve;
            const t = setTimeout(resolve, watcher ? 250 : 50);
            t.unref?.();
          });
          wake = undefined;
        }
      }
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
      watcher?.close();
      await fh?.close();
    }
  }

  async tail(path: string, n: number): Promise<{ lines: Buffer[]; end: number }> {
    let fh;
    try { fh = await open(path, 'r'); } catch (e) { if (errnoCode(e) === 'ENOENT') return { lines: [], end: 0 }; throw e; }
    try {
      const size = (await fh.stat()).size;
      let pos = size;
      let data = Buffer.alloc(0);
      let count = 0;
      while (pos > 0) {
        const len = Math.min(CHUNK, pos);
        pos -= len;
        const b = Buffer.allocUnsafe(len);
        await fh.read(b, 0, len, pos);
        data = Buffer.concat([b, data]);
        count = 0;
        for (let i = 0; i < data.length - 1; i++) if (data[i] === 0x0a) count++;
        if (count >= n) break;
      }
      const all = data.toString('latin1').split('\n');
      if (all[all.length - 1] === '') all.pop();
      const take = all.slice(Math.max(0, all.length - n));
      return { lines: take.map((l) => Buffer.from(l, 'latin1')), end: size };
    } finally {
      await fh.close();
    }
  }
}

async function rotatedAway(path: string, fh: Awaited<ReturnType<typeof open>>): Promise<boolean> {
  try {
    const [now, mine] = await Promise.all([stat(path), fh.stat()]);
    return now.ino !== mine.ino;
  } catch {
    return false; // between the rename and conmon's reopen: keep reading the old one
  }
}
