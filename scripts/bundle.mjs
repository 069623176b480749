#!/usr/bin/env node
// Builds the single-file bundles of the CLI; koffi stays external (it carries native code):
//  - dist/hardboot.mjs: for a device that has Node (≥ 18) and koffi beside it, and the lab guest;
//  - dist/hardboot.cjs: the release's entry (src/cli/release-entry.ts), run as a plain
//    script or built into a V8 start-up snapshot on the device; CommonJS with bare
//    builtin names ('fs', not 'node:fs'), since Node 18's snapshot builder gives the
//    script a require() that knows only those.
import { build } from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const common = { bundle: true, platform: 'node', target: 'node18', external: ['koffi'], legalComments: 'none', logLevel: 'warning' };
const bareBuiltins = {
  name: 'bare-builtins',
  setup(b) {
    b.onResolve({ filter: /^node:/ }, (a) => ({ path: a.path.slice('node:'.length), external: true }));
  },
};
await Promise.all([
  build({ ...common, entryPoints: [join(root, 'src/cli/bin.ts')], outfile: join(root, 'dist/hardboot.mjs'), format: 'esm' }),
  build({ ...common, entryPoints: [join(root, 'src/cli/release-entry.ts')], outfile: join(root, 'dist/hardboot.cjs'), format: 'cjs', plugins: [bareBuiltins] }),
]);
