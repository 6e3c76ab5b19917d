/**
 * Test fixtures for the tar tests (imported by *.test.ts only): archives in memory, a
 * sandbox with a target dir and watched files around it, and a tree snapshot to prove that
 * nothing outside the target changed.
 */
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { encodeBlock, type BlockFields } from './header.js';
import { readTar, type TarEntry } from './tar-reader.js';
import { packTar, type TarWriterEntry } from './tar-writer.js';
import { extractTar, type ExtractOptions, type ExtractStats } from './extract-tar.js';

export async function collect(stream: AsyncIterable<Buffer | Uint8Array | string>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(Buffer.isBuffer(c) ? c : Buffer.from(c as Uint8Array));
  return Buffer.concat(parts);
}

export const archive = (entries: TarWriterEntry[]): Promise<Buffer> => collect(packTar(entries));

/** Yields `buf` in pieces of `size` bytes (streaming edge cases). */
export async function* chunked(buf: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

export interface ReadEntry extends Omit<TarEntry, 'body' | 'buffer'> {
  data: Buffer;
}

export async function readAll(source: AsyncIterable<Buffer> | Buffer): Promise<ReadEntry[]> {
  const out: ReadEntry[] = [];
  const src = Buffer.isBuffer(source) ? chunked(source, 4096) : source;
  for await (const e of readTar(src)) {
    const { body: _b, buffer: _f, ...rest } = e;
    out.push({ ...rest, data: await e.buffer() });
  }
  return out;
}

/** A raw header block, for archives our writer would not produce. */
export function rawBlock(f: Partial<BlockFields> & { name: string }): Buffer {
  return encodeBlock({
    typeflag: '0', mode: 0o644, uid: 0, gid: 0, size: 0, mtime: 1_700_000_000, linkname: '',
    devmajor: 0, devminor: 0, uname: '', gname: '', ...f,
  });
}

export const pad = (data: Buffer): Buffer => Buffer.concat([data, Buffer.alloc((512 - (data.length % 512)) % 512)]);
export const END = Buffer.alloc(1024);

export interface Sandbox {
  base: string;
  target: string;
  /** A directory next to the target, full of things an attack would like to change. */
  outside: string;
  /** A file next to the target. */
  sentinel: string;
  /** Asserts (by throwing) that nothing outside the target changed. */
  assertOutsideUnchanged(): void;
  extract(entries: TarWriterEntry[] | Buffer, opts?: ExtractOptions): Promise<ExtractStats>;
  cleanup(): void;
}

/** A listing of a tree with type, mode, owner, size, mtime, content and link target of every node. */
export function snapshotTree(dir: string): string {
  const lines: string[] = [];
  const walk = (p: string, rel: string): void => {
    const st = lstatSync(p);
    let extra = '';
    if (st.isSymbolicLink()) extra = `-> ${readlinkSync(p)}`;
    else if (st.isFile()) extra = readFileSync(p).toString('base64');
    lines.push(`${rel} ${st.mode.toString(8)} ${st.uid}:${st.gid} ${st.size} ${st.mtimeMs} ${st.nlink} ${extra}`);
    if (st.isDirectory()) for (const n of readdirSync(p).sort()) walk(join(p, n), `${rel}/${n}`);
  };
  walk(dir, '.');
  return lines.join('\n');
}

export function sandbox(): Sandbox {
  const base = mkdtempSync(join(tmpdir(), 'pier-tar-'));
  const target = join(base, 'target');
  const outside = join(base, 'outside');
  const sentinel = join(base, 'sentinel');
  mkdirSync(target);
  mkdirSync(join(outside, 'sub'), { recursive: true });
  writeFileSync(join(outside, 'sub', 'keep'), 'outside data\n');
  writeFileSync(join(outside, 'passwd'), 'root:x:0:0\n', { mode: 0o644 });
  writeFileSync(sentinel, 'sentinel\n', { mode: 0o600 });
  const before = snapshotOutside();
  function snapshotOutside(): string {
    return [snapshotTree(outside), snapshotTree(sentinel), readdirSync(base).sort().join(',')].join('\n');
  }
  return {
    base, target, outside, sentinel,
    assertOutsideUnchanged() {
      const after = snapshotOutside();
      if (after !== before) throw new Error(`something outside the target changed:\n--- before\n${before}\n--- after\n${after}`);
    },
    async extract(entries, opts = {}) {
      const buf = Buffer.isBuffer(entries) ? entries : await archive(entries);
      return extractTar(readTar(chunked(buf, 1000)), target, opts);
    },
    cleanup() {
      rmSync(base, { recursive: true, force: true });
    },
  };
}

export function run(cmd: string, args: string[], opts: { cwd?: string; input?: Buffer } = {}): Buffer {
  const r = spawnSync(cmd, args, { cwd: opts.cwd, input: opts.input, maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr?.toString()}`);
  return r.stdout;
}
