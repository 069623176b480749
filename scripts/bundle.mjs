#!/usr/bin/env node
// Builds dist/hardboot.mjs: the whole CLI in one file for a device that has only
// Node (≥ 18) and koffi beside it. koffi stays external: it carries native code.
import { build } from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
await build({
  entryPoints: [join(root, 'src/cli/bin.ts')],
  outfile: join(root, 'dist/hardboot.mjs'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node18',
  external: ['koffi'],
  legalComments: 'none',
  logLevel: 'warning',
});
