/**
 * Everything the commands need from the machine, behind one interface. The real
 * host reads /proc and /sys and calls the kernel; tests pass a host built from
 * fixtures that records kernel calls, so they can assert that bad input never
 * reaches kexec_load.
 */
import {
  type Stats,
  closeSync,
  constants as fsConstants,
  fstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  readSync,
  statSync,
  statfsSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { FormatError, SystemError, UsageError } from '../errors.js';
import type { Fdt } from '../formats/fdt.js';
import type { Arch } from '../plan/abi.js';
import type { MemoryMap } from '../util/memory.js';
import type { Plan } from '../plan/plan.js';
import * as kexec from './kexec.js';
import { type BootFiles, bootFiles } from './bootfs.js';
import { type Terminal, processTerminal } from './terminal.js';
import * as live from './live.js';
import { type HardbootSupport, hardbootFromFile, parseHardbootDirectory } from '../formats/proc.js';

export interface Host {
  /** The running machine's architecture, if it is one hardboot can load for. */
  arch(): Arch | undefined;
  memory(): MemoryMap;
  cmdline(): string;
  fdt(): Fdt;
  pageSize(): number;
  /** What the running kernel says about hardboot (page, flag, state); undefined without hardboot support. */
  hardboot(): HardbootSupport | undefined;
  kexecLoaded(): boolean;
  entropy(bytes: number): Uint8Array;
  /** A regular file's bytes; with `maxBytes`, a larger file is refused before it is read. */
  readFile(path: string, what: string, maxBytes?: number): Uint8Array;
  /** The names in a directory, sorted; undefined when it does not exist. */
  listDir(path: string): string[] | undefined;
  /** A file of /proc or /sys, or undefined when it does not exist (a kernel without the feature). */
  sysFile(path: string): Uint8Array | undefined;
  writeFiles(dir: string, files: { name: string; bytes: Uint8Array }[]): void;
  /** The boot manager's changes to a boot root (state files, boot counters), each atomic. */
  bootFiles: BootFiles;
  /** The console the boot menu uses. */
  terminal(): Terminal;
  kernel: {
    load(plan: Plan): Promise<void>;
    unload(arch: Arch): Promise<void>;
    /** Syncs filesystems unless `sync` is false, then boots the loaded image. */
    exec(o: { sync: boolean }): Promise<never>;
  };
}

/**
 * An input file's bytes. Only regular files are read: a device (/dev/zero), a
 * FIFO or a directory is refused before a byte is read (opened non-blocking, so
 * a FIFO without a writer cannot hang us), since none has an end we can trust.
 */
export function readInputFile(path: string, what: string, maxBytes?: number): Uint8Array {
  const cannot = (e: unknown): SystemError => {
    const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    return new SystemError(`${path}: cannot read the ${what}: ${code}`, undefined, code);
  };
  let fd: number;
  try {
    fd = openSync(path, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
  } catch (e) {
    throw cannot(e);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new UsageError(`${path}: the ${what} must be a regular file, not ${fileKind(st)}`);
    if (maxBytes !== undefined && st.size > maxBytes) {
      throw new FormatError(what, 0, `a ${what} of at most ${maxBytes} bytes`, `${st.size} bytes`).inFile(path);
    }
    return readFileSync(fd); // a Buffer is a Uint8Array; wrapping it in new Uint8Array() would copy it
  } catch (e) {
    if (e instanceof UsageError || e instanceof FormatError) throw e;
    throw cannot(e);
  } finally {
    closeSync(fd);
  }
}

function fileKind(st: Stats): string {
  if (st.isFile()) return 'a regular file';
  if (st.isDirectory()) return 'a directory';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device (copy the partition to a file first)';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  return 'a special file';
}

/** The names in `path`, sorted; undefined when there is no such directory. */
export function listDir(path: string): string[] | undefined {
  try {
    return readdirSync(path).sort();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'ENOTDIR') throw new UsageError(`${path}: must be a directory`);
    throw new SystemError(`${path}: cannot list the directory: ${code ?? (e as Error).message}`, undefined, code);
  }
}

export function readSysFile(path: string): Uint8Array | undefined {
  try {
    return readFileSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw live.readError(path, e);
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
  makeOutputDirectory(dir);
  try {
    for (const f of files) writeFileSync(join(dir, f.name), f.bytes);
  } catch (e) {
    throw new SystemError(`${dir}: cannot write segments: ${(e as Error).message}`);
  }
}

/** statfs f_type of the kernel's pseudo filesystems (include/uapi/linux/magic.h): no place for output. */
const PSEUDO_FILESYSTEMS: ReadonlyMap<number, string> = new Map([
  [0x9fa0, 'procfs'],
  [0x62656572, 'sysfs'],
  [0x64626720, 'debugfs'],
  [0x74726163, 'tracefs'],
  [0x73636673, 'securityfs'],
  [0x27e0eb, 'cgroup'],
  [0x63677270, 'cgroup2'],
  [0x1cd1, 'devpts'],
  [0xcafe4a11, 'bpf'],
]);

/**
 * Makes `dir` and any missing parents, one level at a time from the deepest
 * that exists, which must be a directory on a real filesystem. (Node's
 * recursive mkdir retries forever under /proc, where mkdir says ENOENT.)
 */
export function makeOutputDirectory(dir: string): void {
  const missing: string[] = [];
  let at = resolve(dir);
  for (;;) {
    let st: Stats | undefined;
    try {
      st = statSync(at);
    } catch (e) {
      // ENOTDIR: a parent is a file; the walk up finds it and says so.
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw new SystemError(`${dir}: cannot use ${at}: ${code}`);
    }
    if (st) {
      if (!st.isDirectory()) throw new UsageError(`${dir}: ${at} is ${fileKind(st)}, not a directory to write segments into`);
      const fs = typeof statfsSync === 'function' ? PSEUDO_FILESYSTEMS.get(Number(statfsSync(at).type)) : undefined;
      if (fs !== undefined) throw new UsageError(`${dir}: ${at} is on ${fs}, which holds no files to write segments into`);
      break;
    }
    missing.unshift(at);
    const parent = dirname(at);
    if (parent === at) break;
    at = parent;
  }
  for (const d of missing) {
    try {
      mkdirSync(d);
    } catch (e) {
      throw new SystemError(`${dir}: cannot create ${d}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }
}

/**
 * /sys/kernel/kexec_hardboot, present only on kernels with CONFIG_KEXEC_HARDBOOT:
 * a directory (page, flag, record_version, reset, status, takeover, check) from
 * the series' second version on, a single file holding the page before it.
 */
export const HARDBOOT_SYSFS = live.PATHS.hardboot;
const HARDBOOT_FILES = ['page', 'flag', 'record_version', 'reset', 'status', 'takeover', 'check'] as const;

/** Reads HARDBOOT_SYSFS in either form; undefined when the kernel has no hardboot. */
export function readHardbootSupport(root: string = HARDBOOT_SYSFS): HardbootSupport | undefined {
  let st: Stats;
  try {
    st = statSync(root);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new SystemError(`${root}: cannot read: ${(e as NodeJS.ErrnoException).code}`);
  }
  if (!st.isDirectory()) {
    const text = readSysFile(root);
    return text === undefined ? undefined : hardbootFromFile(new TextDecoder().decode(text), root);
  }
  const files: Record<string, string> = {};
  for (const name of HARDBOOT_FILES) {
    const b = readSysFile(join(root, name));
    if (b !== undefined) files[name] = new TextDecoder().decode(b);
  }
  return parseHardbootDirectory(files, root);
}

export const realHost: Host = {
  arch: live.liveArch,
  memory: live.liveMemory,
  cmdline: live.liveCmdline,
  fdt: live.liveFdt,
  pageSize: live.livePageSize,
  hardboot: () => readHardbootSupport(),
  kexecLoaded: () => live.kexecLoaded(),
  entropy: urandom,
  readFile: readInputFile,
  listDir,
  sysFile: readSysFile,
  writeFiles: writeSegmentFiles,
  bootFiles: bootFiles(),
  terminal: processTerminal,
  kernel: { load: kexec.kexecLoad, unload: kexec.kexecUnload, exec: kexec.kexecExec },
};
