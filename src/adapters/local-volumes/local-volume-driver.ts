/**
 * Docker's `local` volume driver: `<root>/volumes/<name>/_data` holds the data and
 * `<root>/volumes/<name>/volume.json` the record (written atomically, last at create and
 * first removed at remove, so a half-made or half-removed volume is never listed). A volume
 * with options (`type`, `device`, `o`) has its device mounted on `_data` while a container
 * uses it, as moby's local driver does.
 */
import { chown, lstat, mkdir, readdir, readFile, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { VolumeDriver, VolumeRecord } from '../../core/ports/index.js';
import { EngineError, errnoCode } from '../../lib/errdefs.js';
import { dirSize, ensureDir, isAtomicTemp, writeJsonAtomic } from '../../lib/fs/index.js';
import { runProcess } from '../../lib/process/index.js';
import { mount, umount, MNT_DETACH } from '../../lib/sys/index.js';

const RECORD = 'volume.json';

/** mount(8) flag words → MS_* bits; anything else goes to the filesystem as data. */
const FLAGS: Record<string, [set: boolean, bit: number]> = {
  ro: [true, 0x1], rw: [false, 0x1], nosuid: [true, 0x2], suid: [false, 0x2], nodev: [true, 0x4], dev: [false, 0x4],
  noexec: [true, 0x8], exec: [false, 0x8], sync: [true, 0x10], async: [false, 0x10], noatime: [true, 0x400], atime: [false, 0x400],
  nodiratime: [true, 0x800], diratime: [false, 0x800], bind: [true, 0x1000], rbind: [true, 0x1000 | 0x4000],
  relatime: [true, 0x200000], norelatime: [false, 0x200000], strictatime: [true, 0x1000000], defaults: [false, 0],
};

export function parseMountOptions(o: string): { flags: number; data: string } {
  let flags = 0;
  const data: string[] = [];
  for (const w of o.split(',').filter(Boolean)) {
    const f = FLAGS[w];
    if (!f) { data.push(w); continue; }
    flags = f[0] ? flags | f[1] : flags & ~f[1];
  }
  return { flags, data: data.join(',') };
}

export class LocalVolumeDriver implements VolumeDriver {
  /** `owner`: who owns new volumes' `_data` (the remapped root under `--userns-remap`, as in moby). */
  constructor(private readonly root: string, private readonly opts: { owner?: { uid: number; gid: number } } = {}) {}

  private dir(name: string): string {
    return join(this.root, name);
  }

  mountpoint(name: string): string {
    return join(this.dir(name), '_data');
  }

  async loadAll(): Promise<VolumeRecord[]> {
    await ensureDir(this.root, 0o701);
    const out: VolumeRecord[] = [];
    for (const name of await readdir(this.root)) {
      const dir = this.dir(name);
      let rec: VolumeRecord | undefined;
      for (const f of await readdir(dir).catch(() => [] as string[])) if (isAtomicTemp(f)) await unlink(join(dir, f)).catch(() => {});
      try {
        rec = JSON.parse(await readFile(join(dir, RECORD), 'utf8')) as VolumeRecord;
      } catch (e) {
        if (errnoCode(e) !== 'ENOENT') continue; // unreadable: left alone
      }
      if (rec) { out.push(rec); continue; }
      // No record: a create or remove was cut short. Never delete through a mount.
      if (!(await this.isMounted(name))) await rm(dir, { recursive: true, force: true }).catch(() => {});
    }
    return out;
  }

  async create(v: VolumeRecord): Promise<void> {
    await mkdir(this.mountpoint(v.name), { recursive: true, mode: 0o755 });
    if (this.opts.owner) await chown(this.mountpoint(v.name), this.opts.owner.uid, this.opts.owner.gid);
    await writeJsonAtomic(join(this.dir(v.name), RECORD), v);
  }

  async remove(name: string): Promise<void> {
    if (await this.isMounted(name)) {
      try { umount(this.mountpoint(name), MNT_DETACH); } catch (e) {
        throw new EngineError('conflict', `remove ${name}: unmount ${this.mountpoint(name)}: ${(e as Error).message}`, { cause: e });
      }
    }
    await rm(join(this.dir(name), RECORD), { force: true });
    await rm(this.dir(name), { recursive: true, force: true });
  }

  private async isMounted(name: string): Promise<boolean> {
    const target = this.mountpoint(name);
    const info = await readFile('/proc/self/mountinfo', 'utf8').catch(() => '');
    return info.split('\n').some((l) => l.split(' ')[4] === target);
  }

  async mount(v: VolumeRecord): Promise<void> {
    const { type, device, o } = v.options;
    if (!type && !device && !o) return;
    if (await this.isMounted(v.name)) return;
    const { flags, data } = parseMountOptions(o ?? '');
    const fstype = !type || type === 'none' ? '' : type;
    if (flags & 0x1000 && device) {
      // A bind ignores its flags on the first call: bind, then remount with them.
      try { await lstat(device); } catch (e) {
        throw new EngineError('not-found', `error while mounting volume '${this.mountpoint(v.name)}': failed to mount local volume: mount ${device}:${this.mountpoint(v.name)}: no such file or directory`, { cause: e });
      }
    }
    try {
      mount({ source: device ?? fstype, target: this.mountpoint(v.name), fstype, flags, data: data || undefined });
      if (flags & 0x1000 && flags & ~(0x1000 | 0x4000)) {
        mount({ source: '', target: this.mountpoint(v.name), fstype: '', flags: (flags & ~0x4000) | 0x20 /* MS_REMOUNT */ });
      }
    } catch (e) {
      throw new EngineError('internal', `error while mounting volume '${this.mountpoint(v.name)}': failed to mount local volume: mount ${device ?? ''}:${this.mountpoint(v.name)}, flags: 0x${flags.toString(16)}, data: ${data}: ${(e as Error).message}`, { cause: e });
    }
  }

  async unmount(v: VolumeRecord): Promise<void> {
    if (!(await this.isMounted(v.name))) return;
    try { umount(this.mountpoint(v.name)); } catch { umount(this.mountpoint(v.name), MNT_DETACH); }
  }

  async isEmpty(name: string): Promise<boolean> {
    try { return (await readdir(this.mountpoint(name))).length === 0; } catch { return false; }
  }

  async size(name: string): Promise<number> {
    return dirSize(this.mountpoint(name));
  }

  async copyInto(name: string, from: string): Promise<void> {
    const r = await runProcess(['cp', '-a', '--', `${from}/.`, `${this.mountpoint(name)}/`]);
    if (r.code !== 0) throw new EngineError('internal', `copy image content into volume ${name}: ${r.stderr.trim()}`);
  }
}
