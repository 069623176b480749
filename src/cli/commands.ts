/**
 * The commands: typed options in, data out. They read files and the machine
 * only through a Host, and every check happens before the one kernel call, so
 * bad input never loads anything.
 */
import { FormatError, PlanError, SystemError, UsageError, hex, withFile } from '../errors.js';
import { type Fdt, parseFdt } from '../formats/fdt.js';
import { memoryFromFdt } from '../formats/fdt-memory.js';
import { type KernelImage, readKernel } from '../formats/kernel.js';
import type { Arch } from '../plan/abi.js';
import type { MemoryMap } from '../plan/memory.js';
import { type KernelInput, type Plan, plan } from '../plan/plan.js';
import type { Host } from '../system/host.js';
import { type Options, commandLineFrom } from './args.js';

export interface LoadResult {
  plan: Plan;
  kernel: { path: string; format: string; compression: string };
  /** True when kexec_load was called and succeeded. */
  loaded: boolean;
  saved: string[];
  notes: string[];
}

/** 64 bytes covers kaslr-seed (8) and rng-seed (QEMU writes 32; bootloaders up to 64). */
const ENTROPY_BYTES = 128;

export async function load(o: Options, host: Host): Promise<LoadResult> {
  const notes: string[] = [];
  const running = host.arch();
  const arch = o.arch ?? running;
  if (!arch) {
    throw new UsageError(`this machine is ${process.arch}: hardboot loads arm and arm64 kernels; plan for one with --dry-run --arch=arm|arm64`);
  }
  const native = arch === running;

  const kernelPath = o.kernel!;
  const kernelBytes = host.readFile(kernelPath, 'kernel');
  const kernel = withFile(kernelPath, () => readKernel(kernelBytes));
  if (kernel.arch !== arch) {
    throw new PlanError(`${kernelPath}: is an ${kernel.arch} kernel (${describeKernel(kernel)}); this plan is for ${arch}`);
  }

  const initrd = o.initrd === undefined ? undefined : host.readFile(o.initrd, 'initrd');
  const dtb = chooseDtb(o, kernel, host, native);
  if (o.boardname !== undefined) notes.push(`--boardname=${o.boardname}: DTB tables are not read yet; the DTB is used as given`);

  const memory = chooseMemory(o, dtb.fdt, host, native);
  const commandLine = commandLineFrom(o, () => host.cmdline());
  const pageSize = o.pageSize ?? (native ? host.pageSize() : 0x1000);

  let hardbootPage = o.hardbootPage;
  if (o.action === 'load-hardboot' && !o.dryRun) {
    const reported = host.hardbootPage();
    if (reported === undefined) {
      throw new SystemError(
        'this kernel cannot hardboot: /sys/kernel/kexec_hardboot is missing (build it with CONFIG_KEXEC_HARDBOOT=y; run: hardboot doctor)',
      );
    }
    if (hardbootPage !== undefined && hardbootPage !== reported) {
      throw new UsageError(`--hardboot-page=${hex(hardbootPage)} differs from the running kernel's page ${hex(reported)}`);
    }
    hardbootPage = reported;
  } else if (hardbootPage === undefined && native) {
    hardbootPage = host.hardbootPage();
  }

  const p = plan({
    kernel: kernelInput(kernel),
    ...(initrd ? { initrd } : {}),
    dtb,
    memory,
    options: {
      ...(commandLine !== undefined ? { commandLine } : {}),
      ...(o.memMin !== undefined ? { memMin: o.memMin } : {}),
      ...(o.memMax !== undefined ? { memMax: o.memMax } : {}),
      hardboot: o.action === 'load-hardboot',
      ...(hardbootPage !== undefined ? { hardbootPage } : {}),
      avoid: o.avoid.map((r) => ({ ...r, name: '--avoid' })),
      pageSize,
      entropy: host.entropy(ENTROPY_BYTES),
    },
  });

  const saved: string[] = [];
  if (o.saveSegments !== undefined) {
    const files = p.segments.map((s, i) => ({ name: `${i}-${s.kind}.bin`, bytes: s.bytes }));
    host.writeFiles(o.saveSegments, files);
    saved.push(...files.map((f) => `${o.saveSegments}/${f.name}`));
  }
  if (!o.dryRun) await host.kernel.load(p);
  return {
    plan: p,
    kernel: { path: kernelPath, format: kernel.kind, compression: kernel.compression },
    loaded: !o.dryRun,
    saved,
    notes,
  };
}

export async function exec(host: Host): Promise<never> {
  if (!host.kexecLoaded()) throw new SystemError('no kernel is loaded: run hardboot -l KERNEL (or --load-hardboot) first');
  return host.kernel.exec();
}

export async function unload(host: Host): Promise<{ unloaded: true }> {
  const arch = host.arch();
  if (!arch) throw new SystemError(`this machine is ${process.arch}: there is no arm or arm64 kexec image to unload`);
  await host.kernel.unload(arch);
  return { unloaded: true };
}

function describeKernel(k: KernelImage): string {
  return `${k.kind}${k.compression === 'none' ? '' : `, ${k.compression}`}`;
}

function kernelInput(k: KernelImage): KernelInput {
  if (k.kind === 'zimage') return { arch: 'arm', zimage: k };
  return { arch: 'arm64', image: k, bytes: k.image };
}

/** A DTB appended to the kernel: after a zImage's own end, or after a compressed stream (Image.gz-dtb). */
function appendedDtb(k: KernelImage): { bytes: Uint8Array; offset: number } | undefined {
  if (k.kind === 'zimage' && k.appendedDtb) return k.appendedDtb;
  const t = k.trailing;
  if (t.length >= 4 && t[0] === 0xd0 && t[1] === 0x0d && t[2] === 0xfe && t[3] === 0xed) {
    return { bytes: t, offset: k.compressedSize };
  }
  return undefined;
}

/**
 * --dtb=FILE: that file. --dtb alone: the DTB appended to the kernel (zImage
 * with CONFIG_ARM_APPENDED_DTB, or after a compressed Image), else the running
 * tree. No --dtb: the running tree, as kexec-tools does.
 */
function chooseDtb(o: Options, kernel: KernelImage, host: Host, native: boolean): { fdt: Fdt; source: string } {
  if (typeof o.dtb === 'string') {
    const path = o.dtb;
    const bytes = host.readFile(path, 'device tree');
    return { fdt: withFile(path, () => parseFdt(bytes)), source: path };
  }
  const d = o.dtb === true ? appendedDtb(kernel) : undefined;
  if (d) {
    return { fdt: withFile(o.kernel!, () => parseFdt(d.bytes)), source: `appended to ${o.kernel} at ${hex(d.offset)}` };
  }
  if (!native) {
    throw new UsageError(
      o.dtb === true
        ? `${o.kernel} has no appended DTB, and there is no running ${o.arch} tree to use: give --dtb=FILE`
        : `planning for ${o.arch} on another machine: give the device tree with --dtb=FILE`,
    );
  }
  return { fdt: host.fdt(), source: 'running (/sys/firmware/fdt)' };
}

/**
 * RAM: --memory, else the running system's /proc/iomem, else the DTB's /memory
 * nodes. Reserved: /proc/iomem's on the running system, else the DTB's
 * /reserved-memory and /memreserve/ (with --memory too: it replaces only RAM).
 */
function chooseMemory(o: Options, fdt: Fdt, host: Host, native: boolean): MemoryMap {
  if (native && !o.memory) return host.memory();
  const m = memoryFromFdt(fdt);
  const reserved = m.reserved.map((r) => ({ start: r.start, end: r.start + r.size, name: r.name ?? '/memreserve/' }));
  if (o.memory) return { ram: o.memory, reserved, source: '--memory, DTB /reserved-memory' };
  if (m.memory.length === 0) {
    throw new FormatError('FDT', 0, 'a /memory node with a non-empty reg', 'none (the bootloader fills it in? give --memory=START-END)');
  }
  return {
    ram: m.memory.map((r) => ({ start: r.start, end: r.start + r.size })),
    reserved,
    source: 'DTB /memory and /reserved-memory',
  };
}
