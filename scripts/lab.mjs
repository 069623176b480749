#!/usr/bin/env node
// npm run lab -- <scenario|build|list> [--arch arm|arm64]   (see lab/cli.ts)
// 1. installs the lab's Debian packages (scripts/setup.mjs lab),
// 2. compiles the TypeScript (tsc),
// 3. bundles dist/hardboot.mjs (scripts/bundle.mjs) for the guest; if that fails the
//    guest is built without it and the scenarios that need it fail saying why,
// 4. runs build/lab/cli.js with the arguments.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const note = (m) => process.stderr.write(`[lab] ${m}\n`);
const node = (args, opts = {}) => spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit', ...opts });

const setup = node([join(root, 'scripts', 'setup.mjs'), 'lab']);
if (setup.status !== 0) process.exit(setup.status ?? 1);

const tsc = node([join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json', '--pretty', 'false'], {
  stdio: ['ignore', 'pipe', 'pipe'],
  encoding: 'utf8',
});
if (tsc.status !== 0) {
  process.stderr.write(`${tsc.stdout}${tsc.stderr}`);
  note('tsc failed');
  process.exit(1);
}

const env = { ...process.env };
const bundle = node([join(root, 'scripts', 'bundle.mjs')], { stdio: ['ignore', 'inherit', 'pipe'], encoding: 'utf8' });
if (bundle.status !== 0) {
  const first = (bundle.stderr ?? '').split('\n').find((l) => l.trim()) ?? `exit ${bundle.status}`;
  process.stderr.write(bundle.stderr ?? '');
  note(`scripts/bundle.mjs failed; the guest gets no hardboot`);
  env.HARDBOOT_LAB_BUNDLE_ERROR = `scripts/bundle.mjs failed: ${first.trim()}`;
}

const lab = node([join(root, 'build', 'lab', 'cli.js'), ...process.argv.slice(2)], { env });
process.exit(lab.status ?? 1);
