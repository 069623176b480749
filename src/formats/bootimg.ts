/**
 * Android boot images: `boot.img` ("ANDROID!", header versions 0–4) and
 * `vendor_boot.img` ("VNDRBOOT", versions 3 and 4). Pure parsers and writers.
 *
 * Layouts (AOSP system/tools/mkbootimg include/bootimg/bootimg.h, all fields
 * little-endian, structs packed; offsets in bytes):
 *
 *   boot_img_hdr_v0 (1632)                  boot_img_hdr_v3 (1580)
 *     0 magic "ANDROID!"                      0 magic "ANDROID!"
 *     8 kernel_size     12 kernel_addr        8 kernel_size
 *    16 ramdisk_size    20 ramdisk_addr      12 ramdisk_size
 *    24 second_size     28 second_addr       16 os_version
 *    32 tags_addr       36 page_size         20 header_size
 *    40 header_version  44 os_version        24 reserved[4]
 *    48 name[16]        64 cmdline[512]      40 header_version
 *   576 id[32]         608 extra_cmdline[1024]  44 cmdline[1536]
 *   v1 adds (1648): 1632 recovery_dtbo_size, 1636 recovery_dtbo_offset (u64), 1644 header_size
 *   v2 adds (1660): 1648 dtb_size, 1652 dtb_addr (u64)
 *   v4 adds to v3 (1584): 1580 signature_size
 *
 *   vendor_boot_img_hdr_v3 (2112)           v4 adds (2128):
 *     0 magic "VNDRBOOT"   8 header_version   2112 vendor_ramdisk_table_size
 *    12 page_size         16 kernel_addr      2116 vendor_ramdisk_table_entry_num
 *    20 ramdisk_addr      24 vendor_ramdisk_size  2120 vendor_ramdisk_table_entry_size
 *    28 cmdline[2048]   2076 tags_addr        2124 bootconfig_size
 *  2080 name[16]        2096 header_size
 *  2100 dtb_size        2104 dtb_addr (u64)
 *
 *   vendor_ramdisk_table_entry_v4 (108): 0 ramdisk_size, 4 ramdisk_offset (in the
 *   vendor ramdisk section), 8 ramdisk_type, 12 ramdisk_name[32], 44 board_id[16].
 *
 * Sections follow the header, each starting on a page boundary (page_size for
 * v0–2 and vendor_boot, 4096 for v3/v4): v0–2 kernel, ramdisk, second, then
 * recovery_dtbo (v1, v2; its offset is also in the header), then dtb (v2); v3/v4
 * kernel, ramdisk, then the boot signature (v4); vendor_boot: header pages
 * (ceil(2112 or 2128 / page_size), as AOSP's vendor_boot documentation counts
 * them), vendor ramdisk section, dtb, then (v4) the ramdisk table and bootconfig.
 * The header_version field sits at offset 40 in every version.
 *
 * Quirks accepted, each because a real producer writes it:
 *  - header_size 1596 in v3 and 2108 in vendor_boot v3: AOSP mkbootimg of
 *    Android 10 (Debian's mkbootimg 29.0.6) wrote these before the sizes were
 *    corrected to sizeof(struct); the fields the bootloader reads are the same.
 *  - header_version > 4 in a v0-style header whose value is the size of a
 *    Qualcomm dt.img placed after the second stage: Qualcomm's mkbootimg stored
 *    the QCDT size in `unused[0]` (dtbTool's dtbtool.txt, "2.1 Changes") before
 *    AOSP named that word header_version. Taken only when "QCDT" is really there.
 */
import { FormatError, hex } from '../errors.js';
import { alignUp, ByteReader, concatBytes, view } from '../util/bytes.js';
import { findOverlap } from '../util/regions.js';
import { Sha1 } from '../util/sha1.js';

export const BOOT_MAGIC = 'ANDROID!';
export const VENDOR_BOOT_MAGIC = 'VNDRBOOT';
/** Page size of v3/v4 boot images (bootimg.h: "page size is fixed at 4096 bytes"). */
export const GKI_PAGE_SIZE = 4096;
/** sizeof(boot_img_hdr_vN). */
export const BOOT_HEADER_SIZE = { 0: 1632, 1: 1648, 2: 1660, 3: 1580, 4: 1584 } as const;
/** sizeof(vendor_boot_img_hdr_vN). */
export const VENDOR_BOOT_HEADER_SIZE = { 3: 2112, 4: 2128 } as const;
export const VENDOR_RAMDISK_ENTRY_SIZE = 108;
export const VENDOR_RAMDISK_NAME_SIZE = 32;
export const VENDOR_RAMDISK_BOARD_ID_WORDS = 16;
export const VENDOR_RAMDISK_TYPES = ['none', 'platform', 'recovery', 'dlkm'] as const;
/** Page sizes accepted where the header states one (mkbootimg offers 2048–16384; NAND parts went to 64 KiB). */
export const MIN_PAGE_SIZE = 2048;
export const MAX_PAGE_SIZE = 65536;
/** The kernel's bootconfig trailer magic (Linux include/linux/bootconfig.h). */
export const BOOTCONFIG_MAGIC = '#BOOTCONFIG\n';

/** header_size values accepted per version (see the module comment for the extra ones). */
const BOOT_HEADER_SIZES: Record<1 | 2 | 3 | 4, readonly number[]> = { 1: [1648], 2: [1660], 3: [1580, 1596], 4: [1584] };
const VENDOR_HEADER_SIZES: Record<3 | 4, readonly number[]> = { 3: [2112, 2108], 4: [2128] };

const BOOT = 'boot image';
const VENDOR = 'vendor_boot image';

export type BootImageVersion = 0 | 1 | 2 | 3 | 4;

export interface OsVersion {
  major: number;
  minor: number;
  patch: number;
}

export interface OsPatchLevel {
  year: number;
  month: number;
}

/** Where a part of the image lies in the file. */
export interface Section {
  name: string;
  offset: number;
  size: number;
}

export interface BootImage {
  kind: 'boot';
  version: BootImageVersion;
  /** The header_size field (v1+), or sizeof(boot_img_hdr_v0) for version 0. */
  headerSize: number;
  /** page_size for v0–2, 4096 for v3/v4. */
  pageSize: number;
  kernel: Uint8Array;
  ramdisk: Uint8Array;
  /** Second-stage bootloader (v0–2; empty when absent). */
  second: Uint8Array;
  /** Recovery DTBO/ACPIO (v1, v2; empty when absent). */
  recoveryDtbo: Uint8Array;
  /** The header's DTB (v2; empty otherwise). */
  dtb: Uint8Array;
  /** The boot signature (v4; empty otherwise). */
  signature: Uint8Array;
  /** A Qualcomm dt.img after the second stage (pre-Android-9 QCDT images; empty otherwise). */
  qcomDt: Uint8Array;
  /**
   * The command line as the image carries it: v0–2 `cmdline` followed directly by
   * `extra_cmdline` (mkbootimg splits one string there, so they join without a
   * separator); v3/v4 the 1536-byte cmdline.
   */
  cmdline: string;
  /** v0–2: the two fields as stored. */
  cmdlineField: string;
  extraCmdline: string;
  /** Product name (v0–2). */
  name: string;
  /** The 32-byte id (v0–2; mkbootimg writes a SHA-1 of the sections, zero-padded). */
  id: Uint8Array;
  /** Load addresses (v0–2). */
  kernelAddr?: number;
  ramdiskAddr?: number;
  secondAddr?: number;
  tagsAddr?: number;
  /** v2. */
  dtbAddr?: bigint;
  /** v1, v2: the header's recovery_dtbo_offset. */
  recoveryDtboOffset?: bigint;
  rawOsVersion: number;
  osVersion?: OsVersion;
  osPatchLevel?: OsPatchLevel;
  sections: Section[];
}

export type VendorRamdiskType = (typeof VENDOR_RAMDISK_TYPES)[number] | 'unknown';

export interface VendorRamdisk {
  name: string;
  type: number;
  typeName: VendorRamdiskType;
  /** Offset inside the vendor ramdisk section. */
  offset: number;
  data: Uint8Array;
  boardId: number[];
}

export interface VendorBootImage {
  kind: 'vendor_boot';
  version: 3 | 4;
  pageSize: number;
  headerSize: number;
  kernelAddr: number;
  ramdiskAddr: number;
  tagsAddr: number;
  dtbAddr: bigint;
  name: string;
  cmdline: string;
  /** The whole vendor ramdisk section (every fragment, concatenated). */
  vendorRamdisk: Uint8Array;
  /** The v4 ramdisk table; for v3 one entry covering the section. */
  ramdisks: VendorRamdisk[];
  dtb: Uint8Array;
  /** The v4 bootconfig section (empty otherwise). */
  bootconfig: Uint8Array;
  /** v4 table geometry as stored. */
  ramdiskTable?: { size: number; entryCount: number; entrySize: number };
  sections: Section[];
}

// ---------------------------------------------------------------- helpers

function ascii(bytes: Uint8Array, off: number, s: string): boolean {
  if (bytes.length < off + s.length) return false;
  for (let i = 0; i < s.length; i++) if (bytes[off + i] !== s.charCodeAt(i)) return false;
  return true;
}

/** Printable rendering of a few bytes for "found" texts. */
function showBytes(b: Uint8Array): string {
  const printable = Array.from(b).every((c) => c >= 0x20 && c < 0x7f);
  if (printable) return JSON.stringify(String.fromCharCode(...b));
  return Array.from(b, (c) => c.toString(16).padStart(2, '0')).join(' ');
}

const decoder = new TextDecoder('utf-8', { fatal: false });

/** A fixed-size char field: up to the first NUL, or the whole field (mkbootimg fills 512 bytes without one). */
function field(r: ByteReader, off: number, size: number, what: string): string {
  const b = r.slice(off, size, what);
  const nul = b.indexOf(0);
  return decoder.decode(nul < 0 ? b : b.subarray(0, nul));
}

function isPowerOfTwo(n: number): boolean {
  return n > 0 && (n & (n - 1)) === 0;
}

function pageSizeCheck(r: ByteReader, off: number, pageSize: number): void {
  if (!isPowerOfTwo(pageSize) || pageSize < MIN_PAGE_SIZE || pageSize > MAX_PAGE_SIZE) {
    r.fail(off, `page_size a power of two from ${hex(MIN_PAGE_SIZE)} to ${hex(MAX_PAGE_SIZE)}`, hex(pageSize));
  }
}

/** os_version: A.B.C in bits 31–11 (7 bits each), (Y−2000) and M in bits 10–0 (bootimg.h). */
export function decodeOsVersion(raw: number): { osVersion?: OsVersion; osPatchLevel?: OsPatchLevel } {
  const v = raw >>> 11;
  const lvl = raw & 0x7ff;
  const out: { osVersion?: OsVersion; osPatchLevel?: OsPatchLevel } = {};
  if (v !== 0) out.osVersion = { major: (v >>> 14) & 0x7f, minor: (v >>> 7) & 0x7f, patch: v & 0x7f };
  if (lvl !== 0) out.osPatchLevel = { year: 2000 + (lvl >>> 4), month: lvl & 0xf };
  return out;
}

export function encodeOsVersion(v?: OsVersion, p?: OsPatchLevel): number {
  const check = (what: string, n: number, max: number) => {
    if (!Number.isInteger(n) || n < 0 || n > max) throw new FormatError(BOOT, 44, `${what} from 0 to ${max}`, String(n));
  };
  let word = 0;
  if (v) {
    check('os_version major', v.major, 127);
    check('os_version minor', v.minor, 127);
    check('os_version patch', v.patch, 127);
    word |= ((v.major << 14) | (v.minor << 7) | v.patch) << 11;
  }
  if (p) {
    check('patch level year − 2000', p.year - 2000, 127);
    check('patch level month', p.month, 12);
    word |= ((p.year - 2000) << 4) | p.month;
  }
  return word >>> 0;
}

/**
 * Lays sections out one after another on page boundaries starting at `start`,
 * checking that each lies inside the data. `sizeField` is the header offset of
 * the section's size word, which the error points at.
 */
function layOut(
  r: ByteReader,
  start: number,
  page: number,
  parts: readonly { name: string; size: number; sizeField: number }[],
): { sections: Section[]; end: number } {
  let at = start;
  const sections: Section[] = [];
  for (const p of parts) {
    if (at + p.size > r.length) {
      r.fail(
        p.sizeField,
        `the ${p.name} (${hex(p.size)} bytes at ${hex(at)}) inside the ${hex(r.length)}-byte image`,
        `a section ending at ${hex(at + p.size)} (truncated image, or a wrong size)`,
      );
    }
    sections.push({ name: p.name, offset: at, size: p.size });
    at = alignUp(at + p.size, page);
  }
  return { sections, end: at };
}

function sectionBytes(r: ByteReader, sections: Section[], name: string): Uint8Array {
  const s = sections.find((x) => x.name === name);
  return s ? r.bytes.subarray(s.offset, s.offset + s.size) : r.bytes.subarray(0, 0);
}

// ---------------------------------------------------------------- parsing: boot.img

/** True when the data starts with "ANDROID!". */
export function isBootImage(bytes: Uint8Array): boolean {
  return ascii(bytes, 0, BOOT_MAGIC);
}

/** True when the data starts with "VNDRBOOT". */
export function isVendorBootImage(bytes: Uint8Array): boolean {
  return ascii(bytes, 0, VENDOR_BOOT_MAGIC);
}

/**
 * Parses a boot.img. Validation is staged — magic, header_version, page size,
 * header length, header_size, then each section inside the data on its page
 * boundary — and each failure names the header field's offset, what was
 * expected and what was found. Bytes after the last section (an AVB footer,
 * partition padding) are ignored.
 */
export function parseBootImage(bytes: Uint8Array): BootImage {
  const r = new ByteReader(bytes, BOOT);
  r.need(0, 8, 'the magic "ANDROID!"');
  if (!isBootImage(bytes)) r.fail(0, `the magic "${BOOT_MAGIC}"`, showBytes(bytes.subarray(0, 8)));
  const versionWord = r.u32le(40, 'header_version');
  if (versionWord === 3 || versionWord === 4) return parseV3(r, versionWord);
  if (versionWord <= 2) return parseV0to2(r, versionWord as 0 | 1 | 2, 0);
  // A pre-Android-9 header: the word is unused[0], which Qualcomm's mkbootimg set to the dt.img size.
  const legacy = qcomDtLegacy(r, versionWord);
  if (legacy) return legacy;
  return r.fail(40, 'header_version 0 to 4 (or a Qualcomm dt.img size with a QCDT table after the second stage)', String(versionWord));
}

function qcomDtLegacy(r: ByteReader, dtSize: number): BootImage | undefined {
  try {
    const img = parseV0to2(r, 0, dtSize);
    return img.qcomDt.length >= 4 && ascii(img.qcomDt, 0, 'QCDT') ? img : undefined;
  } catch (e) {
    if (e instanceof FormatError) return undefined;
    throw e;
  }
}

function parseV0to2(r: ByteReader, version: 0 | 1 | 2, qcomDtSize: number): BootImage {
  const pageSize = r.u32le(36, 'page_size');
  pageSizeCheck(r, 36, pageSize);
  const structSize = BOOT_HEADER_SIZE[version];
  r.need(0, structSize, `the ${structSize}-byte version ${version} header`);

  let headerSize: number = structSize;
  if (version >= 1) {
    headerSize = r.u32le(1644, 'header_size');
    const allowed = BOOT_HEADER_SIZES[version as 1 | 2];
    if (!allowed.includes(headerSize)) r.fail(1644, `header_size ${allowed.join(' or ')} for version ${version}`, String(headerSize));
  }

  const kernelSize = r.u32le(8);
  const ramdiskSize = r.u32le(16);
  const secondSize = r.u32le(24);
  const rawOsVersion = r.u32le(44);
  const parts = [
    { name: 'kernel', size: kernelSize, sizeField: 8 },
    { name: 'ramdisk', size: ramdiskSize, sizeField: 16 },
    { name: 'second', size: secondSize, sizeField: 24 },
  ];
  let recoveryDtboOffset: bigint | undefined;
  let dtbAddr: bigint | undefined;
  if (version >= 1) {
    const size = r.u32le(1632);
    recoveryDtboOffset = r.u64le(1636);
    parts.push({ name: 'recovery_dtbo', size, sizeField: 1632 });
  }
  if (version >= 2) {
    parts.push({ name: 'dtb', size: r.u32le(1648), sizeField: 1648 });
    dtbAddr = r.u64le(1652);
  }
  if (qcomDtSize > 0) parts.push({ name: 'qcom_dt', size: qcomDtSize, sizeField: 40 });
  const { sections } = layOut(r, pageSize, pageSize, parts);

  // recovery_dtbo_offset is redundant with the layout; a bootloader reads it, so it must agree.
  const dtbo = sections.find((s) => s.name === 'recovery_dtbo');
  if (dtbo && dtbo.size > 0 && recoveryDtboOffset !== BigInt(dtbo.offset)) {
    r.fail(1636, `recovery_dtbo_offset ${hex(dtbo.offset)} (after the second stage, page-aligned)`, hex(recoveryDtboOffset!));
  }

  const cmdlineField = field(r, 64, 512, 'cmdline');
  const extraCmdline = field(r, 608, 1024, 'extra_cmdline');
  // mkbootimg fills all 512 bytes when the line continues in extra_cmdline.
  const img: BootImage = {
    kind: 'boot',
    version,
    headerSize,
    pageSize,
    kernel: sectionBytes(r, sections, 'kernel'),
    ramdisk: sectionBytes(r, sections, 'ramdisk'),
    second: sectionBytes(r, sections, 'second'),
    recoveryDtbo: sectionBytes(r, sections, 'recovery_dtbo'),
    dtb: sectionBytes(r, sections, 'dtb'),
    signature: r.bytes.subarray(0, 0),
    qcomDt: sectionBytes(r, sections, 'qcom_dt'),
    cmdline: cmdlineField + extraCmdline,
    cmdlineField,
    extraCmdline,
    name: field(r, 48, 16, 'name'),
    id: r.slice(576, 32, 'id'),
    kernelAddr: r.u32le(12),
    ramdiskAddr: r.u32le(20),
    secondAddr: r.u32le(28),
    tagsAddr: r.u32le(32),
    rawOsVersion,
    ...decodeOsVersion(rawOsVersion),
    sections: [{ name: 'header', offset: 0, size: headerSize }, ...sections],
  };
  if (dtbAddr !== undefined) img.dtbAddr = dtbAddr;
  if (recoveryDtboOffset !== undefined) img.recoveryDtboOffset = recoveryDtboOffset;
  return img;
}

function parseV3(r: ByteReader, version: 3 | 4): BootImage {
  const structSize = BOOT_HEADER_SIZE[version];
  r.need(0, structSize, `the ${structSize}-byte version ${version} header`);
  const headerSize = r.u32le(20, 'header_size');
  const allowed = BOOT_HEADER_SIZES[version];
  if (!allowed.includes(headerSize)) r.fail(20, `header_size ${allowed.join(' or ')} for version ${version}`, String(headerSize));
  const rawOsVersion = r.u32le(16);
  const parts = [
    { name: 'kernel', size: r.u32le(8), sizeField: 8 },
    { name: 'ramdisk', size: r.u32le(12), sizeField: 12 },
  ];
  if (version === 4) parts.push({ name: 'signature', size: r.u32le(1580), sizeField: 1580 });
  const { sections } = layOut(r, GKI_PAGE_SIZE, GKI_PAGE_SIZE, parts);
  const empty = r.bytes.subarray(0, 0);
  const cmdline = field(r, 44, 1536, 'cmdline');
  return {
    kind: 'boot',
    version,
    headerSize,
    pageSize: GKI_PAGE_SIZE,
    kernel: sectionBytes(r, sections, 'kernel'),
    ramdisk: sectionBytes(r, sections, 'ramdisk'),
    second: empty,
    recoveryDtbo: empty,
    dtb: empty,
    signature: sectionBytes(r, sections, 'signature'),
    qcomDt: empty,
    cmdline,
    cmdlineField: cmdline,
    extraCmdline: '',
    name: '',
    id: empty,
    rawOsVersion,
    ...decodeOsVersion(rawOsVersion),
    sections: [{ name: 'header', offset: 0, size: headerSize }, ...sections],
  };
}

// ---------------------------------------------------------------- parsing: vendor_boot.img

/** Parses a vendor_boot.img (v3, v4); staged like parseBootImage, plus the v4 ramdisk table. */
export function parseVendorBootImage(bytes: Uint8Array): VendorBootImage {
  const r = new ByteReader(bytes, VENDOR);
  r.need(0, 8, 'the magic "VNDRBOOT"');
  if (!isVendorBootImage(bytes)) r.fail(0, `the magic "${VENDOR_BOOT_MAGIC}"`, showBytes(bytes.subarray(0, 8)));
  const versionWord = r.u32le(8, 'header_version');
  if (versionWord !== 3 && versionWord !== 4) r.fail(8, 'header_version 3 or 4', String(versionWord));
  const version = versionWord as 3 | 4;
  const pageSize = r.u32le(12, 'page_size');
  pageSizeCheck(r, 12, pageSize);
  const structSize = VENDOR_BOOT_HEADER_SIZE[version];
  r.need(0, structSize, `the ${structSize}-byte version ${version} header`);
  const headerSize = r.u32le(2096, 'header_size');
  const allowed = VENDOR_HEADER_SIZES[version];
  if (!allowed.includes(headerSize)) r.fail(2096, `header_size ${allowed.join(' or ')} for version ${version}`, String(headerSize));

  const ramdiskSectionSize = r.u32le(24);
  const parts = [
    { name: 'vendor_ramdisk', size: ramdiskSectionSize, sizeField: 24 },
    { name: 'dtb', size: r.u32le(2100), sizeField: 2100 },
  ];
  let table: VendorBootImage['ramdiskTable'];
  if (version === 4) {
    table = { size: r.u32le(2112), entryCount: r.u32le(2116), entrySize: r.u32le(2120) };
    if (table.entrySize < VENDOR_RAMDISK_ENTRY_SIZE) {
      r.fail(2120, `vendor_ramdisk_table_entry_size of at least ${VENDOR_RAMDISK_ENTRY_SIZE}`, String(table.entrySize));
    }
    if (table.size !== table.entryCount * table.entrySize) {
      r.fail(
        2112,
        `vendor_ramdisk_table_size = entry_num × entry_size = ${table.entryCount} × ${table.entrySize} = ${hex(table.entryCount * table.entrySize)}`,
        hex(table.size),
      );
    }
    parts.push({ name: 'vendor_ramdisk_table', size: table.size, sizeField: 2112 });
    parts.push({ name: 'bootconfig', size: r.u32le(2124), sizeField: 2124 });
  }
  const headerPages = alignUp(structSize, pageSize);
  const { sections } = layOut(r, headerPages, pageSize, parts);
  const vendorRamdisk = sectionBytes(r, sections, 'vendor_ramdisk');

  let ramdisks: VendorRamdisk[];
  if (version === 4 && table) {
    const at = sections.find((s) => s.name === 'vendor_ramdisk_table')!.offset;
    ramdisks = parseRamdiskTable(r, at, table.entryCount, table.entrySize, vendorRamdisk);
  } else {
    ramdisks = [{ name: '', type: 0, typeName: 'none', offset: 0, data: vendorRamdisk, boardId: [] }];
  }

  const img: VendorBootImage = {
    kind: 'vendor_boot',
    version,
    pageSize,
    headerSize,
    kernelAddr: r.u32le(16),
    ramdiskAddr: r.u32le(20),
    tagsAddr: r.u32le(2076),
    dtbAddr: r.u64le(2104),
    name: field(r, 2080, 16, 'name'),
    cmdline: field(r, 28, 2048, 'cmdline'),
    vendorRamdisk,
    ramdisks,
    dtb: sectionBytes(r, sections, 'dtb'),
    bootconfig: sectionBytes(r, sections, 'bootconfig'),
    sections: [{ name: 'header', offset: 0, size: headerSize }, ...sections],
  };
  if (table) img.ramdiskTable = table;
  return img;
}

function parseRamdiskTable(
  r: ByteReader,
  at: number,
  count: number,
  entrySize: number,
  section: Uint8Array,
): VendorRamdisk[] {
  const out: VendorRamdisk[] = [];
  for (let i = 0; i < count; i++) {
    const e = at + i * entrySize;
    const size = r.u32le(e, 'ramdisk_size');
    const offset = r.u32le(e + 4, 'ramdisk_offset');
    const type = r.u32le(e + 8, 'ramdisk_type');
    if (offset + size > section.length) {
      r.fail(
        e + 4,
        `ramdisk ${i} [ramdisk_offset, + ramdisk_size) inside the ${hex(section.length)}-byte vendor ramdisk section`,
        `[${hex(offset)}, ${hex(offset + size)})`,
      );
    }
    const name = field(r, e + 12, VENDOR_RAMDISK_NAME_SIZE, 'ramdisk_name');
    const boardId: number[] = [];
    for (let w = 0; w < VENDOR_RAMDISK_BOARD_ID_WORDS; w++) boardId.push(r.u32le(e + 44 + w * 4));
    out.push({
      name,
      type,
      typeName: VENDOR_RAMDISK_TYPES[type] ?? 'unknown',
      offset,
      data: section.subarray(offset, offset + size),
      boardId,
    });
  }
  const overlap = findOverlap(out.map((d, index) => ({ offset: d.offset, size: d.data.length, index })), false);
  if (overlap) {
    const [later, earlier] = overlap;
    const prev = out[earlier.index]!;
    r.fail(
      at + later.index * entrySize + 4,
      'vendor ramdisks that do not overlap (fragments are concatenated)',
      `ramdisk ${later.index} [${hex(later.offset)}, ${hex(later.offset + later.size)}) overlaps "${prev.name}" [${hex(prev.offset)}, ${hex(prev.offset + prev.data.length)})`,
    );
  }
  return out;
}

/** Either kind, by magic. */
export function parseAndroidImage(bytes: Uint8Array): BootImage | VendorBootImage {
  if (isVendorBootImage(bytes)) return parseVendorBootImage(bytes);
  return parseBootImage(bytes);
}

// ---------------------------------------------------------------- writing

/** mkbootimg's defaults: --base 0x10000000 plus each --*_offset. */
export const MKBOOTIMG_DEFAULTS = {
  base: 0x10000000,
  kernelOffset: 0x00008000,
  ramdiskOffset: 0x01000000,
  secondOffset: 0x00f00000,
  tagsOffset: 0x00000100,
  dtbOffset: 0x01f00000,
} as const;

export interface BootImageSpec {
  version: BootImageVersion;
  /** v0–2 only (default 2048); v3/v4 always use 4096. */
  pageSize?: number;
  kernel: Uint8Array;
  ramdisk?: Uint8Array;
  second?: Uint8Array;
  recoveryDtbo?: Uint8Array;
  dtb?: Uint8Array;
  signature?: Uint8Array;
  cmdline?: string;
  name?: string;
  kernelAddr?: number;
  ramdiskAddr?: number;
  secondAddr?: number;
  tagsAddr?: number;
  dtbAddr?: number | bigint;
  osVersion?: OsVersion;
  osPatchLevel?: OsPatchLevel;
  /** The id field; default as mkbootimg: SHA-1 over each section and its size, zero-padded to 32 bytes. */
  id?: Uint8Array;
  /** Override header_size (to reproduce an older mkbootimg's 1596, say); default sizeof the header. */
  headerSize?: number;
}

const encoder = new TextEncoder();

function writeField(out: Uint8Array, off: number, size: number, text: string, what: string, fmt: string): void {
  const b = encoder.encode(text);
  if (b.length > size) throw new FormatError(fmt, off, `${what} of at most ${size} bytes`, `${b.length} bytes`);
  out.set(b, off);
}

function u32(v: number | undefined, what: string, fmt: string, off: number): number {
  const n = v ?? 0;
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new FormatError(fmt, off, `${what} that fits 32 bits`, hex(n));
  return n;
}

/** mkbootimg's image id: SHA-1 of (section bytes, u32le size) for each section in turn, zero-padded to 32 bytes. */
export function mkbootimgId(version: BootImageVersion, s: Pick<BootImageSpec, 'kernel' | 'ramdisk' | 'second' | 'recoveryDtbo' | 'dtb'>): Uint8Array {
  const h = new Sha1();
  const add = (b?: Uint8Array) => {
    if (b && b.length > 0) h.update(b);
    const n = new Uint8Array(4);
    view(n).setUint32(0, b?.length ?? 0, true);
    h.update(n);
  };
  add(s.kernel);
  add(s.ramdisk);
  add(s.second);
  if (version > 0) add(s.recoveryDtbo);
  if (version > 1) add(s.dtb);
  const out = new Uint8Array(32);
  out.set(h.digest());
  return out;
}

/**
 * Writes a boot.img of any version, laid out as bootimg.h describes (and byte
 * for byte as mkbootimg writes it for versions 0–3, given the same inputs and,
 * for Debian's mkbootimg's v3, headerSize 1596).
 */
export function writeBootImage(spec: BootImageSpec): Uint8Array {
  const v = spec.version;
  if (![0, 1, 2, 3, 4].includes(v)) throw new FormatError(BOOT, 40, 'header_version 0 to 4', String(v));
  const legacy = v <= 2;
  const page = legacy ? spec.pageSize ?? 2048 : GKI_PAGE_SIZE;
  if (!isPowerOfTwo(page) || page < MIN_PAGE_SIZE || page > MAX_PAGE_SIZE) {
    throw new FormatError(BOOT, 36, `page_size a power of two from ${hex(MIN_PAGE_SIZE)} to ${hex(MAX_PAGE_SIZE)}`, hex(page));
  }
  if (!legacy && spec.pageSize !== undefined && spec.pageSize !== GKI_PAGE_SIZE) {
    throw new FormatError(BOOT, 0, `page size ${GKI_PAGE_SIZE} for version ${v}`, String(spec.pageSize));
  }
  const empty = new Uint8Array(0);
  const kernel = spec.kernel;
  const ramdisk = spec.ramdisk ?? empty;
  const second = spec.second ?? empty;
  const recoveryDtbo = spec.recoveryDtbo ?? empty;
  const dtb = spec.dtb ?? empty;
  const signature = spec.signature ?? empty;
  const refuse = (what: string, b: Uint8Array, ok: boolean) => {
    if (!ok && b.length > 0) throw new FormatError(BOOT, 0, `no ${what} in a version ${v} image`, `${b.length} bytes`);
  };
  refuse('second stage', second, legacy);
  refuse('recovery DTBO', recoveryDtbo, v === 1 || v === 2);
  refuse('header DTB', dtb, v === 2);
  refuse('boot signature', signature, v === 4);

  const headerSize = spec.headerSize ?? BOOT_HEADER_SIZE[v];
  const sectionsStart = page; // the header takes one page (4096 for v3/v4)
  const order: [string, Uint8Array][] = legacy
    ? [['kernel', kernel], ['ramdisk', ramdisk], ['second', second], ['recovery_dtbo', recoveryDtbo], ['dtb', dtb]]
    : [['kernel', kernel], ['ramdisk', ramdisk], ['signature', signature]];
  const offsets = new Map<string, number>();
  let at = sectionsStart;
  for (const [name, b] of order) {
    offsets.set(name, at);
    at = alignUp(at + b.length, page);
  }
  const out = new Uint8Array(at);
  const dv = view(out);
  out.set(encoder.encode(BOOT_MAGIC), 0);
  const cmdline = encoder.encode(spec.cmdline ?? '');
  const osWord = encodeOsVersion(spec.osVersion, spec.osPatchLevel);
  const addr = (x: number | undefined, dflt: number, what: string, off: number) => dv.setUint32(off, u32(x ?? dflt, what, BOOT, off), true);
  const d = MKBOOTIMG_DEFAULTS;

  if (legacy) {
    if (cmdline.length > 1536) throw new FormatError(BOOT, 64, 'a command line of at most 1536 bytes (cmdline + extra_cmdline)', `${cmdline.length} bytes`);
    dv.setUint32(8, kernel.length, true);
    addr(spec.kernelAddr, d.base + d.kernelOffset, 'kernel_addr', 12);
    dv.setUint32(16, ramdisk.length, true);
    addr(spec.ramdiskAddr, ramdisk.length > 0 ? d.base + d.ramdiskOffset : 0, 'ramdisk_addr', 20);
    dv.setUint32(24, second.length, true);
    addr(spec.secondAddr, second.length > 0 ? d.base + d.secondOffset : 0, 'second_addr', 28);
    addr(spec.tagsAddr, d.base + d.tagsOffset, 'tags_addr', 32);
    dv.setUint32(36, page, true);
    dv.setUint32(40, v, true);
    dv.setUint32(44, osWord, true);
    writeField(out, 48, 16, spec.name ?? '', 'name', BOOT);
    out.set(cmdline.subarray(0, 512), 64);
    const id = spec.id ?? mkbootimgId(v, { kernel, ramdisk, second, recoveryDtbo, dtb });
    if (id.length > 32) throw new FormatError(BOOT, 576, 'an id of at most 32 bytes', `${id.length} bytes`);
    out.set(id, 576);
    out.set(cmdline.subarray(512), 608);
    if (v >= 1) {
      dv.setUint32(1632, recoveryDtbo.length, true);
      dv.setBigUint64(1636, BigInt(recoveryDtbo.length > 0 ? offsets.get('recovery_dtbo')! : 0), true);
      dv.setUint32(1644, headerSize, true);
    }
    if (v >= 2) {
      dv.setUint32(1648, dtb.length, true);
      dv.setBigUint64(1652, BigInt(spec.dtbAddr ?? d.base + d.dtbOffset), true);
    }
  } else {
    if (cmdline.length > 1536) throw new FormatError(BOOT, 44, 'a command line of at most 1536 bytes', `${cmdline.length} bytes`);
    dv.setUint32(8, kernel.length, true);
    dv.setUint32(12, ramdisk.length, true);
    dv.setUint32(16, osWord, true);
    dv.setUint32(20, headerSize, true);
    dv.setUint32(40, v, true);
    out.set(cmdline, 44);
    if (v === 4) dv.setUint32(1580, signature.length, true);
  }
  for (const [name, b] of order) out.set(b, offsets.get(name)!);
  return out;
}

export interface VendorRamdiskSpec {
  data: Uint8Array;
  name?: string;
  /** A VENDOR_RAMDISK_TYPE value or its name (default 'none'). */
  type?: number | (typeof VENDOR_RAMDISK_TYPES)[number];
  /** Up to 16 words (default zeros). */
  boardId?: readonly number[];
}

export interface VendorBootImageSpec {
  version: 3 | 4;
  /** Default 2048, as mkbootimg. */
  pageSize?: number;
  /** v3: exactly one; v4: the table's entries, in section order. */
  ramdisks: readonly VendorRamdiskSpec[];
  dtb: Uint8Array;
  /** v4 only. */
  bootconfig?: Uint8Array;
  cmdline?: string;
  name?: string;
  kernelAddr?: number;
  ramdiskAddr?: number;
  tagsAddr?: number;
  dtbAddr?: number | bigint;
  /** Override header_size (Debian's mkbootimg writes 2108 for v3); default sizeof the header. */
  headerSize?: number;
}

/** Writes a vendor_boot.img (v3, v4) as bootimg.h lays it out. */
export function writeVendorBootImage(spec: VendorBootImageSpec): Uint8Array {
  const v = spec.version;
  if (v !== 3 && v !== 4) throw new FormatError(VENDOR, 8, 'header_version 3 or 4', String(v));
  const page = spec.pageSize ?? 2048;
  if (!isPowerOfTwo(page) || page < MIN_PAGE_SIZE || page > MAX_PAGE_SIZE) {
    throw new FormatError(VENDOR, 12, `page_size a power of two from ${hex(MIN_PAGE_SIZE)} to ${hex(MAX_PAGE_SIZE)}`, hex(page));
  }
  if (v === 3 && spec.ramdisks.length !== 1) throw new FormatError(VENDOR, 24, 'exactly one vendor ramdisk in version 3', `${spec.ramdisks.length}`);
  if (v === 3 && spec.bootconfig && spec.bootconfig.length > 0) throw new FormatError(VENDOR, 0, 'no bootconfig in version 3', `${spec.bootconfig.length} bytes`);
  const bootconfig = spec.bootconfig ?? new Uint8Array(0);
  const section = concatBytes(spec.ramdisks.map((x) => x.data));
  const structSize = VENDOR_BOOT_HEADER_SIZE[v];

  const table = new Uint8Array(v === 4 ? spec.ramdisks.length * VENDOR_RAMDISK_ENTRY_SIZE : 0);
  const tdv = view(table);
  let off = 0;
  spec.ramdisks.forEach((rd, i) => {
    if (v === 3) return;
    const e = i * VENDOR_RAMDISK_ENTRY_SIZE;
    const type = typeof rd.type === 'string' ? VENDOR_RAMDISK_TYPES.indexOf(rd.type) : rd.type ?? 0;
    if (!Number.isInteger(type) || type < 0) throw new FormatError(VENDOR, 0, `ramdisk ${i}: a ramdisk type`, String(rd.type));
    tdv.setUint32(e, rd.data.length, true);
    tdv.setUint32(e + 4, off, true);
    tdv.setUint32(e + 8, type, true);
    writeField(table, e + 12, VENDOR_RAMDISK_NAME_SIZE, rd.name ?? '', `ramdisk ${i} name`, VENDOR);
    const ids = rd.boardId ?? [];
    if (ids.length > VENDOR_RAMDISK_BOARD_ID_WORDS) throw new FormatError(VENDOR, 0, `ramdisk ${i}: at most 16 board_id words`, String(ids.length));
    ids.forEach((w, k) => tdv.setUint32(e + 44 + k * 4, u32(w, 'a board_id word', VENDOR, 0), true));
    off += rd.data.length;
  });

  const parts: [string, Uint8Array][] = [['vendor_ramdisk', section], ['dtb', spec.dtb]];
  if (v === 4) parts.push(['vendor_ramdisk_table', table], ['bootconfig', bootconfig]);
  let at = alignUp(structSize, page);
  const offsets: number[] = [];
  for (const [, b] of parts) {
    offsets.push(at);
    at = alignUp(at + b.length, page);
  }
  const out = new Uint8Array(at);
  const dv = view(out);
  const d = MKBOOTIMG_DEFAULTS;
  out.set(encoder.encode(VENDOR_BOOT_MAGIC), 0);
  dv.setUint32(8, v, true);
  dv.setUint32(12, page, true);
  dv.setUint32(16, u32(spec.kernelAddr ?? d.base + d.kernelOffset, 'kernel_addr', VENDOR, 16), true);
  dv.setUint32(20, u32(spec.ramdiskAddr ?? d.base + d.ramdiskOffset, 'ramdisk_addr', VENDOR, 20), true);
  dv.setUint32(24, section.length, true);
  writeField(out, 28, 2048, spec.cmdline ?? '', 'cmdline', VENDOR);
  dv.setUint32(2076, u32(spec.tagsAddr ?? d.base + d.tagsOffset, 'tags_addr', VENDOR, 2076), true);
  writeField(out, 2080, 16, spec.name ?? '', 'name', VENDOR);
  dv.setUint32(2096, spec.headerSize ?? structSize, true);
  dv.setUint32(2100, spec.dtb.length, true);
  dv.setBigUint64(2104, BigInt(spec.dtbAddr ?? d.base + d.dtbOffset), true);
  if (v === 4) {
    dv.setUint32(2112, table.length, true);
    dv.setUint32(2116, spec.ramdisks.length, true);
    dv.setUint32(2120, VENDOR_RAMDISK_ENTRY_SIZE, true);
    dv.setUint32(2124, bootconfig.length, true);
  }
  parts.forEach(([, b], i) => out.set(b, offsets[i]!));
  return out;
}

// ---------------------------------------------------------------- merging boot + vendor_boot

export interface MergedBoot {
  kernel: Uint8Array;
  /**
   * What the bootloader hands the kernel as one initrd: the vendor ramdisk
   * section (all fragments), then the generic ramdisk, then — v4 with a
   * bootconfig section — the bootconfig data and its trailer.
   */
  ramdisk: Uint8Array;
  ramdiskParts: { name: string; size: number }[];
  /** vendor_boot's DTB, or the v2 header's; undefined when the images carry none. */
  dtb?: Uint8Array;
  /** A pre-Android-9 image's Qualcomm dt.img (select a DTB from it). */
  dtbTable?: Uint8Array;
  /** The command line as the bootloader assembles it (see mergeVendorBoot). */
  cmdline: string;
  notes: string[];
}

/**
 * The bootconfig trailer Linux looks for at the end of the initrd (init/main.c,
 * get_boot_config_from_initrd): the data, its size (le32), the byte sum of the
 * data (le32, xbc_calc_checksum), then "#BOOTCONFIG\n".
 */
export function appendBootconfigTrailer(data: Uint8Array): Uint8Array {
  const trailer = new Uint8Array(8 + BOOTCONFIG_MAGIC.length);
  const dv = view(trailer);
  let sum = 0;
  for (const b of data) sum = (sum + b) >>> 0;
  dv.setUint32(0, data.length, true);
  dv.setUint32(4, sum, true);
  trailer.set(encoder.encode(BOOTCONFIG_MAGIC), 8);
  return concatBytes([data, trailer]);
}

/**
 * What a bootloader builds from boot.img (+ vendor_boot.img for v3/v4):
 *  - kernel: boot.img's;
 *  - ramdisk: the vendor ramdisk section first, then boot.img's generic ramdisk
 *    (bootimg.h v3: "load the generic ramdisk immediately following the vendor
 *    ramdisk"; a v4 bootloader "can choose to ignore the vendor ramdisk table and
 *    just load the entire vendor ramdisk section", which is what we do), then the
 *    v4 bootconfig section with the kernel's trailer (bootimg.h v4: "placing this
 *    section directly after the generic ramdisk, followed by the bootconfig trailer");
 *  - dtb: vendor_boot's (v3/v4) or the v2 header's;
 *  - cmdline: boot.img's, then vendor_boot's, joined by one space — U-Boot's
 *    order (boot/image-android.c, android_image_get_kernel: kcmdline, then
 *    kcmdline_extra = the vendor cmdline). With bootconfig present, `bootconfig`
 *    is put first on the line: Linux 6.1 reads the initrd's bootconfig only when
 *    that word is on the command line (init/main.c, setup_boot_config).
 */
export function mergeVendorBoot(boot: BootImage, vendor?: VendorBootImage): MergedBoot {
  const notes: string[] = [];
  if (vendor && boot.version < 3) {
    throw new FormatError(BOOT, 40, 'a version 3 or 4 boot image to go with a vendor_boot image', `version ${boot.version}`);
  }
  if (vendor && vendor.version !== boot.version) {
    notes.push(`boot image version ${boot.version} with vendor_boot version ${vendor.version}: AOSP pairs equal versions`);
  }
  if (boot.second.length > 0) notes.push(`the ${boot.second.length}-byte second-stage bootloader is not used`);
  if (boot.kernel.length === 0) notes.push('the boot image has no kernel (an init_boot image?)');
  if (!vendor && boot.version >= 3) {
    notes.push(`a version ${boot.version} boot image without its vendor_boot: no DTB, vendor ramdisk or vendor command line`);
  }

  const parts: { name: string; bytes: Uint8Array }[] = [];
  if (vendor) parts.push({ name: 'vendor ramdisk', bytes: vendor.vendorRamdisk });
  parts.push({ name: 'ramdisk', bytes: boot.ramdisk });
  let cmdline = [boot.cmdline, vendor?.cmdline ?? ''].filter((s) => s !== '').join(' ');
  if (vendor && vendor.bootconfig.length > 0) {
    parts.push({ name: 'bootconfig', bytes: appendBootconfigTrailer(vendor.bootconfig) });
    if (!/(^|\s)bootconfig(\s|$)/.test(cmdline)) {
      cmdline = cmdline === '' ? 'bootconfig' : `bootconfig ${cmdline}`;
      notes.push('added "bootconfig" to the command line: Linux 6.1 reads the initrd\'s bootconfig only with it');
    }
  }
  const kept = parts.filter((p) => p.bytes.length > 0);
  const merged: MergedBoot = {
    kernel: boot.kernel,
    ramdisk: kept.length === 1 ? kept[0]!.bytes : concatBytes(kept.map((p) => p.bytes)),
    ramdiskParts: kept.map((p) => ({ name: p.name, size: p.bytes.length })),
    cmdline,
    notes,
  };
  const dtb = vendor ? vendor.dtb : boot.dtb;
  if (dtb.length > 0) merged.dtb = dtb;
  if (boot.qcomDt.length > 0) merged.dtbTable = boot.qcomDt;
  return merged;
}
