/**
 * The few libc calls Node lacks (mount, umount2, mknod, setxattr, SOCK_SEQPACKET sockets),
 * through koffi's prebuilt FFI. Loaded lazily: the CLI never pays for it.
 *
 * Every wrapper throws a Node-style error (`code` = 'EPERM', 'ENOENT'...) on failure, so
 * callers handle them like fs errors.
 */
import { createRequire } from 'node:module';
import { constants as osConstants } from 'node:os';

type Fn = (...args: unknown[]) => number;
interface Libc {
  mount: Fn; umount2: Fn; openTree: Fn; mountSetattr: Fn; moveMount: Fn; mknod: Fn; lsetxattr: Fn; lgetxattr: Fn; llistxattr: Fn; socket: Fn; connect: Fn; write: Fn; close: Fn;
  errnoLocation: () => unknown; decodeInt: (p: unknown) => number; sockaddrUn: unknown;
}
let libc: Libc | undefined;

/** A libc function that may be missing: calling it then throws ENOSYS. */
function optional(lib: { func(sig: string): Fn }, sig: string): Fn {
  try {
    return lib.func(sig);
  } catch {
    return () => { throw Object.assign(new Error(`${sig.split('(')[0]} is not in this libc`), { code: 'ENOSYS' }); };
  }
}

function load(): Libc {
  if (libc) return libc;
  const require = createRequire(import.meta.url);
  const koffi = require('koffi');
  const lib = koffi.load('libc.so.6');
  const sockaddrUn = koffi.struct('sockaddr_un_pier', { sun_family: 'uint16', sun_path: koffi.array('char', 108) });
  koffi.struct('mount_attr_pier', { attr_set: 'uint64', attr_clr: 'uint64', propagation: 'uint64', userns_fd: 'uint64' });
  libc = {
    mount: lib.func('int mount(const char *src, const char *target, const char *fstype, unsigned long flags, const char *data)'),
    umount2: lib.func('int umount2(const char *target, int flags)'),
    // glibc ≥ 2.36 wraps the new mount API (Debian 12 has 2.36); older ones lack the symbols.
    openTree: optional(lib, 'int open_tree(int dfd, const char *path, unsigned int flags)'),
    mountSetattr: optional(lib, 'int mount_setattr(int dfd, const char *path, unsigned int flags, mount_attr_pier *attr, size_t size)'),
    moveMount: optional(lib, 'int move_mount(int from_dfd, const char *from_path, int to_dfd, const char *to_path, unsigned int flags)'),
    mknod: lib.func('int mknod(const char *path, uint32 mode, uint64 dev)'),
    lsetxattr: lib.func('int lsetxattr(const char *path, const char *name, const void *value, size_t size, int flags)'),
    lgetxattr: lib.func('long lgetxattr(const char *path, const char *name, void *value, size_t size)'),
    llistxattr: lib.func('long llistxattr(const char *path, void *list, size_t size)'),
    socket: lib.func('int socket(int domain, int type, int protocol)'),
    connect: lib.func('int connect(int fd, const sockaddr_un_pier *addr, uint32 len)'),
    write: lib.func('long write(int fd, const void *buf, size_t count)'),
    close: lib.func('int close(int fd)'),
    errnoLocation: lib.func('int *__errno_location()'),
    decodeInt: (p: unknown) => koffi.decode(p, 'int') as number,
    sockaddrUn,
  };
  return libc;
}

const errnoNames = new Map<number, string>(
  Object.entries(osConstants.errno).map(([name, num]) => [num as number, name]),
);

function errno(l: Libc): number {
  return l.decodeInt(l.errnoLocation());
}

function fail(l: Libc, syscall: string, path?: string): never {
  const num = errno(l);
  const code = errnoNames.get(num) ?? `E${num}`;
  const err = new Error(`${syscall} ${path ?? ''}: ${code}`.replace(/ :/, ':')) as NodeJS.ErrnoException;
  err.code = code;
  err.errno = -num;
  err.syscall = syscall;
  if (path) err.path = path;
  throw err;
}

export const MS_RDONLY = 0x1;
export const MS_NOSUID = 0x2;
export const MS_NODEV = 0x4;
export const MS_BIND = 0x1000;
export const MS_REC = 0x4000;
export const MS_PRIVATE = 0x40000;
export const MNT_DETACH = 0x2;

export function mount(opts: { source: string; target: string; fstype: string; flags?: number; data?: string }): void {
  const l = load();
  if (l.mount(opts.source, opts.target, opts.fstype, opts.flags ?? 0, opts.data ?? null) !== 0) fail(l, 'mount', opts.target);
}

export function umount(target: string, flags = 0): void {
  const l = load();
  if (l.umount2(target, flags) !== 0) fail(l, 'umount2', target);
}

/** Lazily detaches `target`; a path that is not a mount point or does not exist is fine. */
export function unmountIfMounted(target: string): void {
  try {
    umount(target, MNT_DETACH);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'ENOENT') throw e;
  }
}

const AT_FDCWD = -100;
const AT_EMPTY_PATH = 0x1000;
const OPEN_TREE_CLONE = 0x1;
const OPEN_TREE_CLOEXEC = 0o2000000;
const MOUNT_ATTR_IDMAP = 0x00100000;
const MOVE_MOUNT_F_EMPTY_PATH = 0x4;

/**
 * An idmapped bind mount of `source` at `target` (open_tree + mount_setattr(MOUNT_ATTR_IDMAP)
 * + move_mount): files appear owned through the mapping of the user namespace `usernsFd`,
 * nothing on disk changes. Needs Linux ≥ 5.12 and a filesystem that supports it.
 */
export function idmappedBindMount(source: string, target: string, usernsFd: number): void {
  const l = load();
  const fd = l.openTree(AT_FDCWD, source, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
  if (fd < 0) fail(l, 'open_tree', source);
  try {
    if (l.mountSetattr(fd, '', AT_EMPTY_PATH, { attr_set: MOUNT_ATTR_IDMAP, attr_clr: 0, propagation: 0, userns_fd: usernsFd }, 32) !== 0) fail(l, 'mount_setattr', source);
    if (l.moveMount(fd, '', AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) !== 0) fail(l, 'move_mount', target);
  } finally {
    l.close(fd);
  }
}

export function mknod(path: string, mode: number, dev: number): void {
  const l = load();
  if (l.mknod(path, mode, dev) !== 0) fail(l, 'mknod', path);
}

/** makedev(3) for Linux's encoding of major/minor numbers. */
export function makedev(major: number, minor: number): number {
  return ((major & 0xfff) << 8) | (minor & 0xff) | ((minor & 0xfff00) << 12) | (Math.floor(major / 0x1000) * 2 ** 32);
}

export function lsetxattr(path: string, name: string, value: Buffer): void {
  const l = load();
  if (l.lsetxattr(path, name, value, value.length, 0) !== 0) fail(l, 'lsetxattr', path);
}

const XATTR_MISSING = new Set(['ENODATA', 'ENOTSUP', 'EOPNOTSUPP']);

/** An extended attribute of `path` (not following symlinks); undefined when it is not set or unsupported. */
export function lgetxattr(path: string, name: string): Buffer | undefined {
  const l = load();
  for (;;) {
    const size = l.lgetxattr(path, name, null, 0);
    if (size < 0) {
      const code = errnoNames.get(errno(l));
      if (code && XATTR_MISSING.has(code)) return undefined;
      fail(l, 'lgetxattr', path);
    }
    const buf = Buffer.alloc(size);
    const n = size === 0 ? 0 : l.lgetxattr(path, name, buf, size);
    if (n >= 0) return buf.subarray(0, n);
    if (errnoNames.get(errno(l)) !== 'ERANGE') fail(l, 'lgetxattr', path); // grew meanwhile: retry
  }
}

/** Names of the extended attributes of `path` (not following symlinks); [] when unsupported. */
export function llistxattr(path: string): string[] {
  const l = load();
  for (;;) {
    const size = l.llistxattr(path, null, 0);
    if (size < 0) {
      const code = errnoNames.get(errno(l));
      if (code && XATTR_MISSING.has(code)) return [];
      fail(l, 'llistxattr', path);
    }
    if (size === 0) return [];
    const buf = Buffer.alloc(size);
    const n = l.llistxattr(path, buf, size);
    if (n >= 0) return buf.toString('utf8', 0, n).split('\0').filter((s) => s !== '');
    if (errnoNames.get(errno(l)) !== 'ERANGE') fail(l, 'llistxattr', path);
  }
}

const AF_UNIX = 1;
const SOCK_SEQPACKET = 5;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;

/**
 * A connected SOCK_SEQPACKET unix socket (conmon's attach socket), write-only from Node's
 * point of view: Node cannot wrap such an fd in a net.Socket (docs/design/lifecycle.md).
 */
export class SeqpacketWriter {
  private constructor(private fd: number) {}

  static connect(path: string): SeqpacketWriter {
    const l = load();
    const fd = l.socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) fail(l, 'socket');
    const bytes = Buffer.from(path);
    if (bytes.length >= 108) { l.close(fd); throw Object.assign(new Error(`socket path too long: ${path}`), { code: 'ENAMETOOLONG' }); }
    const sunPath = Array.from({ length: 108 }, (_, i) => (i < bytes.length ? bytes[i]! : 0));
    if (l.connect(fd, { sun_family: AF_UNIX, sun_path: sunPath }, 2 + bytes.length + 1) !== 0) {
      try { fail(l, 'connect', path); } finally { l.close(fd); }
    }
    return new SeqpacketWriter(fd);
  }

  /** Writes the whole buffer, waiting while the socket is full (EAGAIN). */
  async write(data: Buffer): Promise<void> {
    const l = load();
    let off = 0;
    while (off < data.length) {
      if (this.fd < 0) throw Object.assign(new Error('socket closed'), { code: 'EPIPE' });
      const chunk = data.subarray(off, Math.min(data.length, off + 8192));
      const n = l.write(this.fd, chunk, chunk.length);
      if (n >= 0) { off += n; continue; }
      const e = errno(l);
      if (e === osConstants.errno.EAGAIN || e === osConstants.errno.EINTR) { await new Promise((r) => setTimeout(r, 5)); continue; }
      fail(l, 'write');
    }
  }

  close(): void {
    if (this.fd >= 0) { load().close(this.fd); this.fd = -1; }
  }
}
