/**
 * Renders a JSON progress stream (pull, import) like docker's jsonmessage.DisplayJSONMessagesStream
 * when the output is not a terminal: `id: status` lines, progress bars skipped, `stream` text
 * verbatim, aux messages handed to a callback, an in-stream error thrown with its code.
 */
import type { Readable } from 'node:stream';
import type { JsonMessage } from '../../api/client-types.js';
import { readJsonStream } from '../../client/index.js';
import type { OutStream } from './command.js';

export class StreamMessageError extends Error {
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
    this.name = 'StreamMessageError';
  }
}

export async function displayJsonMessages(body: Readable, out: OutStream | undefined, onAux?: (aux: unknown) => void): Promise<void> {
  for await (const m of readJsonStream<JsonMessage>(body)) {
    if (m.errorDetail || m.error) {
      const msg = m.errorDetail?.message ?? m.error ?? '';
      throw new StreamMessageError(msg, m.errorDetail?.code || 1);
    }
    if (m.aux !== undefined) {
      onAux?.(m.aux);
      continue;
    }
    if (!out) continue;
    if (m.stream !== undefined) {
      out.write(m.stream);
      continue;
    }
    const detail = m.progressDetail;
    if (detail && (detail.current ?? 0) > 0 && !out.isTTY) continue;
    if (m.status === undefined && m.progress === undefined) continue;
    let line = '';
    if (m.id) line += `${m.id}: `;
    line += m.status ?? '';
    if (m.progress && out.isTTY) line += ` ${m.progress}`;
    out.write(`${line}\n`);
  }
}
