import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kindOf } from '../lib/errdefs.js';
import {
  canonicalString, familiarName, familiarString, fullName, isFullHexId, parseReference, withDefaultTag,
} from './reference.js';

const HEX64 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const DIGEST = `sha256:${HEX64}`;

/** Asserts an invalid-argument error with exactly this message. */
function rejects(input: string, message: string): void {
  assert.throws(() => parseReference(input), (e: unknown) => {
    assert.equal(kindOf(e), 'invalid-argument', `kind for ${JSON.stringify(input)}`);
    assert.equal((e as Error).message, message, `message for ${JSON.stringify(input)}`);
    return true;
  });
}

test('parseReference() normalises a bare name to docker.io/library', () => {
  assert.deepEqual(parseReference('busybox'), { domain: 'docker.io', path: 'library/busybox' });
  assert.equal(canonicalString(withDefaultTag(parseReference('busybox'))), 'docker.io/library/busybox:latest');
});

test('parseReference() keeps user repositories on Docker Hub without the library/ prefix', () => {
  assert.deepEqual(parseReference('me/app:1'), { domain: 'docker.io', path: 'me/app', tag: '1' });
  assert.deepEqual(parseReference('a/b/c'), { domain: 'docker.io', path: 'a/b/c' });
});

test('parseReference() accepts the explicit and the legacy Docker Hub domains', () => {
  for (const input of ['docker.io/busybox', 'docker.io/library/busybox', 'index.docker.io/library/busybox', 'index.docker.io/busybox']) {
    assert.deepEqual(parseReference(input), { domain: 'docker.io', path: 'library/busybox' }, input);
  }
});

test('parseReference() reads host:port as a registry, not as a tag', () => {
  assert.deepEqual(parseReference('localhost:5000/x'), { domain: 'localhost:5000', path: 'x' });
  assert.deepEqual(parseReference('localhost:5000/x:2'), { domain: 'localhost:5000', path: 'x', tag: '2' });
  assert.deepEqual(parseReference('127.0.0.1:5000/a/b:1'), { domain: '127.0.0.1:5000', path: 'a/b', tag: '1' });
  assert.deepEqual(parseReference('localhost/x'), { domain: 'localhost', path: 'x' });
  assert.deepEqual(parseReference('quay.io/org/img'), { domain: 'quay.io', path: 'org/img' });
  assert.deepEqual(parseReference('[::1]:5000/x'), { domain: '[::1]:5000', path: 'x' });
});

test('parseReference() treats a first component with uppercase letters as a domain', () => {
  // distribution/reference's splitDockerDomain: a non-lowercase first part is a host name.
  assert.deepEqual(parseReference('Registry/app'), { domain: 'Registry', path: 'app' });
});

test('parseReference() treats a first component without dot, colon or localhost as a path', () => {
  assert.deepEqual(parseReference('myhost/app'), { domain: 'docker.io', path: 'myhost/app' });
});

test('parseReference() parses digests, alone and with a tag', () => {
  assert.deepEqual(parseReference(`busybox@${DIGEST}`), { domain: 'docker.io', path: 'library/busybox', digest: DIGEST });
  assert.deepEqual(parseReference(`busybox:1.36@${DIGEST}`), { domain: 'docker.io', path: 'library/busybox', tag: '1.36', digest: DIGEST });
  assert.deepEqual(parseReference(`localhost:5000/x@${DIGEST}`), { domain: 'localhost:5000', path: 'x', digest: DIGEST });
});

test('parseReference() rejects malformed digests', () => {
  rejects('busybox@sha256:abc', 'invalid reference format');
  rejects('busybox@', 'invalid reference format');
});

test('parseReference() rejects uppercase repository names with the normalised name in the message', () => {
  // Docker: `docker pull Busybox` → "invalid reference format: repository name (library/Busybox) must be lowercase"
  rejects('Busybox', 'invalid reference format: repository name (library/Busybox) must be lowercase');
  rejects('me/App', 'invalid reference format: repository name (me/App) must be lowercase');
  rejects('localhost:5000/App:1', 'invalid reference format: repository name (App) must be lowercase');
});

test('parseReference() allows uppercase letters in tags', () => {
  assert.equal(parseReference('busybox:Latest').tag, 'Latest');
});

test('parseReference() rejects 64-hex strings that look like image IDs', () => {
  rejects(HEX64, `invalid repository name (${HEX64}), cannot specify 64-byte hexadecimal strings`);
  assert.equal(isFullHexId(HEX64), true);
  assert.equal(isFullHexId(HEX64.slice(1)), false);
  assert.equal(isFullHexId(HEX64.toUpperCase()), false);
  // A 64-hex name with a tag is an ordinary (if odd) repository name.
  assert.equal(parseReference(`${HEX64}:1`).path, `library/${HEX64}`);
});

test('parseReference() rejects malformed names with "invalid reference format"', () => {
  for (const bad of ['', 'busybox:', ':tag', '-busybox', 'busybox-', 'a//b', 'a/', '/a', 'bus box', 'busybox:-x', 'a__-b', `busybox:${'x'.repeat(129)}`]) {
    rejects(bad, 'invalid reference format');
  }
});

test('parseReference() accepts the separators the grammar allows in path components', () => {
  for (const ok of ['a.b', 'a_b', 'a__b', 'a-b', 'a---b', 'a1/b2.c_d-e']) {
    assert.doesNotThrow(() => parseReference(ok), ok);
  }
});

test('parseReference() rejects names longer than 255 characters', () => {
  assert.throws(() => parseReference(`${'a'.repeat(250)}/bbbbbb`), /repository name must not be more than 255 characters/);
});

test('withDefaultTag() adds latest only when there is neither tag nor digest', () => {
  assert.equal(withDefaultTag(parseReference('busybox')).tag, 'latest');
  assert.equal(withDefaultTag(parseReference('busybox:1')).tag, '1');
  const digested = withDefaultTag(parseReference(`busybox@${DIGEST}`));
  assert.equal(digested.tag, undefined);
  assert.equal(digested.digest, DIGEST);
});

test('withDefaultTag() does not modify its argument', () => {
  const ref = parseReference('busybox');
  withDefaultTag(ref);
  assert.equal(ref.tag, undefined);
});

test('familiarName() and familiarString() print names as the docker CLI shows them', () => {
  const cases: Array<[string, string, string]> = [
    ['busybox', 'busybox', 'busybox:latest'],
    ['docker.io/library/busybox:1', 'busybox', 'busybox:1'],
    ['me/app', 'me/app', 'me/app:latest'],
    ['library/a/b', 'library/a/b', 'library/a/b:latest'],
    ['localhost:5000/x', 'localhost:5000/x', 'localhost:5000/x:latest'],
    ['quay.io/library/x', 'quay.io/library/x', 'quay.io/library/x:latest'],
  ];
  for (const [input, name, str] of cases) {
    const ref = withDefaultTag(parseReference(input));
    assert.equal(familiarName(ref), name, input);
    assert.equal(familiarString(ref), str, input);
  }
  assert.equal(familiarString(parseReference(`busybox:1@${DIGEST}`)), `busybox:1@${DIGEST}`);
});

test('fullName() and canonicalString() print the fully qualified form', () => {
  assert.equal(fullName(parseReference('busybox')), 'docker.io/library/busybox');
  assert.equal(canonicalString(parseReference(`me/app@${DIGEST}`)), `docker.io/me/app@${DIGEST}`);
  assert.equal(canonicalString(parseReference('127.0.0.1:5000/a/b:1')), '127.0.0.1:5000/a/b:1');
});
