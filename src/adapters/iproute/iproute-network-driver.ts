/**
 * Host networking with iproute2 and nftables (docs/design/networking.md): `ip -batch` for
 * bridges and veth pairs (two processes per container: one in the host, one entered into the
 * container's namespace with nsenter), one nftables table per daemon for NAT, published
 * ports and isolation (rebuilt atomically as a whole; never touches anyone else's rules),
 * `tc` for bandwidth limits. Kernel errors become error kinds here.
 */
import { readFile, readdir, writeFile } from 'node:fs/promises';
import type { NetworkDriver, NetworkRules, VethConfig } from '../../core/ports/index.js';
import { EngineError } from '../../lib/errdefs.js';
import { spawn } from 'node:child_process';

export interface IprouteDriverOptions {
  /** nftables table (family ip) owned by this daemon. */
  table: string;
  ip?: string;
  nft?: string;
  nsenter?: string;
  tc?: string;
}

function exec(argv: string[], input: string | undefined): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
    child.on('close', (code) => { clearTimeout(timer); resolve({ code: code ?? 1, stdout, stderr }); });
    if (input !== undefined) { child.stdin!.on('error', () => {}); child.stdin!.end(input); }
  });
}

async function run(argv: string[], input?: string, what?: string): Promise<string> {
  let r;
  try {
    r = await exec(argv, input);
  } catch (e) {
    throw new EngineError('unavailable', `${argv[0]}: ${(e as Error).message}`, { cause: e });
  }
  if (r.code !== 0) {
    const msg = (r.stderr || r.stdout).trim().replace(/\s+/g, ' ');
    const kind = /File exists/.test(msg) ? 'already-exists' : /Cannot find device|No such|does not exist/.test(msg) ? 'not-found' : 'internal';
    throw new EngineError(kind, `${what ?? argv.join(' ')}: ${msg}`);
  }
  return r.stdout;
}

const exists = async (p: string): Promise<boolean> => readFile(p).then(() => true, () => false);
const sysctl = (path: string, v: string): Promise<void> => writeFile(path, v).catch(() => {});

export class IprouteNetworkDriver implements NetworkDriver {
  private readonly ip: string;
  private readonly nft: string;
  private readonly nsenter: string;
  private readonly tc: string;

  constructor(private readonly o: IprouteDriverOptions) {
    this.ip = o.ip ?? 'ip';
    this.nft = o.nft ?? 'nft';
    this.nsenter = o.nsenter ?? 'nsenter';
    this.tc = o.tc ?? 'tc';
  }

  async ensureBridge(b: { name: string; gateway: string; prefixLen: number; mtu: number }): Promise<void> {
    const have = await exists(`/sys/class/net/${b.name}/ifindex`);
    const cmds = [
      ...(have ? [] : [`link add ${b.name} mtu ${b.mtu} type bridge`]),
      `addr replace ${b.gateway}/${b.prefixLen} dev ${b.name}`,
      `link set ${b.name} up`,
    ];
    await run([this.ip, '-batch', '-'], cmds.join('\n') + '\n', `create bridge ${b.name}`);
    // Our own interfaces only: 127.0.0.1 may be DNATed to containers behind this bridge
    // (published ports on localhost) and packets from containers may be routed (hairpin).
    await sysctl(`/proc/sys/net/ipv4/conf/${b.name}/route_localnet`, '1');
    await sysctl(`/proc/sys/net/ipv4/conf/${b.name}/forwarding`, '1');
  }

  async removeBridge(name: string): Promise<void> {
    await this.removeLink(name);
  }

  async addVeth(v: VethConfig): Promise<void> {
    await run([this.ip, '-batch', '-'],
      `link add ${v.hostIf} mtu ${v.mtu} master ${v.bridge} up type veth peer name ${v.ifName} address ${v.mac} mtu ${v.mtu} netns ${v.pid}\n`,
      `create veth ${v.hostIf}`);
    const inside = [
      `addr add ${v.address}/${v.prefixLen} dev ${v.ifName}`,
      `link set ${v.ifName} up`,
      ...(v.defaultGateway ? [`route add default via ${v.defaultGateway} dev ${v.ifName}`] : []),
    ];
    try {
      await run([this.nsenter, `--net=/proc/${v.pid}/ns/net`, this.ip, '-batch', '-'], inside.join('\n') + '\n', `configure ${v.ifName} in the container`);
    } catch (e) {
      await this.removeLink(v.hostIf).catch(() => {});
      throw e;
    }
  }

  async removeLink(name: string): Promise<void> {
    try {
      await run([this.ip, 'link', 'del', name]);
    } catch (e) {
      if (!(e instanceof EngineError && e.kind === 'not-found')) throw e;
    }
  }

  async links(prefixes: string[]): Promise<string[]> {
    const names = await readdir('/sys/class/net').catch(() => [] as string[]);
    return names.filter((n) => prefixes.some((p) => n.startsWith(p)));
  }

  async applyRules(r: NetworkRules): Promise<void> {
    await run([this.nft, '-f', '-'], renderTable(this.o.table, r), `nftables table ${this.o.table}`);
  }

  async removeRules(): Promise<void> {
    await run([this.nft, 'delete', 'table', 'ip', this.o.table]).catch(() => {});
  }

  async hostRoutes(): Promise<string[]> {
    const text = await readFile('/proc/net/route', 'utf8').catch(() => '');
    const out: string[] = [];
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 8) continue;
      const le = (h: string): number => Buffer.from(h, 'hex').readUInt32LE(0);
      const dest = le(f[1]!), mask = le(f[7]!);
      if (mask === 0) continue; // default route
      const prefix = mask.toString(2).replace(/0/g, '').length;
      out.push(`${[dest >>> 24, (dest >>> 16) & 255, (dest >>> 8) & 255, dest & 255].join('.')}/${prefix}`);
    }
    return out;
  }

  async shape(link: { hostIf: string; pid: number; ifName: string }, rateBps: number): Promise<void> {
    // tbf on the host end shapes traffic to the container, on the container end traffic from
    // it (egress qdiscs only: this kernel has no police action for an ingress qdisc).
    const burst = Math.max(16 * 1024, Math.ceil(rateBps / 8 / 50)); // ~20 ms worth, at least 16 KiB
    const qdisc = (dev: string): string => `qdisc replace dev ${dev} root tbf rate ${rateBps}bit burst ${burst} latency 50ms\n`;
    await run([this.tc, '-batch', '-'], qdisc(link.hostIf), `limit bandwidth on ${link.hostIf}`);
    await run([this.nsenter, `--net=/proc/${link.pid}/ns/net`, this.tc, '-batch', '-'], qdisc(link.ifName), `limit bandwidth on ${link.ifName} in the container`);
  }

}

const q = (s: string): string => `"${s}"`;

/** The daemon's whole table; `add table` + `delete table` + definition = atomic replace. */
export function renderTable(table: string, r: NetworkRules): string {
  const L: string[] = [];
  L.push(`add table ip ${table}`, `delete table ip ${table}`, `table ip ${table} {`);
  L.push('  chain ports {');
  for (const p of r.ports) {
    const daddr = p.hostIp ? `ip daddr ${p.hostIp} ` : '';
    L.push(`    ${daddr}${p.proto} dport ${p.hostPort} dnat to ${p.ip}:${p.port}`);
  }
  L.push('  }');
  L.push('  chain prerouting {', '    type nat hook prerouting priority dstnat; policy accept;', '    fib daddr type local jump ports', '  }');
  L.push('  chain output {', '    type nat hook output priority -100; policy accept;', '    fib daddr type local jump ports', '  }');
  L.push('  chain postrouting {', '    type nat hook postrouting priority srcnat; policy accept;');
  for (const b of r.bridges) {
    // localhost → published port: the source must leave 127/8 to be routable on the bridge
    L.push(`    oifname ${q(b.name)} ip saddr 127.0.0.0/8 masquerade`);
    // hairpin: a container reaching a published port of its own network
    L.push(`    oifname ${q(b.name)} ip saddr ${b.subnet} ct status dnat masquerade`);
    if (!b.internal) L.push(`    ip saddr ${b.subnet} oifname != ${q(b.name)} masquerade`);
  }
  L.push('  }');
  L.push('  chain forward {', '    type filter hook forward priority filter; policy accept;');
  for (const b of r.bridges) {
    if (b.internal) {
      L.push(`    iifname ${q(b.name)} oifname != ${q(b.name)} drop`);
      L.push(`    oifname ${q(b.name)} iifname != ${q(b.name)} drop`);
      continue;
    }
    const others = r.bridges.filter((o) => o.name !== b.name).map((o) => q(o.name));
    if (others.length) L.push(`    iifname ${q(b.name)} oifname { ${others.join(', ')} } drop`);
  }
  L.push('  }', '}');
  return L.join('\n') + '\n';
}
