import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlagError, parseFlags, flagBool, flagList, flagString, flagInt, type FlagDef } from './index.js';

const defs: FlagDef[] = [
  { long: 'interactive', short: 'i', kind: 'bool' },
  { long: 'tty', short: 't', kind: 'bool' },
  { long: 'detach', short: 'd', kind: 'bool' },
  { long: 'env', short: 'e', kind: 'stringArray' },
  { long: 'name', kind: 'string' },
  { long: 'last', short: 'n', kind: 'int', defaultValue: -1 },
  { long: 'no-trunc', kind: 'bool' },
];

test('parseFlags() combines short booleans and takes values in all docker spellings', () => {
  const p = parseFlags(defs, ['-it', '-e', 'A=1', '-eB=2', '-e=C=3', '--env=D', '--env', 'E', '--name=x', 'img']);
  assert.equal(flagBool(p, 'interactive'), true);
  assert.equal(flagBool(p, 'tty'), true);
  assert.deepEqual(flagList(p, 'env'), ['A=1', 'B=2', 'C=3', 'D', 'E']);
  assert.equal(flagString(p, 'name'), 'x');
  assert.deepEqual(p.args, ['img']);
});

test('parseFlags() stops at the first positional when not interspersed', () => {
  const p = parseFlags(defs, ['-d', 'busybox', 'sh', '-c', '--name', 'x'], { interspersed: false });
  assert.deepEqual(p.args, ['busybox', 'sh', '-c', '--name', 'x']);
  assert.equal(flagString(p, 'name'), '');
});

test('parseFlags() keeps parsing after positionals when interspersed, and -- ends flags', () => {
  const p = parseFlags(defs, ['a', '-d', 'b', '--', '-t']);
  assert.deepEqual(p.args, ['a', 'b', '-t']);
  assert.equal(flagBool(p, 'detach'), true);
  assert.equal(flagBool(p, 'tty'), false);
});

test('parseFlags() fills defaults and parses ints', () => {
  assert.equal(flagInt(parseFlags(defs, []), 'last'), -1);
  assert.equal(flagInt(parseFlags(defs, ['-n', '3']), 'last'), 3);
  assert.equal(flagInt(parseFlags(defs, ['--last=0x10']), 'last'), 16);
});

test('parseFlags() reports errors with pflag wording', () => {
  const cases: Array<[string[], string]> = [
    [['--foo'], 'unknown flag: --foo'],
    [['-x'], "unknown shorthand flag: 'x' in -x"],
    [['-dx'], "unknown shorthand flag: 'x' in -x"],
    [['-e'], "flag needs an argument: 'e' in -e"],
    [['--name'], 'flag needs an argument: --name'],
    [['-n', 'x'], 'invalid argument "x" for "-n, --last" flag: strconv.ParseInt: parsing "x": invalid syntax'],
    [['--no-trunc=maybe'], 'invalid argument "maybe" for "--no-trunc" flag: strconv.ParseBool: parsing "maybe": invalid syntax'],
  ];
  for (const [argv, msg] of cases) {
    assert.throws(() => parseFlags(defs, argv), (e: unknown) => e instanceof FlagError && e.message === msg, argv.join(' '));
  }
});

test('parseFlags() recognises --help and -h when not defined', () => {
  assert.equal(parseFlags(defs, ['--help']).help, true);
  assert.equal(parseFlags(defs, ['-h']).help, true);
  assert.equal(parseFlags(defs, ['-d', 'x', '--help'], { interspersed: false }).help, false);
});
