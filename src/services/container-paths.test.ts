import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, symlinkSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { cleanContainerPath, encodePathStat, goBase, goFileMode, linkTargetOf, resolveContainerPath, rfc3339NanoUtc } from './container-paths.js';
import { sameFsTime, changeLetter } from './container-changes.js';
import { mergeCommitConfig } from './container-files.js';

test('goFileMode() maps st_mode to Go os.FileMode bits as Docker sends them', () => {
  assert.equal(goFileMode(0o040755), 2147484141); // observed from dockerd for a 0755 directory
  assert.equal(goFileMode(0o100644), 420);
  assert.equal(goFileMode(0o120777), 134218239); // symlink, as dockerd sent for /lnk
  assert.equal(goFileMode(0o104755), 2 ** 23 + 0o755);
  assert.equal(goFileMode(0o041777), 2 ** 31 + 2 ** 20 + 0o777);
  assert.equal(goFileMode(0o020666), 2 ** 26 + 2 ** 21 + 0o666);
});

test('rfc3339NanoUtc() trims trailing zeros like Go and drops a zero fraction', () => {
  assert.equal(rfc3339NanoUtc(86_400_557_877_658n), '1970-01-02T00:00:00.557877658Z');
  assert.equal(rfc3339NanoUtc(1_500_000_000n), '1970-01-01T00:00:01.5Z');
  assert.equal(rfc3339NanoUtc(123n), '1970-01-01T00:00:00.000000123Z');
  assert.equal(rfc3339NanoUtc(0n), '1970-01-01T00:00:00Z');
});

test('encodePathStat() is base64 JSON with the keys in Docker order', () => {
  const v = encodePathStat({ name: 'f', size: 3, mode: 420, mtime: '2026-11-23T17:42:48.557877658Z', linkTarget: '' });
  // the header dockerd sent for the same file
  assert.equal(v, 'eyJuYW1lIjoiZiIsInNpemUiOjMsIm1vZGUiOjQyMCwibXRpbWUiOiIyMDI2LTExLTIzVDE3OjQyOjQ4LjU1Nzg3NzY1OFoiLCJsaW5rVGFyZ2V0IjoiIn0=');
});

test('cleanContainerPath() clamps .. at the root and keeps a trailing / or /.', () => {
  assert.equal(cleanContainerPath('../../etc/passwd'), '/etc/passwd');
  assert.equal(cleanContainerPath('/etc/'), '/etc/');
  assert.equal(cleanContainerPath('/etc/.'), '/etc/.');
  assert.equal(cleanContainerPath('/'), '/');
  assert.equal(goBase('/etc/'), 'etc');
  assert.equal(goBase('/etc/.'), '.');
  assert.equal(goBase('/'), '/');
});

test('resolveContainerPath() follows symlinks inside the root, never to the host', () => {
  const root = mkdtempSync(join(tmpdir(), 'cpath-'));
  try {
    mkdirSync(join(root, 'etc'));
    writeFileSync(join(root, 'etc', 'passwd'), 'ctr');
    symlinkSync('/etc', join(root, 'hostetc'));
    symlinkSync('../../../../..', join(root, 'up'));
    symlinkSync('/hostetc/passwd', join(root, 'pw'));
    assert.equal(resolveContainerPath(root, '/hostetc/passwd').host, join(root, 'etc', 'passwd'));
    assert.equal(resolveContainerPath(root, '/up/up/etc/passwd').host, join(root, 'etc', 'passwd'));
    assert.equal(resolveContainerPath(root, '/../../etc/passwd').host, join(root, 'etc', 'passwd'));
    // the last component is not followed, unless the path ends with a slash
    assert.equal(resolveContainerPath(root, '/hostetc').host, join(root, 'hostetc'));
    assert.equal(resolveContainerPath(root, '/hostetc/').host, join(root, 'etc'));
    assert.equal(linkTargetOf(root, '/pw'), '/etc/passwd');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('sameFsTime() accepts a missing nanosecond part like moby', () => {
  assert.equal(sameFsTime(5_000_000_123n, 5_000_000_123n), true);
  assert.equal(sameFsTime(5_000_000_123n, 5_000_000_000n), true);
  assert.equal(sameFsTime(5_000_000_123n, 5_000_000_124n), false);
  assert.equal(changeLetter(0) + changeLetter(1) + changeLetter(2), 'CAD');
});

test('mergeCommitConfig() applies the container config under the changes, like moby merge()', () => {
  const out = mergeCommitConfig({ Env: ['A=1'] }, { Env: ['A=0', 'B=2'], Cmd: ['sh'], Hostname: 'abc', Labels: {}, User: '' });
  assert.deepEqual(out, { Env: ['A=1', 'B=2'], Cmd: ['sh'] });
  assert.deepEqual(mergeCommitConfig({ Entrypoint: ['x'] }, { Cmd: ['sh'] }), { Entrypoint: ['x'] });
});
