import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatNanos, parseK8sLine, timeToNanos } from './k8s-file.js';

const line = (s: string): Buffer => Buffer.from(s);

test('parseK8sLine() reads a full stdout line and appends the newline', () => {
  const e = parseK8sLine(line('2024-01-02T03:04:05.123456789+01:00 stdout F hello world'))!;
  assert.equal(e.time, '2024-01-02T03:04:05.123456789+01:00');
  assert.equal(e.stream, 'stdout');
  assert.equal(e.data.toString(), 'hello world\n');
});

test('parseK8sLine() keeps a partial (P) line without a newline', () => {
  const e = parseK8sLine(line('2024-01-02T03:04:05Z stdout P no newline yet'))!;
  assert.equal(e.data.toString(), 'no newline yet');
});

test('parseK8sLine() reads stderr lines', () => {
  const e = parseK8sLine(line('2024-01-02T03:04:05Z stderr F oops'))!;
  assert.equal(e.stream, 'stderr');
  assert.equal(e.data.toString(), 'oops\n');
});

test('parseK8sLine() keeps spaces and bytes inside the text exactly', () => {
  const raw = Buffer.concat([line('2024-01-02T03:04:05Z stdout F '), Buffer.from([0x20, 0x20, 0xff, 0x00, 0x41, 0x20])]);
  assert.deepEqual(parseK8sLine(raw)!.data, Buffer.from([0x20, 0x20, 0xff, 0x00, 0x41, 0x20, 0x0a]));
});

test('parseK8sLine() reads an empty full line, with or without the separator', () => {
  assert.equal(parseK8sLine(line('2024-01-02T03:04:05Z stdout F '))!.data.toString(), '\n');
  assert.equal(parseK8sLine(line('2024-01-02T03:04:05Z stdout F'))!.data.toString(), '\n');
  assert.equal(parseK8sLine(line('2024-01-02T03:04:05Z stdout P'))!.data.length, 0);
});

test('parseK8sLine() understands a tag list such as F:x', () => {
  assert.equal(parseK8sLine(line('2024-01-02T03:04:05Z stdout F:x text'))!.data.toString(), 'text\n');
});

test('parseK8sLine() returns undefined for malformed lines', () => {
  for (const bad of ['', 'garbage', '2024-01-02T03:04:05Z', '2024-01-02T03:04:05Z stdout', '2024-01-02T03:04:05Z stdin F x', '2024-01-02T03:04:05Z  F x']) {
    assert.equal(parseK8sLine(line(bad)), undefined, JSON.stringify(bad));
  }
});

test('parseK8sLine() copies the text so the caller may reuse its buffer', () => {
  const buf = line('2024-01-02T03:04:05Z stdout P abc');
  const e = parseK8sLine(buf)!;
  buf.fill(0x7a);
  assert.equal(e.data.toString(), 'abc');
});

test('timeToNanos() converts UTC timestamps with nanosecond fractions', () => {
  const base = BigInt(Date.UTC(2024, 0, 2, 3, 4, 5)) * 1_000_000n;
  assert.equal(timeToNanos('2024-01-02T03:04:05.123456789Z'), base + 123_456_789n);
  assert.equal(timeToNanos('2024-01-02T03:04:05Z'), base);
  assert.equal(timeToNanos('2024-01-02T03:04:05.5Z'), base + 500_000_000n);
  assert.equal(timeToNanos('2024-01-02T03:04:05.000000001Z'), base + 1n);
});

test('timeToNanos() applies positive and negative offsets', () => {
  const base = BigInt(Date.UTC(2024, 0, 2, 3, 4, 5)) * 1_000_000n;
  assert.equal(timeToNanos('2024-01-02T04:04:05.000000007+01:00'), base + 7n);
  assert.equal(timeToNanos('2024-01-01T21:34:05.25-05:30'), base + 250_000_000n);
  assert.equal(timeToNanos('2024-01-02T04:04:05+01:00'), timeToNanos('2024-01-02T03:04:05Z'));
});

test('timeToNanos() ignores digits beyond nanoseconds', () => {
  const base = BigInt(Date.UTC(2024, 0, 2, 3, 4, 5)) * 1_000_000n;
  assert.equal(timeToNanos('2024-01-02T03:04:05.1234567891Z'), base + 123_456_789n);
});

test('timeToNanos() returns 0 for text that is not a timestamp', () => {
  assert.equal(timeToNanos('yesterday'), 0n);
  assert.equal(timeToNanos('2024-01-02 03:04:05Z'), 0n);
  assert.equal(timeToNanos('2024-01-02T03:04:05'), 0n);
});

test('formatNanos() prints UTC with exactly nine fraction digits', () => {
  const base = BigInt(Date.UTC(2024, 0, 2, 3, 4, 5)) * 1_000_000n;
  assert.equal(formatNanos(base + 123_456_789n), '2024-01-02T03:04:05.123456789Z');
  assert.equal(formatNanos(base), '2024-01-02T03:04:05.000000000Z');
  assert.equal(formatNanos(base + 1n), '2024-01-02T03:04:05.000000001Z');
  assert.equal(formatNanos(base + 999_999_999n), '2024-01-02T03:04:05.999999999Z');
});

test('formatNanos() and timeToNanos() round-trip through an offset timestamp', () => {
  const ns = timeToNanos('2024-06-30T23:59:59.987654321-07:00');
  assert.equal(formatNanos(ns), '2024-07-01T06:59:59.987654321Z');
  assert.equal(timeToNanos(formatNanos(ns)), ns);
});
