#!/usr/bin/env node
// Runs the compiled tests with node's own runner. `node tools/run-tests.mjs [unit|integration]`.
// Unit tests sit beside their source (dist/src/**/*.test.js); integration tests under
// dist/test/integration. Node 20's --test takes no globs, so the files are listed here.
import { readdirSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const which = process.argv[2] ?? 'all';
const dist = new URL('../dist/', import.meta.url).pathname;
if (!existsSync(dist)) { console.error('dist/ is missing: run npm run build first'); process.exit(2); }
const found = [];
(function walk(dir) {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (p.endsWith('.test.js')) found.push(p);
  }
})(dist);
const isIntegration = (p) => p.includes('/test/integration/');
const files = found.filter((p) => which === 'all' || (which === 'integration') === isIntegration(p));
const args = ['--test', '--test-concurrency=1', ...(process.env.TEST_REPORTER ? [`--test-reporter=${process.env.TEST_REPORTER}`] : []), ...files];
const r = spawnSync(process.execPath, args, { stdio: 'inherit' });
process.exit(r.status ?? 1);
