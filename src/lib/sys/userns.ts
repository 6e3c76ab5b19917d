/**
 * A file descriptor of a new user namespace with given id mappings, for idmapped mounts
 * (mount_setattr's userns_fd). Node cannot fork, so a short-lived `unshare --user` child
 * makes the namespace; we write its maps as root, open /proc/<pid>/ns/user and end the
 * child. The fd keeps the namespace alive until it is closed.
 */
import { spawn } from 'node:child_process';
import { openSync, readlinkSync, writeFileSync } from 'node:fs';

export interface IdMapLine { containerID: number; hostID: number; size: number }

const mapText = (m: readonly IdMapLine[]): string => m.map((x) => `${x.containerID} ${x.hostID} ${x.size}`).join('\n') + '\n';

export async function openUserNamespace(uidMappings: readonly IdMapLine[], gidMappings: readonly IdMapLine[], unshareBin = 'unshare'): Promise<number> {
  const child = spawn(unshareBin, ['--user', '--', 'sleep', '60'], { stdio: 'ignore' });
  const exited = new Promise<void>((r) => { child.once('exit', () => r()); child.once('error', () => r()); });
  try {
    const pid = child.pid;
    if (!pid) throw new Error(`${unshareBin}: could not start`);
    const own = readlinkSync('/proc/self/ns/user');
    const deadline = Date.now() + 5000;
    for (;;) {
      let ns: string | undefined;
      try { ns = readlinkSync(`/proc/${pid}/ns/user`); } catch { /* not yet, or gone */ }
      if (ns && ns !== own) break;
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${unshareBin} --user exited (${child.exitCode ?? child.signalCode})`);
      if (Date.now() > deadline) throw new Error(`${unshareBin} --user did not make a user namespace within 5 s`);
      await new Promise((r) => setTimeout(r, 2));
    }
    writeFileSync(`/proc/${pid}/uid_map`, mapText(uidMappings));
    writeFileSync(`/proc/${pid}/gid_map`, mapText(gidMappings));
    return openSync(`/proc/${pid}/ns/user`, 'r');
  } finally {
    child.kill('SIGKILL');
    await exited;
  }
}
