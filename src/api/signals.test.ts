import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kindOf } from '../lib/errdefs.js';
import { parseSignal, signalName, SIGNALS } from './signals.js';

test('parseSignal() accepts names with and without SIG, in any case', () => {
  for (const s of ['TERM', 'SIGTERM', 'term', 'sigterm', 'SigTerm', ' TERM ']) assert.equal(parseSignal(s), 15, s);
  assert.equal(parseSignal('KILL'), 9);
  assert.equal(parseSignal('HUP'), 1);
  assert.equal(parseSignal('USR1'), 10);
  assert.equal(parseSignal('WINCH'), 28);
});

test('parseSignal() accepts numbers', () => {
  assert.equal(parseSignal('9'), 9);
  assert.equal(parseSignal('15'), 15);
  assert.equal(parseSignal('64'), 64);
});

test('parseSignal() maps the Linux real-time signals like moby/sys/signal', () => {
  assert.equal(parseSignal('RTMIN'), 34);
  assert.equal(parseSignal('SIGRTMIN+3'), 37);
  assert.equal(parseSignal('RTMAX-2'), 62);
  assert.equal(parseSignal('RTMAX'), 64);
});

test('parseSignal() rejects unknown names and 0 with "Invalid signal: <input>"', () => {
  for (const bad of ['0', 'FOO', 'SIG', '', '-1', '1.5', 'RTMAX-40']) {
    assert.throws(() => parseSignal(bad), (e: unknown) => {
      assert.equal(kindOf(e), 'invalid-argument');
      assert.equal((e as Error).message, `Invalid signal: ${bad}`);
      return true;
    }, bad);
  }
});

test('SIGNALS holds the x86_64 numbers', () => {
  const expected: Record<string, number> = { HUP: 1, INT: 2, QUIT: 3, KILL: 9, USR1: 10, SEGV: 11, USR2: 12, PIPE: 13, ALRM: 14, TERM: 15, CHLD: 17, CONT: 18, STOP: 19, TSTP: 20 };
  for (const [k, v] of Object.entries(expected)) assert.equal(SIGNALS[k], v, k);
});

test('signalName() prints the canonical name without SIG, not an alias', () => {
  assert.equal(signalName(15), 'TERM');
  assert.equal(signalName(9), 'KILL');
  assert.equal(signalName(6), 'ABRT'); // not IOT
  assert.equal(signalName(17), 'CHLD'); // not CLD
  assert.equal(signalName(29), 'IO'); // not POLL
});

test('signalName() falls back to the number for signals without a name', () => {
  assert.equal(signalName(40), '40');
});

test('signalName() and parseSignal() round-trip every named signal', () => {
  for (const n of new Set(Object.values(SIGNALS))) assert.equal(parseSignal(signalName(n)), n);
});
