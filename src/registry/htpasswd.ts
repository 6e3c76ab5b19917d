/**
 * htpasswd Basic auth with bcrypt entries (`user:$2y$05$…`, what `htpasswd -B` writes), checked
 * on every request. A successful check is remembered per (user, password, hash) as a sha256
 * of the three, so a pull of many blobs pays bcrypt once; the file is re-read when it changes.
 */
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import bcrypt from 'bcryptjs';

export class HtpasswdAuth {
  private users = new Map<string, string>();
  private mtime = 0;
  private ok = new Set<string>();

  constructor(private readonly file: string) {
    this.reload();
  }

  private reload(): void {
    const m = statSync(this.file).mtimeMs;
    if (m === this.mtime) return;
    this.mtime = m;
    this.users.clear();
    this.ok.clear();
    for (const line of readFileSync(this.file, 'utf8').split('\n')) {
      const t = line.trim();
      if (!t || t.startsWith('#')) continue;
      const i = t.indexOf(':');
      if (i > 0) this.users.set(t.slice(0, i), t.slice(i + 1));
    }
  }

  /** The user name when the Authorization header carries valid credentials. */
  async check(header: string | undefined): Promise<string | undefined> {
    const m = /^Basic\s+(\S+)$/i.exec(header ?? '');
    if (!m) return undefined;
    const plain = Buffer.from(m[1]!, 'base64').toString('utf8');
    const i = plain.indexOf(':');
    if (i < 0) return undefined;
    const user = plain.slice(0, i), pass = plain.slice(i + 1);
    try { this.reload(); } catch { return undefined; }
    const hash = this.users.get(user);
    if (!hash || !/^\$2[abxy]\$/.test(hash)) return undefined;
    const key = createHash('sha256').update(`${user}\0${pass}\0${hash}`).digest('hex');
    if (this.ok.has(key)) return user;
    const good = await bcrypt.compare(pass, hash.replace(/^\$2[xy]\$/, '$2b$'));
    if (!good) return undefined;
    this.ok.add(key);
    return user;
  }
}
