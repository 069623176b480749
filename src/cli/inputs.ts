/**
 * From the files named on the command line to the planner's inputs: the kernel
 * (plain, compressed, or inside an Android boot image with its vendor_boot), the
 * initrd, and the device tree — chosen from a DTB table for the running board
 * when there are several — with the board's live properties copied in.
 *
 * Command-line rule (documented in README "Phone"): the base line is
 * --command-line, else the running line (--reuse-cmdline), else the boot
 * image's own line; --append adds to whichever it is. With --reuse-cmdline and a
 * boot image, the running line comes first and the boot image's follows
 * (MultiROM's habit: the bootloader's androidboot.* facts plus the ROM's own line).
 */
import { FormatError, PlanError, UsageError, hex, withFile } from '../errors.js';
import { isBootImage, isVendorBootImage, mergeVendorBoot, parseBootImage, parseVendorBootImage, type VendorBootImage } from '../formats/bootimg.js';
import { ACPIO_TABLE_MAGIC, isDtTable, parseDtTable } from '../formats/dttable.js';
import { alignUp, view } from '../util/bytes.js';
import { type Fdt, parseFdt } from '../formats/fdt.js';
import { type KernelImage, readKernel } from '../formats/kernel.js';
import { isQcdt, parseQcdt } from '../formats/qcdt.js';
import {
  type BoardCandidate,
  applyLiveProps,
  candidatesFromDtTable,
  candidatesFromDtbs,
  candidatesFromQcdt,
  selectBoard,
} from '../plan/board.js';
import { type BoardDef, findBoard, parseBoards } from '../plan/boards.js';
import { appendedDtbs, splitDtbs } from '../formats/dtb-list.js';
import boardsJson from '../plan/boards.json' with { type: 'json' };
import type { Host } from '../system/host.js';
import { PATHS } from '../system/live.js';
import type { Options } from './args.js';

export interface Inputs {
  kernel: KernelImage;
  kernelPath: string;
  /** 'zImage', 'Android boot image v2 (kernel: arm64 Image, gzip)', … */
  kernelFrom: string;
  initrd?: Uint8Array;
  /** The tree, what it is (for the plan's report) and the file it was read from (for errors about it). */
  dtb: { fdt: Fdt; source: string; file: string };
  /** The boot image's own command line, when the kernel came from one. */
  bootCmdline?: string;
  /** The running tree (--live-dtb, else /sys/firmware/fdt), read once when first asked for. */
  live: () => Fdt;
  notes: string[];
}

export const BOARDS: readonly BoardDef[] = parseBoards(boardsJson);

export function boardByName(name: string): BoardDef {
  const b = findBoard(BOARDS, name);
  if (!b) throw new UsageError(`--boardname=${name}: unknown board; known: ${BOARDS.flatMap((x) => x.names).join(', ')}`);
  return b;
}

export function resolveInputs(o: Options, host: Host, native: boolean): Inputs {
  const notes: string[] = [];
  const kernelPath = o.kernel!;
  const file = host.readFile(kernelPath, 'kernel');

  let kernelBytes = file;
  let kernelFrom = '';
  let bootRamdisk: Uint8Array | undefined;
  let bootDtb: Uint8Array | undefined;
  let bootDtbTable: Uint8Array | undefined;
  let bootCmdline: string | undefined;
  if (isBootImage(file)) {
    const boot = withFile(kernelPath, () => parseBootImage(file));
    let vendor: VendorBootImage | undefined;
    if (o.vendorBoot !== undefined) {
      const vb = host.readFile(o.vendorBoot, 'vendor_boot image');
      if (!isVendorBootImage(vb)) throw new FormatError('vendor_boot', 0, 'the magic "VNDRBOOT"', 'something else').inFile(o.vendorBoot);
      vendor = withFile(o.vendorBoot, () => parseVendorBootImage(vb));
    }
    const merged = withFile(kernelPath, () => mergeVendorBoot(boot, vendor));
    notes.push(...merged.notes.map((n) => `${kernelPath}: ${n}`));
    kernelBytes = merged.kernel;
    if (merged.ramdisk.length > 0) bootRamdisk = merged.ramdisk;
    bootDtb = merged.dtb;
    bootDtbTable = merged.dtbTable;
    bootCmdline = merged.cmdline;
    kernelFrom = `Android boot image v${boot.version}${vendor ? ` + vendor_boot v${vendor.version}` : ''}`;
  } else if (o.vendorBoot !== undefined) {
    throw new UsageError(`--vendor-boot goes with a boot image; ${kernelPath} is not one`);
  }
  const kernel = withFile(kernelPath, () => readKernel(kernelBytes));
  kernelFrom = `${kernelFrom ? `${kernelFrom}, kernel: ` : ''}${kernel.kind}${kernel.compression === 'none' ? '' : ` (${kernel.compression})`}`;

  const given = o.initrds ?? (o.initrd !== undefined ? [o.initrd] : []);
  const initrd = given.length > 0 ? concatInitrds(given.map((f) => host.readFile(f, 'initrd'))) : bootRamdisk;
  if (given.length > 0 && bootRamdisk) notes.push(`--initrd replaces the boot image's ${bootRamdisk.length}-byte ramdisk`);

  const board = o.boardname !== undefined ? boardByName(o.boardname) : undefined;
  let liveTree: Fdt | undefined;
  const live = (): Fdt => {
    if (liveTree) return liveTree;
    if (o.liveDtb !== undefined) {
      const path = o.liveDtb;
      const b = host.readFile(path, 'running device tree');
      return (liveTree = withFile(path, () => parseFdt(b)));
    }
    if (!native) throw new UsageError('choosing a DTB for a board needs the running tree: give --live-dtb=FILE when planning for another machine');
    return (liveTree = host.fdt());
  };

  let dtb = chooseDtb(o, { bytes: kernelBytes, kernel, kernelPath, bootDtb, bootDtbTable }, host, native, live, board, notes);
  if (board) {
    if (!board.devicetree) throw new PlanError(`board ${board.names[0]} boots with ATAGs, not a device tree; hardboot loads device-tree kernels only`);
    const report = applyLiveProps(dtb.fdt, live(), board);
    dtb = { ...dtb, fdt: report.fdt };
    if (report.copied.length) notes.push(`board ${board.names[0]}: copied ${report.copied.join(', ')} from the running tree`);
    if (report.missing.length) notes.push(`board ${board.names[0]}: the running tree has no ${report.missing.join(', ')}`);
  }
  return { kernel, kernelPath, kernelFrom, ...(initrd ? { initrd } : {}), dtb, ...(bootCmdline !== undefined ? { bootCmdline } : {}), live, notes };
}

/**
 * Several initrds as the one the kernel unpacks: back to back, each started on
 * a 4-byte boundary (the zero bytes between them are skipped by the kernel's
 * initramfs unpacker, which takes concatenated, separately compressed cpio
 * archives).
 */
export function concatInitrds(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  let size = 0;
  for (const p of parts) size = alignUp(size, 4) + p.length;
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    at = alignUp(at, 4);
    out.set(p, at);
    at += p.length;
  }
  return out;
}

interface KernelFile {
  /** The kernel's own bytes (for a boot image, its kernel section). */
  bytes: Uint8Array;
  kernel: KernelImage;
  kernelPath: string;
  bootDtb: Uint8Array | undefined;
  bootDtbTable: Uint8Array | undefined;
}

/**
 * --dtb=FILE: a DTB, several DTBs back to back, a QCDT dt.img or an Android DT
 * table. --dtb alone: the DTBs appended to the kernel, else the running tree.
 * No --dtb: the boot image's DTB (or dt.img) when there is one, else the running
 * tree, as kexec-tools does. Several candidates: the one for the running board.
 */
function chooseDtb(
  o: Options,
  k: KernelFile,
  host: Host,
  native: boolean,
  live: () => Fdt,
  board: BoardDef | undefined,
  notes: string[],
): { fdt: Fdt; source: string; file: string } {
  let candidates: BoardCandidate[] | undefined;
  let where = '';
  /** The file the candidates came from, named by every error about them. */
  let file = k.kernelPath;
  if (typeof o.dtb === 'string') {
    const path = o.dtb;
    const bytes = host.readFile(path, 'device tree');
    candidates = withFile(path, () => tableCandidates(bytes, `in ${path}`));
    where = path;
    file = path;
  } else if (o.dtb === true) {
    const dtbs = withFile(k.kernelPath, () => appendedDtbs(k.bytes, k.kernel));
    if (dtbs.length > 0) {
      candidates = candidatesFromDtbs(dtbs, `appended to ${k.kernelPath}`);
      where = `appended to ${k.kernelPath}`;
    }
  } else if (k.bootDtb || k.bootDtbTable) {
    const bytes = (k.bootDtb ?? k.bootDtbTable)!;
    candidates = withFile(k.kernelPath, () => tableCandidates(bytes, `in ${k.kernelPath}`));
    where = `from ${k.kernelPath}`;
  }
  if (!candidates) {
    if (!native) {
      throw new UsageError(
        o.dtb === true
          ? `${k.kernelPath} has no appended DTB, and there is no running ${o.arch} tree to use: give --dtb=FILE`
          : `planning for ${o.arch} on another machine: give the device tree with --dtb=FILE`,
      );
    }
    return { fdt: host.fdt(), source: `running (${PATHS.fdt})`, file: PATHS.fdt };
  }
  if (candidates.length === 1 && !board) {
    const c = candidates[0]!;
    return { fdt: withFile(file, () => parseFdt(c.dtb)), source: where, file };
  }
  const running = live();
  const choice = withFile(file, () => selectBoard(candidates, running, board ? { board } : {}));
  if (choice.alsoMatched.length > 0) {
    notes.push(`${choice.alsoMatched.length} more DTB(s) ${where} match the running board as well; using ${choice.candidate.source}`);
  }
  const why = choice.rule === 'compatible' ? `compatible ${JSON.stringify(choice.compatible)}` : `${choice.rule} match`;
  return { fdt: choice.fdt, source: `${choice.candidate.source} (${why})`, file };
}

/** The DTBs a file offers: a QCDT's or DT table's entries, or one or more plain DTBs. */
function tableCandidates(bytes: Uint8Array, where: string): BoardCandidate[] {
  if (isQcdt(bytes)) return candidatesFromQcdt(parseQcdt(bytes));
  // An ACPI overlay table has the DT table's layout under another magic: its parser says what it is.
  if (isDtTable(bytes) || (bytes.length >= 4 && view(bytes).getUint32(0, false) === ACPIO_TABLE_MAGIC)) return candidatesFromDtTable(parseDtTable(bytes));
  const dtbs = splitDtbs(bytes);
  if (dtbs.length === 0) {
    throw new FormatError('DTB', 0, `a DTB (0xd00dfeed), a QCDT dt.img or an Android DT table (0xd7b7ab1e)`, `${hex(bytes.length)} bytes of something else`);
  }
  return candidatesFromDtbs(dtbs, where);
}
