import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chainIds, hexOf, sha256 } from './model.js';

// The OCI image spec (config.md, "Layer ChainID"):
//   ChainID(L₀) = DiffID(L₀)
//   ChainID(L₀|...|Lₙ) = Digest(ChainID(L₀|...|Lₙ₋₁) + " " + DiffID(Lₙ))
const digest = (s: string): string => `sha256:${createHash('sha256').update(s, 'utf8').digest('hex')}`;
const diff = (n: number): string => digest(`layer ${n}`);

test('chainIds() returns nothing for an image without layers', () => {
  assert.deepEqual(chainIds([]), []);
});

test('chainIds() uses the diff ID itself for the bottom layer', () => {
  assert.deepEqual(chainIds([diff(0)]), [diff(0)]);
});

test('chainIds() follows the OCI image spec definition for every layer', () => {
  const diffs = [diff(0), diff(1), diff(2), diff(3)];
  const c1 = digest(`${diffs[0]} ${diffs[1]}`);
  const c2 = digest(`${c1} ${diffs[2]}`);
  const c3 = digest(`${c2} ${diffs[3]}`);
  assert.deepEqual(chainIds(diffs), [diffs[0], c1, c2, c3]);
});

test('chainIds() gives equal prefixes for images sharing lower layers', () => {
  const a = chainIds([diff(0), diff(1), diff(2)]);
  const b = chainIds([diff(0), diff(1), diff(9)]);
  assert.deepEqual(a.slice(0, 2), b.slice(0, 2));
  assert.notEqual(a[2], b[2]);
});

test('chainIds() depends on layer order', () => {
  assert.notEqual(chainIds([diff(0), diff(1)])[1], chainIds([diff(1), diff(0)])[1]);
});

test('sha256() and hexOf() produce and strip the sha256: prefix', () => {
  assert.equal(sha256(''), 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  assert.equal(sha256(Buffer.from('abc')), 'sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  assert.equal(hexOf('sha256:abcd'), 'abcd');
  assert.equal(hexOf('abcd'), 'abcd');
});
