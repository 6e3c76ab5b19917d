import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kindOf } from '../../lib/errdefs.js';
import { containerEnv, parseGroup, parsePasswd, resolveUser } from './user.js';

const PASSWD = [
  '# comment:x:9:9',
  'root:x:0:0:root:/root:/bin/sh',
  'daemon:x:1:1:daemon:/usr/sbin:/bin/false',
  'app:x:1000:1000:App:/home/app:/bin/sh',
  'nohome:x:1001:1001::',
  'broken:x:notanumber:1:::',
  'nobody:x:65534:65534:nobody:/home:/bin/false',
].join('\n') + '\n';
const GROUP = [
  'root:x:0:',
  'wheel:x:10:root,app',
  'staff:x:50:app',
  'users:x:100:',
  'app:x:1000:',
  'docker:x:999:',
  'nogroup:x:65534:',
].join('\n') + '\n';
const files = { passwd: PASSWD, group: GROUP };

function rejects(fn: () => unknown, message: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.equal(kindOf(e), 'invalid-argument');
    assert.equal((e as Error).message, message);
    return true;
  });
}

test('parsePasswd() skips comments, short lines and non-numeric ids', () => {
  const names = parsePasswd(PASSWD).map((p) => p.name);
  assert.deepEqual(names, ['root', 'daemon', 'app', 'nohome', 'nobody']);
  assert.deepEqual(parsePasswd(PASSWD).find((p) => p.name === 'app'), { name: 'app', uid: 1000, gid: 1000, home: '/home/app' });
});

test('parseGroup() reads members lists', () => {
  assert.deepEqual(parseGroup(GROUP).find((g) => g.name === 'wheel'), { name: 'wheel', gid: 10, members: ['root', 'app'] });
  assert.deepEqual(parseGroup(GROUP).find((g) => g.name === 'users')!.members, []);
});

test('resolveUser() with no user is root with root\'s home and its supplementary groups', () => {
  // busybox: `docker run busybox id` → groups=0(root),10(wheel). moby's getUser lists the
  // primary gid first, then the groups naming the user, then --group-add.
  assert.deepEqual(resolveUser('', files), { user: { uid: 0, gid: 0, additionalGids: [0, 10] }, home: '/root' });
});

test('resolveUser() with no user and no passwd file is uid 0 in /', () => {
  assert.deepEqual(resolveUser('', {}), { user: { uid: 0, gid: 0, additionalGids: [0] }, home: '/' });
});

test('resolveUser() resolves a name to its uid, primary gid, home and supplementary groups', () => {
  assert.deepEqual(resolveUser('app', files), { user: { uid: 1000, gid: 1000, additionalGids: [1000, 10, 50] }, home: '/home/app' });
  assert.deepEqual(resolveUser('nobody', files), { user: { uid: 65534, gid: 65534, additionalGids: [65534] }, home: '/home' });
});

test('resolveUser() resolves a numeric uid through passwd when it is listed', () => {
  assert.deepEqual(resolveUser('1000', files), { user: { uid: 1000, gid: 1000, additionalGids: [1000, 10, 50] }, home: '/home/app' });
});

test('resolveUser() accepts a numeric uid that passwd does not list, with gid 0 and home /', () => {
  assert.deepEqual(resolveUser('4242', files), { user: { uid: 4242, gid: 0, additionalGids: [0] }, home: '/' });
  assert.deepEqual(resolveUser('4242', {}), { user: { uid: 4242, gid: 0, additionalGids: [0] }, home: '/' });
});

test('resolveUser() takes uid:gid literally', () => {
  assert.deepEqual(resolveUser('4242:4343', files), { user: { uid: 4242, gid: 4343, additionalGids: [4343] }, home: '/' });
  assert.deepEqual(resolveUser('1000:50', files), { user: { uid: 1000, gid: 50, additionalGids: [50] }, home: '/home/app' });
});

test('resolveUser() resolves name:group through both files, without supplementary groups', () => {
  assert.deepEqual(resolveUser('app:docker', files), { user: { uid: 1000, gid: 999, additionalGids: [999] }, home: '/home/app' });
  assert.deepEqual(resolveUser('0:users', files), { user: { uid: 0, gid: 100, additionalGids: [100] }, home: '/root' });
});

test('resolveUser() falls back to / for an empty home field', () => {
  assert.equal(resolveUser('nohome', files).home, '/');
});

test('resolveUser() rejects an unknown user name with runc\'s message', () => {
  rejects(() => resolveUser('ghost', files), 'unable to find user ghost: no matching entries in passwd file');
  rejects(() => resolveUser('ghost', {}), 'unable to find user ghost: no matching entries in passwd file');
  rejects(() => resolveUser('ghost:0', files), 'unable to find user ghost: no matching entries in passwd file');
});

test('resolveUser() rejects an unknown group name with runc\'s message', () => {
  rejects(() => resolveUser('app:ghosts', files), 'unable to find group ghosts: no matching entries in group file');
  rejects(() => resolveUser('0:ghosts', { passwd: PASSWD }), 'unable to find group ghosts: no matching entries in group file');
});

test('resolveUser() adds --group-add groups by name and number after the listed ones', () => {
  assert.deepEqual(resolveUser('app', files, ['docker', '4000']).user, { uid: 1000, gid: 1000, additionalGids: [1000, 10, 50, 999, 4000] });
  assert.deepEqual(resolveUser('4242:4343', files, ['users']).user, { uid: 4242, gid: 4343, additionalGids: [4343, 100] });
});

test('resolveUser() rejects an unknown --group-add group with moby\'s message', () => {
  rejects(() => resolveUser('app', files, ['ghosts']), 'Unable to find group ghosts: no matching entries in group file');
});

test('containerEnv() starts with PATH and HOSTNAME, and TERM only with a TTY', () => {
  assert.deepEqual(containerEnv({ env: [], hostname: 'h', tty: false }), [
    'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'HOSTNAME=h',
  ]);
  assert.deepEqual(containerEnv({ env: [], hostname: 'h', tty: true }), [
    'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'HOSTNAME=h', 'TERM=xterm',
  ]);
});

test('containerEnv() replaces defaults in place and appends new variables in order', () => {
  assert.deepEqual(containerEnv({ env: ['B=2', 'PATH=/bin', 'A=1', 'TERM=dumb', 'HOSTNAME=other'], hostname: 'h', tty: true }), [
    'PATH=/bin', 'HOSTNAME=other', 'TERM=dumb', 'B=2', 'A=1',
  ]);
});

test('containerEnv() lets a later entry override an earlier one with the same key', () => {
  assert.deepEqual(containerEnv({ env: ['A=1', 'A=2', 'A='], hostname: 'h', tty: false }).slice(2), ['A=']);
});

test('containerEnv() does not confuse keys that share a prefix', () => {
  assert.deepEqual(containerEnv({ env: ['PATHX=1', 'HOST=2'], hostname: 'h', tty: false }).slice(2), ['PATHX=1', 'HOST=2']);
});

test('containerEnv() treats an entry without "=" as unset, like moby\'s ReplaceOrAppendEnvValues', () => {
  // runc refuses a process env entry without '=' ("invalid environment variable: missing '='").
  assert.deepEqual(containerEnv({ env: ['FOO', 'A=1'], hostname: 'h', tty: true }), [
    'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'HOSTNAME=h', 'TERM=xterm', 'A=1',
  ]);
  assert.deepEqual(containerEnv({ env: ['A=1', 'TERM', 'A'], hostname: 'h', tty: true }), [
    'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'HOSTNAME=h',
  ]);
});

test('containerEnv() appends HOME from passwd unless the environment sets it', () => {
  assert.deepEqual(containerEnv({ env: ['A=1'], hostname: 'h', tty: false, home: '/root' }).slice(2), ['A=1', 'HOME=/root']);
  assert.deepEqual(containerEnv({ env: ['HOME=/srv', 'A=1'], hostname: 'h', tty: false, home: '/root' }).slice(2), ['HOME=/srv', 'A=1']);
  assert.equal(containerEnv({ env: [], hostname: 'h', tty: false }).some((e) => e.startsWith('HOME=')), false);
});
