#!/usr/bin/env node
// Enforces the dependency rule of docs/ARCHITECTURE.md: imports between the layers of src/
// go one way, a folder is entered only through its index.ts (its front door), and there are
// no import cycles between units. Zero dependencies; exits 1 and lists every breach.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative, dirname, resolve, sep } from 'node:path';

const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
const src = join(root, 'src');

// layer -> layers it may import (besides itself)
const allowed = {
  lib: [],
  api: ['lib'],
  core: ['lib', 'api'],
  adapters: ['core', 'lib', 'api'],
  // services read the wire shapes of Config/HostConfig (kept in records as the user sent them)
  // and api's pure parsers; see docs/ARCHITECTURE.md "Decisions".
  services: ['core', 'lib', 'api'],
  client: ['api', 'lib'],
  daemon: ['services', 'core', 'api', 'lib'],
  registry: ['services', 'core', 'api', 'lib'],
  cli: ['client', 'api', 'lib'],
};
// Node built-ins core may not touch: it is pure logic.
const coreForbidden = new Set(['fs', 'fs/promises', 'child_process', 'net', 'http', 'https', 'dgram']);
// npm packages each layer may import.
const packages = { lib: ['koffi'], registry: ['bcryptjs'] };
// Files allowed to break the rule, by name, so the breach cannot spread.
const allowlist = new Set([
  // composition roots wire adapters into services
  'src/daemon/main.ts',
  'src/registry/main.ts',
]);

const files = [];
(function walk(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (p.endsWith('.ts') && !p.endsWith('.d.ts')) files.push(p);
  }
})(src);

const problems = [];
const layerOf = (file) => relative(src, file).split(sep)[0];
/** A unit is a layer's direct subfolder (src/adapters/conmon) or a file directly in a layer. */
const unitOf = (file) => {
  const parts = relative(src, file).split(sep);
  return parts.length > 2 ? parts.slice(0, 2).join('/') : parts[0];
};
const importRe = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;
const edges = new Map();

for (const file of files) {
  const rel = relative(root, file);
  const isTest = file.endsWith('.test.ts');
  const text = readFileSync(file, 'utf8');
  const layer = layerOf(file);
  for (const m of text.matchAll(importRe)) {
    const spec = m[1] ?? m[2];
    if (spec.startsWith('node:') || !spec.startsWith('.')) {
      const bare = spec.replace(/^node:/, '');
      if (layer === 'core' && coreForbidden.has(bare) && !isTest) problems.push(`${rel}: core may not import node:${bare}`);
      if (!spec.startsWith('node:') && !(packages[layer] ?? []).includes(spec.split('/')[0]))
        problems.push(`${rel}: layer '${layer}' may not import the package '${spec}'`);
      continue;
    }
    const target = resolve(dirname(file), spec.replace(/\.js$/, '.ts'));
    if (!target.startsWith(src + sep)) continue;
    const tLayer = layerOf(target);
    if (tLayer !== layer && !allowed[layer]?.includes(tLayer) && !allowlist.has(rel) && !isTest) {
      problems.push(`${rel}: '${layer}' may not import '${tLayer}' (${spec})`);
    }
    const fromUnit = unitOf(file), toUnit = unitOf(target);
    if (fromUnit !== toUnit) {
      const tParts = relative(src, target).split(sep);
      const isFrontDoor = tParts.length <= 2 || (tParts.length === 3 && tParts[2] === 'index.ts');
      if (!isFrontDoor) problems.push(`${rel}: deep import of ${relative(root, target)}; import ${toUnit}/index.js instead`);
      if (!isTest) {
        if (!edges.has(fromUnit)) edges.set(fromUnit, new Set());
        edges.get(fromUnit).add(toUnit);
      }
    }
  }
}

// Cycle check between units (Tarjan-free DFS with colours).
const colour = new Map();
const stack = [];
function dfs(u) {
  colour.set(u, 1); stack.push(u);
  for (const v of edges.get(u) ?? []) {
    if (colour.get(v) === 1) problems.push(`import cycle: ${[...stack.slice(stack.indexOf(v)), v].join(' -> ')}`);
    else if (!colour.has(v)) dfs(v);
  }
  stack.pop(); colour.set(u, 2);
}
for (const u of edges.keys()) if (!colour.has(u)) dfs(u);

if (problems.length) {
  console.error(problems.join('\n'));
  console.error(`check-layers: ${problems.length} problem(s)`);
  process.exit(1);
}
console.log(`check-layers: ${files.length} files, layering ok`);
