/**
 * The fallback when idmapped mounts do not work (old kernel, a filesystem without idmap
 * support): a copy of one layer whose owners are shifted into a user namespace's mapping,
 * made once per layer and mapping and shared by every container using that mapping.
 * `cp -a --reflink=auto` copies (sharing extents where the filesystem can), then every
 * path gets the shifted owner of its source; chown clears setuid/setgid bits and file
 * capabilities, so both are put back.
 */
import { execFile } from 'node:child_process';
import { chmod, lchown, lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { lgetxattr, lsetxattr } from '../../lib/sys/index.js';

const run = promisify(execFile);

export type OwnerMap = (uid: number, gid: number) => { uid: number; gid: number };

export async function shiftedCopy(src: string, dst: string, shift: OwnerMap): Promise<void> {
  try {
    await run('cp', ['-a', '--reflink=auto', '--', `${src}/.`, `${dst}/`], { maxBuffer: 1 << 20 });
  } catch (e) {
    throw new Error(`copy ${src} to ${dst}: ${((e as { stderr?: string }).stderr ?? (e as Error).message).trim()}`);
  }
  await shiftTree(src, dst, shift);
}

/** Owners by the source tree, so a hard-linked inode met twice is never shifted twice. */
async function shiftTree(src: string, dst: string, shift: OwnerMap): Promise<void> {
  const st = await lstat(src);
  const caps = st.isSymbolicLink() ? undefined : lgetxattr(src, 'security.capability');
  const o = shift(st.uid, st.gid);
  await lchown(dst, o.uid, o.gid);
  if (!st.isSymbolicLink() && st.mode & 0o6000) await chmod(dst, st.mode & 0o7777);
  if (caps) lsetxattr(dst, 'security.capability', caps);
  if (!st.isDirectory()) return;
  for (const name of await readdir(src)) await shiftTree(join(src, name), join(dst, name), shift);
}
