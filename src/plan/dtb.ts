/**
 * Prepares the device tree the new kernel boots with: the command line, the
 * initrd location, fresh (or no) boot entropy, room to grow. Pure: entropy is
 * an input, so layouts are reproducible in tests.
 */
import type { Fdt } from '../formats/fdt.js';
import { cells, ensureNode, findNode, getProp, removeProp, setProp, stringValue, writeFdt } from '../formats/fdt.js';

export interface DtbEdits {
  /** Undefined keeps the tree's own /chosen/bootargs. */
  commandLine?: string;
  /** Physical [start, end) of the initrd; undefined removes any stale initrd properties. */
  initrd?: { start: number; end: number };
  /** Cells per initrd address: 1 (32-bit, arm) or 2 (64-bit, arm64). */
  initrdCells: 1 | 2;
  /**
   * Random bytes for `kaslr-seed` and `rng-seed`. A seed the tree carries is
   * refreshed from these (a reused seed would repeat the old kernel's
   * randomisation); with no entropy it is removed rather than kept stale.
   */
  entropy?: Uint8Array;
  /** Free bytes after the blob for the kernel and bootloader stubs to grow it. */
  padding: number;
  /**
   * The new kernel starts after a reset (a hardboot): the UEFI firmware's tables
   * the EFI stub left in /chosen (system table, memory map) belong to the boot
   * before the reset and are removed, so the kernel does not use runtime
   * services that no longer exist.
   */
  afterReset?: boolean;
}

/** /chosen properties the EFI stub writes for the kernel it starts: the firmware's tables of that boot. */
export const UEFI_CHOSEN = ['linux,uefi-system-table', 'linux,uefi-mmap-start', 'linux,uefi-mmap-size', 'linux,uefi-mmap-desc-size', 'linux,uefi-mmap-desc-ver'];

/**
 * /chosen properties that describe the old boot and must not reach the new one:
 * a crash kernel's view of memory and the old elfcorehdr.
 */
const STALE_CHOSEN = ['linux,elfcorehdr', 'linux,usable-memory-range'];

export interface PreparedDtb {
  bytes: Uint8Array;
  commandLine: string | undefined;
  seeds: { name: string; action: 'refreshed' | 'removed' }[];
  /** The UEFI properties removed for a boot after a reset. */
  uefiRemoved: string[];
}

export function prepareDtb(source: Fdt, edits: DtbEdits): PreparedDtb {
  const fdt = cloneForEdit(source);
  const chosen = ensureNode(fdt, '/chosen');
  if (edits.commandLine !== undefined) setProp(chosen, 'bootargs', stringValue(edits.commandLine));
  for (const name of ['linux,initrd-start', 'linux,initrd-end', ...STALE_CHOSEN]) removeProp(chosen, name);
  if (edits.initrd) {
    setProp(chosen, 'linux,initrd-start', cells([edits.initrd.start], edits.initrdCells));
    setProp(chosen, 'linux,initrd-end', cells([edits.initrd.end], edits.initrdCells));
  }
  const uefiRemoved: string[] = [];
  if (edits.afterReset) {
    for (const name of UEFI_CHOSEN) {
      if (getProp(chosen, name) === undefined) continue;
      removeProp(chosen, name);
      uefiRemoved.push(name);
    }
  }
  const seeds: PreparedDtb['seeds'] = [];
  let pool = edits.entropy ?? new Uint8Array(0);
  for (const name of ['kaslr-seed', 'rng-seed']) {
    const old = getProp(chosen, name)?.value;
    if (!old) continue;
    if (pool.length >= old.length && old.length > 0) {
      setProp(chosen, name, pool.slice(0, old.length));
      pool = pool.subarray(old.length);
      seeds.push({ name, action: 'refreshed' });
    } else {
      removeProp(chosen, name);
      seeds.push({ name, action: 'removed' });
    }
  }
  const bootargs = getProp(findNode(fdt, '/chosen')!, 'bootargs')?.value;
  const commandLine = bootargs ? new TextDecoder().decode(bootargs).replace(/\0+$/, '') : undefined;
  return { bytes: writeFdt(fdt, { padding: edits.padding }), commandLine, seeds, uefiRemoved };
}

/**
 * A copy the edits may change: /chosen and the root's child list are new, every
 * other node is shared with the source (the edits touch only /chosen), so a
 * large tree is not duplicated. The layout is dropped: the blob is laid out
 * afresh, compact, then exactly `padding` bytes of room.
 */
function cloneForEdit(src: Fdt): Fdt {
  const { layout: _layout, ...rest } = src;
  const children = src.root.children.map((c) =>
    c.name === 'chosen' ? { ...c, props: c.props.map((p) => ({ ...p })), children: [...c.children] } : c,
  );
  return { ...rest, reservations: [...src.reservations], root: { ...src.root, children } };
}
