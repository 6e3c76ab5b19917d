import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kvListToMap, parseEnvFileText, parseFilterList, resolveEnvEntry } from './index.js';

const lookup = (k: string): string | undefined => ({ HOME: '/root' })[k];

test('resolveEnvEntry() takes a bare name from the environment or keeps it', () => {
  assert.equal(resolveEnvEntry('A=1', lookup), 'A=1');
  assert.equal(resolveEnvEntry('HOME', lookup), 'HOME=/root');
  assert.equal(resolveEnvEntry('NOPE', lookup), 'NOPE');
  assert.throws(() => resolveEnvEntry('=x', lookup), /invalid environment variable: =x/);
});

test('parseEnvFileText() skips comments and blanks and rejects spaces in names', () => {
  assert.deepEqual(parseEnvFileText('# c\n\nA=1\n  B= two \nHOME\nNOPE\n', 'f', lookup), ['A=1', 'B= two ', 'HOME=/root']);
  assert.throws(() => parseEnvFileText('A B=1', 'f', lookup), /variable 'A B' contains whitespaces/);
});

test('kvListToMap() and parseFilterList() build wire shapes', () => {
  assert.deepEqual(kvListToMap(['a=b', 'c', 'd=e=f']), { a: 'b', c: '', d: 'e=f' });
  assert.deepEqual(parseFilterList(['status=exited', 'label=a=b', 'status=created']), {
    status: { exited: true, created: true },
    label: { 'a=b': true },
  });
  assert.throws(() => parseFilterList(['oops']), /bad format of filter/);
});
