import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseBind, parseMount, parseTmpfs, parseVolumesFrom, planMounts, ociMount, sortMounts, mountsWire, usesVolume, validateVolumeName } from './mounts.js';

const msg = (fn: () => unknown): string => { try { fn(); } catch (e) { return (e as Error).message; } return ''; };

describe('parseBind()', () => {
  it('parses a bind with Docker defaults (rprivate, rw, empty mode)', () => {
    assert.deepEqual(parseBind('/host/dir:/ctr'), { type: 'bind', destination: '/ctr', source: '/host/dir', mode: '', rw: true, propagation: 'rprivate', createSource: true });
  });
  it('parses ro and a propagation mode', () => {
    const p = parseBind('/h:/c:ro,rslave,Z');
    assert.equal(p.rw, false);
    assert.equal(p.propagation, 'rslave');
    assert.equal(p.mode, 'ro,rslave,Z');
  });
  it('treats a relative source as a named volume with mode z', () => {
    assert.deepEqual(parseBind('vol1:/data'), { type: 'volume', destination: '/data', source: '', name: 'vol1', driver: 'local', mode: 'z', rw: true, propagation: '', nocopy: false });
    assert.equal(parseBind('vol1:/data:ro,nocopy').nocopy, true);
  });
  it('treats a lone path as an anonymous volume', () => {
    const p = parseBind('/only');
    assert.equal(p.type, 'volume');
    assert.equal(p.anonymous, true);
  });
  it('rejects bad specifications with moby\'s messages', () => {
    assert.equal(msg(() => parseBind('/tmp:rel')), `invalid volume specification: '/tmp:rel': invalid mount config for type "bind": invalid mount path: 'rel' mount path must be absolute`);
    assert.equal(msg(() => parseBind('/tmp:/')), `invalid volume specification: '/tmp:/': invalid mount config for type "bind": invalid specification: destination can't be '/'`);
    assert.equal(msg(() => parseBind('/tmp:/x:bogus')), 'invalid mode: bogus');
    assert.equal(msg(() => parseBind('/tmp:/x:ro,rw')), 'invalid mode: ro,rw');
    assert.equal(msg(() => parseBind('/tmp:/x:ro,Z,rslave,nocopy')), `invalid volume specification: '/tmp:/x:ro,Z,rslave,nocopy': invalid mount config for type "bind": field VolumeOptions must not be specified`);
    assert.equal(msg(() => parseBind('a:b:c:d')), `invalid volume specification: 'a:b:c:d'`);
    assert.equal(msg(() => parseBind(':/x')), `invalid volume specification: ':/x'`);
  });
});

describe('parseMount()', () => {
  it('maps --mount type=bind with propagation and readonly', () => {
    assert.deepEqual(parseMount({ Type: 'bind', Source: '/s', Target: '/t', ReadOnly: true, BindOptions: { Propagation: 'rshared' } }),
      { type: 'bind', destination: '/t', source: '/s', mode: '', rw: false, propagation: 'rshared', createSource: false });
  });
  it('maps --mount type=volume with nocopy, labels and driver options', () => {
    const p = parseMount({ Type: 'volume', Source: 'v', Target: '/d', VolumeOptions: { NoCopy: true, Labels: { a: 'b' }, DriverConfig: { Options: { type: 'tmpfs', device: 'tmpfs' } } } });
    assert.equal(p.name, 'v');
    assert.equal(p.nocopy, true);
    assert.deepEqual(p.volumeLabels, { a: 'b' });
    assert.deepEqual(p.driverOpts, { type: 'tmpfs', device: 'tmpfs' });
    assert.equal(parseMount({ Type: 'volume', Target: '/d' }).anonymous, true);
  });
  it('maps --mount type=tmpfs size and mode to kernel options', () => {
    assert.deepEqual(parseMount({ Type: 'tmpfs', Target: '/t', TmpfsOptions: { SizeBytes: 1048576, Mode: 0o700 } }).tmpfsOptions, ['size=1024k', 'mode=700']);
  });
  it('rejects fields that do not belong to the type', () => {
    assert.equal(msg(() => parseMount({ Type: 'bind', Target: '/x' })), 'invalid mount config for type "bind": field Source must not be empty');
    assert.equal(msg(() => parseMount({ Type: 'tmpfs', Target: '/t', Source: 'foo' })), 'invalid mount config for type "tmpfs": field Source must not be specified');
    assert.equal(msg(() => parseMount({ Type: 'volume', Target: '/t', BindOptions: {} })), 'invalid mount config for type "volume": field BindOptions must not be specified');
    assert.equal(msg(() => parseMount({ Type: 'npipe', Target: '/t' })), 'invalid mount config for type "npipe": mount type unknown');
    assert.equal(msg(() => parseMount({ Type: 'bind', Source: '/s' })), 'invalid mount config for type "bind": field Target must not be empty');
  });
});

describe('parseTmpfs() and parseVolumesFrom()', () => {
  it('adds mode=1777 unless given and hides the mount from Mounts', () => {
    assert.deepEqual(parseTmpfs('/run', 'size=64m').tmpfsOptions, ['size=64m', 'mode=1777']);
    assert.equal(parseTmpfs('/run', 'ro').rw, false);
    assert.equal(parseTmpfs('/run', '').hidden, true);
    assert.equal(msg(() => parseTmpfs('rel', '')), `invalid mount path: 'rel' mount path must be absolute`);
    assert.equal(msg(() => parseTmpfs('/x', 'bogus')), 'invalid tmpfs option ["bogus"]');
  });
  it('splits the container and mode', () => {
    assert.deepEqual(parseVolumesFrom('c1'), { container: 'c1', mode: '' });
    assert.deepEqual(parseVolumesFrom('c1:ro'), { container: 'c1', mode: 'ro' });
    assert.equal(msg(() => parseVolumesFrom('c1:xx')), 'invalid mode: xx');
  });
});

describe('planMounts()', () => {
  it('gives Binds precedence over --volumes-from and Config.Volumes only fills free destinations', () => {
    const inherited = [parseBind('shared:/data'), parseBind('/h:/h')];
    const plan = planMounts({ binds: ['/other:/data'], volumes: { '/data': {}, '/anon': {} }, volumesFrom: [{ points: inherited, mode: 'ro' }] });
    const by = Object.fromEntries(plan.map((p) => [p.destination, p]));
    assert.equal(by['/data']!.type, 'bind');
    assert.equal(by['/h']!.rw, false);
    assert.equal(by['/anon']!.anonymous, true);
    assert.equal(plan.length, 3);
  });
  it('rejects two mounts on one destination', () => {
    assert.equal(msg(() => planMounts({ binds: ['/tmp:/x', '/etc:/x'] })), 'Duplicate mount point: /x');
    assert.equal(msg(() => planMounts({ binds: ['/tmp:/x'], tmpfs: { '/x/': '' } })), 'Duplicate mount point: /x');
  });
});

describe('ociMount(), sortMounts(), mountsWire(), usesVolume()', () => {
  it('builds rbind mounts with the propagation and tmpfs mounts with Docker\'s flags', () => {
    assert.deepEqual(ociMount({ ...parseBind('/h:/c:ro'), source: '/h' }), { destination: '/c', type: 'bind', source: '/h', options: ['rbind', 'ro', 'rprivate'] });
    assert.deepEqual(ociMount(parseTmpfs('/t', 'size=1m')), { destination: '/t', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'noexec', 'size=1m', 'mode=1777'] });
  });
  it('mounts parents first', () => {
    assert.deepEqual(sortMounts([{ destination: '/a/b/c' }, { destination: '/a' }, { destination: '/a/b' }]).map((m) => m.destination), ['/a', '/a/b', '/a/b/c']);
  });
  it('lists volumes with Name and Driver, hides --tmpfs', () => {
    const w = mountsWire([{ ...parseBind('v:/d'), source: '/var/lib/pier/volumes/v/_data' }, parseTmpfs('/t', '')]);
    assert.deepEqual(w, [{ Type: 'volume', Name: 'v', Source: '/var/lib/pier/volumes/v/_data', Destination: '/d', Driver: 'local', Mode: 'z', RW: true, Propagation: '' }]);
    assert.equal(usesVolume([parseBind('v:/d')], 'v'), true);
    assert.equal(usesVolume([parseBind('v:/d')], '/d'), true);
    assert.equal(usesVolume([parseBind('v:/d')], 'w'), false);
  });
  it('validateVolumeName() uses moby\'s character rule', () => {
    assert.equal(msg(() => validateVolumeName('ok_name.1')), '');
    assert.match(msg(() => validateVolumeName('a/b')), /includes invalid characters for a local volume name/);
  });
});
