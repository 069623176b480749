/**
 * node build/bench/decompress.bench.js: decode speed of Image.gz and Image.lz4.
 *
 * Input: Debian's arm64 Image, compressed once with the gzip and lz4 CLIs as kernel
 * builds do (`gzip -9`; `lz4 -l -9` plus the size_append word) and cached. Reports
 * the best and median of several rounds in MB/s of decompressed output (1 MB = 10^6
 * bytes), next to node:zlib's own gunzipSync as the floor for gzip. Prints numbers;
 * asserts nothing.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { cacheDir, debianKernels } from '../test/support.js';
import { crc32, crc32Portable, gunzipMember } from '../src/formats/compress.js';
import { decodeLz4Legacy } from '../src/formats/lz4.js';

/** These tests read well-formed streams of known size: the output cap is not what they test. */
const ANY_SIZE = 1 << 30;

const ROUNDS = 7;
const dir = join(cacheDir, 'bench');
const image = new Uint8Array(readFileSync(debianKernels().arm64.kernel));

function cached(name: string, make: () => Uint8Array): Uint8Array {
  const f = join(dir, name);
  if (!existsSync(f)) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(f, make());
  }
  return new Uint8Array(readFileSync(f));
}

const cli = (cmd: string, args: string[]) =>
  new Uint8Array(execFileSync(cmd, args, { input: image, maxBuffer: 1 << 30 }));
const size = new Uint8Array(4);
new DataView(size.buffer).setUint32(0, image.length, true);

const gz = cached('decompress-Image.gz', () => cli('gzip', ['-9', '-n', '-c']));
const lz4 = cached('decompress-Image.lz4', () => {
  const z = cli('lz4', ['-l', '-9', '-c']);
  const out = new Uint8Array(z.length + 4);
  out.set(z);
  out.set(size, z.length);
  return out;
});

function measure(label: string, input: Uint8Array, run: () => Uint8Array): void {
  const ms: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const t0 = performance.now();
    const out = run();
    ms.push(performance.now() - t0);
    if (out.length !== image.length) throw new Error(`${label}: decoded ${out.length} bytes, expected ${image.length}`);
  }
  ms.sort((a, b) => a - b);
  const mbs = (t: number) => (image.length / 1e6 / (t / 1000)).toFixed(0);
  const best = ms[0]!;
  const median = ms[Math.floor(ms.length / 2)]!;
  const mib = (n: number) => (n / 2 ** 20).toFixed(1).padStart(5);
  const at = (t: number) => `${t.toFixed(0).padStart(4)} ms (${mbs(t).padStart(4)} MB/s)`;
  console.log(`${label.padEnd(34)} ${mib(input.length)} MiB → ${mib(image.length)} MiB  best ${at(best)}  median ${at(median)}`);
}

console.log(`Node ${process.version}, ${ROUNDS} rounds, Debian arm64 Image ${image.length} bytes`);
measure('gunzipMember (inflate + CRC-32)', gz, () => gunzipMember(gz, { maxOutput: ANY_SIZE }).data);
measure('node:zlib gunzipSync (floor)', gz, () => gunzipSync(gz));
measure('decodeLz4Legacy (lz4 -l -9)', lz4, () => decodeLz4Legacy(lz4, { maxOutput: ANY_SIZE }).data);
measure('crc32 (zlib when Node has it)', image, () => (crc32(image), image));
measure('crc32Portable (Node 18 path)', image, () => (crc32Portable(image), image));
