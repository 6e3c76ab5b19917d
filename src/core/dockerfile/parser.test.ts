import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseDockerfile, parseModel, stageGraph, processWord, processWords, splitWords, parseDuration, formatDuration, toInstruction, parseRunMount } from './index.js';

describe('parseDockerfile()', () => {
  it('joins continuations, skips comments and blank lines inside them, keeps line numbers', () => {
    const p = parseDockerfile('FROM a\n# c\nRUN echo 1 \\\n  # inner\n\n  && echo 2\nCMD ["x"]\n');
    assert.deepEqual(p.nodes.map((n) => [n.cmd, n.line, n.rest]), [['FROM', 1, 'a'], ['RUN', 3, 'echo 1   && echo 2'], ['CMD', 7, '["x"]']]);
    assert.deepEqual(p.nodes[2]!.json, ['x']);
  });

  const errors: Array<[string, string]> = [
    ['FROM a\nRUN x\n\n\n\n\nCPY a b\n', 'Dockerfile:7: unknown instruction: CPY'],
    ['FROM a\nRUN <<EOF\nx\n', 'Dockerfile:2: unterminated heredoc EOF'],
    ['# escape=x\nFROM a\n', "Dockerfile:1: invalid escape token 'x' does not match ` or \\"],
  ];
  for (const [text, msg] of errors) {
    it(`names the line in errors: ${msg}`, () => assert.throws(() => parseDockerfile(text), { message: msg }));
  }

  it('reads the escape and syntax directives only at the top', () => {
    const p = parseDockerfile('# syntax=docker/dockerfile:1\n# escape=`\nFROM a\nRUN echo a `\n  b\n# escape=\\\n');
    assert.equal(p.directives.escape, '`');
    assert.equal(p.directives.syntax, 'docker/dockerfile:1');
    assert.equal(p.nodes[1]!.rest, 'echo a   b');
  });

  it('collects heredoc bodies (quoted delimiter: no expansion, <<- strips tabs)', () => {
    const p = parseDockerfile('FROM a\nRUN <<EOF\necho $A\nEOF\nCOPY <<-"X" /f\n\thello\n\tX\nCMD y\n');
    assert.deepEqual(p.nodes[1]!.heredocs, [{ name: 'EOF', content: 'echo $A\n', expand: true }]);
    assert.deepEqual(p.nodes[2]!.heredocs, [{ name: 'X', content: 'hello\n', expand: false }]);
    assert.equal(p.nodes[3]!.cmd, 'CMD');
  });

  it('splits flags from arguments', () => {
    const n = parseDockerfile('COPY --from=build --chown=1:2 a b /c/\n').nodes[0]!;
    assert.deepEqual(n.flags, ['--from=build', '--chown=1:2']);
    assert.equal(n.rest, 'a b /c/');
  });
});

describe('toInstruction()', () => {
  const one = (line: string) => toInstruction(parseDockerfile(line).nodes[0]!);
  const cases: Array<[string, object]> = [
    ['FROM --platform=linux/amd64 busybox AS Build', { kind: 'FROM', image: 'busybox', stageName: 'build', platform: 'linux/amd64' }],
    ['ENV A=1 B="x y"', { kind: 'ENV', pairs: [['A', '1'], ['B', '"x y"']] }],
    ['ENV A hello world', { kind: 'ENV', pairs: [['A', 'hello world']] }],
    ['LABEL a=b', { kind: 'LABEL', pairs: [['a', 'b']] }],
    ['ARG A B=2', { kind: 'ARG', args: [{ name: 'A' }, { name: 'B', value: '2' }] }],
    ['RUN ["echo", "hi"]', { kind: 'RUN', json: true, args: ['echo', 'hi'] }],
    ['RUN echo hi', { kind: 'RUN', json: false, args: ['echo hi'] }],
    ['CMD echo hi', { kind: 'CMD', json: false, args: ['echo hi'] }],
    ['ENTRYPOINT ["sh"]', { kind: 'ENTRYPOINT', json: true, args: ['sh'] }],
    ['EXPOSE 80 90/udp', { kind: 'EXPOSE', values: ['80', '90/udp'] }],
    ['VOLUME ["/a", "/b"]', { kind: 'VOLUME', values: ['/a', '/b'] }],
    ['VOLUME /a /b', { kind: 'VOLUME', values: ['/a', '/b'] }],
    ['USER nobody', { kind: 'USER', value: 'nobody' }],
    ['WORKDIR /app', { kind: 'WORKDIR', value: '/app' }],
    ['STOPSIGNAL SIGKILL', { kind: 'STOPSIGNAL', value: 'SIGKILL' }],
    ['COPY --chown=1:2 --chmod=755 a b /d/', { kind: 'COPY', sources: ['a', 'b'], dest: '/d/', chown: '1:2', chmod: '755' }],
    ['ADD ["a b", "/c"]', { kind: 'ADD', sources: ['a b'], dest: '/c' }],
    ['ONBUILD RUN echo hi', { kind: 'ONBUILD', trigger: 'RUN echo hi' }],
    ['HEALTHCHECK --interval=5s --retries=3 CMD curl x', { kind: 'HEALTHCHECK', test: ['CMD-SHELL', 'curl x'], interval: 5e9, retries: 3 }],
    ['HEALTHCHECK CMD ["true"]', { kind: 'HEALTHCHECK', test: ['CMD', 'true'] }],
    ['HEALTHCHECK NONE', { kind: 'HEALTHCHECK', test: ['NONE'] }],
    ['SHELL ["/bin/bash", "-c"]', { kind: 'SHELL', shell: ['/bin/bash', '-c'] }],
  ];
  for (const [line, want] of cases) {
    it(`parses ${line}`, () => {
      const got = one(line) as unknown as Record<string, unknown>;
      for (const [k, v] of Object.entries(want)) assert.deepEqual(got[k], v, k);
    });
  }
  const bad: Array<[string, RegExp]> = [
    ['FROM a b', /FROM requires either one or three arguments/],
    ['COPY a', /COPY requires at least two arguments/],
    ['SHELL /bin/sh', /SHELL requires the arguments to be in JSON form/],
    ['ONBUILD ONBUILD RUN x', /Chaining ONBUILD/],
    ['HEALTHCHECK --retries=0 CMD x', /--retries must be at least 1/],
    ['COPY --bogus=1 a b', /unknown flag: bogus/],
    ['ENV', /ENV requires at least one argument/],
  ];
  for (const [line, re] of bad) it(`rejects ${line}`, () => assert.throws(() => one(line), re));
});

describe('parseModel() and stageGraph()', () => {
  const text = 'ARG V=1\nFROM busybox AS base\nRUN x\nFROM base AS a\nFROM busybox AS b\nFROM busybox AS final\nCOPY --from=a /x /x\nCOPY --from=1 /y /y\n';
  it('splits meta ARGs and stages', () => {
    const m = parseModel(text);
    assert.equal(m.metaArgs.length, 1);
    assert.deepEqual(m.stages.map((s) => s.name), ['base', 'a', 'b', 'final']);
  });
  it('builds only what the target needs', () => {
    const m = parseModel(text);
    assert.deepEqual(stageGraph(m).order, [0, 1, 3]);
    assert.deepEqual(stageGraph(m, 'b').order, [2]);
    assert.throws(() => stageGraph(m, 'nope'), /failed to reach build target nope/);
  });
  it('refuses instructions before FROM other than ARG', () => {
    assert.throws(() => parseModel('RUN x\nFROM a\n'), /Dockerfile:1: no build stage in current context/);
  });
});

describe('processWord()', () => {
  const env = { A: 'a', E: '', S: 'x y' };
  const cases: Array<[string, string]> = [
    ['$A', 'a'], ['${A}', 'a'], ['${A}b', 'ab'], ['$A$A', 'aa'],
    ['${Z:-d}', 'd'], ['${E:-d}', 'd'], ['${E-d}', ''], ['${A:-d}', 'a'],
    ['${A:+alt}', 'alt'], ['${Z:+alt}', ''], ['${E+alt}', 'alt'],
    ["'$A'", '$A'], ['"$A b"', 'a b'], ['\\$A', '$A'], ['"\\"q\\""', '"q"'],
    ['${Z:-${A}}', 'a'], ['$', '$'], ['a$', 'a$'],
  ];
  for (const [w, want] of cases) it(`${w} → ${want}`, () => assert.equal(processWord(w, env), want));
  it('processWords() splits on unquoted whitespace after expansion of quotes', () => {
    assert.deepEqual(processWords('80 "$S" $A/udp', env), ['80', 'x y', 'a/udp']);
  });
  it('splitWords() keeps quotes', () => assert.deepEqual(splitWords('A="x y" B=\'z\''), ['A="x y"', "B='z'"]));
});

describe('durations', () => {
  const cases: Array<[string, number, string]> = [['5s', 5e9, '5s'], ['1m30s', 90e9, '1m30s'], ['100ms', 1e8, '100ms'], ['1.5s', 1.5e9, '1.5s'], ['1h', 3600e9, '1h0m0s']];
  for (const [s, ns, back] of cases) it(`${s} ↔ ${ns}`, () => { assert.equal(parseDuration(s), ns); assert.equal(formatDuration(ns), back); });
});

describe('RUN --mount', () => {
  it('parses BuildKit mount specs: bind (read-only by default), cache, tmpfs', () => {
    assert.deepEqual(parseRunMount('target=/src'), { type: 'bind', target: '/src', source: '', readonly: true, sharing: 'shared' });
    assert.deepEqual(parseRunMount('type=bind,source=app,target=/app,rw,from=build'), { type: 'bind', target: '/app', source: 'app', from: 'build', readonly: false, sharing: 'shared' });
    assert.deepEqual(parseRunMount('type=cache,id=go,target=/root/.cache,sharing=locked,mode=0700,uid=1,gid=2'),
      { type: 'cache', target: '/root/.cache', source: '', id: 'go', readonly: false, sharing: 'locked', mode: 0o700, uid: 1, gid: 2 });
    assert.deepEqual(parseRunMount('type=tmpfs,dst=/t,size=2m'), { type: 'tmpfs', target: '/t', source: '', readonly: false, sharing: 'shared', size: 2 * 1024 * 1024 });
  });

  it('refuses what it cannot honour, with the reason', () => {
    assert.throws(() => parseRunMount('type=secret,id=x'), /mount type "secret" is not supported/);
    assert.throws(() => parseRunMount('type=cache'), /mount target must be specified/);
    assert.throws(() => parseRunMount('type=bind,target=/x,bogus=1'), /unexpected key 'bogus'/);
    assert.throws(() => parseRunMount('type=cache,target=/x,sharing=maybe'), /unsupported sharing value "maybe"/);
  });

  it('keeps every --mount of a RUN and makes `from=` stages dependencies', () => {
    const m = parseModel('FROM a AS x\nRUN true\nFROM b\nRUN --mount=type=cache,target=/c --mount=from=x,target=/x true\n');
    const run = m.stages[1]!.instructions[0]!;
    assert.equal(run.kind, 'RUN');
    assert.deepEqual(run.kind === 'RUN' ? run.mounts : undefined, ['type=cache,target=/c', 'from=x,target=/x']);
    assert.deepEqual(stageGraph(m).deps.get(1), [0]);
  });
});
