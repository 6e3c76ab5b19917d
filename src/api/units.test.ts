import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bytesSize, formatGoG, humanDuration, humanSizeWithPrecision, ramInBytes } from './units.js';
import { apiTimestamp, parseGoDuration } from './duration.js';
import { familiarWithDefaultTag, fullRepository, parseImageName } from './image-name.js';

test('humanSizeWithPrecision() and bytesSize() print like go-units', () => {
  assert.equal(humanSizeWithPrecision(0, 3), '0B');
  assert.equal(humanSizeWithPrecision(1986000, 3), '1.99MB');
  assert.equal(humanSizeWithPrecision(123456, 3), '123kB');
  assert.equal(humanSizeWithPrecision(999.9, 3), '1e+03B');
  assert.equal(bytesSize(23.54 * 1024 ** 3), '23.54GiB');
  assert.equal(formatGoG(12, 3), '12');
});

test('humanDuration() follows go-units thresholds', () => {
  const s = 1000;
  assert.equal(humanDuration(500), 'Less than a second');
  assert.equal(humanDuration(1 * s), '1 second');
  assert.equal(humanDuration(59 * s), '59 seconds');
  assert.equal(humanDuration(60 * s), 'About a minute');
  assert.equal(humanDuration(45 * 60 * s), '45 minutes');
  assert.equal(humanDuration(3600 * s), 'About an hour');
  assert.equal(humanDuration(3 * 3600 * s), '3 hours');
  assert.equal(humanDuration(3 * 86400 * s), '3 days');
  assert.equal(humanDuration(21 * 86400 * s), '3 weeks');
  assert.equal(humanDuration(90 * 86400 * s), '3 months');
  assert.equal(humanDuration(3 * 365 * 86400 * s), '3 years');
});

test('parseGoDuration() and apiTimestamp() read docker --since values', () => {
  assert.equal(parseGoDuration('1h30m'), 5400e9);
  assert.equal(parseGoDuration('300ms'), 300e6);
  assert.throws(() => parseGoDuration('10'), /missing unit/);
  assert.equal(apiTimestamp('1h', 1_800_000_000_000), '1799996400');
  assert.equal(apiTimestamp('1795441758', 0), '1795441758');
  assert.equal(apiTimestamp('2026-11-23T14:48:46Z', 0), '1795445326.000000000');
  assert.equal(ramInBytes('512m'), 536870912);
});

test('parseImageName() normalises Docker Hub names and keeps registries', () => {
  assert.equal(fullRepository(parseImageName('busybox')), 'docker.io/library/busybox');
  assert.equal(fullRepository(parseImageName('me/app:1')), 'docker.io/me/app');
  const r = parseImageName('127.0.0.1:5000/bb:v1');
  assert.deepEqual([r.domain, r.path, r.tag], ['127.0.0.1:5000', 'bb', 'v1']);
  assert.equal(familiarWithDefaultTag('busybox'), 'busybox:latest');
  assert.equal(familiarWithDefaultTag('docker.io/library/alpine:3'), 'alpine:3');
});
