import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { IgnoreMatcher, parseIgnoreFile } from './dockerignore.js';

describe('IgnoreMatcher', () => {
  const cases: Array<[string, string, boolean]> = [
    ['*.log', 'a.log', true],
    ['*.log', 'dir/a.log', false],
    ['**/*.log', 'dir/sub/a.log', true],
    ['**/*.log', 'a.log', true],
    ['dir', 'dir/sub/file', true],
    ['dir/*', 'dir/file', true],
    ['dir/*', 'dirx/file', false],
    ['/abs', 'abs', true],
    ['a?c', 'abc', true],
    ['a?c', 'a/c', false],
    ['[ab].txt', 'b.txt', true],
    ['**', 'anything/at/all', true],
    ['node_modules\n!node_modules/keep', 'node_modules/keep', false],
    ['node_modules\n!node_modules/keep', 'node_modules/drop', true],
    ['*.md\n!README.md', 'README.md', false],
    ['*.md\n!README.md\nREADME*', 'README.md', true],
    ['# comment\n\nx', 'x', true],
    ['./x/../y', 'y', true],
  ];
  for (const [file, path, want] of cases) {
    it(`${JSON.stringify(file)} ${want ? 'ignores' : 'keeps'} ${path}`, () => assert.equal(IgnoreMatcher.fromFile(file).matches(path), want));
  }
  it('parseIgnoreFile() trims, drops comments and cleans paths', () => {
    assert.deepEqual(parseIgnoreFile('# c\n  a/./b  \n!/c\n\n'), ['a/b', '!c']);
  });
});
