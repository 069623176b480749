#!/usr/bin/env node
// Runs every compiled *.test.js under build/ with Node's own test runner.
// (Node 18/20 take files, not globs, so the list is gathered here.)
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';

function find(dir, out = []) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) find(p, out);
    else if (e.name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

const filter = process.argv.slice(2);
const files = find('build')
  .filter((f) => filter.length === 0 || filter.some((s) => f.includes(s)))
  .sort()
  .map((f) => relative('.', f));
if (files.length === 0) {
  console.error('run-tests: no test files found under build/ (run `npm run build` first)');
  process.exit(1);
}
const r = spawnSync(process.execPath, ['--test', '--test-reporter=spec', ...files], { stdio: 'inherit' });
process.exit(r.status ?? 1);
