import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kindOf } from '../../lib/errdefs.js';
import { generateName, validateName } from './names.js';

test('validateName() accepts moby\'s pattern and strips one leading slash', () => {
  assert.equal(validateName('web'), 'web');
  assert.equal(validateName('/web'), 'web');
  assert.equal(validateName('a1'), 'a1');
  assert.equal(validateName('My_app.v2-x'), 'My_app.v2-x');
  assert.equal(validateName('0x'), '0x');
});

test('validateName() rejects invalid names with Docker\'s message', () => {
  for (const bad of ['', 'a', '/a', '-web', '_web', '.web', 'my app', 'a/b', '//web', 'wéb', 'web!']) {
    assert.throws(() => validateName(bad), (e: unknown) => {
      assert.equal(kindOf(e), 'invalid-argument');
      assert.equal((e as Error).message, `Invalid container name (${bad}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
      return true;
    }, JSON.stringify(bad));
  }
});

test('generateName() returns adjective_surname, a valid container name', () => {
  let seed = 1;
  const random = (): number => { seed = (seed * 16807) % 2147483647; return (seed - 1) / 2147483646; };
  for (let i = 0; i < 200; i++) {
    const n = generateName(random);
    assert.match(n, /^[a-z]+_[a-z]+$/);
    assert.equal(validateName(n), n);
  }
});

test('generateName() is deterministic for a given random source', () => {
  assert.equal(generateName(() => 0), 'agile_agnesi');
  assert.equal(generateName(() => 0.999999), generateName(() => 0.999999));
  assert.match(generateName(() => 0.999999), /^[a-z]+_[a-z]+$/);
});

test('generateName() appends one digit on a retry after a collision', () => {
  assert.equal(generateName(() => 0, 1), 'agile_agnesi0');
  assert.match(generateName(() => 0.5, 3), /^[a-z]+_[a-z]+[0-9]$/);
});
