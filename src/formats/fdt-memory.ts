/**
 * The device tree's view of RAM: the memory nodes, /reserved-memory and the
 * header's reservation map. Pure, over the model of ./fdt.ts.
 *
 * Which nodes count follows Linux 6.1 (drivers/of/fdt.c): the root's children
 * with device_type = "memory" (a node named memory or memory@… that has no
 * device_type is taken too, as the spec's examples and old trees do), skipping
 * nodes whose status is not "okay"/"ok" and ranges of size 0.
 */
import { FormatError, hex } from '../errors.js';
import { safeNumber, view } from '../util/bytes.js';
import type { NamedRange, Range } from '../util/memory.js';
import type { Fdt, FdtNode } from './fdt.js';
import { cells, getProp, propError, propOffset, readU32, setProp, stringValue } from './fdt.js';

export interface MemoryRange {
  start: number;
  size: number;
}

export interface ReservedRange extends MemoryRange {
  /** The /reserved-memory child it came from; absent for the header's /memreserve/ entries. */
  name?: string;
}

export interface FdtMemory {
  /** Every `reg` range of every memory node, in tree order. */
  memory: MemoryRange[];
  /** The header's reservation map, then each /reserved-memory child's `reg` ranges, in tree order. */
  reserved: ReservedRange[];
}

/** Cells per address and per size in the `reg` of a node's children. */
export interface CellCounts {
  address: 1 | 2;
  size: 1 | 2;
}

/** The spec's defaults (Devicetree Specification 2.3.5) when the root has no #address-cells / #size-cells. */
export const DEFAULT_CELLS: CellCounts = { address: 2, size: 1 };

/**
 * `node`'s #address-cells and #size-cells. A missing property takes the
 * fallback; a present one must be one cell holding 1 or 2 (the widths RAM
 * addresses use), anything else is an error rather than a silent default.
 */
export function cellCounts(node: FdtNode, path: string, fallback: CellCounts = DEFAULT_CELLS): CellCounts {
  const read = (name: '#address-cells' | '#size-cells', dflt: 1 | 2): 1 | 2 => {
    const prop = getProp(node, name);
    if (!prop) return dflt;
    const where = path === '/' ? `/${name}` : `${path}/${name}`;
    const n = readU32(prop, where);
    if (n !== 1 && n !== 2) throw propError(prop, '1 or 2', String(n), where);
    return n;
  };
  return { address: read('#address-cells', fallback.address), size: read('#size-cells', fallback.size) };
}

/** The memory nodes Linux would use (see the module comment), with their paths. */
export function memoryNodes(fdt: Fdt): { node: FdtNode; path: string }[] {
  return fdt.root.children
    .filter((node) => {
      const path = `/${node.name}`;
      const type = getProp(node, 'device_type');
      const isMemory = type
        ? firstString(type.value) === 'memory'
        : node.name === 'memory' || node.name.startsWith('memory@');
      return isMemory && available(node);
    })
    .map((node) => ({ node, path: `/${node.name}` }));
}

/** RAM and reserved ranges as the tree describes them. */
export function memoryFromFdt(fdt: Fdt): FdtMemory {
  const rootCells = cellCounts(fdt.root, '/');
  const memory = memoryNodes(fdt).flatMap(({ node, path }) => regOf(node, path, rootCells));

  const reserved: ReservedRange[] = fdt.reservations.map((e, i) => ({
    start: safeNumber(e.address, 'FDT', 0, `/memreserve/ entry ${i} address`),
    size: safeNumber(e.size, 'FDT', 0, `/memreserve/ entry ${i} size`),
  }));
  const rm = fdt.root.children.find((c) => c.name === 'reserved-memory');
  if (rm && available(rm)) {
    // The binding requires /reserved-memory's cells to equal the root's; Linux
    // falls back to the parent's when they are missing, and so do we.
    const rmCells = cellCounts(rm, '/reserved-memory', rootCells);
    for (const child of rm.children) {
      const path = `/reserved-memory/${child.name}`;
      if (!available(child)) continue;
      for (const r of regOf(child, path, rmCells)) reserved.push({ ...r, name: child.name });
    }
  }
  return { memory, reserved };
}

/**
 * The tree's memory in the shape the running system's memory map has (what
 * /proc/iomem's reader returns): RAM from the memory nodes; reserved from
 * /memreserve/ and /reserved-memory, named by their node.
 */
export function memoryMapFromFdt(fdt: Fdt): { ram: Range[]; reserved: NamedRange[] } {
  const m = memoryFromFdt(fdt);
  return {
    ram: m.memory.map((r) => ({ start: r.start, end: r.start + r.size })),
    reserved: m.reserved.map((r) => ({ start: r.start, end: r.start + r.size, name: r.name ?? '/memreserve/' })),
  };
}

/**
 * Makes the tree describe exactly `ranges` as RAM (MultiROM copies the running
 * /memory/reg into the DTB it boots): the first memory node's `reg` is replaced,
 * encoded with the root's cell counts, other memory nodes are removed, and a
 * `memory@<start>` node is added when there is none. Returns the node.
 */
export function setMemoryReg(fdt: Fdt, ranges: readonly MemoryRange[]): FdtNode {
  const c = cellCounts(fdt.root, '/');
  const existing = memoryNodes(fdt);
  const target = existing[0]?.node ?? {
    name: ranges[0] ? `memory@${ranges[0].start.toString(16)}` : 'memory',
    props: [{ name: 'device_type', value: stringValue('memory') }],
    children: [],
  };
  const path = `/${target.name}/reg`;
  const parts: Uint8Array[] = [];
  ranges.forEach(({ start, size }, i) => {
    for (const [what, v, width] of [['address', start, c.address], ['size', size, c.size]] as const) {
      if (!Number.isSafeInteger(v) || v < 0 || v >= 2 ** (32 * width)) {
        throw new FormatError('FDT', 0, `${path}: range ${i} ${what} that fits ${width} cell(s)`, hex(v));
      }
    }
    parts.push(cells([start], c.address), cells([size], c.size));
  });
  const value = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((at, p) => (value.set(p, at), at + p.length), 0);

  const drop = new Set(existing.slice(1).map((e) => e.node));
  fdt.root.children = fdt.root.children.filter((n) => !drop.has(n));
  if (existing.length === 0) fdt.root.children.push(target);
  setProp(target, 'reg', value);
  return target;
}

/** `status` absent, "okay" or "ok" (Linux's of_fdt_device_is_available). */
function available(node: FdtNode): boolean {
  const status = getProp(node, 'status');
  if (!status) return true;
  const s = firstString(status.value);
  return s === 'okay' || s === 'ok';
}

/**
 * The value up to its first NUL. Linux compares device_type and status with
 * strcmp, so a malformed value on some unrelated node is a mismatch, not an error.
 */
function firstString(value: Uint8Array): string {
  const nul = value.indexOf(0);
  return new TextDecoder().decode(nul < 0 ? value : value.subarray(0, nul));
}

/** A node's `reg` as ranges (none if it has no reg); zero-size ranges are skipped, as Linux does. */
function regOf(node: FdtNode, path: string, c: CellCounts): MemoryRange[] {
  const reg = getProp(node, 'reg');
  if (!reg) return [];
  const where = `${path}/reg`;
  const entry = 4 * (c.address + c.size);
  if (reg.value.length % entry !== 0) {
    throw propError(
      reg,
      `a multiple of ${entry} bytes (${c.address} address + ${c.size} size cells)`,
      `${reg.value.length} bytes`,
      where,
    );
  }
  const out: MemoryRange[] = [];
  const at = propOffset(reg); // 0 when unknown (the value was edited)
  const dv = view(reg.value);
  const number = (off: number, n: number): bigint => {
    let v = 0n;
    for (let k = 0; k < n; k++) v = (v << 32n) | BigInt(dv.getUint32(off + 4 * k, false));
    return v;
  };
  for (let off = 0, i = 0; off < reg.value.length; off += entry, i++) {
    const sizeAt = off + 4 * c.address;
    const range = {
      start: safeNumber(number(off, c.address), 'FDT', at && at + off, `${where} entry ${i} address`),
      size: safeNumber(number(sizeAt, c.size), 'FDT', at && at + sizeAt, `${where} entry ${i} size`),
    };
    if (range.size > 0) out.push(range);
  }
  return out;
}
