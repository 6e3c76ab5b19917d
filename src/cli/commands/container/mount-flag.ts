/** `--mount` (docker/cli opts/mount.go): CSV `key=value` fields → a HostConfig.Mounts entry. */
import { ramInBytes } from '../../../api/units.js';

export interface MountSpec {
  Type: string;
  Source?: string;
  Target?: string;
  ReadOnly?: boolean;
  Consistency?: string;
  BindOptions?: { Propagation?: string; NonRecursive?: boolean };
  VolumeOptions?: { NoCopy?: boolean; Labels?: Record<string, string>; DriverConfig?: { Name?: string; Options?: Record<string, string> } };
  TmpfsOptions?: { SizeBytes?: number; Mode?: number };
}

const boolOf = (key: string, v: string | undefined): boolean => {
  if (v === undefined) return true;
  if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(v)) return false;
  throw new Error(`invalid value for ${key}: ${v}`);
};

/** Throws the text docker/cli puts after `invalid argument "<value>" for "--mount" flag: `. */
export function parseMountFlag(value: string): MountSpec {
  const m: MountSpec = { Type: 'volume' };
  const vol = (): NonNullable<MountSpec['VolumeOptions']> => (m.VolumeOptions ??= {});
  const bind = (): NonNullable<MountSpec['BindOptions']> => (m.BindOptions ??= {});
  const tmpfs = (): NonNullable<MountSpec['TmpfsOptions']> => (m.TmpfsOptions ??= {});
  for (const field of value.split(',')) {
    const eq = field.indexOf('=');
    const key = (eq < 0 ? field : field.slice(0, eq)).toLowerCase();
    const val = eq < 0 ? undefined : field.slice(eq + 1);
    if (val === undefined && !['readonly', 'ro', 'volume-nocopy', 'bind-nonrecursive'].includes(key)) throw new Error(`invalid field '${field}' must be a key=value pair`);
    switch (key) {
      case 'type': m.Type = val!; break;
      case 'source': case 'src': m.Source = val!; break;
      case 'target': case 'dst': case 'destination': m.Target = val!; break;
      case 'readonly': case 'ro': m.ReadOnly = boolOf(key, val); break;
      case 'consistency': m.Consistency = val!; break;
      case 'bind-propagation': bind().Propagation = val!; break;
      case 'bind-nonrecursive': bind().NonRecursive = boolOf(key, val); break;
      case 'volume-nocopy': vol().NoCopy = boolOf(key, val); break;
      case 'volume-label': { const [k = '', ...v] = val!.split('='); (vol().Labels ??= {})[k] = v.join('='); break; }
      case 'volume-driver': (vol().DriverConfig ??= {}).Name = val!; break;
      case 'volume-opt': { const [k = '', ...v] = val!.split('='); ((vol().DriverConfig ??= {}).Options ??= {})[k] = v.join('='); break; }
      case 'tmpfs-size': {
        try { tmpfs().SizeBytes = ramInBytes(val!); } catch { throw new Error(`invalid value for ${key}: ${val}`); }
        break;
      }
      case 'tmpfs-mode': {
        if (!/^[0-7]+$/.test(val!)) throw new Error(`invalid value for ${key}: ${val}`);
        tmpfs().Mode = parseInt(val!, 8);
        break;
      }
      default: throw new Error(`unexpected key '${key}' in '${field}'`);
    }
  }
  if (!m.Type) throw new Error('type is required');
  if (!m.Target) throw new Error('target is required');
  if (m.VolumeOptions && m.Type !== 'volume') throw new Error(`cannot mix 'volume-*' options with mount type '${m.Type}'`);
  if (m.BindOptions && m.Type !== 'bind') throw new Error(`cannot mix 'bind-*' options with mount type '${m.Type}'`);
  if (m.TmpfsOptions && m.Type !== 'tmpfs') throw new Error(`cannot mix 'tmpfs-*' options with mount type '${m.Type}'`);
  return m;
}
