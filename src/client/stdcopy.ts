/**
 * Demultiplexing of the 8-byte-header frames the daemon uses for non-TTY attach, exec and logs:
 * byte 0 = stream (0 stdin written as stdout, 1 stdout, 2 stderr, 3 system error), bytes 4-7 =
 * big-endian payload length. Incremental: feed chunks as they arrive.
 */

export interface DemuxSinks {
  stdout(chunk: Buffer): void;
  stderr(chunk: Buffer): void;
}

export class StreamDemuxer {
  private pending: Buffer = Buffer.alloc(0);

  constructor(private readonly sinks: DemuxSinks) {}

  /** Throws on a system-error frame or an unknown stream byte, like docker's StdCopy. */
  push(chunk: Buffer): void {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    for (;;) {
      if (this.pending.length < 8) return;
      const kind = this.pending[0] as number;
      const size = this.pending.readUInt32BE(4);
      if (this.pending.length < 8 + size) return;
      const payload = this.pending.subarray(8, 8 + size);
      this.pending = this.pending.subarray(8 + size);
      switch (kind) {
        case 0:
        case 1:
          if (payload.length) this.sinks.stdout(payload);
          break;
        case 2:
          if (payload.length) this.sinks.stderr(payload);
          break;
        case 3:
          throw new Error(`error from daemon in stream: ${payload.toString()}`);
        default:
          throw new Error(`Unrecognized input header: ${kind}`);
      }
    }
  }

  /** bytes of an incomplete frame left at the end of the stream */
  get leftover(): number {
    return this.pending.length;
  }
}

/** Builds one frame (tests and fakes). */
export function encodeFrame(stream: 0 | 1 | 2 | 3, payload: Buffer | string): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const head = Buffer.alloc(8);
  head[0] = stream;
  head.writeUInt32BE(body.length, 4);
  return Buffer.concat([head, body]);
}
