import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseCidr, cidrOverlaps, cidrString, subnetsOf, allocate, release, macFor, expandPortBindings, publishAll, parseQuery, buildAnswer, type IpamState } from './index.js';

describe('cidr', () => {
  it('parseCidr() masks host bits; cidrOverlaps() sees containment both ways', () => {
    assert.equal(cidrString(parseCidr('10.214.3.7/24')), '10.214.3.0/24');
    assert.equal(cidrOverlaps(parseCidr('10.214.0.0/16'), parseCidr('10.214.9.0/24')), true);
    assert.equal(cidrOverlaps(parseCidr('10.214.9.0/24'), parseCidr('10.214.0.0/16')), true);
    assert.equal(cidrOverlaps(parseCidr('10.214.1.0/24'), parseCidr('10.214.2.0/24')), false);
    assert.throws(() => parseCidr('10.0.0.0/33'));
  });
  it('subnetsOf() splits a pool in order', () => {
    assert.deepEqual([...subnetsOf(parseCidr('10.214.0.0/22'), 24)].map(cidrString), ['10.214.0.0/24', '10.214.1.0/24', '10.214.2.0/24', '10.214.3.0/24']);
  });
});

describe('ipam', () => {
  const state = (): IpamState => ({ subnet: '10.214.5.0/29', gateway: '10.214.5.1', allocated: {} });
  it('allocate() skips the gateway, never hands out an address twice, and does not reuse a freed one at once', () => {
    const s = state();
    const got = ['a', 'b', 'c', 'd', 'e'].map((o) => allocate(s, o));
    assert.deepEqual(got, ['10.214.5.2', '10.214.5.3', '10.214.5.4', '10.214.5.5', '10.214.5.6']);
    assert.throws(() => allocate(s, 'f'), /no available IPv4 addresses/);
    release(s, 'b');
    assert.equal(allocate(s, 'g'), '10.214.5.3');
    release(s, 'a'); release(s, 'c');
    assert.equal(allocate(s, 'h'), '10.214.5.4', 'continues after the last one handed out');
    assert.equal(allocate(s, 'i'), '10.214.5.2', 'and wraps around');
  });
  it('allocate() with a wanted address checks the subnet and the table', () => {
    const s = state();
    assert.equal(allocate(s, 'a', '10.214.5.4'), '10.214.5.4');
    assert.throws(() => allocate(s, 'b', '10.214.5.4'), /already in use/);
    assert.throws(() => allocate(s, 'b', '10.214.5.1'), /already in use/);
    assert.throws(() => allocate(s, 'b', '10.214.6.4'), /no configured subnet/);
  });
  it('macFor() is 02:42 + the address bytes', () => {
    assert.equal(macFor('10.213.0.2'), '02:42:0a:d5:00:02');
  });
});

describe('port bindings', () => {
  it('expandPortBindings() handles ephemeral ports, host IPs, ranges and protocols', () => {
    assert.deepEqual(expandPortBindings({
      '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '8080' }, { HostIp: '', HostPort: '' }],
      '53/udp': [{ HostPort: '0' }],
      '7000-7001/tcp': [{ HostPort: '9000-9001' }],
    }), [
      { proto: 'tcp', containerPort: 80, hostIp: '127.0.0.1', hostPort: 8080 },
      { proto: 'tcp', containerPort: 80, hostIp: '', hostPort: 0, anyFamily: true },
      { proto: 'udp', containerPort: 53, hostIp: '', hostPort: 0, anyFamily: true },
      { proto: 'tcp', containerPort: 7000, hostIp: '', hostPort: 9000, anyFamily: true },
      { proto: 'tcp', containerPort: 7001, hostIp: '', hostPort: 9001, anyFamily: true },
    ]);
    assert.deepEqual(expandPortBindings({ '80/tcp': [{ HostPort: '8000-8010' }] }), [{ proto: 'tcp', containerPort: 80, hostIp: '', hostPort: 0, hostRange: [8000, 8010], anyFamily: true }]);
  });
  it('expandPortBindings(): only a missing host IP means both families; 0.0.0.0 is IPv4, [::1] is IPv6', () => {
    assert.deepEqual(expandPortBindings({ '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '8080' }, { HostIp: '::1', HostPort: '8081' }, { HostIp: '[::]', HostPort: '8082' }] }), [
      { proto: 'tcp', containerPort: 80, hostIp: '', hostPort: 8080 },
      { proto: 'tcp', containerPort: 80, hostIp: '::1', hostPort: 8081 },
      { proto: 'tcp', containerPort: 80, hostIp: '::', hostPort: 8082 },
    ]);
    assert.throws(() => expandPortBindings({ '80-81/tcp': [{ HostPort: '9000-9005' }] }), /invalid ranges/);
  });
  it('publishAll() maps every exposed port to an ephemeral one', () => {
    assert.deepEqual(publishAll({ '80/tcp': {}, '53/udp': {} }), { '80/tcp': [{ HostIp: '', HostPort: '' }], '53/udp': [{ HostIp: '', HostPort: '' }] });
  });
});

describe('dns message', () => {
  const query = (name: string, type = 1): Buffer => {
    const labels = Buffer.concat([...name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])), Buffer.from([0])]);
    const h = Buffer.from([0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    const t = Buffer.alloc(4); t.writeUInt16BE(type, 0); t.writeUInt16BE(1, 2);
    return Buffer.concat([h, labels, t]);
  };
  it('parseQuery() reads the question; buildAnswer() answers with A records', () => {
    const q = parseQuery(query('Web.Net1'))!;
    assert.deepEqual([q.id, q.name, q.type, q.rd], [0x1234, 'web.net1', 1, true]);
    const a = buildAnswer(query('web.net1'), q, ['10.214.0.2']);
    assert.equal(a.readUInt16BE(0), 0x1234);
    assert.equal(a.readUInt16BE(2) & 0x8000, 0x8000);
    assert.equal(a.readUInt16BE(6), 1);
    assert.deepEqual([...a.subarray(a.length - 4)], [10, 214, 0, 2]);
    assert.equal(buildAnswer(query('x'), parseQuery(query('x'))!, [], 3).readUInt16BE(2) & 0xf, 3);
  });
});
