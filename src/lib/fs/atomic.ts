/**
 * Atomic file replacement: write a temp file in the same directory, fsync, rename. A reader
 * (or a daemon restarted after kill -9) sees the old content or the new, never a half.
 */
import { open, rename, unlink, mkdir } from 'node:fs/promises';
import { dirname, join, basename } from 'node:path';
import { randomBytes } from 'node:crypto';

export async function writeFileAtomic(path: string, data: string | Buffer, opts: { mode?: number; fsync?: boolean } = {}): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const fh = await open(tmp, 'w', opts.mode ?? 0o600);
  try {
    await fh.writeFile(data);
    if (opts.fsync !== false) await fh.datasync();
  } finally {
    await fh.close();
  }
  try {
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => {});
    throw e;
  }
}

export async function writeJsonAtomic(path: string, value: unknown, opts: { fsync?: boolean } = {}): Promise<void> {
  await writeFileAtomic(path, JSON.stringify(value), opts);
}

export async function ensureDir(path: string, mode = 0o700): Promise<void> {
  await mkdir(path, { recursive: true, mode });
}

/** True for names our atomic writer leaves behind if killed before the rename. */
export const isAtomicTemp = (name: string): boolean => name.startsWith('.') && name.endsWith('.tmp');
