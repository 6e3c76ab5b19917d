import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DOCKER_DEFAULTS } from '../core/oci/index.js';
import { parseDaemonFlags } from './flags.js';
import { resolveContainerDefaults } from './container-defaults.js';

const F = '/etc/pier/daemon.json';

test('resolveContainerDefaults: Docker\'s when nothing is set', async () => {
  assert.deepEqual(await resolveContainerDefaults(parseDaemonFlags([]), {}, F), { defaults: DOCKER_DEFAULTS, seccompProfileName: 'default' });
  assert.equal((await resolveContainerDefaults(parseDaemonFlags(['--seccomp-profile', 'builtin']), {}, F)).seccompProfileName, 'default');
});

test('resolveContainerDefaults: daemon.json keys in dockerd\'s shapes', async () => {
  const r = await resolveContainerDefaults(parseDaemonFlags([]), {
    'seccomp-profile': 'unconfined', 'no-new-privileges': true, 'default-ulimits': { nofile: { Name: 'nofile', Soft: 10, Hard: 20 } },
    'default-shm-size': '32M', 'cgroup-parent': '/x', 'default-cgroupns-mode': 'private',
  }, F);
  assert.deepEqual(r, {
    defaults: { seccompProfile: 'unconfined', noNewPrivileges: true, ulimits: [{ Name: 'nofile', Soft: 10, Hard: 20 }], shmSize: 32 << 20, cgroupParent: '/x', cgroupnsMode: 'private' },
    seccompProfileName: 'unconfined',
  });
  await assert.rejects(resolveContainerDefaults(parseDaemonFlags([]), { 'default-ulimits': { nofile: { Soft: 3, Hard: 2 } } }, F),
    { message: `unable to configure the pier daemon with file ${F}: ulimit soft limit must be less than or equal to hard limit: 3 > 2` });
  await assert.rejects(resolveContainerDefaults(parseDaemonFlags([]), { 'default-shm-size': 'big' }, F),
    { message: `unable to configure the pier daemon with file ${F}: invalid size: 'big'` });
  await assert.rejects(resolveContainerDefaults(parseDaemonFlags([]), { 'default-cgroupns-mode': 'x' }, F),
    { message: 'default cgroup namespace mode (x) is invalid; use "host" or "private"' });
});

test('resolveContainerDefaults: a profile file is read (not decoded) at start-up; a key set twice is refused', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pier-cd-'));
  try {
    const p = join(dir, 'p.json');
    writeFileSync(p, '{"defaultAction":"SCMP_ACT_ALLOW"}');
    const r = await resolveContainerDefaults(parseDaemonFlags(['--seccomp-profile', p]), {}, F);
    assert.equal(r.defaults.seccompProfile, '{"defaultAction":"SCMP_ACT_ALLOW"}');
    assert.equal(r.seccompProfileName, p);
    await assert.rejects(resolveContainerDefaults(parseDaemonFlags(['--seccomp-profile', join(dir, 'none')]), {}, F),
      { message: `opening seccomp profile (${join(dir, 'none')}) failed: open ${join(dir, 'none')}: no such file or directory` });
    await assert.rejects(resolveContainerDefaults(parseDaemonFlags(['--seccomp-profile', p, '--default-shm-size', '1m']), { 'seccomp-profile': 'unconfined', 'default-shm-size': '2m' }, F),
      { message: `unable to configure the pier daemon with file ${F}: the following directives are specified both as a flag and in the configuration file: seccomp-profile: (from flag: ${p}, from file: unconfined), default-shm-size: (from flag: 1048576, from file: 2m)` });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
