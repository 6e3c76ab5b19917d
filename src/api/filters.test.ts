import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kindOf } from '../lib/errdefs.js';
import { matchLabels, parseFilters, queryBool, validateFilterKeys } from './filters.js';

test('parseFilters() returns an empty map for a missing or empty parameter', () => {
  assert.equal(parseFilters(undefined).size, 0);
  assert.equal(parseFilters(null).size, 0);
  assert.equal(parseFilters('').size, 0);
  assert.equal(parseFilters('{}').size, 0);
});

test('parseFilters() reads the map form the docker CLI sends', () => {
  const f = parseFilters('{"label":{"a=b":true,"c":true},"status":{"running":true}}');
  assert.deepEqual([...f.entries()], [['label', ['a=b', 'c']], ['status', ['running']]]);
});

test('parseFilters() reads the legacy list form docker-py and dockerode send', () => {
  const f = parseFilters('{"label":["a=b","c"],"status":["exited"]}');
  assert.deepEqual([...f.entries()], [['label', ['a=b', 'c']], ['status', ['exited']]]);
});

test('parseFilters() gives the same result for both shapes', () => {
  assert.deepEqual(parseFilters('{"name":{"web":true}}'), parseFilters('{"name":["web"]}'));
});

test('parseFilters() rejects malformed JSON and non-object values as invalid-argument', () => {
  for (const bad of ['{', 'not json', '[]', '"x"', '1', 'null', '{"label":"a"}', '{"label":1}']) {
    assert.throws(() => parseFilters(bad), (e: unknown) => {
      assert.equal(kindOf(e), 'invalid-argument');
      assert.match((e as Error).message, /^invalid filter '/);
      return true;
    }, bad);
  }
});

test('validateFilterKeys() rejects a key the endpoint does not support with moby wording', () => {
  const f = parseFilters('{"label":["a"],"colour":["red"]}');
  assert.throws(() => validateFilterKeys(f, ['label', 'status']), (e: unknown) => {
    assert.equal(kindOf(e), 'invalid-argument');
    assert.equal((e as Error).message, "invalid filter 'colour'");
    return true;
  });
  assert.doesNotThrow(() => validateFilterKeys(parseFilters('{"label":["a"]}'), ['label']));
});

test('matchLabels() matches every label filter: key presence and key=value', () => {
  const labels = { a: '1', b: '', c: 'x=y' };
  const m = (raw: string, l: Record<string, string> | null | undefined = labels): boolean => matchLabels(parseFilters(raw), l);
  assert.equal(m('{}'), true);
  assert.equal(m('{"label":["a"]}'), true);
  assert.equal(m('{"label":["a=1"]}'), true);
  assert.equal(m('{"label":["a=2"]}'), false);
  assert.equal(m('{"label":["b="]}'), true);
  assert.equal(m('{"label":["c=x=y"]}'), true);
  assert.equal(m('{"label":["a","zz"]}'), false, 'all label filters must match');
  assert.equal(matchLabels(parseFilters('{"label":["a"]}'), null), false);
  assert.equal(matchLabels(parseFilters('{"label":["a"]}'), undefined), false);
  assert.equal(matchLabels(parseFilters('{"status":["running"]}'), null), true, 'no label filter matches anything');
});

test('queryBool() treats "", 0, no, false and none as false in any case', () => {
  for (const v of ['', '0', 'no', 'false', 'none', 'No', 'FALSE', 'None']) assert.equal(queryBool(v), false, JSON.stringify(v));
});

test('queryBool() treats anything else as true', () => {
  for (const v of ['1', 'true', 'yes', 'True', 'on', 'off', '2', 'x']) assert.equal(queryBool(v), true, JSON.stringify(v));
});

test('queryBool() ignores surrounding whitespace like moby httputils.BoolValue', () => {
  assert.equal(queryBool(' 0 '), false);
  assert.equal(queryBool(' false'), false);
  assert.equal(queryBool('  '), false);
  assert.equal(queryBool(' 1 '), true);
});

test('queryBool() returns the default only when the parameter is absent', () => {
  assert.equal(queryBool(null), false);
  assert.equal(queryBool(undefined), false);
  assert.equal(queryBool(null, true), true);
  assert.equal(queryBool('', true), false, 'present but empty is false');
  assert.equal(queryBool('0', true), false);
});
