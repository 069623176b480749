#!/usr/bin/env node
// npm run demo: the main job. Until the QEMU lab lands, it plans Debian's real arm
// and arm64 kernels for QEMU's virt board with --dry-run and shows the result.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cache = process.env.HARDBOOT_CACHE ?? join(homedir(), '.cache', 'hardboot');
const kernels = JSON.parse(readFileSync(join(cache, 'debian-kernels', 'manifest.json'), 'utf8'));
const work = mkdtempSync(join(tmpdir(), 'hardboot-demo-'));
const initrd = join(work, 'initrd.img');
writeFileSync(initrd, Buffer.alloc(4 << 20, 0x42));

let failed = 0;
for (const [arch, dtb] of [['arm64', 'qemu-virt-arm64.dtb'], ['arm', 'qemu-virt-arm.dtb']]) {
  const args = [
    join(root, 'bin', 'hardboot.mjs'),
    '--dry-run',
    `--arch=${arch}`,
    `--dtb=${join(root, 'test', 'fixtures', 'dtb', dtb)}`,
    '-l',
    kernels[arch].kernel,
    `--initrd=${initrd}`,
    '--append=console=ttyAMA0 hb.marker=demo',
    `--save-segments=${join(work, arch)}`,
  ];
  console.log(`\n$ hardboot ${args.slice(1).join(' ')}\n`);
  const r = spawnSync(process.execPath, args, { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
console.log(`\nsegments saved under ${work}`);
process.exit(failed ? 1 : 0);
