// `docker ps --filter` keys that depend on networking, health and swarm state, with moby's
// semantics (daemon/list.go): publish/expose match container ports (`80` = `80/tcp`, ranges
// `8000-8080[/proto]`) against HostConfig.PortBindings / Config.ExposedPorts; network matches a
// network name or an ID prefix; health is starting|healthy|unhealthy|none; is-task is a bool
// (no container is a swarm task here); volume matches a volume name, bind source or destination.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startPierd, requires, engineRequirements, inspect, waitFor, type Engine } from './harness.js';

describe('ps filters: network, publish, expose, health, volume, is-task', { skip: requires(...engineRequirements, 'pier-only') }, () => {
  let h: Engine;
  const tag = `ps-filters-${randomBytes(4).toString('hex')}`;
  let net = '', netId = '', vol = '';
  const c: Record<'a' | 'b' | 'c' | 'd', string> = { a: '', b: '', c: '', d: '' };

  before(async () => {
    h = await startPierd();
    net = h.name('psnet');
    netId = await h.ok(['network', 'create', net]);
    vol = h.name('psvol');
    await h.ok(['volume', 'create', vol]);
    for (const k of Object.keys(c) as Array<keyof typeof c>) c[k] = h.name(`ps${k}`);
    const common = ['--label', tag, '-d'];
    // a: published tcp 80, exposed 81, on the user network, healthy
    await h.ok(['run', ...common, '--name', c.a, '--network', net, '-p', '127.0.0.1::80', '--expose', '81',
      '--health-cmd', 'true', '--health-interval', '200ms', h.image, 'sleep', '1000']);
    // b: published udp 8053, default bridge, no health check, a volume
    await h.ok(['run', ...common, '--name', c.b, '-p', '127.0.0.1::8053/udp', '-v', `${vol}:/data`, h.image, 'sleep', '1000']);
    // c: exposed only (a range), on the user network, unhealthy
    await h.ok(['run', ...common, '--name', c.c, '--network', net, '--expose', '8000-8002',
      '--health-cmd', 'false', '--health-interval', '200ms', '--health-retries', '1', h.image, 'sleep', '1000']);
    // d: no network, a check that has not run yet (starting)
    await h.ok(['run', ...common, '--name', c.d, '--network', 'none', '--health-cmd', 'true', '--health-interval', '1h', h.image, 'sleep', '1000']);
    await waitFor(async () => (await inspect(h, c.a)).State.Health.Status === 'healthy', { timeout: 10_000, message: 'a healthy' });
    await waitFor(async () => (await inspect(h, c.c)).State.Health.Status === 'unhealthy', { timeout: 10_000, message: 'c unhealthy' });
  });
  after(async () => {
    if (!h) return;
    await h.cleanup();
    await h.docker(['network', 'rm', net]);
    await h.docker(['volume', 'rm', vol]);
    await h.stop();
  });

  /** The test's containers (by letter, sorted) that `ps -a --filter f...` lists. */
  const ps = async (...filters: string[]): Promise<string> => {
    const out = await h.ok(['ps', '-a', '--filter', `label=${tag}`, ...filters.flatMap((f) => ['--filter', f]), '--format', '{{.Names}}']);
    const byName = new Map(Object.entries(c).map(([k, v]) => [v, k]));
    return out.split('\n').filter(Boolean).map((n) => byName.get(n) ?? n).sort().join(',');
  };

  it('publish: a container port (tcp by default), with a protocol, or a range', async () => {
    assert.equal(await ps('publish=80'), 'a');
    assert.equal(await ps('publish=80/tcp'), 'a');
    assert.equal(await ps('publish=80/udp'), '');
    assert.equal(await ps('publish=8053/udp'), 'b');
    assert.equal(await ps('publish=8053'), '');
    assert.equal(await ps('publish=70-90'), 'a');
    assert.equal(await ps('publish=80', 'publish=8053/udp'), 'a,b');
    assert.equal(await ps('publish=8000-8002'), '', 'exposed only is not published');
    assert.equal(await ps('publish=81'), '', '-P was not given: --expose alone publishes nothing');
    const bad = await h.docker(['ps', '--filter', 'publish=8080:80']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /filter for 'publish' should not contain ':'/);
    assert.notEqual((await h.docker(['ps', '--filter', 'publish=http'])).code, 0);
  });

  it('expose: Config.ExposedPorts (--expose, and the ports -p publishes)', async () => {
    assert.equal(await ps('expose=81'), 'a');
    assert.equal(await ps('expose=80'), 'a');
    assert.equal(await ps('expose=8001'), 'c');
    assert.equal(await ps('expose=7999-8000/tcp'), 'c');
    assert.equal(await ps('expose=8053/udp'), 'b');
    assert.equal(await ps('expose=8001/udp'), '');
  });

  it('network: a name or an ID prefix', async () => {
    assert.equal(await ps(`network=${net}`), 'a,c');
    assert.equal(await ps(`network=${netId.slice(0, 12)}`), 'a,c');
    assert.equal(await ps(`network=${netId}`), 'a,c');
    assert.equal(await ps('network=bridge'), 'b');
    assert.equal(await ps(`network=${(await h.ok(['network', 'inspect', '-f', '{{.Id}}', 'bridge'])).slice(0, 10)}`), 'b');
    assert.equal(await ps('network=none'), 'd');
    assert.equal(await ps(`network=${net}`, 'network=none'), 'a,c,d');
    assert.equal(await ps('network=no-such-network'), '');
  });

  it('health: starting, healthy, unhealthy, none; anything else is refused', async () => {
    assert.equal(await ps('health=healthy'), 'a');
    assert.equal(await ps('health=unhealthy'), 'c');
    assert.equal(await ps('health=starting'), 'd');
    assert.equal(await ps('health=none'), 'b');
    assert.equal(await ps('health=healthy', 'health=none'), 'a,b');
    const bad = await h.docker(['ps', '--filter', 'health=sick']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /Unrecognised filter value for health: sick/);
  });

  it('volume (name or destination) and is-task', async () => {
    assert.equal(await ps(`volume=${vol}`), 'b');
    assert.equal(await ps('volume=/data'), 'b');
    assert.equal(await ps('is-task=true'), '');
    assert.equal(await ps('is-task=false'), 'a,b,c,d');
    assert.equal(await ps('is-task=1', `network=${net}`), '');
    const bad = await h.docker(['ps', '--filter', 'is-task=maybe']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /invalid filter 'is-task=maybe'/);
  });

  it('a stopped container still matches its network and ports', async () => {
    await h.ok(['stop', '-t', '0', c.a]);
    assert.equal(await ps(`network=${net}`, 'status=exited'), 'a');
    assert.equal(await ps('publish=80'), 'a');
    assert.equal(await ps('expose=81', 'status=exited'), 'a');
  });
});
