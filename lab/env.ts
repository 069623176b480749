/**
 * Where the lab keeps things and how it reports: the cache directory, the
 * repository root, hashing, a build lock, and the one error type lab code throws.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HardbootError } from '../src/errors.js';
import type { Arch } from '../src/plan/abi.js';

export type { Arch };
export const ARCHES: readonly Arch[] = ['arm', 'arm64'];

/** Debian's name for each architecture (apt-get download pkg:<deb>). */
export const DEB_ARCH: Record<Arch, string> = { arm: 'armhf', arm64: 'arm64' };

/** The repository root: lab code runs compiled from build/lab/. */
export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** $HARDBOOT_CACHE, default ~/.cache/hardboot. Everything the lab builds lives under it. */
export function cacheDir(): string {
  return process.env['HARDBOOT_CACHE'] ?? join(homedir(), '.cache', 'hardboot');
}

/**
 * A lab step failed. `log` is the file holding the full output, when there is one;
 * the CLI prints the message on one line and the log path after it.
 */
export class LabError extends HardbootError {
  readonly kind = 'system' as const;
  override readonly name = 'LabError';
  constructor(
    message: string,
    readonly log?: string,
  ) {
    super(message);
  }
}

export function sha256(parts: readonly (string | Uint8Array)[]): string {
  const h = createHash('sha256');
  for (const p of parts) {
    // Length-prefix each part so ("ab","c") and ("a","bc") differ.
    const b = typeof p === 'string' ? Buffer.from(p, 'utf8') : p;
    h.update(`${b.length}:`);
    h.update(b);
  }
  return h.digest('hex');
}

/**
 * An exclusive lock held by this process while it builds (a kernel, a guest).
 * A lock left by a dead process is taken over; a live holder is an error, not a
 * wait: two kernel builds at once would only be slower on two cores.
 */
export function acquireLock(path: string, what: string): () => void {
  mkdirSync(dirname(path), { recursive: true });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return () => rmSync(path, { force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number.parseInt(readFileSync(path, 'utf8'), 10);
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
        throw new LabError(`${what} is already running in process ${pid} (lock ${path})`);
      }
      rmSync(path, { force: true });
    }
  }
  throw new LabError(`cannot take the lock ${path}`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function ensureDir(path: string): string {
  if (!existsSync(path)) mkdirSync(path, { recursive: true });
  return path;
}

/** `1m 23s` / `4.2s`: how long a step took, for progress lines and reports. */
export function formatDuration(ms: number): string {
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
}
