/** A network as pier stores it (`<root>/network/<id>.json`). */
import type { IpamState } from './ipam.js';

export type NetworkDriverName = 'bridge' | 'host' | 'null';

export interface NetworkRecord {
  id: string;
  name: string;
  driver: NetworkDriverName;
  created: string;
  /** bridge, host and none always exist and cannot be removed */
  builtin: boolean;
  internal: boolean;
  attachable: boolean;
  labels: Record<string, string>;
  options: Record<string, string>;
  /** The bridge device (bridge driver only). */
  bridge?: string;
  mtu?: number;
  ipam?: IpamState;
  /** IPAM.Config as the user gave it (echoed by inspect). */
  ipamConfig?: Array<{ Subnet?: string; Gateway?: string; IPRange?: string }>;
}
