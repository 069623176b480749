/**
 * Readers of the running system. Each one is thin: it reads text or bytes and
 * hands them to its pure twin in src/formats, which is what the tests exercise.
 */
import { readFileSync } from 'node:fs';
import { SystemError, withFile } from '../errors.js';
import { type Fdt, parseFdt } from '../formats/fdt.js';
import { memoryFromIomem, parseKernelPageSize, parseProcCmdline } from '../formats/proc.js';
import type { Arch } from '../plan/abi.js';
import type { MemoryMap } from '../util/memory.js';

/** Every file of the running system that hardboot reads: the one table of them. */
export const PATHS = {
  iomem: '/proc/iomem',
  cmdline: '/proc/cmdline',
  fdt: '/sys/firmware/fdt',
  kexecLoaded: '/sys/kernel/kexec_loaded',
  smaps: '/proc/self/smaps',
  /** CONFIG_KEXEC_HARDBOOT's directory (a single file before the series' second version). */
  hardboot: '/sys/kernel/kexec_hardboot',
  configGz: '/proc/config.gz',
  status: '/proc/self/status',
  lockdown: '/sys/kernel/security/lockdown',
  loadDisabled: '/proc/sys/kernel/kexec_load_disabled',
} as const;

/** The SystemError for a failed read of a system file: the path, what it holds, the errno code, and "run as root" when that is the cure. */
export function readError(path: string, e: unknown, what?: string): SystemError {
  const code = (e as NodeJS.ErrnoException).code;
  const hint = code === 'EACCES' || code === 'EPERM' ? ' (run as root)' : '';
  return new SystemError(`${path}: cannot read${what ? ` ${what}` : ''}: ${code ?? (e as Error).message}${hint}`, undefined, code);
}

function read(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw readError(path, e, what);
  }
}

export function liveMemory(): MemoryMap {
  const text = read(PATHS.iomem, 'the memory map').toString('utf8');
  return withFile(PATHS.iomem, () => memoryFromIomem(text));
}

export function liveCmdline(): string {
  return parseProcCmdline(read(PATHS.cmdline, 'the command line').toString('utf8'));
}

export function liveFdt(): Fdt {
  const bytes = read(PATHS.fdt, 'the running device tree (kernel without OF or ACPI boot?)');
  return withFile(PATHS.fdt, () => parseFdt(bytes));
}

/** /sys/kernel/kexec_loaded: "1" when an image waits for `-e`; a kernel without it has no kexec at all. */
export function kexecLoaded(path: string = PATHS.kexecLoaded): boolean {
  try {
    return readFileSync(path, 'utf8').trim() === '1';
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new SystemError(`this kernel has no kexec: ${path} is missing (it needs CONFIG_KEXEC); run: hardboot doctor`, undefined, 'ENOENT');
    }
    throw new SystemError(`${path}: cannot read the kexec state: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** The running kernel's page size, from the first KernelPageSize line of /proc/self/smaps. */
export function livePageSize(): number {
  const text = read(PATHS.smaps, 'the page size').toString('utf8');
  return withFile(PATHS.smaps, () => parseKernelPageSize(text));
}

/** The machine hardboot runs on, as Node names it (x64, arm64, arm, …), for messages. */
export function machineName(): string {
  return process.arch;
}

/** The machine hardboot runs on, in the planner's terms. */
export function liveArch(): Arch | undefined {
  return process.arch === 'arm64' ? 'arm64' : process.arch === 'arm' ? 'arm' : undefined;
}
