import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ContainerConfigWire, ContainerCreateBody } from '../api/index.js';
import { kindOf } from '../lib/errdefs.js';
import { exitCodeForStartError, mergeConfig } from './containers.js';

const PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const image: ContainerConfigWire = {
  Env: [PATH, 'LANG=C.UTF-8'],
  Cmd: ['nginx', '-g', 'daemon off;'],
  Entrypoint: ['/docker-entrypoint.sh'],
  WorkingDir: '/srv',
  User: 'www',
  Labels: { maintainer: 'img', 'org.version': '1' },
  ExposedPorts: { '80/tcp': {} },
  Volumes: { '/cache': {} },
  StopSignal: 'SIGQUIT',
};

test('mergeConfig() takes Cmd, Entrypoint, WorkingDir, User and StopSignal from the image when the request has none', () => {
  const c = mergeConfig({ Image: 'nginx' }, image);
  assert.deepEqual(c.Cmd, ['nginx', '-g', 'daemon off;']);
  assert.deepEqual(c.Entrypoint, ['/docker-entrypoint.sh']);
  assert.equal(c.WorkingDir, '/srv');
  assert.equal(c.User, 'www');
  assert.equal(c.StopSignal, 'SIGQUIT');
  assert.equal(c.Image, 'nginx');
});

test('mergeConfig() keeps the image Entrypoint when only Cmd is given', () => {
  const c = mergeConfig({ Image: 'nginx', Cmd: ['sh'] }, image);
  assert.deepEqual(c.Cmd, ['sh']);
  assert.deepEqual(c.Entrypoint, ['/docker-entrypoint.sh']);
});

test('mergeConfig() resets the image Cmd when --entrypoint is given', () => {
  const c = mergeConfig({ Image: 'nginx', Entrypoint: ['/bin/sh'] }, image);
  assert.deepEqual(c.Entrypoint, ['/bin/sh']);
  assert.equal(c.Cmd, null);
  const d = mergeConfig({ Image: 'nginx', Entrypoint: ['/bin/sh'], Cmd: ['-c', 'echo hi'] }, image);
  assert.deepEqual(d.Entrypoint, ['/bin/sh']);
  assert.deepEqual(d.Cmd, ['-c', 'echo hi']);
});

test('mergeConfig() accepts Entrypoint and Cmd as strings', () => {
  const c = mergeConfig({ Image: 'nginx', Entrypoint: '/bin/sh', Cmd: 'x' }, image);
  assert.deepEqual(c.Entrypoint, ['/bin/sh']);
  assert.deepEqual(c.Cmd, ['x']);
});

test('mergeConfig() treats --entrypoint "" as no entrypoint and does not inherit the image Cmd', () => {
  // moby: merge, then reset Entrypoint [""] to nil; `docker run --entrypoint "" img` → No command specified.
  const c = mergeConfig({ Image: 'nginx', Entrypoint: [''] }, image);
  assert.equal(c.Entrypoint, null);
  assert.equal(c.Cmd, null);
  const d = mergeConfig({ Image: 'nginx', Entrypoint: [''], Cmd: ['echo', 'hi'] }, image);
  assert.equal(d.Entrypoint, null);
  assert.deepEqual(d.Cmd, ['echo', 'hi']);
});

test('mergeConfig() treats a null Entrypoint and an empty Cmd as not given', () => {
  const c = mergeConfig({ Image: 'nginx', Entrypoint: null, Cmd: [] }, image);
  assert.deepEqual(c.Cmd, image.Cmd);
  assert.deepEqual(c.Entrypoint, image.Entrypoint);
  const none = mergeConfig({ Image: 'scratch-like' }, {});
  assert.equal(none.Cmd, null);
  assert.equal(none.Entrypoint, null);
});

test('mergeConfig() overrides image variables by key and keeps the others', () => {
  const env = mergeConfig({ Image: 'nginx', Env: ['A=1', 'LANG=en_GB.UTF-8'] }, image).Env!;
  assert.deepEqual([...env].sort(), ['A=1', 'LANG=en_GB.UTF-8', PATH].sort());
  assert.equal(env.filter((e) => e.startsWith('LANG=')).length, 1);
  const prefix = mergeConfig({ Image: 'nginx', Env: ['LAN=1'] }, image).Env!;
  assert.ok(prefix.includes('LANG=C.UTF-8') && prefix.includes('LAN=1'), 'keys sharing a prefix are different keys');
});

// moby's merge() (daemon/commit.go) keeps the request Env as given and appends the image
// variables it does not name, so `docker inspect` shows [A=1 LANG=x PATH=...] and keeps a
// bare `LANG` (unset later, when the process env is built).
test('mergeConfig() puts the request Env first and appends image variables it does not override, like moby', () => {
  const c = mergeConfig({ Image: 'nginx', Env: ['A=1', 'LANG=en_GB.UTF-8'] }, image);
  assert.deepEqual(c.Env, ['A=1', 'LANG=en_GB.UTF-8', PATH]);
  assert.deepEqual(mergeConfig({ Image: 'nginx', Env: ['LANG'] }, image).Env, ['LANG', PATH]);
});

test('mergeConfig() uses the image Env when the request has none', () => {
  assert.deepEqual(mergeConfig({ Image: 'nginx' }, image).Env, image.Env);
  assert.deepEqual(mergeConfig({ Image: 'nginx', Env: [] }, image).Env, image.Env);
  assert.deepEqual(mergeConfig({ Image: 'x', Env: ['A=1'] }, {}).Env, ['A=1']);
});

test('mergeConfig() merges labels, the request winning', () => {
  const c = mergeConfig({ Image: 'nginx', Labels: { maintainer: 'me', extra: 'y' } }, image);
  assert.deepEqual(c.Labels, { maintainer: 'me', 'org.version': '1', extra: 'y' });
  assert.deepEqual(mergeConfig({ Image: 'x' }, {}).Labels, {});
});

test('mergeConfig() merges exposed ports and volumes', () => {
  const c = mergeConfig({ Image: 'nginx', ExposedPorts: { '443/tcp': {} }, Volumes: { '/data': {} } }, image);
  assert.deepEqual(c.ExposedPorts, { '80/tcp': {}, '443/tcp': {} });
  assert.deepEqual(c.Volumes, { '/cache': {}, '/data': {} });
  const none = mergeConfig({ Image: 'x' }, {});
  assert.equal(none.ExposedPorts, undefined);
  assert.equal(none.Volumes, undefined);
});

test('mergeConfig() lets the request WorkingDir, User and StopSignal win', () => {
  const c = mergeConfig({ Image: 'nginx', WorkingDir: '/tmp', User: 'nobody', StopSignal: 'SIGTERM' }, image);
  assert.equal(c.WorkingDir, '/tmp');
  assert.equal(c.User, 'nobody');
  assert.equal(c.StopSignal, 'SIGTERM');
});

test('mergeConfig() rejects a relative working directory with moby\'s message', () => {
  assert.throws(() => mergeConfig({ Image: 'x', WorkingDir: 'rel/dir' }, {}), (e: unknown) => {
    assert.equal(kindOf(e), 'invalid-argument');
    assert.equal((e as Error).message, "the working directory 'rel/dir' is invalid, it needs to be an absolute path");
    return true;
  });
});

test('mergeConfig() normalises the stdio booleans and drops HostConfig and NetworkingConfig', () => {
  const body: ContainerCreateBody = {
    Image: 'x', Cmd: ['sh'], Tty: true, OpenStdin: true, AttachStdin: true,
    HostConfig: { NetworkMode: 'host' }, NetworkingConfig: { EndpointsConfig: {} },
  };
  const c = mergeConfig(body, {}) as ContainerConfigWire & Record<string, unknown>;
  assert.equal(c.Tty, true);
  assert.equal(c.OpenStdin, true);
  assert.equal(c.StdinOnce, false);
  assert.equal(c.AttachStdin, true);
  assert.equal(c.AttachStdout, false);
  assert.equal(c.AttachStderr, false);
  assert.equal(c.Domainname, '');
  assert.equal('HostConfig' in c, false);
  assert.equal('NetworkingConfig' in c, false);
});

test('mergeConfig() does not modify the image config', () => {
  const before = structuredClone(image);
  mergeConfig({ Image: 'nginx', Env: ['LANG=x', 'B=2'], Labels: { a: '1' }, ExposedPorts: { '1/tcp': {} }, Volumes: { '/v': {} } }, image);
  assert.deepEqual(image, before);
});

test('exitCodeForStartError() maps a missing executable or file to 127', () => {
  assert.equal(exitCodeForStartError('OCI runtime create failed: runc create failed: unable to start container process: exec: "nope": executable file not found in $PATH: unknown'), 127);
  assert.equal(exitCodeForStartError('exec: "/bin/nope": stat /bin/nope: no such file or directory'), 127);
});

test('exitCodeForStartError() maps a command that cannot be invoked to 126', () => {
  assert.equal(exitCodeForStartError('exec: "/etc/passwd": permission denied'), 126);
  assert.equal(exitCodeForStartError('exec: "/etc": is a directory'), 126);
});

test('exitCodeForStartError() uses 128 for any other start failure', () => {
  assert.equal(exitCodeForStartError('cannot join network of a non running container'), 128);
  assert.equal(exitCodeForStartError(''), 128);
});
