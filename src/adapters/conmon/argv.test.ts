import { test } from 'node:test';
import assert from 'node:assert/strict';
import { conmonArgv, type ConmonArgs } from './argv.js';
import { cleanRuntimeMessage } from './conmon-monitor.js';

const ID = 'a'.repeat(64);
const base: ConmonArgs = {
  conmonPath: '/usr/bin/conmon',
  cid: ID,
  cuuid: ID,
  name: 'web',
  runtimePath: '/usr/bin/runc',
  runtimeArgs: [],
  bundle: `/run/pier/c/${ID}`,
  containerPidFile: `/run/pier/c/${ID}/pidfile`,
  conmonPidFile: `/run/pier/c/${ID}/conmon.pid`,
  logPath: `/var/lib/pier/containers/${ID}/${ID}-json.log`,
  exitDir: '/run/pier/exits',
  socketDir: '/run/pier/s',
  stdin: false,
  tty: false,
  leaveStdinOpen: false,
};

test('conmonArgv() builds the container form with conmon first and the k8s-file log driver', () => {
  assert.deepEqual(conmonArgv(base), [
    '/usr/bin/conmon',
    '--api-version', '1',
    '-c', ID,
    '-u', ID,
    '-n', 'web',
    '-r', '/usr/bin/runc',
    '-b', `/run/pier/c/${ID}`,
    '-p', `/run/pier/c/${ID}/pidfile`,
    '-P', `/run/pier/c/${ID}/conmon.pid`,
    '-l', `k8s-file:/var/lib/pier/containers/${ID}/${ID}-json.log`,
    '--socket-dir-path', '/run/pier/s',
    '--log-level', 'error',
    '--exit-dir', '/run/pier/exits',
  ]);
});

test('conmonArgv() adds -i, -t and --leave-stdin-open for `run -it` without --rm semantics', () => {
  const a = conmonArgv({ ...base, stdin: true, tty: true, leaveStdinOpen: true, logLevel: 'debug' });
  assert.deepEqual(a.slice(-3), ['-i', '-t', '--leave-stdin-open']);
  assert.equal(a[a.indexOf('--log-level') + 1], 'debug');
  assert.equal(a.filter((x) => x === '-i').length, 1);
});

test('conmonArgv() passes each runtime argument with its own --runtime-arg', () => {
  const a = conmonArgv({ ...base, runtimeArgs: ['--root', '/run/pier/runc', '--systemd-cgroup'] });
  const i = a.indexOf('--runtime-arg');
  assert.deepEqual(a.slice(i, i + 6), ['--runtime-arg', '--root', '--runtime-arg', '/run/pier/runc', '--runtime-arg', '--systemd-cgroup']);
});

test('conmonArgv() omits --exit-dir and --persist-dir when not given', () => {
  const a = conmonArgv({ ...base, exitDir: undefined });
  assert.equal(a.includes('--exit-dir'), false);
  assert.equal(a.includes('--persist-dir'), false);
  assert.equal(a.includes('-e'), false);
});

test('conmonArgv() builds the exec form with the exec process spec and attach', () => {
  const dir = `/run/pier/c/${ID}/exec/e1`;
  const a = conmonArgv({
    ...base, cuuid: 'e1', name: 'e1', bundle: dir, containerPidFile: `${dir}/pidfile`, conmonPidFile: `${dir}/conmon.pid`,
    exitDir: undefined, persistDir: dir, stdin: true, tty: false,
    exec: { processSpec: `${dir}/process.json`, attach: true },
  });
  assert.deepEqual(a, [
    '/usr/bin/conmon',
    '--api-version', '1',
    '-c', ID,
    '-u', 'e1',
    '-n', 'e1',
    '-r', '/usr/bin/runc',
    '-b', dir,
    '-p', `${dir}/pidfile`,
    '-P', `${dir}/conmon.pid`,
    '-l', `k8s-file:/var/lib/pier/containers/${ID}/${ID}-json.log`,
    '--socket-dir-path', '/run/pier/s',
    '--log-level', 'error',
    '--persist-dir', dir,
    '-i',
    '-e', '--exec-process-spec', `${dir}/process.json`, '--exec-attach',
  ]);
});

test('conmonArgv() leaves out --exec-attach for a detached exec', () => {
  const a = conmonArgv({ ...base, exec: { processSpec: '/p.json', attach: false } });
  assert.deepEqual(a.slice(-3), ['-e', '--exec-process-spec', '/p.json']);
});

test('cleanRuntimeMessage() keeps the msg of runc\'s JSON log lines', () => {
  const raw = '{"level":"error","msg":"runc create failed: unable to start container process: exec: \\"nope\\": executable file not found in $PATH","time":"2024-01-02T03:04:05Z"}\n';
  assert.equal(cleanRuntimeMessage(raw), 'runc create failed: unable to start container process: exec: "nope": executable file not found in $PATH');
});

test('cleanRuntimeMessage() keeps the msg of runc\'s logfmt lines, unescaping quotes', () => {
  const raw = 'time="2024-01-02T03:04:05Z" level=error msg="runc create failed: unable to start container process: exec: \\"nope\\": executable file not found in $PATH"';
  assert.equal(cleanRuntimeMessage(raw), 'runc create failed: unable to start container process: exec: "nope": executable file not found in $PATH');
});

test('cleanRuntimeMessage() drops conmon\'s own [conmon:x] lines', () => {
  const raw = [
    '[conmon:d] failed to write to /proc/self/oom_score_adj: Permission denied',
    'time="2024-01-02T03:04:05Z" level=error msg="container_linux.go:380: starting container process caused: permission denied"',
    '[conmon:e] Runtime did not set up terminal',
  ].join('\n');
  assert.equal(cleanRuntimeMessage(raw), 'container_linux.go:380: starting container process caused: permission denied');
});

test('cleanRuntimeMessage() joins several messages with ": " and keeps plain text lines', () => {
  assert.equal(cleanRuntimeMessage('{"msg":"first"}\nplain words\n\n  \n{"msg":"second"}'), 'first: plain words: second');
});

test('cleanRuntimeMessage() keeps JSON lines without msg as text', () => {
  assert.equal(cleanRuntimeMessage('{"level":"error"}'), '{"level":"error"}');
});

test('cleanRuntimeMessage() falls back to the raw text when nothing else is left', () => {
  assert.equal(cleanRuntimeMessage('  [conmon:d] only conmon  \n'), '[conmon:d] only conmon');
  assert.equal(cleanRuntimeMessage(''), '');
});
