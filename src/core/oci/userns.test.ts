import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildSpec } from './spec.js';
import { withSysctls } from './security.js';
import {
  identityMapping, mappingKey, mappingsFromRanges, nextFreeRange, remappedRoot, resolveRemapSpec, subIdRanges, toContainerId, toHostId,
  validateUsernsMode, withUserNamespace,
} from './userns.js';

const PASSWD = 'root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1::/:/bin/false\ndockremap:x:999:998::/:/bin/false\nsolo:x:1000:1000::/:/bin/sh\n';
const GROUP = 'root:x:0:\ndaemon:x:1:\ndockremap:x:998:\nstaff:x:50:\n';

test('resolveRemapSpec() takes default, user, user:group, uid and uid:gid as dockerd does', () => {
  assert.deepEqual(resolveRemapSpec('default', PASSWD, GROUP), { kind: 'names', user: 'dockremap', group: 'dockremap' });
  assert.deepEqual(resolveRemapSpec('default', 'root:x:0:0::/:/bin/sh\n', 'root:x:0:\n'), { kind: 'create-default' });
  assert.deepEqual(resolveRemapSpec('daemon', PASSWD, GROUP), { kind: 'names', user: 'daemon', group: 'daemon' });
  assert.deepEqual(resolveRemapSpec('daemon:staff', PASSWD, GROUP), { kind: 'names', user: 'daemon', group: 'staff' });
  assert.deepEqual(resolveRemapSpec('1', PASSWD, GROUP), { kind: 'names', user: 'daemon', group: 'daemon' });
  assert.deepEqual(resolveRemapSpec('1:50', PASSWD, GROUP), { kind: 'names', user: 'daemon', group: 'staff' });
});

test('resolveRemapSpec() rejects unknown names and ids with dockerd\'s messages', () => {
  assert.throws(() => resolveRemapSpec('a:b:c', PASSWD, GROUP), /^Error: Invalid user\/group specification in --userns-remap: "a:b:c"$/);
  assert.throws(() => resolveRemapSpec('nosuch', PASSWD, GROUP), /^Error: Error during uid lookup for "nosuch": /);
  assert.throws(() => resolveRemapSpec('solo', PASSWD, GROUP), /^Error: Error during gid lookup for "solo": /);
  assert.throws(() => resolveRemapSpec('4242', PASSWD, GROUP), /^Error: Uid 4242 has no entry in \/etc\/passwd: /);
  assert.throws(() => resolveRemapSpec('1000', PASSWD, GROUP), /^Error: Gid 1000 has no entry in \/etc\/group: /);
  assert.throws(() => resolveRemapSpec('daemon:nogroup', PASSWD, GROUP), /^Error: Error during groupname lookup for "nogroup": /);
});

test('identityMapping() lays the ranges of a name (or its id) end to end, sorted', () => {
  const subuid = 'other:100000:65536\ndaemon:300000:1000\n1:200000:65536\n';
  const m = identityMapping('daemon', 'daemon', subuid, 'daemon:300000:65536\n', { uid: 1 });
  assert.deepEqual(m.uidMappings, [{ containerID: 0, hostID: 200000, size: 65536 }, { containerID: 65536, hostID: 300000, size: 1000 }]);
  assert.deepEqual(m.gidMappings, [{ containerID: 0, hostID: 300000, size: 65536 }]);
  assert.deepEqual(remappedRoot(m), { uid: 200000, gid: 300000 });
  assert.equal(toHostId(m.uidMappings, 65537), 300001);
  assert.equal(toHostId(m.uidMappings, 70000), undefined);
  assert.equal(toContainerId(m.uidMappings, 200005), 5);
  assert.equal(toContainerId(m.uidMappings, 0), undefined);
  assert.notEqual(mappingKey(m), mappingKey({ ...m, gidMappings: m.uidMappings }));
});

test('identityMapping() without subordinate ranges fails like dockerd', () => {
  assert.throws(() => identityMapping('bin', 'bin', 'daemon:1:2\n', ''), /^Error: Can't create ID mappings: No subuid ranges found for user "bin"$/);
  assert.throws(() => identityMapping('bin', 'bin', 'bin:100000:65536\n', ''), /^Error: Can't create ID mappings: No subgid ranges found for group "bin"$/);
  assert.deepEqual(subIdRanges('# x:1:2\nbad\nbin:5:0\nbin:7:9\n', 'bin'), [{ start: 7, count: 9 }]);
  assert.deepEqual(mappingsFromRanges([]), []);
});

test('nextFreeRange() finds the first 65536-id range at or above 100000 that overlaps nothing', () => {
  assert.equal(nextFreeRange(''), 100000);
  assert.equal(nextFreeRange('a:100000:65536\n'), 165536);
  assert.equal(nextFreeRange('a:100000:65536\nb:165536:65536\n'), 231072);
  assert.equal(nextFreeRange('a:500000:10\n'), 100000);
});

test('validateUsernsMode() accepts only host or empty and mirrors dockerd\'s conflicts under remapping', () => {
  assert.doesNotThrow(() => validateUsernsMode({}, true));
  assert.doesNotThrow(() => validateUsernsMode({ UsernsMode: 'host', Privileged: true, NetworkMode: 'host', PidMode: 'host' }, true));
  assert.doesNotThrow(() => validateUsernsMode({ Privileged: true, NetworkMode: 'host' }, false));
  assert.throws(() => validateUsernsMode({ UsernsMode: 'private' }, false), /^Error: invalid USER mode: private$/);
  assert.throws(() => validateUsernsMode({ Privileged: true }, true), /^Error: privileged mode is incompatible with user namespaces\.  You must run the container in the host namespace when running privileged mode$/);
  assert.throws(() => validateUsernsMode({ NetworkMode: 'host' }, true), /^Error: cannot share the host's network namespace when user namespaces are enabled$/);
  assert.throws(() => validateUsernsMode({ PidMode: 'host' }, true), /^Error: cannot share the host PID namespace when user namespaces are enabled$/);
});

test('withUserNamespace() adds the user namespace and mappings and drops the default ping_group_range', () => {
  const m = { uidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }], gidMappings: [{ containerID: 0, hostID: 200000, size: 65536 }] };
  const s = buildSpec(withSysctls({}, true), withUserNamespace(m, {}));
  assert.deepEqual(s.linux.namespaces.map((n) => n.type), ['mount', 'network', 'uts', 'pid', 'ipc', 'user']);
  assert.deepEqual(s.linux.uidMappings, m.uidMappings);
  assert.deepEqual(s.linux.gidMappings, m.gidMappings);
  assert.deepEqual(s.linux.sysctl, { 'net.ipv4.ip_unprivileged_port_start': '0' });
  const asked = buildSpec(withSysctls({ 'net.ipv4.ping_group_range': '0 10' }, true), withUserNamespace(m, { 'net.ipv4.ping_group_range': '0 10' }));
  assert.equal(asked.linux.sysctl?.['net.ipv4.ping_group_range'], '0 10');
});

test('withUserNamespace() joins another user namespace by path and keeps the mappings', () => {
  const m = { uidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }], gidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }] };
  const s = buildSpec(withUserNamespace(m, null, '/proc/42/ns/user'));
  assert.deepEqual(s.linux.namespaces.at(-1), { type: 'user', path: '/proc/42/ns/user' });
  assert.deepEqual(s.linux.uidMappings, m.uidMappings);
});
