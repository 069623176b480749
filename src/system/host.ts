/**
 * Everything the commands need from the machine, behind one interface. The real
 * host reads /proc and /sys and calls the kernel; tests pass a host built from
 * fixtures that records kernel calls, so they can assert that bad input never
 * reaches kexec_load.
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SystemError } from '../errors.js';
import type { Fdt } from '../formats/fdt.js';
import type { Arch } from '../plan/abi.js';
import type { MemoryMap } from '../plan/memory.js';
import type { Plan } from '../plan/plan.js';
import * as kexec from './kexec.js';
import * as live from './live.js';
import { parseHardbootSysfs } from '../formats/proc.js';

export interface Host {
  /** The running machine's architecture, if it is one hardboot can load for. */
  arch(): Arch | undefined;
  memory(): MemoryMap;
  cmdline(): string;
  fdt(): Fdt;
  pageSize(): number;
  /** The page the running kernel writes hardboot records to; undefined without hardboot support. */
  hardbootPage(): number | undefined;
  kexecLoaded(): boolean;
  entropy(bytes: number): Uint8Array;
  readFile(path: string, what: string): Uint8Array;
  /** A file of /proc or /sys, or undefined when it does not exist (a kernel without the feature). */
  sysFile(path: string): Uint8Array | undefined;
  writeFiles(dir: string, files: { name: string; bytes: Uint8Array }[]): void;
  kernel: {
    load(plan: Plan): Promise<void>;
    unload(arch: Arch): Promise<void>;
    exec(): Promise<never>;
  };
}

export function readInputFile(path: string, what: string): Uint8Array {
  try {
    return readFileSync(path); // a Buffer is a Uint8Array; wrapping it in new Uint8Array() would copy it
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    throw new SystemError(`${path}: cannot read the ${what}: ${code}`, undefined, code);
  }
}

export function readSysFile(path: string): Uint8Array | undefined {
  try {
    return readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    throw new SystemError(`${path}: cannot read: ${code ?? (e as Error).message}${code === 'EACCES' || code === 'EPERM' ? ' (run as root)' : ''}`, undefined, code);
  }
}

/**
 * n bytes from the kernel's random pool. Read directly rather than through
 * node:crypto, whose OpenSSL start-up costs more than the whole plan on a
 * slow device (measured under QEMU TCG).
 */
export function urandom(n: number): Uint8Array {
  const out = new Uint8Array(n);
  const fd = openSync('/dev/urandom', 'r');
  try {
    for (let got = 0; got < n; ) {
      const r = readSync(fd, out, got, n - got, null);
      if (r <= 0) throw new SystemError('/dev/urandom: short read');
      got += r;
    }
  } finally {
    closeSync(fd);
  }
  return out;
}

export function writeSegmentFiles(dir: string, files: { name: string; bytes: Uint8Array }[]): void {
  try {
    mkdirSync(dir, { recursive: true });
    for (const f of files) writeFileSync(join(dir, f.name), f.bytes);
  } catch (e) {
    throw new SystemError(`${dir}: cannot write segments: ${(e as Error).message}`);
  }
}

/** /sys/kernel/kexec_hardboot: the page address in hex, present only on kernels with CONFIG_KEXEC_HARDBOOT. */
export const HARDBOOT_SYSFS = '/sys/kernel/kexec_hardboot';

export const realHost: Host = {
  arch: live.liveArch,
  memory: live.liveMemory,
  cmdline: live.liveCmdline,
  fdt: live.liveFdt,
  pageSize: live.livePageSize,
  hardbootPage() {
    if (!existsSync(HARDBOOT_SYSFS)) return undefined;
    const text = readFileSync(HARDBOOT_SYSFS, 'utf8');
    const page = parseHardbootSysfs(text);
    if (page === undefined) throw new SystemError(`${HARDBOOT_SYSFS}: expected a hex address, found ${JSON.stringify(text.trim())}`);
    return page;
  },
  kexecLoaded: live.kexecLoaded,
  entropy: urandom,
  readFile: readInputFile,
  sysFile: readSysFile,
  writeFiles: writeSegmentFiles,
  kernel: { load: kexec.kexecLoad, unload: kexec.kexecUnload, exec: kexec.kexecExec },
};
