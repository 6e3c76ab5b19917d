/**
 * Splits one async byte stream into two that see the same chunks, so one pass over the
 * data can feed two consumers (a digest-checking blob writer and a layer extractor). The
 * faster branch waits once it is `highWater` chunks ahead; when either consumer fails or
 * stops early, the other branch fails too, so neither waits forever.
 */
/** Thrown into one branch because the other one's consumer failed or stopped early. */
export class TeeAbortedError extends Error {
  constructor() {
    super('the other reader of this stream stopped early');
    this.name = 'TeeAbortedError';
  }
}

export function tee(source: AsyncIterable<Buffer>, highWater = 16): [AsyncIterable<Buffer>, AsyncIterable<Buffer>] {
  const it = source[Symbol.asyncIterator]();
  const queues: Buffer[][] = [[], []];
  let done = false;
  let error: unknown;
  let pulling: Promise<void> | undefined;
  const waiters: Array<() => void> = [];
  const wake = (): void => { for (const w of waiters.splice(0)) w(); };

  const pull = (): Promise<void> => {
    pulling ??= (async () => {
      try {
        const r = await it.next();
        if (r.done) done = true;
        else for (const q of queues) q.push(r.value);
      } catch (e) {
        error ??= e;
      } finally {
        pulling = undefined;
        wake();
      }
    })();
    return pulling;
  };

  const fail = (why: unknown): void => {
    error ??= why;
    void it.return?.().catch(() => {});
    wake();
  };

  const branch = (i: 0 | 1): AsyncIterable<Buffer> => ({
    [Symbol.asyncIterator]() {
      const mine = queues[i]!;
      const other = queues[1 - i]!;
      let finished = false;
      return {
        async next(): Promise<IteratorResult<Buffer>> {
          for (;;) {
            if (error !== undefined) throw error;
            if (mine.length) { const v = mine.shift()!; wake(); return { value: v, done: false }; }
            if (done) return { value: undefined, done: true };
            if (other.length >= highWater) { await new Promise<void>((r) => waiters.push(r)); continue; }
            await pull();
          }
        },
        async return(): Promise<IteratorResult<Buffer>> {
          if (!finished && !done) fail(new TeeAbortedError());
          finished = true;
          return { value: undefined, done: true };
        },
        async throw(e: unknown): Promise<IteratorResult<Buffer>> {
          fail(e);
          throw e;
        },
      };
    },
  });
  return [branch(0), branch(1)];
}
