import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EngineError } from '../../lib/errdefs.js';
import { encodeFrame, ERR_CLIENT_DAEMON_RESPONSE } from '../../client/index.js';
import { parseFlags } from '../flags/index.js';
import type { ContainerSummary } from '../../api/client-types.js';
import { StatusError, checkArgs } from './command.js';
import { fakeEnv, fakeHijack } from './fake-env.js';
import { command as ps } from './container/ps.js';
import { command as rm } from './container/rm.js';
import { command as run, startErrorStatus } from './container/run.js';
import { command as exec } from './container/exec.js';
import { buildContainerOptions, parsePublish } from './container/container-options.js';

const daemonErr = (kind: 'not-found' | 'conflict' | 'invalid-argument', msg: string): EngineError =>
  new EngineError(kind, msg, { code: ERR_CLIENT_DAEMON_RESPONSE });

test('ps prints the table from GET /containers/json and asks for all with -a', async () => {
  let query: unknown;
  const c: ContainerSummary = {
    Id: 'a'.repeat(64), Names: ['/web'], Image: 'busybox', ImageID: 'sha256:' + 'b'.repeat(64), Command: 'sleep 1',
    Created: 1_800_000_000 - 2, Ports: [], Labels: {}, State: 'running', Status: 'Up 1 second',
  };
  const f = fakeEnv({ containerList: async (q: unknown) => ((query = q), [c]) });
  const code = await ps.run(f.env, parseFlags(ps.flags, ['-a']));
  assert.equal(code, 0);
  assert.deepEqual(query, { all: true, limit: undefined, size: false, filters: undefined });
  assert.equal(
    f.stdout(),
    'CONTAINER ID   IMAGE     COMMAND     CREATED         STATUS        PORTS     NAMES\n' +
      'aaaaaaaaaaaa   busybox   "sleep 1"   2 seconds ago   Up 1 second             web\n',
  );
});

test('ps requests sizes when the format reads .Size, and sends filters as JSON', async () => {
  let query: { size?: boolean; filters?: string } = {};
  const f = fakeEnv({ containerList: async (q: typeof query) => ((query = q), []) });
  await ps.run(f.env, parseFlags(ps.flags, ['--format', '{{.Size}}', '-f', 'label=a=b']));
  assert.equal(query.size, true);
  assert.equal(query.filters, '{"label":{"a=b":true}}');
});

test('ps reports template errors like docker', async () => {
  const f = fakeEnv({ containerList: async () => [] });
  await assert.rejects(ps.run(f.env, parseFlags(ps.flags, ['--format', '{{.ID'])), (e: unknown) => e instanceof StatusError && e.status === 1 && e.message === 'failed to parse template: template: :1: unclosed action');
});

test('rm prints names, collects daemon errors, and -f ignores missing containers', async () => {
  const f = fakeEnv({ containerRemove: async (n: string) => { if (n === 'gone') throw daemonErr('not-found', 'No such container: gone'); return 204; } });
  await assert.rejects(rm.run(f.env, parseFlags(rm.flags, ['a', 'gone'])), (e: unknown) => e instanceof StatusError && e.message === 'Error response from daemon: No such container: gone');
  assert.equal(f.stdout(), 'a\n');
  const g = fakeEnv({ containerRemove: async () => { throw daemonErr('not-found', 'No such container: gone'); } });
  assert.equal(await rm.run(g.env, parseFlags(rm.flags, ['-f', 'gone'])), 0);
});

test('run sends create → attach → wait → start, streams output and exits with the wait code', async () => {
  const order: string[] = [];
  const hijack = fakeHijack([encodeFrame(1, 'hi\n'), encodeFrame(2, 'oops\n')]);
  let body: { Cmd: string[] | null; HostConfig: { AutoRemove?: boolean; NetworkMode?: string }; Env: string[] | null } | undefined;
  let cond: string | undefined;
  const f = fakeEnv({
    containerCreate: async (b: typeof body) => { order.push('create'); body = b; return { Id: 'c1', Warnings: [] }; },
    containerAttach: async () => { order.push('attach'); return hijack.socket; },
    containerWait: async (_id: string, c: string) => { order.push('wait'); cond = c; return { result: Promise.resolve({ StatusCode: 3, Error: null }), cancel: () => undefined }; },
    containerStart: async () => { order.push('start'); return 204; },
  });
  const code = await run.run(f.env, parseFlags(run.flags, ['--rm', '--network', 'none', '-e', 'A=1', 'busybox', 'sh', '-c', 'x'], { interspersed: false }));
  assert.equal(code, 3);
  assert.deepEqual(order, ['create', 'attach', 'wait', 'start']);
  assert.equal(cond, 'removed');
  assert.deepEqual(body?.Cmd, ['sh', '-c', 'x']);
  assert.deepEqual(body?.Env, ['A=1']);
  assert.equal(body?.HostConfig.AutoRemove, true);
  assert.equal(body?.HostConfig.NetworkMode, 'none');
  assert.equal(f.stdout(), 'hi\n');
  assert.equal(f.stderr(), 'oops\n');
});

test('run pulls on a create 404 and retries', async () => {
  let creates = 0;
  const { Readable } = await import('node:stream');
  const f = fakeEnv({
    containerCreate: async () => { if (creates++ === 0) throw daemonErr('not-found', 'No such image: x:latest'); return { Id: 'c2', Warnings: ['w1'] }; },
    imagePull: async (from: string, tag: string) => { assert.equal(from, 'docker.io/library/x'); assert.equal(tag, 'latest'); return Readable.from(['{"status":"Pulling from library/x","id":"latest"}\n']); },
    containerWait: async () => ({ result: Promise.resolve({ StatusCode: 0 }), cancel: () => undefined }),
    containerStart: async () => 204,
  });
  const code = await run.run(f.env, parseFlags(run.flags, ['-d', 'x'], { interspersed: false }));
  assert.equal(code, 0);
  assert.equal(f.stdout(), 'c2\n');
  assert.equal(f.stderr(), "Unable to find image 'x:latest' locally\nlatest: Pulling from library/x\nWARNING: w1\n");
});

test('run maps start errors to 127/126/125 and prints them docker-style', async () => {
  assert.equal(startErrorStatus('exec: "/x": stat /x: no such file or directory: unknown'), 127);
  assert.equal(startErrorStatus('exec: "/etc": is a directory'), 126);
  assert.equal(startErrorStatus('something else'), 125);
  const f = fakeEnv({
    containerCreate: async () => ({ Id: 'c3', Warnings: null }),
    containerAttach: async () => fakeHijack([]).socket,
    containerWait: async () => ({ result: Promise.resolve({ StatusCode: 127 }), cancel: () => undefined }),
    containerStart: async () => { throw daemonErr('invalid-argument', 'exec: "/nonexistent": stat /nonexistent: no such file or directory: unknown'); },
  });
  await assert.rejects(run.run(f.env, parseFlags(run.flags, ['busybox', '/nonexistent'], { interspersed: false })), (e: unknown) => e instanceof StatusError && e.status === 127);
  assert.equal(f.stderr(), "pier: Error response from daemon: exec: \"/nonexistent\": stat /nonexistent: no such file or directory: unknown\n\nRun 'pier run --help' for more information\n");
});

test('run -i copies stdin into the attach connection and half-closes it', async () => {
  const hijack = fakeHijack([encodeFrame(1, 'hello\n')]);
  const f = fakeEnv(
    {
      containerCreate: async () => ({ Id: 'c4', Warnings: [] }),
      containerAttach: async (_id: string, q: { stdin?: boolean }) => { assert.equal(q.stdin, true); return hijack.socket; },
      containerWait: async () => ({ result: new Promise((r) => setTimeout(() => r({ StatusCode: 0 }), 20)), cancel: () => undefined }),
      containerStart: async () => 204,
    },
    { stdin: 'hello\n' },
  );
  assert.equal(await run.run(f.env, parseFlags(run.flags, ['-i', 'busybox', 'cat'], { interspersed: false })), 0);
  assert.equal(f.stdout(), 'hello\n');
  assert.equal(hijack.received(), 'hello\n');
});

test('exec creates, starts hijacked and returns the exec exit code', async () => {
  let created: { Cmd: string[]; AttachStdin: boolean } | undefined;
  const f = fakeEnv({
    containerInspect: async () => ({ Id: 'c5' }),
    execCreate: async (_c: string, b: typeof created) => ((created = b), { Id: 'e1' }),
    execStartAttached: async () => fakeHijack([encodeFrame(1, 'x\n')]).socket,
    execInspect: async () => ({ ExitCode: 7 }),
  });
  assert.equal(await exec.run(f.env, parseFlags(exec.flags, ['c5', 'sh', '-c', 'exit 7'], { interspersed: false })), 7);
  assert.deepEqual(created?.Cmd, ['sh', '-c', 'exit 7']);
  assert.equal(created?.AttachStdin, false);
  assert.equal(f.stdout(), 'x\n');
});

test('checkArgs() words argument-count errors like docker 28', () => {
  assert.equal(checkArgs({ kind: 'min', n: 1 }, 0, 'pier run', '[OPTIONS] IMAGE')?.message, "pier: 'pier run' requires at least 1 argument\n\nUsage:  pier run [OPTIONS] IMAGE\n\nSee 'pier run --help' for more information");
  assert.equal(checkArgs({ kind: 'exact', n: 2 }, 1, 'pier tag', 'A B')?.message, "pier: 'pier tag' requires 2 arguments\n\nUsage:  pier tag A B\n\nRun 'pier tag --help' for more information");
  assert.equal(checkArgs({ kind: 'none' }, 1, 'pier ps', '[OPTIONS]')?.message, "pier: 'pier ps' accepts no arguments\n\nUsage:  pier ps [OPTIONS]\n\nRun 'pier ps --help' for more information");
  assert.equal(checkArgs({ kind: 'min', n: 1 }, 1, 'pier rm', 'X'), undefined);
});

test('buildContainerOptions() maps flags to the create body', async () => {
  const p = parseFlags(run.flags, ['-it', '--name', 'n', '-l', 'a=b', '-p', '127.0.0.1:8080:80', '--entrypoint', 'sh', '-w', '/w', '-u', '1', '--runtime', 'runsc', 'img'], { interspersed: false });
  const o = await buildContainerOptions(p, p.args, { env: {}, detach: false, stdinIsTerminal: true });
  assert.equal(o.name, 'n');
  assert.equal(o.body.Tty, true);
  assert.equal(o.body.OpenStdin && o.body.StdinOnce && o.body.AttachStdin, true);
  assert.deepEqual(o.body.Entrypoint, ['sh']);
  assert.deepEqual(o.body.Labels, { a: 'b' });
  assert.deepEqual(o.body.HostConfig.PortBindings, { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '8080' }] });
  assert.equal(o.body.HostConfig.Runtime, 'runsc');
  assert.equal(o.body.Cmd, null);
  assert.deepEqual(parsePublish('9000'), { key: '9000/tcp', hostIp: '', hostPort: '' });
});

test('network ls and volume ls take --format like docker (fields, Label, json with sorted keys, -q)', async () => {
  const { command: networkLs } = await import('./network/ls.js');
  const { command: volumeLs } = await import('./volume/ls.js');
  const nets = [
    { Id: 'b'.repeat(64), Name: 'web', Driver: 'bridge', Scope: 'local', EnableIPv6: true, Internal: false, Labels: { 'com.x': 'y', a: 'b' }, Created: '2026-01-02T03:04:05.120Z' },
    { Id: 'a'.repeat(64), Name: 'bridge', Driver: 'bridge', Scope: 'local', Labels: {} },
  ];
  const f = fakeEnv({ json: async () => nets });
  await networkLs.run(f.env, parseFlags(networkLs.flags, ['--format', 'table {{.Name}}\t{{.IPv6}}\t{{.Labels}}\t{{.Label "com.x"}}']));
  assert.equal(f.stdout(), 'NAME      IPV6      LABELS        x\nbridge    false                   \nweb       true      a=b,com.x=y   y\n');
  const g = fakeEnv({ json: async () => nets });
  await networkLs.run(g.env, parseFlags(networkLs.flags, ['-q', '--no-trunc']));
  assert.equal(g.stdout(), `${'a'.repeat(64)}\n${'b'.repeat(64)}\n`);
  const h = fakeEnv({ json: async () => ({ Volumes: [{ Name: 'v1', Driver: 'local', Mountpoint: '/m', Labels: { a: 'b' }, Scope: 'local' }] }) });
  await volumeLs.run(h.env, parseFlags(volumeLs.flags, ['--format', 'json']));
  assert.equal(h.stdout(), '{"Availability":"N/A","Driver":"local","Group":"N/A","Labels":"a=b","Links":"N/A","Mountpoint":"/m","Name":"v1","Scope":"local","Size":"N/A","Status":"N/A"}\n');
  await assert.rejects(volumeLs.run(fakeEnv({ json: async () => ({ Volumes: [] }) }).env, parseFlags(volumeLs.flags, ['--format', '{{.Nope'])), (e: unknown) => e instanceof StatusError && e.status === 1);
});

test('network rm -f ignores missing networks; network and volume prune ask first like docker', async () => {
  const { command: networkRm } = await import('./network/rm.js');
  const { command: networkPrune } = await import('./network/prune.js');
  const { command: volumePrune } = await import('./volume/prune.js');
  const missing = async (): Promise<never> => { throw daemonErr('not-found', 'network gone not found'); };
  const f = fakeEnv({ call: missing });
  assert.equal(await networkRm.run(f.env, parseFlags(networkRm.flags, ['-f', 'gone'])), 0);
  assert.equal(f.stdout(), '');
  await assert.rejects(networkRm.run(fakeEnv({ call: missing }).env, parseFlags(networkRm.flags, ['gone'])), (e: unknown) => e instanceof StatusError && e.status === 1);
  let pruned = 0;
  const no = fakeEnv({ json: async () => { pruned++; return {}; } }, { stdin: 'n\n' });
  assert.equal(await networkPrune.run(no.env, parseFlags(networkPrune.flags, [])), 0);
  assert.equal(pruned, 0);
  assert.equal(no.stdout(), 'WARNING! This will remove all custom networks not used by at least one container.\nAre you sure you want to continue? [y/N] ');
  const yes = fakeEnv({ json: async () => { pruned++; return { VolumesDeleted: ['v1'], SpaceReclaimed: 0 }; } }, { stdin: 'y\n' });
  assert.equal(await volumePrune.run(yes.env, parseFlags(volumePrune.flags, ['-a'])), 0);
  assert.equal(pruned, 1);
  assert.match(yes.stdout(), /^WARNING! This will remove all local volumes not used by at least one container\.\nAre you sure you want to continue\? \[y\/N\] Deleted Volumes:\nv1\n/);
});
