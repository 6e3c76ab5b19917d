import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kindOf } from '../../lib/errdefs.js';
import type { ContainerConfigWire } from '../../api/index.js';
import { applyChanges } from './changes.js';

test('applyChanges() CMD takes the JSON form as is and wraps the shell form in /bin/sh -c', () => {
  assert.deepEqual(applyChanges({}, ['CMD ["echo","hi there"]']).Cmd, ['echo', 'hi there']);
  assert.deepEqual(applyChanges({}, ['CMD echo hi there']).Cmd, ['/bin/sh', '-c', 'echo hi there']);
  assert.deepEqual(applyChanges({}, ['CMD [not json']).Cmd, ['/bin/sh', '-c', '[not json']);
  assert.deepEqual(applyChanges({}, ['CMD [1, 2]']).Cmd, ['/bin/sh', '-c', '[1, 2]']);
});

test('applyChanges() ENTRYPOINT takes both forms', () => {
  assert.deepEqual(applyChanges({}, ['ENTRYPOINT ["/app","--flag"]']).Entrypoint, ['/app', '--flag']);
  assert.deepEqual(applyChanges({}, ['ENTRYPOINT /app --flag']).Entrypoint, ['/bin/sh', '-c', '/app --flag']);
});

test('applyChanges() ENV sets several key=value pairs, with quotes', () => {
  const c = applyChanges({}, ['ENV A=1 B="two words" C=\'single quoted\' D="esc\\"aped"']);
  assert.deepEqual(c.Env, ['A=1', 'B=two words', 'C=single quoted', 'D=esc"aped']);
});

test('applyChanges() ENV accepts the legacy "key value" form', () => {
  assert.deepEqual(applyChanges({}, ['ENV GREETING hello big world']).Env, ['GREETING=hello big world']);
});

test('applyChanges() ENV replaces an existing variable in place and appends new ones', () => {
  const c = applyChanges({ Env: ['PATH=/bin', 'A=0'] }, ['ENV A=1', 'ENV B=2']);
  assert.deepEqual(c.Env, ['PATH=/bin', 'A=1', 'B=2']);
});

test('applyChanges() ENV without a value is an error', () => {
  assert.throws(() => applyChanges({}, ['ENV LONELY']), (e: unknown) => kindOf(e) === 'invalid-argument');
});

test('applyChanges() LABEL merges labels over the existing ones', () => {
  const c = applyChanges({ Labels: { a: 'old', keep: 'yes' } }, ['LABEL a=new b="x y"']);
  assert.deepEqual(c.Labels, { a: 'new', keep: 'yes', b: 'x y' });
});

test('applyChanges() EXPOSE adds /tcp when no protocol is given', () => {
  const c = applyChanges({ ExposedPorts: { '22/tcp': {} } }, ['EXPOSE 80 443/udp  8080']);
  assert.deepEqual(c.ExposedPorts, { '22/tcp': {}, '80/tcp': {}, '443/udp': {}, '8080/tcp': {} });
});

test('applyChanges() VOLUME takes a list of paths or a JSON array', () => {
  assert.deepEqual(applyChanges({}, ['VOLUME /data /logs']).Volumes, { '/data': {}, '/logs': {} });
  assert.deepEqual(applyChanges({ Volumes: { '/a': {} } }, ['VOLUME ["/b", "/c"]']).Volumes, { '/a': {}, '/b': {}, '/c': {} });
});

test('applyChanges() USER, WORKDIR and STOPSIGNAL set their field, trimmed', () => {
  const c = applyChanges({}, ['USER  nobody:nogroup ', 'WORKDIR /srv/app', 'STOPSIGNAL SIGINT']);
  assert.equal(c.User, 'nobody:nogroup');
  assert.equal(c.WorkingDir, '/srv/app');
  assert.equal(c.StopSignal, 'SIGINT');
});

test('applyChanges() ONBUILD appends triggers', () => {
  assert.deepEqual(applyChanges({ OnBuild: ['RUN a'] }, ['ONBUILD RUN b']).OnBuild, ['RUN a', 'RUN b']);
});

test('applyChanges() accepts instructions in any case and skips blank lines', () => {
  const c = applyChanges({}, ['', '   ', 'cmd ["x"]', 'Workdir /w']);
  assert.deepEqual(c.Cmd, ['x']);
  assert.equal(c.WorkingDir, '/w');
});

test('applyChanges() applies changes in order, the later one winning', () => {
  assert.deepEqual(applyChanges({}, ['CMD ["a"]', 'CMD ["b"]']).Cmd, ['b']);
});

test('applyChanges() rejects other instructions with "<x> is not a valid change command"', () => {
  for (const [line, word] of [['RUN echo hi', 'run'], ['FROM busybox', 'from'], ['copy a b', 'copy'], ['BOGUS', 'bogus'], ['  Add x y', 'add']]) {
    assert.throws(() => applyChanges({}, [line!]), (e: unknown) => {
      assert.equal(kindOf(e), 'invalid-argument');
      assert.equal((e as Error).message, `${word} is not a valid change command`);
      return true;
    }, line);
  }
});

test('applyChanges() does not modify the config it is given', () => {
  const config: ContainerConfigWire = { Env: ['A=0'], Labels: { a: '1' }, ExposedPorts: { '1/tcp': {} }, Volumes: { '/v': {} }, OnBuild: ['X'] };
  const before = structuredClone(config);
  applyChanges(config, ['ENV A=1', 'LABEL a=2', 'EXPOSE 2', 'VOLUME /w', 'ONBUILD Y', 'CMD z']);
  assert.deepEqual(config, before);
});
