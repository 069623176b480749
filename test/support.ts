/** Shared test helpers: fixture paths and the real Debian kernels fetched by scripts/setup.mjs. */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (tests run compiled from build/, so walk up to package.json). */
export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export function fixture(...parts: string[]): string {
  return join(repoRoot, 'test', 'fixtures', ...parts);
}

export function readFixture(...parts: string[]): Uint8Array {
  return new Uint8Array(readFileSync(fixture(...parts)));
}

export const cacheDir = process.env['HARDBOOT_CACHE'] ?? join(homedir(), '.cache', 'hardboot');

export interface DebianKernel {
  package: string;
  kernel: string;
  config: string;
}

/** Debian's arm64 Image and armhf zImage; `npm test` fetches them before the tests run. */
export function debianKernels(): { arm64: DebianKernel; arm: DebianKernel } {
  const manifest = join(cacheDir, 'debian-kernels', 'manifest.json');
  try {
    return JSON.parse(readFileSync(manifest, 'utf8')) as { arm64: DebianKernel; arm: DebianKernel };
  } catch (e) {
    throw new Error(`${manifest}: missing; run \`node scripts/setup.mjs test\` (npm test does it first)`, {
      cause: e,
    });
  }
}
