/**
 * Seccomp profiles in Docker's format and their rendering into OCI `linux.seccomp` for one
 * container, the way dockerd does it: the architectures come from the archMap entry of the
 * host's architecture, and a rule is kept only when its `includes` hold (all listed
 * capabilities held, host arch listed, kernel new enough) and its `excludes` do not.
 */

export interface SeccompArg { index: number; value: number; valueTwo?: number; op: string }
export interface SeccompFilter { caps?: string[]; arches?: string[]; minKernel?: string }
export interface SeccompRule {
  name?: string;
  names?: string[];
  action: string;
  args?: SeccompArg[] | null;
  errnoRet?: number;
  includes?: SeccompFilter;
  excludes?: SeccompFilter;
  comment?: string;
}
export interface SeccompProfile {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures?: string[];
  archMap?: Array<{ architecture: string; subArchitectures: string[] }> | null;
  syscalls: SeccompRule[];
  flags?: string[];
  listenerPath?: string;
}

/** What rendering needs to know about the host and the container. */
export interface SeccompContext {
  /** Go-style arch name: amd64, arm64, arm, 386, ppc64le, s390x, riscv64 … */
  arch: string;
  /** Capabilities the container holds (CAP_ names). */
  caps: readonly string[];
  /** Kernel version "major.minor[.patch]". */
  kernel: string;
}

/** OCI's shape (what runc reads). */
export interface OciSeccomp {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures?: string[];
  flags?: string[];
  listenerPath?: string;
  syscalls: Array<{ names: string[]; action: string; errnoRet?: number; args?: SeccompArg[] }>;
}

const SCMP_ARCH: Record<string, string> = {
  amd64: 'SCMP_ARCH_X86_64', '386': 'SCMP_ARCH_X86', arm64: 'SCMP_ARCH_AARCH64', arm: 'SCMP_ARCH_ARM',
  mips64: 'SCMP_ARCH_MIPS64', mips64n32: 'SCMP_ARCH_MIPS64N32', mipsel64: 'SCMP_ARCH_MIPSEL64',
  mips: 'SCMP_ARCH_MIPS', mipsel: 'SCMP_ARCH_MIPSEL', ppc: 'SCMP_ARCH_PPC', ppc64: 'SCMP_ARCH_PPC64',
  ppc64le: 'SCMP_ARCH_PPC64LE', s390: 'SCMP_ARCH_S390', s390x: 'SCMP_ARCH_S390X', riscv64: 'SCMP_ARCH_RISCV64',
};

/** Node's process.arch → Go's GOARCH (the names profiles use). */
export function goArch(nodeArch: string): string {
  return ({ x64: 'amd64', ia32: '386', ppc64: 'ppc64le' } as Record<string, string>)[nodeArch] ?? nodeArch;
}

function kernelAtLeast(have: string, want: string): boolean {
  const h = have.split(/[.-]/).map((x) => parseInt(x, 10) || 0);
  const w = want.split(/[.-]/).map((x) => parseInt(x, 10) || 0);
  for (let i = 0; i < Math.max(h.length, w.length); i++) {
    if ((h[i] ?? 0) !== (w[i] ?? 0)) return (h[i] ?? 0) > (w[i] ?? 0);
  }
  return true;
}

export function renderSeccomp(p: SeccompProfile, ctx: SeccompContext): OciSeccomp {
  if (p.architectures?.length && p.archMap?.length) throw new Error("'architectures' and 'archMap' were specified in the seccomp profile, use either 'architectures' or 'archMap'");
  const native = SCMP_ARCH[ctx.arch];
  let arches = p.architectures ?? [];
  if (!arches.length && p.archMap) {
    const m = p.archMap.find((a) => a.architecture === native);
    if (m) arches = [m.architecture, ...m.subArchitectures];
  }
  const syscalls: OciSeccomp['syscalls'] = [];
  for (const r of p.syscalls ?? []) {
    if (r.name && r.names?.length) throw new Error("'name' and 'names' were specified in the seccomp profile, use either 'name' or 'names'");
    const inc = r.includes ?? {}, exc = r.excludes ?? {};
    if (inc.arches?.length && !inc.arches.includes(ctx.arch)) continue;
    if (exc.arches?.includes(ctx.arch)) continue;
    if (inc.caps?.length && !inc.caps.every((c) => ctx.caps.includes(c))) continue;
    if (exc.caps?.some((c) => ctx.caps.includes(c))) continue;
    if (inc.minKernel && !kernelAtLeast(ctx.kernel, inc.minKernel)) continue;
    const names = r.names?.length ? [...r.names] : r.name ? [r.name] : [];
    const args = (r.args ?? []).map((a) => ({ index: a.index, value: a.value, ...(a.valueTwo ? { valueTwo: a.valueTwo } : {}), op: a.op }));
    syscalls.push({ names, action: r.action, ...(r.errnoRet !== undefined ? { errnoRet: r.errnoRet } : {}), ...(args.length ? { args } : {}) });
  }
  return {
    defaultAction: p.defaultAction,
    ...(p.defaultErrnoRet !== undefined ? { defaultErrnoRet: p.defaultErrnoRet } : {}),
    ...(arches.length ? { architectures: arches } : {}),
    ...(p.flags?.length ? { flags: p.flags } : {}),
    ...(p.listenerPath ? { listenerPath: p.listenerPath } : {}),
    syscalls,
  };
}

/** Parses a profile sent in `seccomp=<json>`; Docker's error wording. */
export function parseSeccompProfile(json: string): SeccompProfile {
  let p: unknown;
  try {
    p = JSON.parse(json);
  } catch (e) {
    throw new Error(`Decoding seccomp profile failed: ${(e as Error).message}`);
  }
  if (!p || typeof p !== 'object' || Array.isArray(p)) throw new Error('Decoding seccomp profile failed: not a JSON object');
  const prof = p as SeccompProfile;
  if (!prof.defaultAction) throw new Error('Decoding seccomp profile failed: defaultAction is required');
  prof.syscalls ??= [];
  return prof;
}
