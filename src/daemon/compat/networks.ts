/** Network records → the Engine API's Network shape (swagger v1.41 `Network`). */
import type { NetworkRecord } from '../../core/network/index.js';
import type { ContainerRecord } from '../../core/container/index.js';
import type { EndpointSettingsWire } from '../../api/index.js';

export function networkJson(n: NetworkRecord, endpoints: Array<{ c: ContainerRecord; ep: EndpointSettingsWire }>, withContainers: boolean): Record<string, unknown> {
  const containers: Record<string, unknown> = {};
  for (const { c, ep } of endpoints) {
    containers[c.id] = { Name: c.name, EndpointID: ep.EndpointID ?? '', MacAddress: ep.MacAddress ?? '', IPv4Address: ep.IPAddress ? `${ep.IPAddress}/${ep.IPPrefixLen ?? 0}` : '', IPv6Address: '' };
  }
  return {
    Name: n.name,
    Id: n.id,
    Created: n.created,
    Scope: 'local',
    Driver: n.driver,
    EnableIPv6: false,
    IPAM: { Driver: 'default', Options: n.builtin ? null : {}, Config: n.ipamConfig ?? [] },
    Internal: n.internal,
    Attachable: n.attachable,
    Ingress: false,
    ConfigFrom: { Network: '' },
    ConfigOnly: false,
    Containers: withContainers ? containers : {},
    Options: n.options,
    Labels: n.labels,
  };
}
