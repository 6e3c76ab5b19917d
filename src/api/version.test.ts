import { test } from 'node:test';
import assert from 'node:assert/strict';
import { API_VERSION, MIN_API_VERSION, compareVersions } from './version.js';

test('compareVersions() compares dotted versions numerically, not as strings', () => {
  assert.equal(compareVersions('1.41', '1.41'), 0);
  assert.equal(compareVersions('1.9', '1.41'), -1);
  assert.equal(compareVersions('1.41', '1.9'), 1);
  assert.equal(compareVersions('1.4', '1.40'), -1);
  assert.equal(compareVersions('2.0', '1.99'), 1);
});

test('compareVersions() treats missing components as zero', () => {
  assert.equal(compareVersions('1.41', '1.41.0'), 0);
  assert.equal(compareVersions('1.41.1', '1.41'), 1);
  assert.equal(compareVersions('1', '1.0'), 0);
});

test('API_VERSION and MIN_API_VERSION are the advertised range', () => {
  assert.equal(API_VERSION, '1.41');
  assert.equal(MIN_API_VERSION, '1.24');
  assert.equal(compareVersions(MIN_API_VERSION, API_VERSION), -1);
});
