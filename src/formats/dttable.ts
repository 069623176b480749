/**
 * The Android DT table: dtb.img / dtbo.img as `mkdtboimg` writes them. Pure
 * parser and writer.
 *
 * Layout (AOSP system/libufdt utils/src/dt_table.h; every field a big-endian u32):
 *
 *   dt_table_header (32 bytes)                 dt_table_entry (32 bytes)
 *     0 magic 0xd7b7ab1e                          0 dt_size
 *     4 total_size   (header + entries + DTs)     4 dt_offset (from the start of the header)
 *     8 header_size  (32)                         8 id
 *    12 dt_entry_size (32)                       12 rev
 *    16 dt_entry_count                           16 custom[4]            (version 0)
 *    20 dt_entries_offset                           flags, custom[3]     (version 1: flags bits 0–3
 *    24 page_size                                                           = compression: 0 none,
 *    28 version (0, or 1 with compression)                                   1 zlib, 2 gzip)
 *
 * mkdtboimg.py (`create`) puts the entries right after the header and the DTs
 * right after the entries, one after another with no alignment (page_size is
 * only recorded); an entry whose file was already added points at the same
 * bytes. The same header with magic 0x41435049 ("ACPI") is an ACPI overlay
 * table, which holds no device trees and is refused here.
 */
import * as zlib from 'node:zlib';
import { FormatError, hex } from '../errors.js';
import { ByteReader, view } from '../util/bytes.js';
import { findOverlap } from '../util/regions.js';
import { gunzipMember } from './compress.js';
import { FDT_MAGIC } from './fdt.js';

export const DT_TABLE_MAGIC = 0xd7b7ab1e;
export const ACPIO_TABLE_MAGIC = 0x41435049;
export const DT_TABLE_HEADER_SIZE = 32;
export const DT_TABLE_ENTRY_SIZE = 32;
export const DT_COMPRESSIONS = ['none', 'zlib', 'gzip'] as const;
export type DtCompression = (typeof DT_COMPRESSIONS)[number];

const FORMAT = 'DT table';

export interface DtTableEntry {
  index: number;
  /** dt_offset and dt_size: where the (possibly compressed) DT lies, from the start of the table. */
  offset: number;
  size: number;
  id: number;
  rev: number;
  /** Version 1's flags word (0 in version 0). */
  flags: number;
  /** custom[4] in version 0, custom[3] in version 1. */
  custom: number[];
  compression: DtCompression;
  /** The entry's bytes as stored (compressed when `compression` says so). */
  data: Uint8Array;
}

export interface DtTable {
  version: 0 | 1;
  totalSize: number;
  headerSize: number;
  entrySize: number;
  entriesOffset: number;
  pageSize: number;
  entries: DtTableEntry[];
}

export function isDtTable(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && view(bytes).getUint32(0, false) === DT_TABLE_MAGIC;
}

/**
 * Parses a DT table. Staged: magic, header fields, total_size against the data,
 * the entry array inside total_size, then each entry's DT inside total_size and
 * after the entries, starting with the FDT magic (or a gzip/zlib header when the
 * entry says it is compressed). Entries may share a DT; DTs may not partly overlap.
 */
export function parseDtTable(bytes: Uint8Array): DtTable {
  const r = new ByteReader(bytes, FORMAT);
  const magic = r.u32be(0, 'the DT table magic');
  if (magic === ACPIO_TABLE_MAGIC) {
    r.fail(0, `the DT table magic ${hex(DT_TABLE_MAGIC)}`, 'an ACPI overlay table (magic "ACPI"), which holds no device trees');
  }
  if (magic !== DT_TABLE_MAGIC) r.fail(0, `the DT table magic ${hex(DT_TABLE_MAGIC)}`, hex(magic));
  r.need(0, DT_TABLE_HEADER_SIZE, 'the 32-byte dt_table_header');
  const totalSize = r.u32be(4);
  const headerSize = r.u32be(8);
  const entrySize = r.u32be(12);
  const count = r.u32be(16);
  const entriesOffset = r.u32be(20);
  const pageSize = r.u32be(24);
  const version = r.u32be(28);

  if (version !== 0 && version !== 1) r.fail(28, 'version 0 or 1', String(version));
  if (headerSize !== DT_TABLE_HEADER_SIZE) r.fail(8, `header_size ${DT_TABLE_HEADER_SIZE}`, String(headerSize));
  if (entrySize !== DT_TABLE_ENTRY_SIZE) r.fail(12, `dt_entry_size ${DT_TABLE_ENTRY_SIZE}`, String(entrySize));
  if (totalSize < DT_TABLE_HEADER_SIZE || totalSize > bytes.length) {
    r.fail(4, `total_size from ${hex(DT_TABLE_HEADER_SIZE)} to the data length ${hex(bytes.length)}`, hex(totalSize));
  }
  if (entriesOffset < DT_TABLE_HEADER_SIZE || entriesOffset % 4 !== 0) {
    r.fail(20, `dt_entries_offset at or after the header (${hex(DT_TABLE_HEADER_SIZE)}), 4-aligned`, hex(entriesOffset));
  }
  const entriesEnd = entriesOffset + count * entrySize;
  if (entriesEnd > totalSize) {
    r.fail(
      16,
      `dt_entry_count entries (${entrySize} bytes each from ${hex(entriesOffset)}) inside total_size ${hex(totalSize)}`,
      `${count} entries, ending at ${hex(entriesEnd)}`,
    );
  }

  const entries: DtTableEntry[] = [];
  for (let i = 0; i < count; i++) {
    const e = entriesOffset + i * entrySize;
    const size = r.u32be(e);
    const offset = r.u32be(e + 4);
    const id = r.u32be(e + 8);
    const rev = r.u32be(e + 12);
    const words = [0, 1, 2, 3].map((k) => r.u32be(e + 16 + k * 4));
    const flags = version === 1 ? words[0]! : 0;
    const custom = version === 1 ? words.slice(1) : words;
    if (size === 0) r.fail(e, `entry ${i}: a dt_size above 0`, '0');
    if (offset < entriesEnd || offset + size > totalSize) {
      r.fail(
        e + 4,
        `entry ${i}: a DT after the entries and inside total_size, in [${hex(entriesEnd)}, ${hex(totalSize)})`,
        `[${hex(offset)}, ${hex(offset + size)})`,
      );
    }
    const code = flags & 0xf;
    const compression = DT_COMPRESSIONS[code];
    if (compression === undefined) {
      return r.fail(e + 16, `entry ${i}: compression 0 (none), 1 (zlib) or 2 (gzip) in flags bits 0–3`, String(code));
    }
    const data = bytes.subarray(offset, offset + size);
    checkEntryData(r, i, offset, compression, data);
    entries.push({ index: i, offset, size, id, rev, flags, custom, compression, data });
  }
  const overlap = findOverlap(entries, true);
  if (overlap) {
    const [e, other] = overlap;
    r.fail(
      entriesOffset + e.index * entrySize + 4,
      `entry ${e.index}: a DT that is either entry ${other.index}'s or apart from it`,
      `[${hex(e.offset)}, ${hex(e.offset + e.size)}) partly overlapping [${hex(other.offset)}, ${hex(other.offset + other.size)})`,
    );
  }
  return { version: version as 0 | 1, totalSize, headerSize, entrySize, entriesOffset, pageSize, entries };
}

function checkEntryData(r: ByteReader, i: number, offset: number, compression: DtCompression, data: Uint8Array): void {
  const dv = view(data);
  switch (compression) {
    case 'none':
      if (data.length < 4 || dv.getUint32(0, false) !== FDT_MAGIC) {
        r.fail(offset, `entry ${i}: a DT starting with the FDT magic ${hex(FDT_MAGIC)}`, data.length < 4 ? `${data.length} bytes` : hex(dv.getUint32(0, false)));
      }
      break;
    case 'gzip':
      if (data.length < 2 || data[0] !== 0x1f || data[1] !== 0x8b) r.fail(offset, `entry ${i}: gzip data (1f 8b), as its flags say`, hexStart(data));
      break;
    case 'zlib':
      // RFC 1950: CM = 8 in the low nibble of CMF, and (CMF·256 + FLG) divisible by 31.
      if (data.length < 2 || (data[0]! & 0x0f) !== 8 || ((data[0]! << 8) | data[1]!) % 31 !== 0) {
        r.fail(offset, `entry ${i}: zlib data (RFC 1950 header), as its flags say`, hexStart(data));
      }
      break;
  }
}

function hexStart(b: Uint8Array): string {
  return b.length === 0 ? 'no bytes' : Array.from(b.subarray(0, 4), (c) => c.toString(16).padStart(2, '0')).join(' ');
}

/**
 * The most a compressed entry may decompress to: 2 MiB, the largest device tree
 * an arm64 kernel accepts (MAX_FDT_SIZE) and ten times the largest DTB in
 * Debian's device-tree packages.
 */
export const DT_MAX_BYTES = 2 << 20;

/** The entry's DT, decompressed when the entry is compressed (version 1). */
export function dtTableEntryBlob(entry: DtTableEntry, maxOutput = DT_MAX_BYTES): Uint8Array {
  switch (entry.compression) {
    case 'none':
      return entry.data;
    case 'gzip': {
      try {
        return gunzipMember(entry.data, { maxOutput }).data;
      } catch (e) {
        if (!(e instanceof FormatError)) throw e;
        throw new FormatError(FORMAT, entry.offset + e.offset, `entry ${entry.index}: ${e.expected}`, e.found);
      }
    }
    case 'zlib':
      try {
        const out = zlib.inflateSync(entry.data, { maxOutputLength: maxOutput });
        return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
      } catch (e) {
        if ((e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE' || e instanceof RangeError) {
          throw new FormatError(FORMAT, entry.offset, `entry ${entry.index}: zlib data that decompresses to at most ${hex(maxOutput)} bytes`, 'more');
        }
        const msg = (e as { message?: string }).message ?? String(e);
        throw new FormatError(FORMAT, entry.offset, `entry ${entry.index}: valid zlib data`, `zlib: ${msg}`);
      }
  }
}

// ---------------------------------------------------------------- writing

export interface DtTableEntrySpec {
  dtb: Uint8Array;
  id?: number;
  rev?: number;
  /** Version 0: four words; version 1: three. Missing words are 0. */
  custom?: readonly number[];
  /** Version 1 only: stored compressed (zlib or gzip, as mkdtboimg's --flags). */
  compression?: DtCompression;
}

export interface DtTableSpec {
  version?: 0 | 1;
  /** Recorded only (mkdtboimg's default 2048). */
  pageSize?: number;
  entries: readonly DtTableEntrySpec[];
}

/**
 * Writes a DT table laid out as mkdtboimg does: header, entries, then each
 * distinct DT once (an entry whose DT bytes and compression equal an earlier
 * entry's points at the same place, as mkdtboimg does for a repeated file).
 */
export function writeDtTable(spec: DtTableSpec): Uint8Array {
  const version = spec.version ?? 0;
  if (version !== 0 && version !== 1) throw new FormatError(FORMAT, 28, 'version 0 or 1', String(version));
  if (spec.entries.length === 0) throw new FormatError(FORMAT, 16, 'at least one DT', 'none');
  const word = (v: number | undefined, what: string): number => {
    const n = v ?? 0;
    if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new FormatError(FORMAT, 0, `${what} that fits 32 bits`, String(v));
    return n;
  };
  const blobs: { bytes: Uint8Array; offset: number; key: string }[] = [];
  const entriesEnd = DT_TABLE_HEADER_SIZE + spec.entries.length * DT_TABLE_ENTRY_SIZE;
  let at = entriesEnd;
  const placed = spec.entries.map((e, i) => {
    const compression = e.compression ?? 'none';
    if (compression !== 'none' && version === 0) {
      throw new FormatError(FORMAT, 28, `version 1 for a compressed entry (entry ${i}: ${compression})`, 'version 0');
    }
    const stored =
      compression === 'none' ? e.dtb : compression === 'gzip' ? new Uint8Array(zlib.gzipSync(e.dtb)) : new Uint8Array(zlib.deflateSync(e.dtb));
    const key = `${compression}:${Buffer.from(e.dtb.buffer, e.dtb.byteOffset, e.dtb.length).toString('base64')}`;
    let blob = blobs.find((b) => b.key === key);
    if (!blob) {
      blob = { bytes: stored, offset: at, key };
      blobs.push(blob);
      at += stored.length;
    }
    const maxCustom = version === 0 ? 4 : 3;
    if ((e.custom?.length ?? 0) > maxCustom) {
      throw new FormatError(FORMAT, 0, `entry ${i}: at most ${maxCustom} custom words in version ${version}`, String(e.custom!.length));
    }
    return { spec: e, blob, compression, i };
  });
  const out = new Uint8Array(at);
  const dv = view(out);
  dv.setUint32(0, DT_TABLE_MAGIC, false);
  dv.setUint32(4, at, false);
  dv.setUint32(8, DT_TABLE_HEADER_SIZE, false);
  dv.setUint32(12, DT_TABLE_ENTRY_SIZE, false);
  dv.setUint32(16, spec.entries.length, false);
  dv.setUint32(20, DT_TABLE_HEADER_SIZE, false);
  dv.setUint32(24, word(spec.pageSize ?? 2048, 'page_size'), false);
  dv.setUint32(28, version, false);
  for (const p of placed) {
    const e = DT_TABLE_HEADER_SIZE + p.i * DT_TABLE_ENTRY_SIZE;
    dv.setUint32(e, p.blob.bytes.length, false);
    dv.setUint32(e + 4, p.blob.offset, false);
    dv.setUint32(e + 8, word(p.spec.id, 'id'), false);
    dv.setUint32(e + 12, word(p.spec.rev, 'rev'), false);
    const custom = p.spec.custom ?? [];
    const words = version === 1 ? [DT_COMPRESSIONS.indexOf(p.compression), ...custom] : [...custom];
    words.forEach((w, k) => dv.setUint32(e + 16 + k * 4, word(w, 'a custom word'), false));
  }
  for (const b of blobs) out.set(b.bytes, b.offset);
  return out;
}
