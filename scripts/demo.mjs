#!/usr/bin/env node
// npm run demo: the main job. Builds what is missing (kernels from pinned source,
// the guest with Node and hardboot) and runs the most complete lab scenario on
// arm64 under QEMU, printing its timeline. See lab/README.md.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// The scenario that proves the most: hardboot --load-hardboot, hardboot -e, a real reset,
// and the patched boot kernel jumping to the stored kernel.
const SCENARIO = 'hardboot';
console.log(`hardboot demo: QEMU virt arm64, scenario '${SCENARIO}' (first run builds the kernel and guest: ~6 min)\n`);
const r = spawnSync(process.execPath, [join(root, 'scripts', 'lab.mjs'), SCENARIO, '--arch', 'arm64'], { stdio: 'inherit' });
process.exit(r.status ?? 1);
