/**
 * The planner: parsed inputs + a memory map + options → the exact segments,
 * entry and flags for kexec_load. Pure; nothing here reads a file or the system.
 *
 * Order of placement: kernel (its rules are the strictest), initrd, then the
 * device tree (its bytes depend on where the initrd went), then on arm64 the
 * entry trampoline (its bytes depend on where the DTB and kernel went).
 */
import { PlanError, hex } from '../errors.js';
import type { Fdt } from '../formats/fdt.js';
import type { Arm64Image } from '../formats/arm64-image.js';
import type { ZImage } from '../formats/zimage.js';
import { alignDown, alignUp } from '../util/bytes.js';
import { COMMAND_LINE_SIZE, HARDBOOT_PAGE_SIZE, KEXEC_ARCH, KEXEC_HARDBOOT, KEXEC_SEGMENT_MAX, type Arch } from './abi.js';
import { prepareDtb } from './dtb.js';
import {
  covered,
  formatRange,
  formatSize,
  intersect,
  lowestFit,
  normalize,
  overlaps,
  range,
  subtract,
  type MemoryMap,
  type NamedRange,
  type Range,
} from '../util/memory.js';
import { buildTrampoline } from './trampoline.js';

export type SegmentKind = 'kernel' | 'initrd' | 'dtb' | 'trampoline';

export interface Segment {
  readonly kind: SegmentKind;
  /** Physical destination, page-aligned. */
  readonly mem: number;
  /** Bytes reserved at mem, page-aligned; the kernel zero-fills past bytes.length. */
  readonly memsz: number;
  /** What is copied (bufsz = bytes.length). */
  readonly bytes: Uint8Array;
}

export type KernelInput =
  | { readonly arch: 'arm'; readonly zimage: ZImage }
  | { readonly arch: 'arm64'; readonly image: Arm64Image; readonly bytes: Uint8Array };

export interface PlanInput {
  readonly kernel: KernelInput;
  readonly initrd?: Uint8Array;
  /** The tree to boot with and where it came from (for the report). */
  readonly dtb: { readonly fdt: Fdt; readonly source: string };
  readonly memory: MemoryMap;
  readonly options: PlanOptions;
}

export interface PlanOptions {
  /** Undefined keeps the DTB's /chosen/bootargs. */
  readonly commandLine?: string;
  /** Lowest address any segment may use. */
  readonly memMin?: number;
  /** Highest address any segment byte may use (inclusive, as kexec-tools). */
  readonly memMax?: number;
  /** Load for a hardboot: sets KEXEC_HARDBOOT; requires hardbootPage. */
  readonly hardboot?: boolean;
  /** Physical address of the hardboot page, avoided by every segment. */
  readonly hardbootPage?: number;
  /** The kexec_load() flag bit for a hardboot, as the running kernel advertises it (default KEXEC_HARDBOOT, 0x4). */
  readonly hardbootFlag?: number;
  /** Regions no segment may touch (user's --avoid, lab blobs). */
  readonly avoid?: readonly NamedRange[];
  /** The running kernel's page size: segments are aligned to it (kexec_load requires it). */
  readonly pageSize?: number;
  /** Random bytes for kaslr-seed/rng-seed; without them those are removed. */
  readonly entropy?: Uint8Array;
  /** Free space added to the DTB. */
  readonly dtbPadding?: number;
}

export interface Plan {
  readonly arch: Arch;
  readonly flags: number;
  /** The hardboot bit among `flags` (as the running kernel advertises it), or undefined for a plain kexec. */
  readonly hardbootFlag: number | undefined;
  readonly entry: number;
  readonly segments: Segment[];
  readonly commandLine: string | undefined;
  readonly dtb: { readonly source: string; readonly mem: number; readonly size: number };
  readonly memory: MemoryMap;
  /** Regions the plan keeps clear besides its segments (hardboot page, decompressor, --avoid). */
  readonly keepClear: KeepClear[];
  readonly warnings: string[];
}

export const DEFAULT_DTB_PADDING = 0x10000;

/** arm64 Documentation/arm64/booting.rst: the Image's base is 2 MiB aligned. */
const ARM64_KERNEL_ALIGN = 0x200000;
/** booting.rst: the dtb "must not exceed 2 megabytes in size". */
const ARM64_DTB_MAX = 0x200000;
/** booting.rst: initrd within "a 1 GB aligned physical memory window of up to 32 GB" covering the Image. */
const ARM64_WINDOW_ALIGN = 0x40000000;
const ARM64_WINDOW_SIZE = 32 * 0x40000000;

/**
 * arm with AUTO_ZRELADDR (every multiplatform kernel): the decompressor unpacks
 * to (its own address & ~(128 MiB − 1)) + TEXT_OFFSET, with its 16 KiB initial
 * page table just below (arch/arm/boot/compressed/head.S).
 */
const ARM_WINDOW = 0x08000000;
const ARM_TEXT_OFFSET = 0x8000;
const ARM_PGDIR_SIZE = 0x4000;
/** The decompressor's malloc arena when the zImage does not say (6.1's KRNL_SIZE tag does). */
const ARM_MALLOC_SIZE = 0x10000;
/** Room after the image for the decompressor's bss and 4 KiB stack, generously. */
const ARM_STACK_AND_BSS = 0x10000;
/**
 * Without a KRNL_SIZE tag the decompressed size is unknown; like kexec-tools,
 * assume a compression ratio of at most 4.
 */
const ARM_ASSUMED_RATIO = 4;
/**
 * Lowmem on a 3G/1G split with the default 240 MiB vmalloc area is 760 MiB from
 * the start of RAM; the initrd and DTB must be there (Documentation/arm/booting.rst).
 */
const ARM_LOWMEM = 0x2f800000;

/** A region no segment may use, and why: what code decides by (`kind`) apart from what people read (`name`). */
export interface KeepClear extends NamedRange {
  readonly kind: 'hardboot-page' | 'decompressor' | 'avoid';
}

/** A plan being built: the RAM still free, the segments so far, and what to report. */
interface Layout {
  readonly input: PlanInput;
  readonly page: number;
  /** All RAM, normalized. */
  readonly ram: Range[];
  /** --mem-min … --mem-max. */
  readonly window: Range;
  /** Where segments may still go. */
  free: Range[];
  readonly segments: Segment[];
  readonly keepClear: KeepClear[];
  readonly warnings: string[];
}

/** Adds a segment at `mem` and takes its bytes out of the free RAM. */
function take(l: Layout, kind: SegmentKind, mem: number, bytes: Uint8Array, memsz = alignUp(bytes.length, l.page)): Segment {
  const s: Segment = { kind, mem, memsz, bytes };
  l.segments.push(s);
  l.free = subtract(l.free, [range(mem, mem + memsz)]);
  return s;
}

/** The lowest free place for `len` bytes at or after `from` (else anywhere), below `limit` when given. */
function place(l: Layout, what: string, len: number, align: number, from: number, limit?: number): number {
  const usable = limit === undefined ? l.free : intersect(l.free, [range(0, limit)]);
  const at = lowestFit(usable, len, { align, from }) ?? lowestFit(usable, len, { align });
  if (at === undefined) throw noSpace(what, len, l.free, l.input.memory, l.window);
  return at;
}

/** Where the kernel went, and what the rest of the plan needs from that. */
interface KernelPlacement {
  readonly segment: Segment;
  /** The entry point (arm64: replaced by the trampoline's once it is placed). */
  readonly entry: number;
  /** Cells of /chosen/linux,initrd-start and -end. */
  readonly dtbCells: 1 | 2;
  /** The initrd and DTB must lie below this (arm: the unpacked kernel's lowmem). */
  readonly lowLimit?: number;
}

/** arm64: the Image at a 2 MiB boundary + text_offset (Documentation/arch/arm64/booting.rst). */
function placeArm64Kernel(l: Layout, kernel: Extract<KernelInput, { arch: 'arm64' }>): KernelPlacement {
  const { page } = l;
  const img = kernel.image;
  if (img.bigEndian) throw new PlanError('big-endian arm64 kernels are not supported (Image flags bit 0 is set)');
  if (img.textOffset % page !== 0) {
    throw new PlanError(`the Image's text_offset ${hex(img.textOffset)} is not a multiple of the ${page}-byte page`);
  }
  const memsz = alignUp(Math.max(img.imageSize, kernel.bytes.length), page);
  const at = lowestFit(l.free, memsz, { align: ARM64_KERNEL_ALIGN, offset: img.textOffset });
  if (at === undefined) throw noSpace('the kernel Image', memsz, l.free, l.input.memory, l.window);
  const segment = take(l, 'kernel', at, kernel.bytes, memsz);
  if (!img.placeAnywhere && at - img.textOffset !== alignDown(l.ram[0]!.start, ARM64_KERNEL_ALIGN)) {
    l.warnings.push(
      `this Image wants its base as close as possible to the start of RAM (flags bit 3 = 0); it is at ${hex(at - img.textOffset)}, RAM starts at ${hex(l.ram[0]!.start)}`,
    );
  }
  return { segment, entry: 0, dtbCells: 2 };
}

/** arm: the zImage where its decompressor has the room it needs (placeZImage). */
function placeZImageKernel(l: Layout, kernel: Extract<KernelInput, { arch: 'arm' }>): KernelPlacement {
  const { page, input } = l;
  const z = kernel.zimage;
  const zlen = alignUp(z.zimage.length, page);
  const unpacked = z.kernelSize ?? z.zimage.length * ARM_ASSUMED_RATIO;
  if (z.kernelSize === undefined) {
    l.warnings.push(`the zImage has no KRNL_SIZE tag; assuming it unpacks to at most ${ARM_ASSUMED_RATIO}× its size`);
  }
  const anywhere = subtract(l.ram, [...input.memory.reserved, ...l.keepClear]);
  const placed = placeZImage(l.free, anywhere, {
    zlen,
    unpacked,
    page,
    textOffset: z.textOffset ?? ARM_TEXT_OFFSET,
    scratch: alignUp((z.mallocSize ?? ARM_MALLOC_SIZE) + ARM_STACK_AND_BSS, page),
  });
  if (!placed) throw noSpace('the zImage and the room it unpacks into', zlen + unpacked, l.free, input.memory, l.window);
  const segment = take(l, 'kernel', placed.at, z.zimage, zlen);
  l.free = subtract(l.free, placed.scratch);
  l.keepClear.push(...placed.scratch.map((r) => ({ ...r, name: 'decompressor', kind: 'decompressor' as const })));
  const lost = intersect(l.ram, [range(0, placed.base)]).reduce((n, r) => n + (r.end - r.start), 0);
  if (lost > 0) {
    l.warnings.push(
      `the zImage at ${hex(placed.at)} unpacks the kernel to ${hex(placed.base + (z.textOffset ?? ARM_TEXT_OFFSET))}: that kernel will not use the ${formatSize(lost)} of RAM below ${hex(placed.base)}`,
    );
  }
  return { segment, entry: placed.at, dtbCells: 1, lowLimit: placed.base + ARM_LOWMEM };
}

/** arm64 after the DTB: the entry trampoline, and the one-window check. Returns the entry point. */
function finishArm64(l: Layout, dtbAt: number, kernelSeg: Segment): number {
  const code = buildTrampoline(dtbAt, kernelSeg.mem);
  const at = place(l, 'the entry trampoline', code.length, l.page, dtbAt);
  take(l, 'trampoline', at, code);
  const all = l.segments.map((s) => range(s.mem, s.mem + s.memsz));
  const lo = alignDown(Math.min(...all.map((r) => r.start)), ARM64_WINDOW_ALIGN);
  const hi = Math.max(...all.map((r) => r.end));
  if (hi - lo > ARM64_WINDOW_SIZE) {
    throw new PlanError(`the kernel and initrd must lie in one 1 GiB-aligned 32 GiB window; this plan spans ${formatRange(range(lo, hi))}`);
  }
  return at;
}

export function plan(input: PlanInput): Plan {
  const { kernel, options: o } = input;
  const arch = kernel.arch;
  const page = o.pageSize ?? 0x1000;
  if (!Number.isInteger(Math.log2(page))) throw new PlanError(`page size ${page} is not a power of two`);
  const warnings: string[] = [];

  if (o.memMin !== undefined && o.memMax !== undefined && o.memMin > o.memMax) {
    throw new PlanError(`--mem-min ${hex(o.memMin)} is above --mem-max ${hex(o.memMax)}`);
  }
  const cmdMax = COMMAND_LINE_SIZE[arch] - 1;
  if (o.commandLine !== undefined && new TextEncoder().encode(o.commandLine).length > cmdMax) {
    throw new PlanError(
      `the command line is ${new TextEncoder().encode(o.commandLine).length} bytes; ${arch} kernels take at most ${cmdMax} (COMMAND_LINE_SIZE ${COMMAND_LINE_SIZE[arch]} with the NUL)`,
    );
  }
  if (o.hardboot && o.hardbootPage === undefined) {
    throw new PlanError('a hardboot load needs the hardboot page address (the kernel reports it; or --hardboot-page)');
  }

  const keepClear: KeepClear[] = (o.avoid ?? []).map((r) => ({ ...r, kind: 'avoid' }));
  if (o.hardbootPage !== undefined) {
    const p = alignDown(o.hardbootPage, HARDBOOT_PAGE_SIZE);
    keepClear.push({ start: p, end: p + Math.max(HARDBOOT_PAGE_SIZE, page), name: 'hardboot page', kind: 'hardboot-page' });
  }

  const ram = normalize(input.memory.ram);
  if (ram.length === 0) throw new PlanError(`no RAM in the memory map (${input.memory.source})`);
  const window = range(o.memMin ?? 0, o.memMax === undefined ? Number.MAX_SAFE_INTEGER : o.memMax + 1);
  const free = subtract(intersect(ram, [window]), [...input.memory.reserved, ...keepClear]);
  if (free.length === 0) {
    throw new PlanError(
      `no usable RAM in ${formatRange(window)} (--mem-min/--mem-max); RAM from ${input.memory.source} is ${ram.map(formatRange).join(', ')}`,
    );
  }

  const l: Layout = { input, page, ram, window, free, segments: [], keepClear, warnings };
  const k = kernel.arch === 'arm64' ? placeArm64Kernel(l, kernel) : placeZImageKernel(l, kernel);
  const { segments } = l;
  const kernelSeg = k.segment;
  const lowLimit = k.lowLimit;
  let entry = k.entry;

  let initrdRange: Range | undefined;
  if (input.initrd) {
    const at = place(l, 'the initrd', input.initrd.length, page, kernelSeg.mem + kernelSeg.memsz, lowLimit);
    take(l, 'initrd', at, input.initrd);
    initrdRange = range(at, at + input.initrd.length);
  }

  const prepared = prepareDtb(input.dtb.fdt, {
    ...(o.commandLine !== undefined ? { commandLine: o.commandLine } : {}),
    ...(initrdRange ? { initrd: initrdRange } : {}),
    initrdCells: k.dtbCells,
    ...(o.entropy ? { entropy: o.entropy } : {}),
    padding: o.dtbPadding ?? DEFAULT_DTB_PADDING,
    ...(o.hardboot ? { afterReset: true } : {}),
  });
  if (prepared.commandLine !== undefined && new TextEncoder().encode(prepared.commandLine).length > cmdMax) {
    throw new PlanError(`the device tree's own bootargs are longer than ${cmdMax} bytes`);
  }
  for (const s of prepared.seeds) {
    if (s.action === 'removed') warnings.push(`/chosen/${s.name} removed: no entropy was given to refresh it`);
  }
  if (prepared.uefiRemoved.length > 0) {
    warnings.push(`/chosen/${prepared.uefiRemoved.join(', ')} removed: the UEFI tables of this boot are gone after the reset (give the stored kernel its own --dtb on a UEFI machine)`);
  }
  if (arch === 'arm64' && prepared.bytes.length > ARM64_DTB_MAX) {
    throw new PlanError(`the device tree is ${prepared.bytes.length} bytes; arm64 kernels accept at most 2 MiB`);
  }
  const lastEnd = segments[segments.length - 1]!;
  const dtbAt = place(l, 'the device tree', prepared.bytes.length, page, lastEnd.mem + lastEnd.memsz, lowLimit);
  take(l, 'dtb', dtbAt, prepared.bytes);
  if (kernel.arch === 'arm64') entry = finishArm64(l, dtbAt, kernelSeg);

  if (segments.length > KEXEC_SEGMENT_MAX) throw new PlanError(`${segments.length} segments; kexec_load takes at most ${KEXEC_SEGMENT_MAX}`);
  checkInvariants(segments, ram, window, [...input.memory.reserved, ...keepClear.filter((k) => k.kind !== 'decompressor')], page);

  const hardbootFlag = o.hardboot ? (o.hardbootFlag ?? KEXEC_HARDBOOT) : undefined;
  return {
    arch,
    flags: KEXEC_ARCH[arch] | (hardbootFlag ?? 0),
    hardbootFlag,
    entry,
    segments,
    commandLine: prepared.commandLine,
    dtb: { source: input.dtb.source, mem: dtbAt, size: prepared.bytes.length },
    memory: input.memory,
    keepClear,
    warnings,
  };
}


/**
 * Finds the lowest place for a zImage of `zlen` bytes whose decompressor has the
 * room it needs (arch/arm/boot/compressed/head.S): its scratch right after its
 * own image; the unpacked kernel at its window base + TEXT_OFFSET with the
 * 16 KiB page table below; and, when the unpacked kernel would overwrite the
 * zImage, room to move itself past the unpacked kernel. `free` is where segments
 * may go; `anywhere` is RAM nobody else uses, below --mem-min included, since the
 * unpacked kernel is written only when the zImage runs.
 */
function placeZImage(
  free: readonly Range[],
  anywhere: readonly Range[],
  z: { zlen: number; unpacked: number; page: number; textOffset: number; scratch: number },
): { at: number; base: number; scratch: Range[] } | undefined {
  for (const f of normalize(free)) {
    for (let at = alignUp(f.start, z.page); at + z.zlen <= f.end; at += z.page) {
      const base = alignDown(at, ARM_WINDOW);
      if (at < base + z.textOffset) {
        at = base + z.textOffset - z.page;
        continue;
      }
      const image = range(at, at + z.zlen);
      const self = range(at, at + z.zlen + z.scratch);
      if (!covered(self, free)) continue;
      const run = range(base + z.textOffset - ARM_PGDIR_SIZE, base + z.textOffset + alignUp(z.unpacked, z.page));
      const needs = [run];
      if (overlaps(run, image)) needs.push(range(run.end, run.end + z.zlen + z.scratch));
      const scratch = subtract([...needs, self], [image]);
      if (scratch.every((r) => covered(r, anywhere))) return { at, base, scratch };
    }
  }
  return undefined;
}

function noSpace(what: string, len: number, free: readonly Range[], memory: MemoryMap, window: Range): PlanError {
  const largest = free.reduce((m, r) => Math.max(m, r.end - r.start), 0);
  const limited = window.start > 0 || window.end < Number.MAX_SAFE_INTEGER;
  return new PlanError(
    `no room for ${what} (${formatSize(len)}): the largest free region left is ${formatSize(largest)}; RAM from ${memory.source} is ${normalize(memory.ram).map(formatRange).join(', ')}${limited ? `, limited by --mem-min/--mem-max to ${formatRange(window)}` : ''}`,
  );
}

/** What the kernel itself checks (kernel/kexec_core.c sanity_check_segment_list), checked here first. */
function checkInvariants(segs: readonly Segment[], ram: readonly Range[], window: Range, clear: readonly NamedRange[], page: number): void {
  const rs = segs.map((s) => ({ s, r: range(s.mem, s.mem + s.memsz) }));
  for (const { s, r } of rs) {
    if (s.mem % page || s.memsz % page) throw new PlanError(`internal: ${s.kind} segment ${formatRange(r)} is not page-aligned`);
    if (s.bytes.length > s.memsz) throw new PlanError(`internal: ${s.kind} segment holds more than its memsz`);
    if (!covered(r, ram)) throw new PlanError(`internal: ${s.kind} segment ${formatRange(r)} is outside RAM`);
    if (r.start < window.start || r.end > window.end) throw new PlanError(`internal: ${s.kind} segment ${formatRange(r)} is outside ${formatRange(window)}`);
    for (const c of clear) if (overlaps(r, c)) throw new PlanError(`internal: ${s.kind} segment ${formatRange(r)} overlaps ${c.name} ${formatRange(c)}`);
  }
  for (let i = 0; i < rs.length; i++)
    for (let j = i + 1; j < rs.length; j++)
      if (overlaps(rs[i]!.r, rs[j]!.r)) throw new PlanError(`internal: segments ${rs[i]!.s.kind} and ${rs[j]!.s.kind} overlap`);
}
