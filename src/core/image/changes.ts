/**
 * `--change` instructions for import and commit: a small subset of the Dockerfile language
 * applied to an image config (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, USER, VOLUME,
 * WORKDIR, STOPSIGNAL), with moby's error text for anything else.
 */
import type { ContainerConfigWire } from '../../api/index.js';
import { invalidArgument } from '../../lib/errdefs.js';

function jsonOrShell(rest: string): string[] {
  const t = rest.trim();
  if (t.startsWith('[')) {
    try {
      const v = JSON.parse(t) as unknown;
      if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v;
    } catch { /* shell form */ }
  }
  return ['/bin/sh', '-c', t];
}

/** `K=V K2="v 2"` or legacy `K V`. */
function keyValues(rest: string, legacySpace: boolean): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const t = rest.trim();
  if (legacySpace && !/^[^\s=]+=/.test(t)) {
    const sp = t.search(/\s/);
    if (sp < 0) throw invalidArgument(`ENV must have two arguments`);
    out.push([t.slice(0, sp), t.slice(sp).trim()]);
    return out;
  }
  const re = /([^\s=]+)=("(?:[^"\\]|\\.)*"|'[^']*'|\S*)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(t))) {
    let v = m[2]!;
    if (v.startsWith('"')) v = v.slice(1, -1).replace(/\\(.)/g, '$1');
    else if (v.startsWith("'")) v = v.slice(1, -1);
    out.push([m[1]!, v]);
  }
  return out;
}

export function applyChanges(config: ContainerConfigWire, changes: readonly string[]): ContainerConfigWire {
  const c: ContainerConfigWire = { ...config };
  for (const raw of changes) {
    const line = raw.trim();
    if (!line) continue;
    const sp = line.search(/\s/);
    const cmd = (sp < 0 ? line : line.slice(0, sp)).toUpperCase();
    const rest = sp < 0 ? '' : line.slice(sp + 1);
    switch (cmd) {
      case 'CMD': c.Cmd = jsonOrShell(rest); break;
      case 'ENTRYPOINT': c.Entrypoint = jsonOrShell(rest); break;
      case 'ENV': {
        const env = [...(c.Env ?? [])];
        for (const [k, v] of keyValues(rest, true)) {
          const i = env.findIndex((e) => e.startsWith(`${k}=`));
          if (i >= 0) env[i] = `${k}=${v}`; else env.push(`${k}=${v}`);
        }
        c.Env = env;
        break;
      }
      case 'LABEL': c.Labels = { ...(c.Labels ?? {}), ...Object.fromEntries(keyValues(rest, false)) }; break;
      case 'EXPOSE': {
        const ports = { ...(c.ExposedPorts ?? {}) };
        for (const p of rest.trim().split(/\s+/).filter(Boolean)) ports[p.includes('/') ? p : `${p}/tcp`] = {};
        c.ExposedPorts = ports;
        break;
      }
      case 'VOLUME': {
        const vols = { ...(c.Volumes ?? {}) };
        const t = rest.trim();
        const list = t.startsWith('[') ? (JSON.parse(t) as string[]) : t.split(/\s+/);
        for (const v of list) if (v) vols[v] = {};
        c.Volumes = vols;
        break;
      }
      case 'USER': c.User = rest.trim(); break;
      case 'WORKDIR': c.WorkingDir = rest.trim(); break;
      case 'STOPSIGNAL': c.StopSignal = rest.trim(); break;
      case 'ONBUILD': c.OnBuild = [...(c.OnBuild ?? []), rest.trim()]; break;
      default:
        throw invalidArgument(`${line.split(/\s/)[0]!.toLowerCase()} is not a valid change command`);
    }
  }
  return c;
}
