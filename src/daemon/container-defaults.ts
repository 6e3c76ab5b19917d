/**
 * dockerd's daemon-wide container defaults from pierd's flags and daemon.json: the seccomp
 * profile, no-new-privileges, default ulimits, the /dev/shm size, the cgroup parent and the
 * cgroup namespace mode. A key given both ways is refused with dockerd's words.
 */
import { readFile } from 'node:fs/promises';
import { ramInBytes } from '../api/units.js';
import { DOCKER_DEFAULTS, RLIMITS, type ContainerDefaults, type Ulimit } from '../core/oci/index.js';
import { cgroupnsMode, type DaemonFlags } from './flags.js';

/** The daemon.json keys read here (dockerd's names). */
export interface DefaultsFileConfig {
  'seccomp-profile'?: string;
  'no-new-privileges'?: boolean;
  'default-ulimits'?: Record<string, { Name?: string; Soft?: number; Hard?: number }>;
  'default-shm-size'?: string | number;
  'cgroup-parent'?: string;
  'default-cgroupns-mode'?: string;
}

export interface ResolvedDefaults {
  defaults: ContainerDefaults;
  /** What `docker info` shows as the seccomp profile: `default`, `unconfined` or the file. */
  seccompProfileName: string;
}

/** Throws Error with dockerd's message; `file` is the daemon.json path (for messages). */
export async function resolveContainerDefaults(flags: DaemonFlags, cfg: DefaultsFileConfig, file: string): Promise<ResolvedDefaults> {
  const fromFile = (e: Error): Error => new Error(`unable to configure the pier daemon with file ${file}: ${e.message}`);
  const both: string[] = [];
  const pick = <T>(key: keyof DefaultsFileConfig, flag: T | undefined, show: (v: unknown) => string = String): T | undefined => {
    if (flag !== undefined && cfg[key] !== undefined) both.push(`${key}: (from flag: ${show(flag)}, from file: ${show(cfg[key])})`);
    return flag;
  };
  const seccompFlag = pick('seccomp-profile', flags.seccompProfile);
  const nnpFlag = pick('no-new-privileges', flags.noNewPrivileges);
  const ulimitFlag = pick('default-ulimits', flags.defaultUlimits, (v) => JSON.stringify(v));
  const shmFlag = pick('default-shm-size', flags.defaultShmSize);
  const parentFlag = pick('cgroup-parent', flags.cgroupParent);
  const nsFlag = pick('default-cgroupns-mode', flags.defaultCgroupnsMode);
  if (both.length) throw fromFile(new Error(`the following directives are specified both as a flag and in the configuration file: ${both.join(', ')}`));

  let ulimits: Ulimit[] = ulimitFlag ?? [];
  if (!ulimitFlag && cfg['default-ulimits']) {
    ulimits = Object.entries(cfg['default-ulimits']).map(([name, u]) => {
      const Name = u.Name ?? name, Soft = Number(u.Soft ?? 0), Hard = Number(u.Hard ?? 0);
      if (!RLIMITS.has(Name)) throw fromFile(new Error(`invalid ulimit type: ${Name}`));
      if (Hard !== -1 && Soft > Hard) throw fromFile(new Error(`ulimit soft limit must be less than or equal to hard limit: ${Soft} > ${Hard}`));
      return { Name, Soft, Hard };
    });
  }
  let shmSize = shmFlag ?? DOCKER_DEFAULTS.shmSize;
  const shmFile = cfg['default-shm-size'];
  if (shmFlag === undefined && shmFile !== undefined) {
    try {
      shmSize = typeof shmFile === 'number' ? shmFile : ramInBytes(shmFile);
    } catch (e) {
      throw fromFile(e as Error);
    }
  }
  let nsMode: ContainerDefaults['cgroupnsMode'] = nsFlag ?? '';
  if (nsFlag === undefined && cfg['default-cgroupns-mode'] !== undefined) nsMode = cgroupnsMode(String(cfg['default-cgroupns-mode']));

  // moby's setupSeccompProfile: builtin and unconfined are names, anything else a file read now
  // (its JSON is decoded when a container starts, as dockerd does).
  const profile = seccompFlag ?? cfg['seccomp-profile'] ?? '';
  let seccompProfile = 'builtin', seccompProfileName = 'default';
  if (profile === 'unconfined') {
    seccompProfile = seccompProfileName = 'unconfined';
  } else if (profile !== '' && profile !== 'builtin') {
    try {
      seccompProfile = await readFile(profile, 'utf8');
    } catch (e) {
      throw new Error(`opening seccomp profile (${profile}) failed: open ${profile}: ${errnoText(e)}`);
    }
    seccompProfileName = profile;
  }
  return {
    defaults: {
      seccompProfile,
      noNewPrivileges: nnpFlag ?? cfg['no-new-privileges'] === true,
      ulimits,
      shmSize,
      cgroupParent: parentFlag ?? cfg['cgroup-parent'] ?? '',
      cgroupnsMode: nsMode,
    },
    seccompProfileName,
  };
}

/** Go's text for the usual errno values. */
function errnoText(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  return ({ ENOENT: 'no such file or directory', EACCES: 'permission denied', EISDIR: 'is a directory' } as Record<string, string>)[code ?? ''] ?? (e as Error).message;
}
