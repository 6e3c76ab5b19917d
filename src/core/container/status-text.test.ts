import { test } from 'node:test';
import assert from 'node:assert/strict';
import { humanDuration, rfc3339Nano, statusText } from './status-text.js';
import { newState, type ContainerRecord, type ContainerState } from './model.js';

const S = 1000, M = 60 * S, H = 60 * M, D = 24 * H;

test('humanDuration() prints go-units HumanDuration below a minute, truncating seconds', () => {
  assert.equal(humanDuration(0), 'Less than a second');
  assert.equal(humanDuration(999), 'Less than a second');
  assert.equal(humanDuration(1 * S), '1 second');
  assert.equal(humanDuration(1999), '1 second');
  assert.equal(humanDuration(2 * S), '2 seconds');
  assert.equal(humanDuration(59 * S), '59 seconds');
  assert.equal(humanDuration(59 * S + 999), '59 seconds');
});

test('humanDuration() prints minutes truncated, and "About a minute" for the whole second minute', () => {
  assert.equal(humanDuration(60 * S), 'About a minute');
  assert.equal(humanDuration(119 * S), 'About a minute');
  assert.equal(humanDuration(2 * M), '2 minutes');
  assert.equal(humanDuration(2 * M + 59 * S), '2 minutes');
  assert.equal(humanDuration(59 * M + 59 * S), '59 minutes');
});

test('humanDuration() rounds hours, as go-units does', () => {
  assert.equal(humanDuration(60 * M), 'About an hour');
  assert.equal(humanDuration(89 * M), 'About an hour');
  assert.equal(humanDuration(90 * M), '2 hours');
  assert.equal(humanDuration(47 * H), '47 hours');
  assert.equal(humanDuration(47 * H + 29 * M), '47 hours');
});

test('humanDuration() prints days, weeks, months and years with integer division of the hours', () => {
  assert.equal(humanDuration(47 * H + 30 * M), '2 days');
  assert.equal(humanDuration(2 * D), '2 days');
  assert.equal(humanDuration(60 * H), '2 days');
  assert.equal(humanDuration(13 * D + 23 * H), '13 days');
  assert.equal(humanDuration(14 * D), '2 weeks');
  assert.equal(humanDuration(59 * D), '8 weeks');
  assert.equal(humanDuration(60 * D), '2 months');
  assert.equal(humanDuration(729 * D), '24 months');
  assert.equal(humanDuration(730 * D), '2 years');
  assert.equal(humanDuration(5 * 365 * D + 100 * D), '5 years');
});

function record(state: Partial<ContainerState>): ContainerRecord {
  return { state: { ...newState(), ...state } } as ContainerRecord;
}

test('statusText() prints each state as docker ps does', () => {
  const now = Date.parse('2024-01-02T03:04:05Z');
  const ago = (ms: number): string => new Date(now - ms).toISOString();
  assert.equal(statusText(record({ status: 'created' }), now), 'Created');
  assert.equal(statusText(record({ status: 'running', startedAt: ago(10 * S) }), now), 'Up 10 seconds');
  assert.equal(statusText(record({ status: 'running', startedAt: ago(3 * H) }), now), 'Up 3 hours');
  assert.equal(statusText(record({ status: 'paused', startedAt: ago(5 * M) }), now), 'Up 5 minutes (Paused)');
  assert.equal(statusText(record({ status: 'restarting', exitCode: 1, finishedAt: ago(2 * S) }), now), 'Restarting (1) 2 seconds ago');
  assert.equal(statusText(record({ status: 'removing' }), now), 'Removal In Progress');
  assert.equal(statusText(record({ status: 'dead' }), now), 'Dead');
  assert.equal(statusText(record({ status: 'exited', exitCode: 137, finishedAt: ago(2 * H) }), now), 'Exited (137) 2 hours ago');
  assert.equal(statusText(record({ status: 'exited', exitCode: 0, finishedAt: ago(500) }), now), 'Exited (0) Less than a second ago');
});

test('statusText() reads RFC3339 timestamps with nanoseconds', () => {
  const now = Date.parse('2024-01-02T03:04:05Z');
  assert.equal(statusText(record({ status: 'running', startedAt: '2024-01-02T03:03:05.123456789Z' }), now), 'Up 59 seconds');
  assert.equal(statusText(record({ status: 'exited', exitCode: 2, finishedAt: '2024-01-02T03:03:04.999999999Z' }), now), 'Exited (2) About a minute ago');
});

test('rfc3339Nano() prints Go\'s RFC3339Nano: UTC, trailing zeros trimmed', () => {
  const ms = Date.UTC(2024, 0, 2, 3, 4, 5, 123);
  assert.equal(rfc3339Nano(ms), '2024-01-02T03:04:05.123Z');
  assert.equal(rfc3339Nano(ms, 456), '2024-01-02T03:04:05.123000456Z');
  assert.equal(rfc3339Nano(Date.UTC(2024, 0, 2, 3, 4, 5, 100)), '2024-01-02T03:04:05.1Z');
  assert.equal(rfc3339Nano(Date.UTC(2024, 0, 2, 3, 4, 5)), '2024-01-02T03:04:05Z');
});
