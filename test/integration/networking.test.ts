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

/** A TCP port nobody listens on right now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

/** A UDP port nobody has bound on 0.0.0.0 right now. */
function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    s.once('error', reject);
    s.bind(0, '0.0.0.0', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

/** Sends `msg` to host:port over UDP from this process (resending every 300 ms); resolves with the first reply. */
function udpEcho(host: string, port: number, msg: string, timeout = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
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
  const nets: string[] = [];
  before(async () => {
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
    assert.match(resolv, /^nameserver 10\.213\.250\.53$/m);
    assert.match(resolv, /^search example\.test$/m);
    assert.match(resolv, /^options ndots:2$/m);
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
      assert.ok(lines.includes(`0.0.0.0:${port}`), lines.join('\n'));
      const eph = lines.map((l) => /^0\.0\.0\.0:(\d+)$/.exec(l)?.[1]).find((p) => p !== undefined && p !== String(port));
      assert.ok(eph, `an ephemeral binding: ${lines.join('\n')}`);
      assert.ok((await h.ok(['port', c])).includes(`9999/udp -> 0.0.0.0:${port}`));
      const ports = parseInspect(await h.ok(['inspect', c])).NetworkSettings.Ports['9999/udp'] as Array<{ HostIp: string; HostPort: string }>;
      assert.deepEqual(ports.map((p) => p.HostPort).sort(), [String(port), eph].sort());
      assert.equal(await udpEcho('127.0.0.1', port, 'fixed'), 'echo:fixed');
      assert.equal(await udpEcho('127.0.0.1', Number(eph), 'ephemeral'), 'echo:ephemeral');
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
    const web = h.name('web');
    await h.ok(['run', '-d', '--name', web, '--network', n, '-p', `127.0.0.1:${port}:80`, h.image, ...httpd]);
    const id12 = (await h.ok(['inspect', '-f', '{{.Id}}', web])).slice(0, 12);
    await h.kill9();
    assert.equal((await httpGet('127.0.0.1', port, '/hostname')).trim(), id12, 'ports work while pierd is down');
    await h.restart();
    assert.equal((await httpGet('127.0.0.1', port, '/hostname')).trim(), id12);
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
    // and after pierd stops: no bridge, no table
    await h.terminate();
    assert.equal(existsSync(`/sys/class/net/${bridge}`), false, 'bridge removed at shutdown');
    assert.equal(spawnSync('nft', ['list', 'table', 'ip', table], { encoding: 'utf8' }).status !== 0, true, 'table removed at shutdown');
    await h.restart();
  });
});
