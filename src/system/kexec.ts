/**
 * The only module that calls into the kernel: kexec_load(2), reboot(2), sync(2)
 * through koffi and the C library. Everything above it is pure and tested
 * without root; this part is exercised for real in the QEMU lab.
 *
 * Preconditions: a plan from src/plan (segments page-aligned, non-overlapping,
 * inside RAM); root or CAP_SYS_BOOT; the running arch matches plan.arch.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { SystemError, hex } from '../errors.js';
import type { Arch } from '../plan/abi.js';
import { KEXEC_ARCH } from '../plan/abi.js';
import type { Plan } from '../plan/plan.js';

/** arch/arm64 (asm-generic/unistd.h) and arch/arm/tools/syscall.tbl (EABI). */
const SYS_KEXEC_LOAD: Partial<Record<NodeJS.Architecture, number>> = { arm64: 104, arm: 347, x64: 246 };

/** include/uapi/linux/reboot.h */
const LINUX_REBOOT_CMD_KEXEC = 0x45584543;

export interface Libc {
  syscall: (...args: unknown[]) => number | bigint;
  reboot: (cmd: number) => number;
  sync: () => void;
  errno: () => number;
}

let libc: Libc | undefined;

/**
 * How koffi is loaded: by the module system beside hardboot (npm, dist/hardboot.mjs);
 * the release's start-up snapshot, whose own require() knows only Node's builtins,
 * sets a loader that resolves it from the release's node_modules at run time.
 */
let loadKoffi: () => Promise<unknown> = async () => (await import('koffi')).default;

export function setKoffiLoader(loader: () => Promise<unknown>): void {
  loadKoffi = loader;
}

/**
 * The one koffi native module under `nodeModules`
 * (`@koromix/koffi-<platform>/<triplet>/koffi.node`, where koffi 3 keeps each
 * build), or undefined when there is none or more than one.
 */
export function koffiNativeIn(nodeModules: string): string | undefined {
  const base = join(nodeModules, '@koromix');
  if (!existsSync(base)) return undefined;
  const found = readdirSync(base)
    .filter((p) => p.startsWith('koffi-'))
    .flatMap((p) => readdirSync(join(base, p)).map((t) => join(base, p, t, 'koffi.node')))
    .filter((f) => existsSync(f));
  return found.length === 1 ? found[0] : undefined;
}

/**
 * koffi's native module loaded straight through process.dlopen: what koffi's
 * own index does once it has found the file, without Node's module loader and
 * koffi's platform search (a third of a second in the lab's emulated guests).
 */
export function loadKoffiNative(file: string): unknown {
  const m = { exports: {} };
  process.dlopen(m, file);
  return m.exports;
}

/** Where the C library is looked for, in order (null: the symbols already in the process). */
const LIBC_CANDIDATES: readonly (string | null)[] = [null, 'libc.so.6', 'libc.so'];

/** The C library's syscall(), reboot(), sync() and errno, through koffi; loaded once. Exported for tests. */
export async function loadLibc(): Promise<Libc> {
  if (libc) return libc;
  let koffi: typeof import('koffi');
  try {
    koffi = (await loadKoffi()) as typeof import('koffi');
  } catch (e) {
    throw new SystemError(
      `cannot load koffi, the FFI library hardboot calls the kernel through (${(e as Error).message}); install it beside hardboot: npm install koffi`,
    );
  }
  // The C library Node itself runs on, whichever it is (glibc, musl, Android's bionic):
  // the process's own symbols first, then glibc's and the generic soname by name.
  // The first that has all three functions is the one.
  const tried: string[] = [];
  for (const name of LIBC_CANDIDATES) {
    try {
      const c = koffi.load(name);
      // errno straight from the C library, read right after the call: koffi.errno()
      // gave 25 (ENOTTY) for a kexec_load that failed with 22 in the lab's arm64 guest.
      // glibc and musl export __errno_location, bionic __errno.
      let where: () => unknown;
      try {
        where = c.func('int *__errno_location(void)') as () => unknown;
      } catch {
        where = c.func('int *__errno(void)') as () => unknown;
      }
      libc = {
        syscall: c.func('long syscall(long, ...)') as Libc['syscall'],
        reboot: c.func('int reboot(int)') as Libc['reboot'],
        sync: c.func('void sync(void)') as Libc['sync'],
        errno: () => koffi.decode(where(), 'int') as number,
      };
      break;
    } catch (e) {
      tried.push(`${name ?? 'the running process'}: ${(e as Error).message}`);
    }
  }
  if (!libc) {
    throw new SystemError(
      `cannot find the C library's syscall(), reboot(), sync() and errno (${tried.join('; ')}); run hardboot with a Node built for this system, or the self-contained release`,
    );
  }
  koffi.struct('kexec_segment', { buf: 'const void *', bufsz: 'size_t', mem: 'uintptr_t', memsz: 'size_t' });
  return libc;
}

function syscallNumber(): number {
  const n = SYS_KEXEC_LOAD[process.arch];
  if (n === undefined) throw new SystemError(`kexec_load: no syscall number known for ${process.arch}`);
  return n;
}

/** errno → a message a person can act on; `hardbootFlag`: the hardboot bit the call carried, if any. */
export function explainErrno(call: string, errno: number, flags: number, hardbootFlag?: number): string {
  const hardboot = hardbootFlag !== undefined;
  switch (errno) {
    case 1: // EPERM
      return `${call}: permission denied (EPERM): run as root (CAP_SYS_BOOT), and check that kexec is not disabled (sysctl kernel.kexec_load_disabled) or locked down (/sys/kernel/security/lockdown)`;
    case 16: // EBUSY
      return `${call}: busy (EBUSY): another kexec load or unload is in progress, or a crash kernel is being loaded; try again`;
    case 22: // EINVAL
      return hardboot
        ? `${call}: invalid argument (EINVAL): this kernel does not accept the hardboot flag ${hex(hardbootFlag)}: boot a kernel built with CONFIG_KEXEC_HARDBOOT=y (run: hardboot doctor)`
        : `${call}: invalid argument (EINVAL): the kernel rejected the flags ${hex(flags)} or a segment (arch mismatch, or a segment outside RAM)`;
    case 12: // ENOMEM
      return `${call}: out of memory (ENOMEM): the kernel could not allocate pages to stage the segments; free memory or load a smaller initrd`;
    case 99: // EADDRNOTAVAIL
      return `${call}: address not available (EADDRNOTAVAIL): a segment is not page-aligned or lies outside the kernel's memory map`;
    case 38: // ENOSYS
      return `${call}: not implemented (ENOSYS): this kernel was built without CONFIG_KEXEC`;
    default:
      return `${call}: failed with errno ${errno}`;
  }
}

/** The kexec_load(2) call a plan makes, as data: what a failed call reports. */
export interface KexecCall {
  readonly entry: number;
  readonly flags: number;
  readonly segments: readonly { readonly mem: number; readonly memsz: number; readonly bufsz: number }[];
}

export function kexecCallOf(plan: Plan): KexecCall {
  return { entry: plan.entry, flags: plan.flags, segments: plan.segments.map((s) => ({ mem: s.mem, memsz: s.memsz, bufsz: s.bytes.length })) };
}

/** One line: kexec_load(entry, nr_segments, [mem+memsz (bufsz bytes), …], flags). */
export function formatKexecCall(c: KexecCall): string {
  const segs = c.segments.map((s) => `${hex(s.mem)}+${hex(s.memsz)} (${s.bufsz} bytes)`).join(', ');
  return `kexec_load(entry ${hex(c.entry)}, ${c.segments.length} segments [${segs}], flags ${hex(c.flags)})`;
}

/** A kexec_load(2) the kernel refused: the reason, and the whole call. */
export class KexecLoadError extends SystemError {
  constructor(
    message: string,
    errno: number,
    readonly call: KexecCall,
  ) {
    super(`${message}\n  the call: ${formatKexecCall(call)}`, errno);
  }
}

/** Loads the plan's segments: the one kexec_load(2) call. */
export async function kexecLoad(plan: Plan): Promise<void> {
  const c = await loadLibc();
  const segs = plan.segments.map((s) => ({ buf: s.bytes, bufsz: s.bytes.length, mem: s.mem, memsz: s.memsz }));
  const r = c.syscall(syscallNumber(), 'uintptr_t', plan.entry, 'unsigned long', segs.length, 'kexec_segment *', segs, 'unsigned long', plan.flags);
  if (Number(r) !== 0) {
    const errno = c.errno();
    throw new KexecLoadError(explainErrno('kexec_load', errno, plan.flags, plan.hardbootFlag), errno, kexecCallOf(plan));
  }
}

/** Unloads whatever kexec image is loaded (kexec_load with no segments). */
export async function kexecUnload(arch: Arch): Promise<void> {
  const c = await loadLibc();
  const r = c.syscall(syscallNumber(), 'uintptr_t', 0, 'unsigned long', 0, 'kexec_segment *', null, 'unsigned long', KEXEC_ARCH[arch]);
  if (Number(r) !== 0) {
    const errno = c.errno();
    throw new SystemError(explainErrno('kexec_load (unload)', errno, KEXEC_ARCH[arch]), errno);
  }
}

/** Flushes filesystems (unless told not to, as kexec-tools -y), then reboots into the loaded image. Returns only on failure. */
export async function kexecExec(o: { sync: boolean } = { sync: true }): Promise<never> {
  const c = await loadLibc();
  if (o.sync) c.sync();
  c.reboot(LINUX_REBOOT_CMD_KEXEC);
  const errno = c.errno();
  throw new SystemError(
    errno === 1
      ? 'reboot(LINUX_REBOOT_CMD_KEXEC): permission denied (EPERM): run as root (CAP_SYS_BOOT)'
      : `reboot(LINUX_REBOOT_CMD_KEXEC) returned (errno ${errno}): no image is loaded, or the kernel refused to kexec`,
    errno,
  );
}
