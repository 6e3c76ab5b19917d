/**
 * Networks (libnetwork's role, docs/design/networking.md): the predefined bridge/host/none
 * networks and user-defined bridges, IPAM kept in the network records, a veth pair per
 * container per network configured between `runc create` and the start of the process, ports
 * published through the daemon's own nftables table, names answered by the embedded DNS
 * server on each user network's gateway. Everything is rebuilt from the records after a
 * restart or crash (`reconcile`).
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFile, writeFile, access } from 'node:fs/promises';
import { join } from 'node:path';
import type { EndpointSettingsWire, Filters } from '../api/index.js';
import { matchLabels } from '../api/index.js';
import { type ContainerRecord, isRunning, shortId, rfc3339Nano } from '../core/container/index.js';
import {
  type NetworkRecord, type PortMapping, allocate, release, macFor, parseCidr, cidrString, cidrOverlaps, subnetsOf, intToIp,
  expandPortBindings, publishAll, isIPv6Host, DNS_A,
} from '../core/network/index.js';
import type { DnsAnswer, DnsServer, NetworkDriver, NetworkRules, NetworkStore, PortReserver, VethConfig } from '../core/ports/index.js';
import { EngineError, conflict, invalidArgument, notFound } from '../lib/errdefs.js';
import type { EventBus } from './events.js';

export interface NetworkServiceDeps {
  store: NetworkStore;
  driver: NetworkDriver;
  ports: PortReserver;
  dns: DnsServer;
  events: EventBus;
  /** The default bridge (`bridge` network), or undefined when started with `--bridge none`. */
  defaultBridge?: { name: string; gateway: string; prefixLen: number };
  /** Where user networks get their subnets when none is given, and the block size. */
  pool: string;
  poolPrefix: number;
  mtu: number;
  /** The host's resolv.conf text. */
  resolvConf: string;
  /** The host has IPv6: ports published without a host IP are also bound on `::` (proxied to the container). */
  ipv6: boolean;
  /** Saves a container record (the container service's store). */
  saveContainer: (c: ContainerRecord) => Promise<void>;
  containerDir: (id: string) => string;
  log: (level: 'debug' | 'info' | 'warn' | 'error', msg: string) => void;
}

/** What the network service needs to see of containers. */
export interface ContainerLookup {
  list(): ContainerRecord[];
  get(ref: string): ContainerRecord;
}

export interface NetworkCreateBody {
  Name?: string;
  Driver?: string;
  Internal?: boolean;
  Attachable?: boolean;
  EnableIPv6?: boolean;
  IPAM?: { Driver?: string; Config?: Array<{ Subnet?: string; Gateway?: string; IPRange?: string }> | null; Options?: Record<string, string> | null } | null;
  Options?: Record<string, string> | null;
  Labels?: Record<string, string> | null;
  CheckDuplicate?: boolean;
}

const BW_LABEL = 'io.pier.network.bandwidth';

const hash = (s: string, n: number): string => createHash('sha256').update(s).digest('hex').slice(0, n);
/** The host side of a container's veth on a network (≤ 15 characters). */
export const hostIfName = (containerId: string, networkId: string): string => `pv${hash(containerId + networkId, 13)}`;

export class NetworkService {
  private nets = new Map<string, NetworkRecord>();
  private containers: ContainerLookup | undefined;
  /** Host ports held per container (released at exit). */
  private held = new Map<string, PortMapping[]>();
  private rulesQueue: Promise<void> = Promise.resolve();

  constructor(private readonly d: NetworkServiceDeps) {}

  setContainers(c: ContainerLookup): void {
    this.containers = c;
  }

  private emit(n: NetworkRecord, action: string, extra: Record<string, string> = {}): void {
    this.d.events.publish({ type: 'network', action, actorId: n.id, attributes: { name: n.name, type: n.driver, ...extra } });
  }

  // ---- records ----

  /** Loads the records and makes sure the predefined networks exist. */
  async load(): Promise<void> {
    for (const n of await this.d.store.loadAll()) this.nets.set(n.id, n);
    const ensure = async (name: string, driver: NetworkRecord['driver'], extra: Partial<NetworkRecord> = {}): Promise<void> => {
      let n = this.byName(name);
      if (!n) {
        n = { id: randomBytes(32).toString('hex'), name, driver, created: rfc3339Nano(Date.now()), builtin: true, internal: false, attachable: false, labels: {}, options: {} };
        this.nets.set(n.id, n);
      }
      Object.assign(n, extra);
      await this.d.store.save(n);
    };
    await ensure('host', 'host');
    await ensure('none', 'null');
    const b = this.d.defaultBridge;
    const old = this.byName('bridge');
    if (b) {
      const subnet = cidrString(parseCidr(`${b.gateway}/${b.prefixLen}`));
      const keep = old?.ipam && old.ipam.subnet === subnet ? old.ipam : { subnet, gateway: b.gateway, allocated: {} };
      await ensure('bridge', 'bridge', {
        bridge: b.name, mtu: this.d.mtu, ipam: keep, ipamConfig: [{ Subnet: subnet, Gateway: b.gateway }],
        options: {
          'com.docker.network.bridge.default_bridge': 'true', 'com.docker.network.bridge.enable_icc': 'true',
          'com.docker.network.bridge.enable_ip_masquerade': 'true', 'com.docker.network.bridge.host_binding_ipv4': '0.0.0.0',
          'com.docker.network.bridge.name': b.name, 'com.docker.network.driver.mtu': String(this.d.mtu),
        },
      });
    } else if (old) {
      this.nets.delete(old.id);
      await this.d.store.remove(old.id);
    }
  }

  list(): NetworkRecord[] {
    return [...this.nets.values()];
  }

  private byName(name: string): NetworkRecord | undefined {
    for (const n of this.nets.values()) if (n.name === name) return n;
    return undefined;
  }

  find(ref: string): NetworkRecord | undefined {
    if (!ref) return undefined;
    const exact = this.nets.get(ref) ?? this.byName(ref);
    if (exact) return exact;
    const m = [...this.nets.values()].filter((n) => n.id.startsWith(ref));
    if (m.length === 1) return m[0];
    if (m.length > 1) throw invalidArgument(`network ${ref} is ambiguous (${m.length} matches found on name)`);
    return undefined;
  }

  get(ref: string): NetworkRecord {
    const n = this.find(ref);
    if (!n) throw notFound(`network ${ref} not found`);
    return n;
  }

  /** Running containers with an address on the network, for inspect's `Containers`. */
  endpointsOf(n: NetworkRecord): Array<{ c: ContainerRecord; ep: EndpointSettingsWire }> {
    const out: Array<{ c: ContainerRecord; ep: EndpointSettingsWire }> = [];
    for (const c of this.containers?.list() ?? []) {
      if (!isRunning(c)) continue;
      const ep = this.endpointOn(c, n);
      if (ep?.IPAddress) out.push({ c, ep });
    }
    return out;
  }

  private endpointOn(c: ContainerRecord, n: NetworkRecord): EndpointSettingsWire | undefined {
    return c.endpoints[n.name] ?? (n.name === 'bridge' ? c.endpoints.default : undefined);
  }

  private netOfKey(key: string): NetworkRecord | undefined {
    return key === 'default' ? this.byName('bridge') : this.find(key);
  }

  /** The host's address as containers see it (`--add-host x:host-gateway`). */
  hostGateway(): string {
    return this.byName('bridge')?.ipam?.gateway ?? this.d.defaultBridge?.gateway ?? '';
  }

  // ---- create / remove ----

  async create(body: NetworkCreateBody): Promise<{ id: string; warning: string }> {
    const name = body.Name ?? '';
    if (!name) throw invalidArgument('network name cannot be empty');
    if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(name)) throw invalidArgument(`invalid network name "${name}"`);
    if (this.byName(name)) throw conflict(`network with name ${name} already exists`);
    const driver = body.Driver || 'bridge';
    if (driver === 'host' || driver === 'null') throw new EngineError('permission-denied', `only one instance of "${driver}" network is allowed`);
    if (driver !== 'bridge') throw notFound(`plugin "${driver}" not found`);
    if (body.IPAM?.Driver && body.IPAM.Driver !== 'default') throw notFound(`plugin "${body.IPAM.Driver}" not found`);
    const cfg = (body.IPAM?.Config ?? []).filter((c) => c.Subnet && !c.Subnet.includes(':'));
    if (cfg.length > 1) throw invalidArgument('pier supports one IPv4 subnet per network');
    const opts = body.Options ?? {};
    const id = randomBytes(32).toString('hex');
    let subnet: string;
    let gateway: string;
    const want = cfg[0];
    if (want?.Subnet) {
      const c = parseCidr(want.Subnet);
      subnet = cidrString(c);
      if (this.overlapsAny(c)) throw new EngineError('permission-denied', 'Pool overlaps with other one on this address space');
      gateway = want.Gateway || intToIp(c.base + 1);
      if (want.IPRange) {
        const r = parseCidr(want.IPRange);
        if (!cidrOverlaps(r, c) || r.prefix < c.prefix) throw invalidArgument(`invalid ip-range ${want.IPRange}: not within subnet ${subnet}`);
      }
    } else {
      if (want?.Gateway) throw invalidArgument('gateway without a subnet');
      subnet = await this.pickSubnet();
      gateway = intToIp(parseCidr(subnet).base + 1);
    }
    const bridge = opts['com.docker.network.bridge.name'] || `pb-${id.slice(0, 12)}`;
    if (bridge.length > 15) throw invalidArgument(`bridge name ${bridge} is longer than 15 characters`);
    if ([...this.nets.values()].some((n) => n.bridge === bridge)) throw conflict(`bridge name ${bridge} is already in use`);
    const mtu = Number(opts['com.docker.network.driver.mtu'] || this.d.mtu);
    const n: NetworkRecord = {
      id, name, driver: 'bridge', created: rfc3339Nano(Date.now()), builtin: false, internal: !!body.Internal,
      attachable: !!body.Attachable, labels: body.Labels ?? {}, options: opts, bridge, mtu,
      ipam: { subnet, gateway, ...(want?.IPRange ? { ipRange: want.IPRange } : {}), allocated: {} },
      ipamConfig: want?.Subnet ? [{ Subnet: subnet, ...(want.Gateway ? { Gateway: want.Gateway } : {}), ...(want.IPRange ? { IPRange: want.IPRange } : {}) }] : [{ Subnet: subnet, Gateway: gateway }],
    };
    this.nets.set(id, n);
    try {
      await this.d.store.save(n);
      await this.d.driver.ensureBridge({ name: bridge, gateway, prefixLen: parseCidr(subnet).prefix, mtu });
      await this.listenDns(n);
      await this.syncRules();
    } catch (e) {
      this.nets.delete(id);
      await this.d.store.remove(id).catch(() => {});
      await this.d.driver.removeBridge(bridge).catch(() => {});
      throw e;
    }
    this.emit(n, 'create');
    return { id, warning: '' };
  }

  private overlapsAny(c: ReturnType<typeof parseCidr>): boolean {
    for (const n of this.nets.values()) if (n.ipam && cidrOverlaps(parseCidr(n.ipam.subnet), c)) return true;
    return false;
  }

  /** The first block of the pool that no network of ours and no host route uses. */
  private async pickSubnet(): Promise<string> {
    const routes = (await this.d.driver.hostRoutes()).map(parseCidr);
    for (const s of subnetsOf(parseCidr(this.d.pool), this.d.poolPrefix)) {
      if (this.overlapsAny(s) || routes.some((r) => cidrOverlaps(r, s))) continue;
      return cidrString(s);
    }
    throw new EngineError('failed-precondition', 'could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network');
  }

  async remove(ref: string): Promise<void> {
    const n = this.get(ref);
    if (n.builtin) throw new EngineError('permission-denied', `${n.name} is a pre-defined network and cannot be removed`);
    if (this.endpointsOf(n).length) throw new EngineError('permission-denied', `error while removing network: network ${n.name} id ${n.id} has active endpoints`);
    this.nets.delete(n.id);
    await this.saving.get(n.id)?.catch(() => {}); // a queued write must not bring the record back
    this.saving.delete(n.id);
    await this.d.store.remove(n.id);
    if (n.ipam) await this.d.dns.close(n.ipam.gateway).catch(() => {});
    if (n.bridge) await this.d.driver.removeBridge(n.bridge).catch((e) => this.d.log('warn', `remove bridge ${n.bridge}: ${(e as Error).message}`));
    await this.syncRules();
    this.emit(n, 'destroy');
  }

  async prune(filters: Filters): Promise<string[]> {
    const out: string[] = [];
    for (const n of [...this.nets.values()]) {
      if (n.builtin || !matchLabels(filters, n.labels)) continue;
      const until = filters.get('until')?.[0];
      if (until && Date.parse(n.created) >= untilMs(until)) continue;
      if (this.endpointsOf(n).length) continue;
      await this.remove(n.id);
      out.push(n.name);
    }
    return out;
  }

  // ---- containers: create-time checks, start, exit ----

  /** Checks a new container's network settings (create fails like Docker's). */
  validate(c: ContainerRecord): void {
    const mode = c.hostConfig.NetworkMode ?? 'bridge';
    for (const [key, ep] of Object.entries(c.endpoints)) {
      const n = this.netOfKey(key);
      if (!n) {
        if (key === 'bridge' && !this.d.defaultBridge) continue;
        throw notFound(`network ${key} not found`);
      }
      const ip = ipamAddress(ep);
      if (ip && n.name === 'bridge') throw invalidArgument('user specified IP address is supported on user defined networks only');
      if ((ep.Aliases?.length) && n.name === 'bridge') throw invalidArgument('network-scoped alias is supported only for containers in user defined networks');
      if (ip && n.ipam && !cidrOverlaps(parseCidr(n.ipam.subnet), parseCidr(`${ip}/32`))) throw invalidArgument(`no configured subnet or ip-range contain the IP address ${ip}`);
    }
    if (mode !== 'host' && mode !== 'none' && !mode.startsWith('container:')) expandPortBindings(this.bindingsOf(c));
  }

  private bindingsOf(c: ContainerRecord): Record<string, Array<{ HostIp?: string; HostPort?: string }> | null> {
    const b = { ...(c.hostConfig.PortBindings ?? {}) };
    if (c.hostConfig.PublishAllPorts) for (const [k, v] of Object.entries(publishAll(c.config.ExposedPorts))) if (!b[k]?.length) b[k] = v;
    return b;
  }

  /**
   * Between `runc create` and the start of the process: a veth per network into the
   * namespace of `pid`, addresses, the default route, hosts/resolv.conf, published ports.
   * Throws (after undoing its own work) on any failure; the caller removes the task.
   */
  async attach(c: ContainerRecord, pid: number): Promise<void> {
    const keys = Object.keys(c.endpoints).filter((k) => this.netOfKey(k)?.driver === 'bridge');
    if (keys.length === 0) return;
    const t0 = Date.now();
    try {
      // Addresses first (in memory), then everything else at once: the veths (two processes
      // each), the IPAM records, ports and rules, the hosts files. All of it is done before
      // the process starts.
      let routed = false;
      const plans = keys.map((key, i) => {
        const n = this.netOfKey(key)!;
        const gw = !routed && !n.internal;
        if (gw) routed = true;
        return this.plan(c, pid, key, n, `eth${i}`, gw);
      });
      const veths = (async () => { for (const v of plans) await this.d.driver.addVeth(v); })();
      await Promise.all([veths, ...[...new Set(keys.map((k) => this.netOfKey(k)!))].map((n) => this.saveNet(n)), this.publish(c), this.writeFiles(c)]);
      const bw = c.config.Labels?.[BW_LABEL];
      if (bw) for (const v of plans) await this.d.driver.shape(v, parseRate(bw));
      this.d.log('debug', `network attach ${c.id.slice(0, 12)}: ${Date.now() - t0} ms`);
    } catch (e) {
      await this.release(c).catch(() => {});
      throw e;
    }
  }

  /** Takes an address for the endpoint and fills its settings; returns the veth to make. */
  private plan(c: ContainerRecord, pid: number, key: string, n: NetworkRecord, ifName: string, defaultRoute: boolean): VethConfig {
    const ep = c.endpoints[key]!;
    const ipam = n.ipam!;
    const ip = allocate(ipam, c.id, ipamAddress(ep));
    const prefixLen = parseCidr(ipam.subnet).prefix;
    const mac = ep.MacAddress || (c.config as { MacAddress?: string }).MacAddress || macFor(ip);
    Object.assign(ep, { NetworkID: n.id, EndpointID: randomBytes(32).toString('hex'), Gateway: n.internal ? '' : ipam.gateway, IPAddress: ip, IPPrefixLen: prefixLen, MacAddress: mac });
    return {
      hostIf: hostIfName(c.id, n.id), bridge: n.bridge!, pid, ifName, address: ip, prefixLen, mac, mtu: n.mtu ?? this.d.mtu,
      ...(defaultRoute ? { defaultGateway: ipam.gateway } : {}),
    };
  }

  private async attachOne(c: ContainerRecord, pid: number, key: string, n: NetworkRecord, ifName: string, defaultRoute: boolean): Promise<void> {
    const v = this.plan(c, pid, key, n, ifName, defaultRoute);
    await Promise.all([this.d.driver.addVeth(v), this.saveNet(n)]);
  }

  /** Network records are written one at a time per network, each with the state of its turn. */
  private saving = new Map<string, Promise<void>>();
  private saveNet(n: NetworkRecord): Promise<void> {
    const next = (this.saving.get(n.id) ?? Promise.resolve()).catch(() => {}).then(() => this.d.store.save(n));
    this.saving.set(n.id, next);
    return next;
  }

  private async publish(c: ContainerRecord): Promise<void> {
    const maps = expandPortBindings(this.bindingsOf(c));
    const ports: Record<string, Array<{ HostIp: string; HostPort: string }> | null> = {};
    for (const k of Object.keys(c.config.ExposedPorts ?? {})) ports[k.includes('/') ? k : `${k}/tcp`] = null;
    if (maps.length === 0) { c.ports = ports; return; }
    const held: PortMapping[] = [];
    this.held.set(c.id, held);
    const fail = (err: unknown): never => {
      const why = err instanceof Error ? err.message : String(err);
      throw new EngineError(err instanceof EngineError ? err.kind : 'internal', `driver failed programming external connectivity on endpoint ${c.name} (${firstEndpointId(c)}): ${why}`, { cause: err });
    };
    for (const m of maps) {
      // No host IP: 0.0.0.0 and, on a host with IPv6, [::] with the same port number (not for
      // SCTP, which the relay cannot carry: it would list a binding that does not work).
      const dual = !!m.anyFamily && this.d.ipv6 && m.proto !== 'sctp';
      const candidates = m.hostRange ? range(m.hostRange[0], m.hostRange[1]) : [m.hostPort];
      let got: PortMapping[] = [];
      let lastErr: unknown;
      for (const p of candidates) {
        // an ephemeral port free on 0.0.0.0 may be taken on [::]: a few more picks
        for (let tries = p === 0 && dual ? 5 : 1; tries > 0 && !got.length; tries--) {
          try { got = await this.reserveBoth(c, m, p, dual); } catch (e) { lastErr = e; }
        }
        if (got.length) break;
      }
      if (!got.length) fail(lastErr);
      held.push(...got);
      const key = `${m.containerPort}/${m.proto}`;
      (ports[key] ??= []);
      for (const g of got) ports[key]!.push({ HostIp: g.hostIp || '0.0.0.0', HostPort: String(g.hostPort) });
    }
    c.ports = ports;
    await this.syncRules();
  }

  /** One mapping's host sockets: its own address, plus `::` for `dual`; all or nothing. */
  private async reserveBoth(c: ContainerRecord, m: PortMapping, port: number, dual: boolean): Promise<PortMapping[]> {
    const one = async (hostIp: string, p: number): Promise<PortMapping> => {
      if (p !== 0 && this.isHeld(m.proto, hostIp, p)) throw conflict(`Bind for ${isIPv6Host(hostIp) ? `[${hostIp}]` : hostIp || '0.0.0.0'}:${p} failed: port is already allocated`);
      const forward = isIPv6Host(hostIp) ? () => this.proxyTarget(c.id, m.containerPort) : undefined;
      const got = await this.d.ports.reserve(m.proto, hostIp, p, forward);
      return { proto: m.proto, containerPort: m.containerPort, hostIp, hostPort: got };
    };
    const first = await one(m.hostIp, port);
    if (!dual) return [first];
    try {
      return [first, await one('::', first.hostPort)];
    } catch (e) {
      this.d.ports.release(first.proto, first.hostIp, first.hostPort);
      throw e;
    }
  }

  /** Where the userland proxy of an IPv6 host binding sends a connection: the container's first address. */
  private proxyTarget(id: string, port: number): { ip: string; port: number } | undefined {
    const c = this.containers?.list().find((x) => x.id === id);
    const ip = c && Object.values(c.endpoints).find((e) => e.IPAddress)?.IPAddress;
    return ip ? { ip, port } : undefined;
  }

  /** Whether another container holds the port: same family, and the same address or a wildcard on either side. */
  private isHeld(proto: string, hostIp: string, port: number): boolean {
    const wild = (ip: string): boolean => ip === '' || ip === '::';
    for (const list of this.held.values()) {
      for (const m of list) {
        if (m.proto !== proto || m.hostPort !== port || isIPv6Host(m.hostIp) !== isIPv6Host(hostIp)) continue;
        if (wild(m.hostIp) || wild(hostIp) || m.hostIp === hostIp) return true;
      }
    }
    return false;
  }

  /** Frees what a run of the container took: addresses, ports, rules, veths. Idempotent. */
  async release(c: ContainerRecord): Promise<void> {
    let rules = false;
    const held = this.held.get(c.id);
    if (held) {
      this.held.delete(c.id);
      for (const m of held) this.d.ports.release(m.proto, m.hostIp, m.hostPort);
      rules = held.length > 0;
    }
    for (const [key, ep] of Object.entries(c.endpoints)) {
      const n = this.netOfKey(key);
      // Not awaited: a lost write only leaves a stale entry, which reconcile() frees.
      if (n?.ipam && release(n.ipam, c.id)) void this.saveNet(n).catch((e) => this.d.log('warn', `save network ${n.name}: ${(e as Error).message}`));
      if (!ep.IPAddress) continue;
      if (n) {
        // The veth dies with the container's namespace (the kernel tears it down a moment
        // later); one still there afterwards (a container: joiner keeps the namespace) is deleted.
        const hostIf = hostIfName(c.id, n.id);
        setTimeout(() => void access(`/sys/class/net/${hostIf}`).then(() => this.d.driver.removeLink(hostIf), () => {}).catch(() => {}), 1000).unref();
      }
      Object.assign(ep, { EndpointID: '', Gateway: '', IPAddress: '', IPPrefixLen: 0, MacAddress: '' });
    }
    if (c.ports && Object.keys(c.ports).length) c.ports = {};
    if (rules) await this.syncRules();
  }

  // ---- connect / disconnect ----

  async connect(netRef: string, ctrRef: string, cfg: EndpointSettingsWire | undefined): Promise<void> {
    const n = this.get(netRef);
    const c = this.lookup().get(ctrRef);
    const mode = c.hostConfig.NetworkMode ?? 'bridge';
    if (n.driver !== 'bridge') throw new EngineError('permission-denied', `container cannot be disconnected from host network or connected to host network`);
    if (mode === 'host' || mode === 'none' || mode.startsWith('container:')) throw new EngineError('permission-denied', `container sharing network namespace with another container or host cannot be connected to any other network`);
    if (this.endpointOn(c, n)) throw new EngineError('permission-denied', `endpoint with name ${c.name} already exists in network ${n.name}`);
    const ep: EndpointSettingsWire = { ...(cfg ?? {}) };
    c.endpoints[n.name] = ep;
    try {
      this.validate(c);
      if (isRunning(c)) {
        const used = await readFile(`/proc/${c.state.pid}/net/dev`, 'utf8').catch(() => '');
        let i = 0;
        while (new RegExp(`^\\s*eth${i}:`, 'm').test(used)) i++;
        const routed = Object.entries(c.endpoints).some(([k, e]) => k !== n.name && e.IPAddress && !this.netOfKey(k)?.internal);
        try {
          await this.attachOne(c, c.state.pid, n.name, n, `eth${i}`, !routed && !n.internal);
        } catch (e) {
          if (release(n.ipam!, c.id)) await this.saveNet(n);
          throw e;
        }
        await this.writeFiles(c);
      }
    } catch (e) {
      delete c.endpoints[n.name];
      throw e;
    }
    await this.d.saveContainer(c);
    this.emit(n, 'connect', { container: c.id });
  }

  async disconnect(netRef: string, ctrRef: string, _force: boolean): Promise<void> {
    const n = this.get(netRef);
    const c = this.lookup().get(ctrRef);
    const key = c.endpoints[n.name] ? n.name : n.name === 'bridge' && c.endpoints.default ? 'default' : undefined;
    if (!key) throw new EngineError('internal', `container ${c.id} is not connected to network ${n.name}`);
    const ep = c.endpoints[key]!;
    if (ep.IPAddress) {
      await this.d.driver.removeLink(hostIfName(c.id, n.id)).catch(() => {});
      if (n.ipam && release(n.ipam, c.id)) await this.saveNet(n);
    }
    delete c.endpoints[key];
    if (isRunning(c)) await this.writeFiles(c);
    await this.d.saveContainer(c);
    this.emit(n, 'disconnect', { container: c.id });
  }

  private lookup(): ContainerLookup {
    if (!this.containers) throw new Error('network service: containers not wired');
    return this.containers;
  }

  // ---- /etc/hosts, /etc/resolv.conf ----

  private async writeFiles(c: ContainerRecord): Promise<void> {
    const dir = this.d.containerDir(c.id);
    const hostname = c.config.Hostname || shortId(c.id);
    const fqdn = c.config.Domainname ? `${hostname}.${c.config.Domainname} ${hostname}` : hostname;
    const lines = [
      '127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback', 'fe00::0\tip6-localnet',
      'ff00::0\tip6-mcastprefix', 'ff02::1\tip6-allnodes', 'ff02::2\tip6-allrouters',
    ];
    for (const h of c.hostConfig.ExtraHosts ?? []) {
      const i = h.indexOf(':');
      const ip = h.slice(i + 1);
      lines.push(`${ip === 'host-gateway' ? this.hostGateway() : ip}\t${h.slice(0, i)}`);
    }
    // --link on the default bridge: `<ip>\t<alias> <id> <name>` as Docker writes it
    const bridgeEp = this.endpointOn(c, this.byName('bridge') ?? ({ name: '' } as NetworkRecord));
    for (const l of c.hostConfig.Links ?? []) {
      const [target = '', alias0] = l.split(':');
      const alias = (alias0 ?? target).replace(/^.*\//, '');
      const t = this.containers?.list().find((x) => x.name === target.replace(/^\//, ''));
      const tip = t && bridgeEp ? this.endpointOn(t, this.byName('bridge')!)?.IPAddress : undefined;
      if (t && tip) lines.push(`${tip}\t${[...new Set([alias, shortId(t.id), t.name])].join(' ')}`);
    }
    const first = Object.values(c.endpoints).find((e) => e.IPAddress);
    if (first) lines.push(`${first.IPAddress}\t${fqdn}`);
    // writeFile truncates in place: the bind mount of the file keeps pointing at it
    await writeFile(join(dir, 'hosts'), lines.join('\n') + '\n');
    const userNet = Object.keys(c.endpoints).map((k) => this.netOfKey(k)).find((n) => n && n.name !== 'bridge' && n.ipam);
    if (userNet) await writeFile(join(dir, 'resolv.conf'), internalResolvConf(this.d.resolvConf, userNet.ipam!.gateway, c.hostConfig));
  }

  // ---- DNS ----

  private async listenDns(n: NetworkRecord): Promise<void> {
    if (n.builtin || !n.ipam) return;
    await this.d.dns.listen(n.ipam.gateway, (client, name, type) => this.resolve(n, client, name, type)).catch((e) => {
      this.d.log('warn', `embedded DNS on ${n.ipam!.gateway}:53 for network ${n.name}: ${(e as Error).message}`);
    });
  }

  /** Container names, network aliases, short IDs and the asker's --link aliases on `n`. */
  resolve(n: NetworkRecord, client: string, qname: string, type: number): DnsAnswer {
    let name = qname.replace(/\.$/, '').toLowerCase();
    if (name.endsWith(`.${n.name.toLowerCase()}`)) name = name.slice(0, -(n.name.length + 1));
    const members = this.endpointsOf(n);
    const addrs: string[] = [];
    const asker = members.find((m) => m.ep.IPAddress === client)?.c;
    for (const l of asker?.hostConfig.Links ?? []) {
      const [target = '', alias0] = l.split(':');
      const alias = (alias0 ?? target).replace(/^.*\//, '').toLowerCase();
      if (alias === name) {
        const t = members.find((m) => m.c.name === target.replace(/^\//, ''));
        if (t?.ep.IPAddress) addrs.push(t.ep.IPAddress);
      }
    }
    for (const { c, ep } of members) {
      const names = [c.name, ...(ep.Aliases ?? []), shortId(c.id)].map((x) => x.toLowerCase());
      if (names.includes(name) && ep.IPAddress && !addrs.includes(ep.IPAddress)) addrs.push(ep.IPAddress);
    }
    // other names go to the asker's --dns servers if it has any (as Docker's resolver does), else the host's
    if (addrs.length === 0) return asker?.hostConfig.Dns?.length ? { forward: asker.hostConfig.Dns } : 'forward';
    return { addrs: type === DNS_A ? addrs : [] };
  }

  // ---- rules ----

  /** Rebuilds the daemon's nftables table from the current state (serialized). */
  syncRules(): Promise<void> {
    const next = this.rulesQueue.then(async () => {
      const r: NetworkRules = { bridges: [], ports: [] };
      for (const n of this.nets.values()) if (n.driver === 'bridge' && n.bridge && n.ipam) r.bridges.push({ name: n.bridge, subnet: n.ipam.subnet, internal: n.internal });
      for (const [id, maps] of this.held) {
        const c = this.containers?.list().find((x) => x.id === id);
        const ip = c && Object.values(c.endpoints).find((e) => e.IPAddress)?.IPAddress;
        if (!ip) continue;
        // IPv6 host bindings are relayed by their socket (the userland proxy), not DNATed
        for (const m of maps) if (!isIPv6Host(m.hostIp)) r.ports.push({ proto: m.proto, hostIp: m.hostIp, hostPort: m.hostPort, ip, port: m.containerPort });
      }
      await this.d.driver.applyRules(r);
    });
    this.rulesQueue = next.catch(() => {});
    return next;
  }

  // ---- after a restart ----

  /**
   * Rebuilds the host side from the records once containers are restored: bridges, DNS
   * listeners, port reservations of running containers, the rule table; frees addresses of
   * containers that no longer run and deletes veths on our bridges that nobody owns.
   */
  async reconcile(): Promise<void> {
    const containers = this.lookup().list();
    const running = new Map(containers.filter(isRunning).map((c) => [c.id, c]));
    for (const n of this.nets.values()) {
      if (n.driver !== 'bridge' || !n.bridge || !n.ipam) continue;
      await this.d.driver.ensureBridge({ name: n.bridge, gateway: n.ipam.gateway, prefixLen: parseCidr(n.ipam.subnet).prefix, mtu: n.mtu ?? this.d.mtu })
        .catch((e) => this.d.log('error', `bridge ${n.bridge}: ${(e as Error).message}`));
      let changed = false;
      for (const c of running.values()) {
        const ip = this.endpointOn(c, n)?.IPAddress;
        if (ip && n.ipam.allocated[ip] !== c.id) { n.ipam.allocated[ip] = c.id; changed = true; }
      }
      for (const [ip, owner] of Object.entries(n.ipam.allocated)) {
        const c = running.get(owner);
        if (!c || !Object.values(c.endpoints).some((e) => e.IPAddress === ip)) { delete n.ipam.allocated[ip]; changed = true; }
      }
      if (changed) await this.saveNet(n);
      await this.listenDns(n);
    }
    for (const c of running.values()) {
      const maps: PortMapping[] = [];
      for (const [key, list] of Object.entries(c.ports ?? {})) {
        const [port = '0', proto = 'tcp'] = key.split('/');
        for (const b of list ?? []) {
          const hostIp = b.HostIp === '0.0.0.0' ? '' : b.HostIp;
          const m: PortMapping = { proto: proto as PortMapping['proto'], containerPort: Number(port), hostIp, hostPort: Number(b.HostPort) };
          const forward = isIPv6Host(hostIp) ? () => this.proxyTarget(c.id, m.containerPort) : undefined;
          await this.d.ports.reserve(m.proto, hostIp, m.hostPort, forward).catch((e) => this.d.log('warn', `port ${b.HostPort} of ${c.id}: ${(e as Error).message}`));
          maps.push(m);
        }
      }
      if (maps.length) this.held.set(c.id, maps);
    }
    await this.syncRules().catch((e) => this.d.log('error', `network rules: ${(e as Error).message}`));
    // veths on our bridges whose container is gone (a crash between create and cleanup)
    const ours = new Set([...this.nets.values()].map((n) => n.bridge).filter(Boolean));
    const expected = new Set<string>();
    for (const c of running.values()) for (const n of this.nets.values()) if (this.endpointOn(c, n)?.IPAddress) expected.add(hostIfName(c.id, n.id));
    for (const l of await this.d.driver.links(['pv'])) {
      if (expected.has(l)) continue;
      const master = await readFile(`/sys/class/net/${l}/master/uevent`, 'utf8').then((t) => /INTERFACE=(\S+)/.exec(t)?.[1], () => undefined);
      if (master && ours.has(master)) await this.d.driver.removeLink(l).catch(() => {});
    }
  }

  /** At shutdown with no container running: remove bridges and rules (made again at start). */
  async shutdown(): Promise<void> {
    if (this.lookup().list().some(isRunning)) return;
    for (const n of this.nets.values()) {
      if (n.ipam) await this.d.dns.close(n.ipam.gateway).catch(() => {});
      if (n.bridge) await this.d.driver.removeBridge(n.bridge).catch(() => {});
    }
    await this.d.driver.removeRules().catch(() => {});
  }
}

/**
 * resolv.conf for a container on a user network, laid out as Docker writes it for its internal
 * resolver: only the embedded DNS server (here: the network's gateway) as nameserver, search
 * and options from `--dns-search`/`--dns-option` or else the host's file, `ndots:0` unless an
 * ndots option is given, and a trailing comment naming the servers the resolver forwards to
 * (the `--dns` servers, or the host's).
 */
export function internalResolvConf(host: string, nameserver: string, hc: { Dns?: string[] | null; DnsSearch?: string[] | null; DnsOptions?: string[] | null }): string {
  const lines = host.split('\n').map((l) => l.trim().split(/\s+/)).filter((f) => f[0] && !f[0].startsWith('#') && !f[0].startsWith(';'));
  const hostNs = lines.filter((f) => f[0] === 'nameserver' && f[1]).map((f) => f[1]!);
  const hostSearch = lines.filter((f) => (f[0] === 'search' || f[0] === 'domain') && f.length > 1).at(-1)?.slice(1) ?? [];
  const hostOptions = lines.filter((f) => f[0] === 'options').flatMap((f) => f.slice(1));
  const overrides: string[] = [];
  if (hc.Dns?.length) overrides.push('nameservers');
  if (hc.DnsSearch?.length) overrides.push('search');
  if (hc.DnsOptions?.length) overrides.push('options');
  const search = hc.DnsSearch?.length ? hc.DnsSearch.filter((d) => d !== '.') : hostSearch;
  const options = hc.DnsOptions?.length ? [...hc.DnsOptions] : hostOptions;
  let ndotsFrom = options.some((o) => o.startsWith('ndots:')) ? (hc.DnsOptions?.length ? 'override' : 'host') : '';
  if (!ndotsFrom) { options.push('ndots:0'); ndotsFrom = 'internal'; }
  // what pier's resolver relays to: the --dns servers, else the host's (loopback ones are not used)
  const upstream = hc.Dns?.length ? hc.Dns : hostNs.filter((ip) => !/^127\.|^::1$/.test(ip));
  return [
    `nameserver ${nameserver}`,
    ...(search.length ? [`search ${search.join(' ')}`] : []),
    ...(options.length ? [`options ${options.join(' ')}`] : []),
    '',
    `# Based on host file: '/etc/resolv.conf' (internal resolver)`,
    ...(upstream.length ? [`# ExtServers: [${upstream.join(' ')}]`] : []),
    `# Overrides: [${overrides.join(' ')}]`,
    `# Option ndots from: ${ndotsFrom}`,
  ].join('\n') + '\n';
}

function ipamAddress(ep: EndpointSettingsWire): string | undefined {
  const c = ep.IPAMConfig as { IPv4Address?: string } | null | undefined;
  return c?.IPv4Address || undefined;
}

function firstEndpointId(c: ContainerRecord): string {
  return Object.values(c.endpoints).find((e) => e.EndpointID)?.EndpointID ?? '';
}

function range(a: number, b: number): number[] {
  const out: number[] = [];
  for (let p = a; p <= b; p++) out.push(p);
  return out;
}

function untilMs(v: string): number {
  if (/^[0-9]+(\.[0-9]+)?$/.test(v)) return Number(v) * 1000;
  const m = /^([0-9]+)(s|m|h)$/.exec(v);
  if (m) return Date.now() - Number(m[1]) * ({ s: 1000, m: 60000, h: 3600000 } as Record<string, number>)[m[2]!]!;
  return Date.parse(v);
}

/** `10mbit`, `512kbit`, `1gbit`, `2mbps` (bytes) or a plain number of bits per second. */
export function parseRate(v: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(k|m|g)?(bit|bps)?$/i.exec(v.trim());
  if (!m) throw invalidArgument(`invalid ${BW_LABEL} value: ${v}`);
  const mult = { '': 1, k: 1e3, m: 1e6, g: 1e9 }[(m[2] ?? '').toLowerCase() as '' | 'k' | 'm' | 'g'];
  return Math.round(Number(m[1]) * mult * ((m[3] ?? '').toLowerCase() === 'bps' ? 8 : 1));
}
