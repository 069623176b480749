/**
 * Qualcomm's table of device trees, `dt.img` ("QCDT"), versions 1–3, as
 * dtbTool wrote them. Pure parser and writer.
 *
 * Layout (dtbTool's dtbtool.txt, "2.2 Format", and dtbtool.c main(); every word a
 * little-endian u32 — dtbTool writes host-order words and ran on x86):
 *
 *     0 magic "QCDT"
 *     4 version (1, 2 or 3)
 *     8 number of entries
 *    12 entries:                          v1 (20 bytes)  v2 (24)   v3 (40)
 *         platform id (chipset, msm-id x)       0          0         0
 *         variant id  (platform type y)         4          4         4
 *         subtype id  (y')                      –          8         8
 *         soc rev     (z)                       8         12        12
 *         pmic0..pmic3                          –          –      16..28
 *         offset (from the start of "QCDT")    12         16        32
 *         size                                 16         20        36
 *       then one zero word ("end of list delimiter"), then padding to a page,
 *       then the DTBs, each padded to a page.
 *
 * dtbTool's quirks, reproduced by the writer and accepted by the parser:
 *  - padding is `page − (n mod page)`: a full page when n is already aligned;
 *  - an entry's size is the DTB's padded size, so the DTB is the entry's first
 *    FDT totalsize bytes, not all `size` bytes;
 *  - entries are sorted by (platform, variant, subtype, soc rev) — the v3
 *    document adds pmic0..3 to the key, and so do we — and the ids that one DTB
 *    carries (several qcom,msm-id tuples) share one copy of it.
 * The historical kexec-tools fork (Tasssadar/kexec-tools) did not read this
 * index: it walked the blobs by FDT totalsize, skipping zero padding. LK
 * (the bootloader) reads the index, and so do we.
 */
import { FormatError, hex } from '../errors.js';
import { ByteReader, view } from '../util/bytes.js';
import { findOverlap } from '../util/regions.js';
import { FDT_MAGIC, type Fdt, getProp } from './fdt.js';
import { type QcomIds, qcomIdsOf } from './qcom-ids.js';

export const QCDT_MAGIC = 'QCDT';
export const QCDT_HEADER_SIZE = 12;
export const QCDT_ENTRY_SIZE = { 1: 20, 2: 24, 3: 40 } as const;
export type QcdtVersion = 1 | 2 | 3;

const FORMAT = 'QCDT';
const FDT_HEADER_SIZE = 40;

/** The id words of an entry: every field of {@link QcomIds} but board_rev, none left out. */
export interface QcdtIds {
  platform: number;
  variant: number;
  /** Versions 2 and 3 (0 in a v1 entry). */
  subtype: number;
  socRev: number;
  /** Version 3: pmic0..pmic3 (zeros before). */
  pmic: [number, number, number, number];
}

export interface QcdtEntry extends QcdtIds {
  index: number;
  offset: number;
  size: number;
  /** The entry's DTB: its first FDT totalsize bytes. */
  dtb: Uint8Array;
}

export interface Qcdt {
  version: QcdtVersion;
  entries: QcdtEntry[];
  /** Bytes the index takes (header, entries, the zero word). */
  indexSize: number;
  /** Whether the zero word dtbTool writes after the entries is there. */
  terminated: boolean;
}

export function isQcdt(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x51 && bytes[1] === 0x43 && bytes[2] === 0x44 && bytes[3] === 0x54;
}

/**
 * Parses a QCDT table. Staged: magic, version, the entry array inside the data,
 * then each entry: its region after the index and inside the data, an FDT
 * header at its offset whose totalsize fits the region. Entries may share a
 * region (dtbTool writes one DTB for all the ids it carries); regions may not
 * partly overlap.
 */
export function parseQcdt(bytes: Uint8Array): Qcdt {
  const r = new ByteReader(bytes, FORMAT);
  r.need(0, 4, 'the magic "QCDT"');
  if (!isQcdt(bytes)) {
    const head = Array.from(bytes.subarray(0, 4), (c) => c.toString(16).padStart(2, '0')).join(' ');
    r.fail(0, 'the magic "QCDT" (51 43 44 54)', head);
  }
  const version = r.u32le(4, 'the version');
  if (version !== 1 && version !== 2 && version !== 3) r.fail(4, 'version 1, 2 or 3', String(version));
  const v = version as QcdtVersion;
  const count = r.u32le(8, 'the number of entries');
  const entrySize = QCDT_ENTRY_SIZE[v];
  const tableEnd = QCDT_HEADER_SIZE + count * entrySize;
  if (count === 0) r.fail(8, 'at least one entry', '0');
  if (tableEnd > bytes.length) {
    r.fail(8, `${count} entries of ${entrySize} bytes from ${hex(QCDT_HEADER_SIZE)} inside the ${hex(bytes.length)}-byte data`, `a table ending at ${hex(tableEnd)}`);
  }
  const terminated = tableEnd + 4 <= bytes.length && r.u32le(tableEnd) === 0;
  const indexSize = tableEnd + (terminated ? 4 : 0);

  const entries: QcdtEntry[] = [];
  for (let i = 0; i < count; i++) {
    const e = QCDT_HEADER_SIZE + i * entrySize;
    const w = (k: number) => r.u32le(e + k * 4);
    const ids: QcdtIds =
      v === 1
        ? { platform: w(0), variant: w(1), subtype: 0, socRev: w(2), pmic: [0, 0, 0, 0] }
        : v === 2
          ? { platform: w(0), variant: w(1), subtype: w(2), socRev: w(3), pmic: [0, 0, 0, 0] }
          : { platform: w(0), variant: w(1), subtype: w(2), socRev: w(3), pmic: [w(4), w(5), w(6), w(7)] };
    const offField = e + entrySize - 8;
    const offset = r.u32le(offField);
    const size = r.u32le(offField + 4);
    if (offset < indexSize || offset + size > bytes.length) {
      r.fail(
        offField,
        `entry ${i}: a DTB after the index and inside the data, in [${hex(indexSize)}, ${hex(bytes.length)})`,
        `[${hex(offset)}, ${hex(offset + size)})`,
      );
    }
    if (size < FDT_HEADER_SIZE) r.fail(offField + 4, `entry ${i}: a size of at least ${FDT_HEADER_SIZE} (an FDT header)`, hex(size));
    const magic = r.u32be(offset);
    if (magic !== FDT_MAGIC) r.fail(offset, `entry ${i}: a DTB (FDT magic ${hex(FDT_MAGIC)}) at its offset`, hex(magic));
    const total = r.u32be(offset + 4);
    if (total < FDT_HEADER_SIZE || total > size) {
      r.fail(offset + 4, `entry ${i}: an FDT totalsize from ${hex(FDT_HEADER_SIZE)} to the entry size ${hex(size)}`, hex(total));
    }
    entries.push({ index: i, ...ids, offset, size, dtb: bytes.subarray(offset, offset + total) });
  }
  const overlap = findOverlap(entries, true);
  if (overlap) {
    const [e, other] = overlap;
    r.fail(
      QCDT_HEADER_SIZE + (e.index + 1) * entrySize - 8,
      `entry ${e.index}: a DTB region that is either entry ${other.index}'s or apart from it`,
      `[${hex(e.offset)}, ${hex(e.offset + e.size)}) partly overlapping [${hex(other.offset)}, ${hex(other.offset + other.size)})`,
    );
  }
  return { version: v, entries, indexSize, terminated };
}

// ---------------------------------------------------------------- writing

/** An entry to write: its ids (a missing subtype or pmic is 0) and its DTB. */
export interface QcdtEntrySpec extends QcomIds {
  dtb: Uint8Array;
}

export interface QcdtSpec {
  version: QcdtVersion;
  /** dtbTool's -s (default 2048). */
  pageSize?: number;
  entries: readonly QcdtEntrySpec[];
}

function idKey(e: QcdtIds): number[] {
  return [e.platform, e.variant, e.subtype, e.socRev, ...e.pmic];
}

function compareIds(a: QcdtIds, b: QcdtIds): number {
  const x = idKey(a);
  const y = idKey(b);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return 0;
}

/** dtbTool's padding: page − (n mod page), so an aligned n still gets a full page. */
function dtbToolPad(n: number, page: number): number {
  return n + (page - (n % page));
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Builds a QCDT table as dtbTool does: entries sorted by their ids, each
 * distinct DTB stored once (in the order the sorted entries first use it) and
 * padded with dtbTool's padding, the entry size being the padded size. Entries
 * with the same ids and the same DTB collapse into one (dtbTool skipped such
 * duplicates); the same ids with different DTBs are refused (dtbTool kept
 * whichever file it read first).
 */
export function writeQcdt(spec: QcdtSpec): Uint8Array {
  const v = spec.version;
  if (v !== 1 && v !== 2 && v !== 3) throw new FormatError(FORMAT, 4, 'version 1, 2 or 3', String(v));
  const page = spec.pageSize ?? 2048;
  if (!Number.isInteger(page) || page <= 0 || page > 1 << 20) throw new FormatError(FORMAT, 0, 'a page size from 1 to 1 MiB (dtbTool -s)', String(page));
  const word = (n: number | undefined, what: string): number => {
    const x = n ?? 0;
    if (!Number.isInteger(x) || x < 0 || x > 0xffffffff) throw new FormatError(FORMAT, 0, `${what} that fits 32 bits`, String(n));
    return x;
  };
  const items = spec.entries.map((e, i) => {
    if (e.boardRev !== undefined) throw new FormatError(FORMAT, 0, `entry ${i}: ids a QCDT can hold (it has no board_rev)`, `board_rev ${hex(e.boardRev)}`);
    if (v < 2 && (e.subtype ?? 0) !== 0) throw new FormatError(FORMAT, 4, `version 2 or 3 for entry ${i}'s subtype id`, `version ${v}`);
    if (v < 3 && (e.pmic ?? []).some((p) => p !== 0)) throw new FormatError(FORMAT, 4, `version 3 for entry ${i}'s pmic ids`, `version ${v}`);
    if ((e.pmic?.length ?? 0) > 4) throw new FormatError(FORMAT, 0, `entry ${i}: at most 4 pmic ids`, String(e.pmic!.length));
    const pm = [0, 1, 2, 3].map((k) => word(e.pmic?.[k], 'a pmic id')) as [number, number, number, number];
    const ids: QcdtIds = {
      platform: word(e.platform, 'platform id'),
      variant: word(e.variant, 'variant id'),
      subtype: word(e.subtype, 'subtype id'),
      socRev: word(e.socRev, 'soc rev'),
      pmic: pm,
    };
    if (e.dtb.length < FDT_HEADER_SIZE || view(e.dtb).getUint32(0, false) !== FDT_MAGIC) {
      throw new FormatError(FORMAT, 0, `entry ${i}: a DTB (FDT magic ${hex(FDT_MAGIC)})`, `${e.dtb.length} bytes not starting with it`);
    }
    return { ids, dtb: e.dtb, i };
  });
  items.sort((a, b) => compareIds(a.ids, b.ids) || a.i - b.i);
  const unique: typeof items = [];
  for (const it of items) {
    const prev = unique[unique.length - 1];
    if (prev && compareIds(prev.ids, it.ids) === 0) {
      if (sameBytes(prev.dtb, it.dtb)) continue;
      throw new FormatError(
        FORMAT,
        0,
        'one DTB per set of ids',
        `entries ${prev.i} and ${it.i} both for platform ${hex(it.ids.platform)} variant ${hex(it.ids.variant)} subtype ${hex(it.ids.subtype)} soc rev ${hex(it.ids.socRev)}`,
      );
    }
    unique.push(it);
  }
  if (unique.length === 0) throw new FormatError(FORMAT, 8, 'at least one entry', 'none');

  const entrySize = QCDT_ENTRY_SIZE[v];
  const first = dtbToolPad(QCDT_HEADER_SIZE + unique.length * entrySize + 4, page);
  const blobs: { dtb: Uint8Array; offset: number; size: number }[] = [];
  let at = first;
  const placed = unique.map((it) => {
    let blob = blobs.find((b) => sameBytes(b.dtb, it.dtb));
    if (!blob) {
      blob = { dtb: it.dtb, offset: at, size: dtbToolPad(it.dtb.length, page) };
      blobs.push(blob);
      at += blob.size;
    }
    return { ids: it.ids, blob };
  });
  const out = new Uint8Array(at);
  const dv = view(out);
  out.set([0x51, 0x43, 0x44, 0x54], 0);
  dv.setUint32(4, v, true);
  dv.setUint32(8, placed.length, true);
  placed.forEach((p, i) => {
    const e = QCDT_HEADER_SIZE + i * entrySize;
    const words =
      v === 1
        ? [p.ids.platform, p.ids.variant, p.ids.socRev]
        : v === 2
          ? [p.ids.platform, p.ids.variant, p.ids.subtype, p.ids.socRev]
          : [p.ids.platform, p.ids.variant, p.ids.subtype, p.ids.socRev, ...p.ids.pmic];
    words.push(p.blob.offset, p.blob.size);
    words.forEach((w, k) => dv.setUint32(e + k * 4, w, true));
  });
  // The zero word after the entries is already there; so is the zero padding.
  for (const b of blobs) out.set(b.dtb, b.offset);
  return out;
}

/**
 * The ids an entry holds as a table of this version means them: the subtype
 * from version 2, the pmic ids from version 3.
 */
export function qcdtEntryIds(version: QcdtVersion, e: QcdtIds): QcomIds {
  return {
    platform: e.platform,
    variant: e.variant,
    ...(version >= 2 ? { subtype: e.subtype } : {}),
    socRev: e.socRev,
    ...(version >= 3 ? { pmic: [...e.pmic] } : {}),
  };
}

/**
 * The entries dtbTool makes from one DTB's root properties, and the table
 * version they need (dtbtool.txt "3.1 Build-time"):
 *  - `qcom,msm-id = <x y z>, …` alone: version 1, one entry per triple;
 *  - `qcom,msm-id = <x z>, …` with `qcom,board-id = <y y'>, …`: version 2, one
 *    entry per (msm-id pair × board-id pair) — "not matched pairs";
 *  - plus `qcom,pmic-id = <a b c d>, …`: version 3, × each pmic quad.
 * x = platform (chipset) id, y = variant (platform type), y' = subtype, z = soc rev.
 * The ids are read by {@link qcomIdsOf}, as board selection reads them.
 */
export function qcdtIdsFromFdt(fdt: Fdt): { version: QcdtVersion; ids: QcdtIds[] } {
  const board = getProp(fdt.root, 'qcom,board-id') !== undefined;
  const version: QcdtVersion = !board ? 1 : getProp(fdt.root, 'qcom,pmic-id') ? 3 : 2;
  const read = qcomIdsOf(fdt, board ? 'pairs' : 'triples');
  if (!read) throw new FormatError('FDT', 0, '/qcom,msm-id (the ids dtbTool indexes a DTB by)', 'no such property');
  const ids: QcdtIds[] = [];
  const seen = new Set<string>();
  for (const i of read) {
    // Before version 3 the pmic ids are not indexed: sets differing only in them are one entry.
    const pmic = (version === 3 && i.pmic ? [...i.pmic] : [0, 0, 0, 0]) as QcdtIds['pmic'];
    const entry: QcdtIds = { platform: i.platform, variant: i.variant ?? 0, subtype: i.subtype ?? 0, socRev: i.socRev, pmic };
    const key = [entry.platform, entry.variant, entry.subtype, entry.socRev, ...pmic].join(',');
    if (!seen.has(key)) ids.push(entry);
    seen.add(key);
  }
  return { version, ids };
}
