/**
 * `--userns-remap`: resolves the option against /etc/passwd and /etc/group, reads the
 * user's /etc/subuid and /etc/subgid ranges, and for `default` creates the `dockremap`
 * system user and its 65536-id ranges the way dockerd does (adduser --system … or
 * useradd -r, then usermod -v/-w with the first free range at or above 100000).
 */
import { readFile } from 'node:fs/promises';
import {
  DEFAULT_REMAP_USER, type IdentityMapping, identityMapping, nextFreeRange, parseIdFile, resolveRemapSpec, subIdRanges,
} from '../../core/oci/index.js';
import { runProcess } from '../../lib/process/index.js';

export interface RemappedRoot { user: string; group: string; mapping: IdentityMapping }

export interface EtcFiles { passwd: string; group: string; subuid: string; subgid: string }

const read = (p: string): Promise<string> => readFile(p, 'utf8').catch(() => '');

async function etc(dir: string): Promise<EtcFiles> {
  const [passwd, group, subuid, subgid] = await Promise.all(['passwd', 'group', 'subuid', 'subgid'].map((f) => read(`${dir}/${f}`)));
  return { passwd: passwd!, group: group!, subuid: subuid!, subgid: subgid! };
}

async function run(argv: string[]): Promise<string> {
  let r;
  try {
    r = await runProcess(argv, { timeoutMs: 30_000 });
  } catch (e) {
    throw new Error(`${argv[0]}: ${(e as Error).message}`);
  }
  if (r.code !== 0) throw new Error(`${argv.join(' ')}: exit status ${r.code}; output: ${JSON.stringify((r.stdout + r.stderr).trim())}`);
  return r.stdout;
}

/** dockerd's AddNamespaceRangesUser: the system user, then ranges if the distro made none. */
async function createDefaultUser(dir: string): Promise<void> {
  const adduser = await runProcess(['sh', '-c', 'command -v adduser']).then((r) => r.code === 0, () => false);
  try {
    if (adduser) await run(['adduser', '--system', '--shell', '/bin/false', '--no-create-home', '--disabled-login', '--disabled-password', '--group', DEFAULT_REMAP_USER]);
    else await run(['useradd', '-r', '-s', '/bin/false', DEFAULT_REMAP_USER]);
  } catch (e) {
    throw new Error(`Error during "${DEFAULT_REMAP_USER}" user creation: Failed to add user with error: ${(e as Error).message}`);
  }
  const f = await etc(dir);
  const uid = parseIdFile(f.passwd).find((u) => u.name === DEFAULT_REMAP_USER)?.id;
  if (!subIdRanges(f.subuid, DEFAULT_REMAP_USER, uid).length) {
    const start = nextFreeRange(f.subuid);
    await run(['usermod', '-v', `${start}-${start + 65535}`, DEFAULT_REMAP_USER]);
  }
  if (!subIdRanges(f.subgid, DEFAULT_REMAP_USER).length) {
    const start = nextFreeRange(f.subgid);
    await run(['usermod', '-w', `${start}-${start + 65535}`, DEFAULT_REMAP_USER]);
  }
}

/** Resolves `spec`; undefined when it names root (dockerd: remapping root onto itself turns user namespaces off). */
export async function loadRemappedRoot(spec: string, opts: { etcDir?: string } = {}): Promise<RemappedRoot | undefined> {
  const dir = opts.etcDir ?? '/etc';
  let f = await etc(dir);
  let target = resolveRemapSpec(spec, f.passwd, f.group);
  if (target.kind === 'create-default') {
    await createDefaultUser(dir);
    f = await etc(dir);
    target = resolveRemapSpec(spec, f.passwd, f.group);
    if (target.kind !== 'names') throw new Error(`Error during "${DEFAULT_REMAP_USER}" user creation: user not found after creation`);
  }
  if (target.user === 'root') return undefined;
  const uid = parseIdFile(f.passwd).find((u) => u.name === target.user)?.id;
  const gid = parseIdFile(f.group).find((g) => g.name === target.group)?.id;
  return { user: target.user, group: target.group, mapping: identityMapping(target.user, target.group, f.subuid, f.subgid, { uid, gid }) };
}
