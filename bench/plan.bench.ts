/**
 * npm run bench: how long planning a big arm64 load takes against its floor.
 *
 * Input: Debian's arm64 Image (≈31 MiB) gzip'd, and a 64 MiB initrd of random
 * bytes. The floor is reading both files and gunzipping the kernel, which any
 * loader must do; the plan adds parsing, placement and the DTB. Each side runs
 * in a fresh process so peak RSS (maxRSS) is its own. Prints numbers; asserts nothing.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync, gunzipSync } from 'node:zlib';
import { cacheDir, debianKernels, fixture } from '../test/support.js';
import { main } from '../src/cli/main.js';
import { realHost } from '../src/system/host.js';

const dir = join(cacheDir, 'bench');
const kernel = join(dir, 'Image.gz');
const initrd = join(dir, 'initrd-64M.bin');
const dtb = fixture('dtb', 'qemu-virt-arm64.dtb');
const ROUNDS = 5;

interface Sample {
  ms: number;
  maxRssMiB: number;
  segmentBytes?: number;
}

async function child(mode: string): Promise<void> {
  const t0 = performance.now();
  let segmentBytes: number | undefined;
  if (mode === 'floor') {
    const k = gunzipSync(readFileSync(kernel));
    const i = readFileSync(initrd);
    segmentBytes = k.length + i.length;
  } else {
    let out = '';
    const code = await main(
      ['--dry-run', '--json', '--arch=arm64', `--dtb=${dtb}`, '--memory=0x40000000-0x13fffffff', '-l', kernel, `--initrd=${initrd}`, '--append=console=ttyAMA0'],
      realHost,
      { out: (t) => (out += t), err: (t) => process.stderr.write(t) },
    );
    if (code !== 0) process.exit(code);
    segmentBytes = (JSON.parse(out) as { segments: { bufsz: string }[] }).segments.reduce((n, s) => n + Number(s.bufsz), 0);
  }
  const ms = performance.now() - t0;
  const sample: Sample = { ms, maxRssMiB: process.resourceUsage().maxRSS / 1024, segmentBytes };
  process.stdout.write(JSON.stringify(sample));
}

function run(mode: string): Sample {
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), mode], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`bench child ${mode} failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as Sample;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function prepare(): void {
  mkdirSync(dir, { recursive: true });
  if (!existsSync(kernel)) writeFileSync(kernel, gzipSync(readFileSync(debianKernels().arm64.kernel), { level: 9 }));
  if (!existsSync(initrd)) writeFileSync(initrd, randomBytes(64 << 20));
}

const mode = process.argv[2];
if (mode) {
  await child(mode);
} else {
  prepare();
  const floor: Sample[] = [];
  const plan: Sample[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    floor.push(run('floor'));
    plan.push(run('plan'));
  }
  const f = median(floor.map((s) => s.ms));
  const p = median(plan.map((s) => s.ms));
  const rss = Math.max(...plan.map((s) => s.maxRssMiB));
  const seg = plan[0]!.segmentBytes! / 2 ** 20;
  const fmt = (n: number) => n.toFixed(1);
  console.log(`inputs: ${kernel} (${fmt(readFileSync(kernel).length / 2 ** 20)} MiB gzip, ${fmt(readFileSync(debianKernels().arm64.kernel).length / 2 ** 20)} MiB Image), ${initrd} (64 MiB)`);
  console.log(`read + gunzip (floor): ${fmt(f)} ms   median of ${ROUNDS}, peak RSS ${fmt(Math.max(...floor.map((s) => s.maxRssMiB)))} MiB`);
  console.log(`plan (hardboot --dry-run): ${fmt(p)} ms   median of ${ROUNDS}`);
  console.log(`ratio plan/floor: ${(p / f).toFixed(2)}   (goal ≤ 1.2)`);
  console.log(`peak RSS of plan: ${fmt(rss)} MiB; segment bytes ${fmt(seg)} MiB + 64 MiB = ${fmt(seg + 64)} MiB   (goal: RSS ≤ that)`);
}
