/**
 * Physical memory as values: half-open ranges [start, end) of numbers (addresses
 * fit in 52 bits), and the map of RAM, reserved regions and what the planner
 * must avoid. All functions are pure and return new arrays.
 */
import { hex } from '../errors.js';
import { alignUp } from './bytes.js';

export interface Range {
  readonly start: number;
  /** Exclusive. */
  readonly end: number;
}

export interface NamedRange extends Range {
  readonly name: string;
}

export function range(start: number, end: number): Range {
  return { start, end };
}

export function size(r: Range): number {
  return r.end - r.start;
}

export function overlaps(a: Range, b: Range): boolean {
  return a.start < b.end && b.start < a.end;
}

export function contains(outer: Range, inner: Range): boolean {
  return inner.start >= outer.start && inner.end <= outer.end;
}

/** `[0x40000000, 0x80000000)`: the one spelling of a range in messages. */
export function formatRange(r: Range): string {
  return `[${hex(r.start)}, ${hex(r.end)})`;
}

/** Sorted, with touching and overlapping ranges merged, empty ones dropped. */
export function normalize(rs: readonly Range[]): Range[] {
  const sorted = rs.filter((r) => r.end > r.start).sort((a, b) => a.start - b.start);
  const out: Range[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.start <= last.end) out[out.length - 1] = range(last.start, Math.max(last.end, r.end));
    else out.push(range(r.start, r.end));
  }
  return out;
}

/** `from` with every part covered by `holes` taken out. */
export function subtract(from: readonly Range[], holes: readonly Range[]): Range[] {
  let cur = normalize(from);
  for (const h of normalize(holes)) {
    const next: Range[] = [];
    for (const r of cur) {
      if (!overlaps(r, h)) {
        next.push(r);
        continue;
      }
      if (r.start < h.start) next.push(range(r.start, h.start));
      if (h.end < r.end) next.push(range(h.end, r.end));
    }
    cur = next;
  }
  return cur;
}

export function intersect(a: readonly Range[], b: readonly Range[]): Range[] {
  const out: Range[] = [];
  for (const x of normalize(a))
    for (const y of normalize(b)) {
      const s = Math.max(x.start, y.start);
      const e = Math.min(x.end, y.end);
      if (e > s) out.push(range(s, e));
    }
  return normalize(out);
}

/** True when every byte of r lies inside one of `within`. */
export function covered(r: Range, within: readonly Range[]): boolean {
  return subtract([r], within).length === 0;
}

/**
 * The lowest address a ≥ `from`, a multiple of `align` plus `offset`, such that
 * [a, a + len) lies inside one free range. Undefined when there is none.
 */
export function lowestFit(
  free: readonly Range[],
  len: number,
  opts: { align: number; from?: number; offset?: number },
): number | undefined {
  const offset = opts.offset ?? 0;
  for (const f of normalize(free)) {
    const lo = Math.max(f.start, opts.from ?? 0);
    const a = alignUp(lo - offset, opts.align) + offset;
    if (a + len <= f.end) return a;
  }
  return undefined;
}

/**
 * What the planner knows about a machine's memory: RAM banks, regions the
 * firmware or kernel reserved (never to be written), and where they came from.
 */
export interface MemoryMap {
  readonly ram: Range[];
  readonly reserved: NamedRange[];
  /** '/proc/iomem', 'DTB /memory', '--memory', … for messages. */
  readonly source: string;
}

/** Parses `--memory START-END[,START-END…]` (hex, inclusive end as /proc/iomem writes it). */
export function parseRangeList(text: string): Range[] | string {
  const out: Range[] = [];
  for (const part of text.split(',')) {
    const m = /^\s*(?:0x)?([0-9a-fA-F]+)\s*-\s*(?:0x)?([0-9a-fA-F]+)\s*$/.exec(part);
    if (!m) return `'${part}' is not START-END in hex (e.g. 0x40000000-0x7fffffff)`;
    const start = parseInt(m[1]!, 16);
    const last = parseInt(m[2]!, 16);
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(last)) return `'${part}' is out of range`;
    if (last < start) return `'${part}' ends before it starts`;
    out.push(range(start, last + 1));
  }
  return out;
}

/** A human size: 4 KiB, 1.5 MiB, 1 GiB. */
export function formatSize(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  const s = Number.isInteger(v) ? String(v) : v.toFixed(1);
  return `${s} ${units[u]}`;
}
