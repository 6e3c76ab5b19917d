// Networking (issue 6) through the real docker CLI: user networks with names and aliases,
// connect/disconnect, isolation and --internal, published ports reached from this process on
// 127.0.0.1, -P, host/none/container: modes, /etc/hosts and /etc/resolv.conf, network events,
// kill -9 of pierd, and no stray links or rules once everything is removed. Test traffic goes
// only to loopback and the test daemon's own containers; subnets come from 10.213.0.0/16
// (default bridges, per daemon) and 10.214.0.0/16 (user networks), docs/design/networking.md.
import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, connect } from 'node:net';
import { createSocket } from 'node:dgram';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { startPierd, requires, engineRequirements, waitFor, parseInspect, type Engine } from './harness.js';

/** A TCP port nobody listens on right now, on IPv4 or IPv6 (a dual-stack probe on [::]). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen({ port: 0, host: '::' }, () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

/** A UDP port nobody has bound on 0.0.0.0 or [::] right now (a dual-stack probe). */
function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp6');
    s.once('error', reject);
    s.bind(0, '::', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

/** Sends `msg` to host:port over UDP from this process (resending every 300 ms); resolves with the first reply. */
function udpEcho(host: string, port: number, msg: string, timeout = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    const send = (): void => s.send(msg, port, host);
    const every = setInterval(send, 300);
    const done = (e: Error | null, v?: string): void => { clearInterval(every); clearTimeout(t); s.close(); if (e) reject(e); else resolve(v!); };
    const t = setTimeout(() => done(new Error(`no UDP reply from ${host}:${port}`)), timeout);
    s.on('message', (m) => done(null, m.toString()));
    s.on('error', (e) => done(e));
    send();
  });
}

/** HTTP GET over a raw TCP connection from this process; resolves with the body. */
function httpGet(host: string, port: number, path: string, timeout = 3000): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host, port });
    let data = '';
    const t = setTimeout(() => { s.destroy(); reject(new Error(`timeout connecting to ${host}:${port}`)); }, timeout);
    s.on('connect', () => s.write(`GET ${path} HTTP/1.0\r\nHost: x\r\n\r\n`));
    s.setEncoding('utf8').on('data', (d: string) => { data += d; });
    s.on('error', (e) => { clearTimeout(t); reject(e); });
    s.on('close', () => { clearTimeout(t); resolve(data.split('\r\n\r\n').slice(1).join('\r\n\r\n')); });
  });
}

/** Whether a TCP connection to host:port is refused (nothing listens, nothing forwards). */
function refused(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    const t = setTimeout(() => { s.destroy(); resolve(false); }, 3000);
    s.on('connect', () => { clearTimeout(t); s.destroy(); resolve(false); });
    s.on('error', (e: NodeJS.ErrnoException) => { clearTimeout(t); resolve(e.code === 'ECONNREFUSED'); });
  });
}

/** The host's ifb devices (tc's intermediate functional blocks) by name. */
function ifbLinks(): string[] {
  return spawnSync('ip', ['-o', 'link', 'show', 'type', 'ifb'], { encoding: 'utf8' }).stdout
    .split('\n').map((l) => /^\d+:\s+([^:@\s]+)/.exec(l)?.[1]).filter((x): x is string => !!x).sort();
}

/** A free /24 of the user-network range (not routed on this host right now). */
function freeSubnet(): string {
  const routes = readFileSync('/proc/net/route', 'utf8');
  for (;;) {
    const k = 100 + Math.floor(Math.random() * 150);
    const hex = (0x0a | (0xd6 << 8) | (k << 16)).toString(16).toUpperCase().padStart(8, '0');
    if (!routes.includes(`\t${hex}\t`)) return `10.214.${k}.0/24`;
  }
}

const httpd = ['httpd', '-f', '-p', '80', '-h', '/etc'];
/**
 * wget with a deadline (busybox's own `wget -T` crashes in this build). Under `sh`, so that
 * `timeout` is not the container's pid 1 (which ignores its TERM).
 */
const fetch = (url: string): string[] => ['sh', '-c', `timeout 3 wget -qO- ${url}; exit $?`];
/** A fetch that must fail because the address cannot be reached (not because wget crashed). */
function assertUnreachable(r: { code: number; stdout: string; stderr: string }, what: string): void {
  assert.notEqual(r.code, 0, `${what}: got ${r.stdout}`);
  assert.notEqual(r.code, 139, `${what}: wget crashed: ${r.stderr}`);
  assert.equal(r.stdout, '', what);
}

describe('networking', { skip: requires(...engineRequirements, 'pier-only') }, () => {
  let h: Engine;
  let bridge = '';
  let table = '';
  let ifbBefore: string[] = [];
  const nets: string[] = [];
  before(async () => {
    ifbBefore = ifbLinks();
    h = await startPierd();
    const b = parseInspect(await h.ok(['network', 'inspect', 'bridge']));
    bridge = b.Options['com.docker.network.bridge.name'];
    table = `pier_${createHash('sha256').update(h.root!).digest('hex').slice(0, 8)}`;
  });
  after(async () => { await h?.stop(); });
  afterEach(async () => {
    await h.cleanup();
    for (const n of nets.splice(0)) await h.docker(['network', 'rm', n]);
  });
  const net = async (args: string[] = []): Promise<string> => {
    const name = h.name('net');
    await h.ok(['network', 'create', ...args, name]);
    nets.push(name);
    return name;
  };

  it('containers on a user network reach each other by name and alias (DNS on the gateway)', async () => {
    const n = await net();
    const info = parseInspect(await h.ok(['network', 'inspect', n]));
    const gw = info.IPAM.Config[0].Gateway as string;
    assert.match(info.IPAM.Config[0].Subnet, /^10\.214\.\d+\.0\/24$/);
    const web = h.name('web');
    await h.ok(['run', '-d', '--name', web, '--network', n, '--network-alias', 'www', h.image, ...httpd]);
    const out = await h.ok(['run', '--rm', '--network', n, h.image, 'sh', '-c',
      `cat /etc/resolv.conf; nslookup ${web}; wget -qO- http://${web}/hostname; wget -qO- http://www/hostname`]);
    assert.match(out, new RegExp(`^nameserver ${gw.replace(/\./g, '\\.')}$`, 'm'));
    const ip = parseInspect(await h.ok(['inspect', web])).NetworkSettings.Networks[n].IPAddress as string;
    assert.ok(out.includes(`Address: ${ip}`), out);
    const id12 = (await h.ok(['inspect', '-f', '{{.Id}}', web])).slice(0, 12);
    assert.equal(out.split(id12).length - 1, 2, out);
    // inspect shows the endpoint
    const ni = parseInspect(await h.ok(['network', 'inspect', n]));
    assert.equal(Object.values<any>(ni.Containers).find((c) => c.Name === web)?.IPv4Address, `${ip}/24`);
  });

  it('--ip, connect --alias and disconnect at run time; network events', async () => {
    const t0 = Math.floor(Date.now() / 1000);
    const subnet = freeSubnet();
    const n = await net(['--subnet', subnet]);
    const fixed = subnet.replace(/0\/24$/, '50');
    const web = h.name('web');
    await h.ok(['run', '-d', '--name', web, '--network', n, '--ip', fixed, h.image, ...httpd]);
    assert.equal(await h.ok(['inspect', '-f', `{{(index .NetworkSettings.Networks "${n}").IPAddress}}`, web]), fixed);
    const dup = await h.docker(['run', '--rm', '--network', n, '--ip', fixed, h.image, 'true']);
    assert.notEqual(dup.code, 0);
    const cli = h.name('cli');
    await h.ok(['run', '-d', '--name', cli, h.image, 'sleep', '1000']);
    assertUnreachable(await h.docker(['exec', cli, ...fetch(`http://${fixed}/hostname`)]), 'not connected yet');
    await h.ok(['network', 'connect', '--alias', 'me', n, cli]);
    assert.ok((await h.ok(['exec', cli, 'wget', '-qO-', `http://${web}/hostname`])).length > 0);
    assert.match(await h.ok(['exec', web, 'nslookup', 'me']), /Address: 10\.214\./);
    await h.ok(['network', 'disconnect', n, cli]);
    assertUnreachable(await h.docker(['exec', cli, ...fetch(`http://${fixed}/hostname`)]), 'disconnected');
    assert.match((await h.docker(['network', 'disconnect', n, cli])).stderr, /is not connected to network/);
    const ev = await h.ok(['events', '--since', String(t0), '--until', String(Math.floor(Date.now() / 1000) + 1), '--filter', 'type=network', '--format', '{{.Action}}']);
    for (const a of ['create', 'connect', 'disconnect']) assert.ok(ev.split('\n').includes(a), ev);
  });

  it('networks are isolated from each other; --internal has no route out; overlapping subnets are refused', async () => {
    const a = await net();
    const b = await net();
    const internal = await net(['--internal']);
    const web = h.name('web');
    await h.ok(['run', '-d', '--name', web, '--network', a, h.image, ...httpd]);
    const ip = parseInspect(await h.ok(['inspect', web])).NetworkSettings.Networks[a].IPAddress as string;
    assert.ok((await h.ok(['run', '--rm', '--network', a, h.image, ...fetch(`http://${ip}/hostname`)])).length > 0, 'same network reaches it');
    assertUnreachable(await h.docker(['run', '--rm', '--network', b, h.image, ...fetch(`http://${ip}/hostname`)]), 'network b must not reach network a');
    assertUnreachable(await h.docker(['run', '--rm', '--network', internal, h.image, ...fetch(`http://${ip}/hostname`)]), 'an internal network reaches nothing else');
    const routes = await h.ok(['run', '--rm', '--network', internal, h.image, 'ip', 'route']);
    assert.doesNotMatch(routes, /default/);
    const sub = parseInspect(await h.ok(['network', 'inspect', a])).IPAM.Config[0].Subnet as string;
    const o = await h.docker(['network', 'create', '--subnet', sub, h.name('overlap')]);
    assert.notEqual(o.code, 0);
    assert.match(o.stderr, /Pool overlaps with other one on this address space/);
  });

  it('-p publishes on 127.0.0.1 and all addresses, -P picks ephemeral ports, a taken port fails cleanly', async () => {
    const port = await freePort();
    const web = h.name('pub');
    await h.ok(['run', '-d', '--name', web, '-p', `127.0.0.1:${port}:80`, '--expose', '81', '-P', h.image, ...httpd]);
    const id12 = (await h.ok(['inspect', '-f', '{{.Id}}', web])).slice(0, 12);
    assert.equal((await httpGet('127.0.0.1', port, '/hostname')).trim(), id12);
    assert.ok((await h.ok(['port', web])).includes(`80/tcp -> 127.0.0.1:${port}`));
    const eph = (await h.ok(['port', web, '81'])).split('\n')[0]!;
    assert.match(eph, /^0\.0\.0\.0:\d+$/);
    assert.ok((await h.ok(['ps', '--filter', `name=${web}`, '--format', '{{.Ports}}'])).includes(`127.0.0.1:${port}->80/tcp`));
    const ports = parseInspect(await h.ok(['inspect', web])).NetworkSettings.Ports;
    assert.deepEqual(ports['80/tcp'], [{ HostIp: '127.0.0.1', HostPort: String(port) }]);
    // the same port again: clear error, nothing half-started
    const again = h.name('again');
    const r = await h.docker(['run', '-d', '--name', again, '-p', `127.0.0.1:${port}:80`, h.image, ...httpd]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /port is already allocated|address already in use/);
    assert.equal(await h.ok(['inspect', '-f', '{{.State.Status}}', again]), 'created');
    // taken by another program
    const busy = createServer();
    const bport = await new Promise<number>((res) => busy.listen(0, '127.0.0.1', () => res((busy.address() as { port: number }).port)));
    try {
      const r2 = await h.docker(['run', '--rm', '-p', `127.0.0.1:${bport}:80`, h.image, 'true']);
      assert.notEqual(r2.code, 0);
      assert.match(r2.stderr, /address already in use/);
    } finally { busy.close(); }
  });

  it('-p without a host IP publishes on 0.0.0.0 and [::] (port, ps, inspect, reachable on ::1); -P too; 127.0.0.1 stays IPv4, [::1] is IPv6 only', async () => {
    const port = await freePort();
    const web = h.name('v6');
    await h.ok(['run', '-d', '--name', web, '-p', `${port}:80`, '--expose', '81', '-P', h.image, 'sh', '-c', 'httpd -p 81 -h /etc && exec httpd -f -p 80 -h /etc']);
    const id12 = (await h.ok(['inspect', '-f', '{{.Id}}', web])).slice(0, 12);
    const ports = parseInspect(await h.ok(['inspect', web])).NetworkSettings.Ports;
    assert.deepEqual(ports['80/tcp'], [{ HostIp: '0.0.0.0', HostPort: String(port) }, { HostIp: '::', HostPort: String(port) }]);
    const eph = ports['81/tcp']?.[0]?.HostPort as string;
    assert.deepEqual(ports['81/tcp'], [{ HostIp: '0.0.0.0', HostPort: eph }, { HostIp: '::', HostPort: eph }], 'the ephemeral port is the same number on both');
    assert.deepEqual((await h.ok(['port', web, '80'])).split('\n'), [`0.0.0.0:${port}`, `[::]:${port}`]);
    const all = (await h.ok(['port', web])).split('\n');
    for (const l of [`80/tcp -> 0.0.0.0:${port}`, `80/tcp -> [::]:${port}`, `81/tcp -> 0.0.0.0:${eph}`, `81/tcp -> [::]:${eph}`]) assert.ok(all.includes(l), all.join('\n'));
    const ps = await h.ok(['ps', '--filter', `name=${web}`, '--format', '{{.Ports}}']);
    assert.ok(ps.includes(`0.0.0.0:${port}->80/tcp, [::]:${port}->80/tcp`), ps);
    assert.ok(ps.includes(`0.0.0.0:${eph}->81/tcp, [::]:${eph}->81/tcp`), ps);
    for (const [host, p] of [['127.0.0.1', port], ['::1', port], ['::1', Number(eph)]] as const) {
      assert.equal((await httpGet(host, p, '/hostname')).trim(), id12, `${host} port ${p}`);
    }
    // an explicit IPv4 address stays IPv4 only; an explicit [::1] is IPv6 only
    const p4 = await freePort(), p6 = await freePort();
    const lo = h.name('lo');
    await h.ok(['run', '-d', '--name', lo, '-p', `127.0.0.1:${p4}:80`, '-p', `[::1]:${p6}:80`, h.image, ...httpd]);
    const loId = (await h.ok(['inspect', '-f', '{{.Id}}', lo])).slice(0, 12);
    assert.deepEqual(parseInspect(await h.ok(['inspect', lo])).NetworkSettings.Ports['80/tcp'], [{ HostIp: '127.0.0.1', HostPort: String(p4) }, { HostIp: '::1', HostPort: String(p6) }]);
    assert.deepEqual((await h.ok(['port', lo, '80'])).split('\n'), [`127.0.0.1:${p4}`, `[::1]:${p6}`]);
    assert.ok((await h.ok(['ps', '--filter', `name=${lo}`, '--format', '{{.Ports}}'])).includes(`[::1]:${p6}->80/tcp`));
    assert.equal((await httpGet('::1', p6, '/hostname')).trim(), loId);
    assert.equal((await httpGet('127.0.0.1', p4, '/hostname')).trim(), loId);
    assert.equal(await refused('::1', p4), true, '127.0.0.1 binding is not published on ::1');
    assert.equal(await refused('127.0.0.1', p6), true, '[::1] binding is not published on 127.0.0.1');
    // the [::] side is held too: another container asking for it is refused
    const dup = await h.docker(['run', '--rm', '-p', `[::]:${port}:80`, h.image, 'true']);
    assert.notEqual(dup.code, 0);
    assert.match(dup.stderr, new RegExp(`Bind for \\[::\\]:${port} failed: port is already allocated`));
    // stop releases both sides: a relayed connection is ended, nothing answers on ::1 any more
    // and the port can be bound again
    const idle = connect({ host: '::1', port });
    await new Promise<void>((res, rej) => { idle.once('connect', () => res()); idle.once('error', rej); });
    const ended = new Promise<void>((res) => idle.on('close', () => res()).on('error', () => {}));
    await h.ok(['stop', '-t', '0', web]);
    await waitFor(() => idle.destroyed, { timeout: 5000, message: 'a relayed connection outlived the container' });
    await ended;
    assert.equal(await refused('::1', port), true, 'the [::] side closed at stop');
    const probe = createServer();
    await new Promise<void>((res, rej) => { probe.once('error', rej); probe.listen({ port, host: '::', ipv6Only: true }, () => res()); });
    probe.close();
  });

  it('a port taken on [::] by another program fails the start cleanly and frees the 0.0.0.0 side', async () => {
    const busy = createServer();
    const port = await new Promise<number>((res) => busy.listen({ port: 0, host: '::', ipv6Only: true }, () => res((busy.address() as { port: number }).port)));
    try {
      const c = h.name('busy6');
      const r = await h.docker(['run', '-d', '--name', c, '-p', `${port}:80`, h.image, ...httpd]);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, new RegExp(`listen tcp6 \\[::\\]:${port}: bind: address already in use`));
      assert.equal(await h.ok(['inspect', '-f', '{{.State.Status}}', c]), 'created');
      const v4 = createServer();
      await new Promise<void>((res, rej) => { v4.once('error', rej); v4.listen(port, '0.0.0.0', () => res()); });
      v4.close();
    } finally { busy.close(); }
  });

  it('--dns on a user network: names still resolve through pier, other names go to the given server, resolv.conf as Docker writes it', async () => {
    const n = await net();
    const gw = parseInspect(await h.ok(['network', 'inspect', n])).IPAM.Config[0].Gateway as string;
    // a tiny DNS server in a project container: ext.example.test → 10.214.250.77, NXDOMAIN otherwise; logs each question
    const dir = mkdtempSync(join(tmpdir(), 'pier-dns-'));
    try {
      writeFileSync(join(dir, 'dnsd.cjs'), [
        "const s = require('dgram').createSocket('udp4');",
        "s.on('message', (m, r) => {",
        "  let o = 12; const labels = [];",
        "  while (m[o]) { labels.push(m.subarray(o + 1, o + 1 + m[o]).toString()); o += 1 + m[o]; }",
        "  const name = labels.join('.').toLowerCase(); const type = m.readUInt16BE(o + 1);",
        "  console.log('q ' + name + ' ' + type);",
        "  const known = name === 'ext.example.test'; const a = known && type === 1;",
        "  const h = Buffer.from(m.subarray(0, 12));",
        "  h.writeUInt16BE(0x8180 | (known ? 0 : 3), 2); h.writeUInt16BE(1, 4); h.writeUInt16BE(a ? 1 : 0, 6); h.writeUInt16BE(0, 8); h.writeUInt16BE(0, 10);",
        "  const parts = [h, m.subarray(12, o + 5)];",
        "  if (a) parts.push(Buffer.from([0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 214, 250, 77]));",
        "  s.send(Buffer.concat(parts), r.port, r.address);",
        "});",
        "s.bind(53, '0.0.0.0', () => console.log('ready'));",
      ].join('\n') + '\n');
      const dnsd = h.name('dnsd');
      await h.ok(['run', '-d', '--name', dnsd, '--network', n, '-v', '/usr/bin/node:/usr/bin/node:ro', '-v', '/lib:/lib:ro', '-v', '/lib64:/lib64:ro',
        '-v', '/usr/lib:/usr/lib:ro', '-v', `${dir}/dnsd.cjs:/dnsd.cjs:ro`, h.image, '/usr/bin/node', '/dnsd.cjs']);
      await waitFor(async () => (await h.docker(['logs', dnsd])).stdout.includes('ready'), { timeout: 10_000, message: 'the DNS server did not start' });
      const dnsIp = parseInspect(await h.ok(['inspect', dnsd])).NetworkSettings.Networks[n].IPAddress as string;
      const web = h.name('web');
      await h.ok(['run', '-d', '--name', web, '--network', n, h.image, ...httpd]);
      const webId = (await h.ok(['inspect', '-f', '{{.Id}}', web])).slice(0, 12);
      const out = await h.ok(['run', '--rm', '--network', n, '--dns', dnsIp, '--dns-search', 'example.test', '--dns-option', 'ndots:2', '--dns-option', 'timeout:2', h.image, 'sh', '-c',
        `cat /etc/resolv.conf; echo ---; wget -qO- http://${web}/hostname; echo; echo ---; nslookup ext.example.test`]);
      const [resolv = '', own = '', ext = ''] = out.split('---\n');
      assert.ok(resolv.startsWith(`nameserver ${gw}\nsearch example.test\noptions ndots:2 timeout:2\n`), resolv);
      assert.equal(resolv.match(/^nameserver /gm)?.length, 1, `only the embedded server: ${resolv}`);
      assert.match(resolv, new RegExp(`^# ExtServers: \\[${dnsIp.replace(/\./g, '\\.')}\\]$`, 'm'));
      assert.match(resolv, /^# Overrides: \[nameservers search options\]$/m);
      assert.equal(own.trim(), webId, `a container name resolves with --dns set: ${own}`);
      assert.ok(ext.includes('Address: 10.214.250.77'), `other names come from the --dns server: ${ext}`);
      const asked = (await h.ok(['logs', dnsd])).split('\n');
      assert.ok(asked.includes('q ext.example.test 1'), asked.join('\n'));
      assert.ok(!asked.some((l) => l.startsWith(`q ${web} `)), `pier answered the container name itself: ${asked.join('\n')}`);
      // without --dns the same network still gets only the embedded server, with ndots:0 added
      const plain = await h.ok(['run', '--rm', '--network', n, h.image, 'cat', '/etc/resolv.conf']);
      assert.match(plain, new RegExp(`^nameserver ${gw.replace(/\./g, '\\.')}\n`));
      assert.match(plain, /^options (.* )?ndots:0$/m);
    } finally { rmSync(dir, { recursive: true, force: true }); }
  });

  it('--network host, none and container:<name>', async () => {
    const none = await h.ok(['run', '--rm', '--network', 'none', h.image, 'sh', '-c', 'ls /sys/class/net']);
    assert.deepEqual(none.split(/\s+/), ['lo']);
    const host = await h.ok(['run', '--rm', '--network', 'host', h.image, 'ls', '/sys/class/net']);
    assert.ok(host.split(/\s+/).includes(bridge), host);
    const c = h.name('ns');
    await h.ok(['run', '-d', '--name', c, h.image, 'sleep', '1000']);
    const ip = await h.ok(['inspect', '-f', '{{.NetworkSettings.IPAddress}}', c]);
    assert.match(ip, /^10\.213\.\d+\.\d+$/);
    const joined = await h.ok(['run', '--rm', '--network', `container:${c}`, h.image, 'ip', '-o', '-4', 'addr']);
    assert.ok(joined.includes(ip), joined);
  });

  it('/etc/hosts and /etc/resolv.conf on the default bridge', async () => {
    const gw = parseInspect(await h.ok(['network', 'inspect', 'bridge'])).IPAM.Config[0].Gateway as string;
    const c = h.name('hosts');
    const out = await h.ok(['run', '--name', c, '--hostname', 'myhost', '--add-host', 'foo.test:10.213.250.9', '--add-host', 'gw.test:host-gateway',
      '--dns', '10.213.250.53', '--dns-search', 'example.test', '--dns-option', 'ndots:2', h.image, 'sh', '-c', 'cat /etc/hosts; echo ---; cat /etc/resolv.conf']);
    const [hosts = '', resolv = ''] = out.split('---');
    assert.match(hosts, /^127\.0\.0\.1\tlocalhost$/m);
    assert.match(hosts, /^10\.213\.250\.9\tfoo\.test$/m);
    assert.ok(hosts.includes(`${gw}\tgw.test`), hosts);
    assert.match(hosts, /^10\.213\.\d+\.\d+\tmyhost$/m);
    assert.equal(resolv.trim(), 'nameserver 10.213.250.53\nsearch example.test\noptions ndots:2');
  });

  it('--link on the default bridge, hairpin to a published port, and restart keeps the port', async () => {
    const gw = parseInspect(await h.ok(['network', 'inspect', 'bridge'])).IPAM.Config[0].Gateway as string;
    const db = h.name('db');
    await h.ok(['run', '-d', '--name', db, h.image, ...httpd]);
    const dbId = (await h.ok(['inspect', '-f', '{{.Id}}', db])).slice(0, 12);
    const linked = await h.ok(['run', '--rm', '--link', `${db}:dbalias`, h.image, 'sh', '-c', 'grep dbalias /etc/hosts; wget -qO- http://dbalias/hostname']);
    assert.match(linked, new RegExp(`^10\\.213\\.\\d+\\.\\d+\\tdbalias ${dbId} ${db}$`, 'm'));
    assert.ok(linked.endsWith(dbId), linked);
    const port = await freePort();
    const web = h.name('hp');
    await h.ok(['run', '-d', '--name', web, '-p', `${port}:80`, h.image, ...httpd]);
    const id12 = (await h.ok(['inspect', '-f', '{{.Id}}', web])).slice(0, 12);
    assert.equal(await h.ok(['run', '--rm', h.image, ...fetch(`http://${gw}:${port}/hostname`)]), id12, 'hairpin through the gateway address');
    await h.ok(['restart', '-t', '0', web]);
    // httpd needs a moment to listen again
    await waitFor(async () => (await httpGet('127.0.0.1', port, '/hostname')).trim() === id12, { timeout: 5000, message: 'published again after a restart' });
  });

  it('-p <port>:9999/udp and -p 9999/udp: a datagram to 127.0.0.1 is echoed by the container', async () => {
    // busybox has no UDP server: the host's node runs a small echo server in the container
    const dir = mkdtempSync(join(tmpdir(), 'pier-udp-'));
    try {
      writeFileSync(join(dir, 'echo.cjs'), "const s = require('dgram').createSocket('udp4');\n" +
        "s.on('message', (m, r) => s.send('echo:' + m, r.port, r.address));\n" +
        "s.bind(9999, '0.0.0.0', () => console.log('ready'));\n");
      const port = await freeUdpPort();
      const c = h.name('udp');
      await h.ok(['run', '-d', '--name', c, '-v', '/usr/bin/node:/usr/bin/node:ro', '-v', '/lib:/lib:ro', '-v', '/lib64:/lib64:ro',
        '-v', '/usr/lib:/usr/lib:ro', '-v', `${dir}/echo.cjs:/echo.cjs:ro`, '-p', `${port}:9999/udp`, '-p', '9999/udp',
        h.image, '/usr/bin/node', '/echo.cjs']);
      await waitFor(async () => (await h.docker(['logs', c])).stdout.includes('ready'), { timeout: 10_000, message: 'the echo server did not start' });
      const lines = (await h.ok(['port', c, '9999/udp'])).split('\n');
      assert.ok(lines.includes(`0.0.0.0:${port}`) && lines.includes(`[::]:${port}`), lines.join('\n'));
      const eph = lines.map((l) => /^0\.0\.0\.0:(\d+)$/.exec(l)?.[1]).find((p) => p !== undefined && p !== String(port));
      assert.ok(eph, `an ephemeral binding: ${lines.join('\n')}`);
      assert.ok(lines.includes(`[::]:${eph}`), `the ephemeral port on [::] too: ${lines.join('\n')}`);
      assert.ok((await h.ok(['port', c])).includes(`9999/udp -> 0.0.0.0:${port}`));
      const ports = parseInspect(await h.ok(['inspect', c])).NetworkSettings.Ports['9999/udp'] as Array<{ HostIp: string; HostPort: string }>;
      assert.deepEqual(ports.map((p) => `${p.HostIp}/${p.HostPort}`).sort(), [`0.0.0.0/${port}`, `::/${port}`, `0.0.0.0/${eph}`, `::/${eph}`].sort());
      assert.equal(await udpEcho('127.0.0.1', port, 'fixed'), 'echo:fixed');
      assert.equal(await udpEcho('127.0.0.1', Number(eph), 'ephemeral'), 'echo:ephemeral');
      // IPv6 through the userland proxy to the container's IPv4 address
      assert.equal(await udpEcho('::1', port, 'fixed6'), 'echo:fixed6');
      assert.equal(await udpEcho('::1', Number(eph), 'ephemeral6'), 'echo:ephemeral6');
      // a UDP port held by another program fails the start cleanly
      const busy = createSocket('udp4');
      const bport = await new Promise<number>((res) => busy.bind(0, '127.0.0.1', () => res(busy.address().port)));
      try {
        const r = await h.docker(['run', '--rm', '-p', `127.0.0.1:${bport}:9999/udp`, h.image, 'true']);
        assert.notEqual(r.code, 0);
        assert.match(r.stderr, /listen udp4 127\.0\.0\.1:\d+: bind: address already in use/);
      } finally { busy.close(); }
    } finally { rmSync(dir, { recursive: true, force: true }); }
  });

  it('io.pier.network.bandwidth shapes a container\'s traffic', async () => {
    const n = await net();
    const srv = h.name('srv');
    await h.ok(['run', '-d', '--name', srv, '--network', n, h.image, 'sh', '-c', 'mkdir /w && dd if=/dev/zero of=/w/f bs=1M count=4 2>/dev/null && httpd -f -p 80 -h /w']);
    const fast = h.name('fast'), slow = h.name('slow');
    await h.ok(['run', '-d', '--name', fast, '--network', n, h.image, 'sleep', '1000']);
    await h.ok(['run', '-d', '--name', slow, '--network', n, '--label', 'io.pier.network.bandwidth=16mbit', h.image, 'sleep', '1000']);
    await waitFor(async () => (await h.docker(['exec', fast, 'wget', '-qO', '/dev/null', `http://${srv}/f`])).code === 0);
    const time = async (c: string): Promise<number> => {
      const t0 = Date.now();
      await h.ok(['exec', c, 'wget', '-qO', '/dev/null', `http://${srv}/f`]);
      return Date.now() - t0;
    };
    const tFast = await time(fast), tSlow = await time(slow);
    // 4 MiB at 16 Mbit/s is about 2.1 s
    assert.ok(tSlow >= 1500, `shaped: ${tSlow} ms`);
    assert.ok(tSlow > 2 * tFast, `shaped ${tSlow} ms vs unshaped ${tFast} ms`);
    console.log(`4 MiB over the bridge: unshaped ${tFast} ms, 16mbit ${tSlow} ms`);
  });

  it('after kill -9 of pierd and a restart: published ports and names still work; nothing leaks at the end', async () => {
    const n = await net();
    const port = await freePort();
    const dual = await freePort();
    const web = h.name('web');
    await h.ok(['run', '-d', '--name', web, '--network', n, '-p', `127.0.0.1:${port}:80`, '-p', `${dual}:80`, h.image, ...httpd]);
    const id12 = (await h.ok(['inspect', '-f', '{{.Id}}', web])).slice(0, 12);
    assert.equal((await httpGet('::1', dual, '/hostname')).trim(), id12);
    await h.kill9();
    // IPv4 is kernel state (DNAT); the [::] side is pierd's proxy and comes back with it
    assert.equal((await httpGet('127.0.0.1', port, '/hostname')).trim(), id12, 'ports work while pierd is down');
    await h.restart();
    assert.equal((await httpGet('127.0.0.1', port, '/hostname')).trim(), id12);
    assert.equal((await httpGet('::1', dual, '/hostname')).trim(), id12, 'the [::] side is proxied again after the restart');
    const again6 = await h.docker(['run', '--rm', '-p', `[::]:${dual}:80`, h.image, 'true']);
    assert.notEqual(again6.code, 0, 'the [::] side is still held after the restart');
    const out = await h.ok(['run', '--rm', '--network', n, h.image, 'wget', '-qO-', `http://${web}/hostname`]);
    assert.equal(out, id12);
    const again = await h.docker(['run', '--rm', '-p', `127.0.0.1:${port}:80`, h.image, 'true']);
    assert.notEqual(again.code, 0, 'the port is still held after the restart');
    await h.cleanup();
    for (const x of nets.splice(0)) await h.ok(['network', 'rm', x]);
    // nothing of the containers is left while pierd runs: no veth on our bridge
    await waitFor(() => readdirSync('/sys/class/net').filter((l) => {
      try { return readFileSync(`/sys/class/net/${l}/master/uevent`, 'utf8').includes(`INTERFACE=${bridge}`); } catch { return false; }
    }).length === 0, { timeout: 5000, message: 'veths left on the default bridge' });
    const rules = spawnSync('nft', ['list', 'table', 'ip', table], { encoding: 'utf8' }).stdout;
    assert.doesNotMatch(rules, /dnat to/, rules);
    assert.doesNotMatch(spawnSync('iptables-save', { encoding: 'utf8' }).stdout, /pier/i);
    // bandwidth shaping (tbf on both veth ends) makes no ifb devices: the host has the ones it had
    assert.deepEqual(ifbLinks(), ifbBefore, 'ifb devices changed');
    // and after pierd stops: no bridge, no table
    await h.terminate();
    assert.equal(existsSync(`/sys/class/net/${bridge}`), false, 'bridge removed at shutdown');
    assert.equal(spawnSync('nft', ['list', 'table', 'ip', table], { encoding: 'utf8' }).status !== 0, true, 'table removed at shutdown');
    await h.restart();
  });
});
