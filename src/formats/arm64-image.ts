/**
 * The arm64 `Image` header (Linux 6.1 Documentation/arm64/booting.rst, "Call the kernel image"):
 *
 *   0x00 u32 code0         executable code (an EFI stub image starts with "MZ")
 *   0x04 u32 code1
 *   0x08 u64 text_offset   image load offset, little endian
 *   0x10 u64 image_size    effective image size (including bss), little endian
 *   0x18 u64 flags         bit 0 big-endian, bits 1–2 page size (0 unspecified, 1 4K,
 *                          2 16K, 3 64K), bit 3 physical placement (1: anywhere)
 *   0x20 u64 res2, res3, res4
 *   0x38 u32 magic         0x644d5241, "ARM\x64"
 *   0x3C u32 res5          offset of the PE header (EFI stub)
 *
 * "Prior to v3.17, the endianness of text_offset was not specified. In these cases
 * image_size is zero and text_offset is 0x80000 in the endianness of the kernel.
 * Where image_size is zero, text_offset can be assumed to be 0x80000." The flags
 * field was introduced in v3.17 as well.
 */
import { FormatError, hex } from '../errors.js';
import { ByteReader, safeNumber } from '../util/bytes.js';

export const ARM64_IMAGE_MAGIC = 0x644d5241;
export const ARM64_MAGIC_OFFSET = 0x38;
export const ARM64_HEADER_SIZE = 64;
/** text_offset assumed for pre-3.17 images (image_size 0). */
export const ARM64_LEGACY_TEXT_OFFSET = 0x80000;
/** The Image is placed at a 2 MiB-aligned base plus text_offset, so text_offset is below 2 MiB. */
export const ARM64_BASE_ALIGN = 0x200000;

const FORMAT = 'arm64-image';

export interface Arm64Image {
  code0: number;
  code1: number;
  /** Raw header fields. */
  rawTextOffset: bigint;
  rawImageSize: bigint;
  rawFlags: bigint;
  /** res5: the PE/COFF header's offset in EFI-stub images. */
  peOffset: number;
  /** Load offset from a 2 MiB-aligned base (0x80000 for pre-3.17 images). */
  textOffset: number;
  /** Memory the image needs from its load address: image_size, or the file length for pre-3.17 images. */
  imageSize: number;
  /**
   * image_size is 0: a pre-3.17 kernel. textOffset is assumed to be 0x80000, imageSize is
   * the file's length (the kernel needs more, for bss, than a bootloader can know), and
   * flags are undefined.
   */
  legacyHeader: boolean;
  bigEndian: boolean;
  /** Kernel page size in bytes; 0 when the header leaves it unspecified. */
  pageSize: 0 | 4096 | 16384 | 65536;
  /** Flags bit 3: the 2 MiB-aligned base may be anywhere in RAM, not only near the start of DRAM. */
  placeAnywhere: boolean;
  /** An EFI stub kernel: "MZ" at 0 and "PE\0\0" at peOffset. */
  efi: boolean;
}

const PAGE_SIZES = [0, 4096, 16384, 65536] as const;

/** True when "ARM\x64" is at 0x38. */
export function isArm64Image(bytes: Uint8Array): boolean {
  if (bytes.length < ARM64_HEADER_SIZE) return false;
  return new ByteReader(bytes, FORMAT).u32le(ARM64_MAGIC_OFFSET) === ARM64_IMAGE_MAGIC;
}

export function parseArm64Image(bytes: Uint8Array): Arm64Image {
  const r: ByteReader = new ByteReader(bytes, FORMAT);
  r.need(0, ARM64_HEADER_SIZE, 'the 64-byte arm64 Image header');
  const magic = r.u32le(ARM64_MAGIC_OFFSET, 'the arm64 Image magic');
  if (magic !== ARM64_IMAGE_MAGIC) {
    r.fail(ARM64_MAGIC_OFFSET, `the arm64 Image magic ${hex(ARM64_IMAGE_MAGIC)} ("ARM\\x64")`, hex(magic));
  }

  const code0 = r.u32le(0x00);
  const code1 = r.u32le(0x04);
  const rawTextOffset = r.u64le(0x08, 'text_offset');
  const rawImageSize = r.u64le(0x10, 'image_size');
  const rawFlags = r.u64le(0x18, 'flags');
  const peOffset = r.u32le(0x3c, 'res5 (PE header offset)');

  const legacyHeader = rawImageSize === 0n;
  let textOffset: number;
  let imageSize: number;
  let bigEndian: boolean;
  let pageSize: Arm64Image['pageSize'];
  let placeAnywhere: boolean;
  if (legacyHeader) {
    textOffset = ARM64_LEGACY_TEXT_OFFSET;
    imageSize = bytes.length;
    // text_offset was 0x80000 "in the endianness of the kernel": read little-endian, a
    // big-endian 0x80000 shows up as 0x80000 << 24.
    bigEndian = rawTextOffset === BigInt(ARM64_LEGACY_TEXT_OFFSET) << 24n;
    pageSize = 0;
    placeAnywhere = false;
  } else {
    if (rawTextOffset >= BigInt(ARM64_BASE_ALIGN)) {
      const expected = `a text_offset below ${hex(ARM64_BASE_ALIGN)} (offset from a 2 MiB-aligned base)`;
      r.fail(0x08, expected, hex(rawTextOffset));
    }
    textOffset = Number(rawTextOffset);
    imageSize = safeNumber(rawImageSize, FORMAT, 0x10, 'image_size');
    bigEndian = (rawFlags & 1n) !== 0n;
    pageSize = PAGE_SIZES[Number((rawFlags >> 1n) & 3n)]!;
    placeAnywhere = (rawFlags & 8n) !== 0n;
  }

  const efi =
    bytes[0] === 0x4d &&
    bytes[1] === 0x5a &&
    peOffset <= bytes.length - 4 &&
    r.u32le(peOffset) === 0x00004550; // "PE\0\0"

  return {
    code0,
    code1,
    rawTextOffset,
    rawImageSize,
    rawFlags,
    peOffset,
    textOffset,
    imageSize,
    legacyHeader,
    bigEndian,
    pageSize,
    placeAnywhere,
    efi,
  };
}

/** PE/COFF limits (Microsoft's PE format specification): at most 96 sections, 40-byte section headers. */
const PE_MAX_SECTIONS = 96;
const PE_SECTION_HEADER = 40;
/** A non-EFI Image's file is at least this fraction of image_size (the rest being bss); see checkArm64Length. */
const MIN_FILE_FRACTION = 8;

/**
 * The least length a complete Image file has, by what its headers say, and
 * where that comes from:
 *  - an EFI stub (every distribution and Android GKI kernel): the end of the
 *    last section's raw data in the PE/COFF section table (the stub's loader
 *    reads exactly those bytes);
 *  - otherwise the arm64 header alone does not say where the file ends
 *    (image_size includes bss), so a file shorter than image_size / 8 is taken
 *    as cut short: no kernel has seven times more bss than text and data.
 * Pre-3.17 headers (image_size 0) state nothing: 0.
 */
export function arm64MinLength(bytes: Uint8Array, h: Arm64Image): { length: number; from: string } {
  if (h.efi) {
    const r: ByteReader = new ByteReader(bytes, FORMAT);
    const pe = h.peOffset;
    const sections = r.u16le(pe + 6, 'the PE NumberOfSections');
    if (sections > PE_MAX_SECTIONS) r.fail(pe + 6, `at most ${PE_MAX_SECTIONS} PE sections`, String(sections));
    const optional = r.u16le(pe + 20, 'the PE SizeOfOptionalHeader');
    const table = pe + 24 + optional;
    r.need(table, sections * PE_SECTION_HEADER, `the PE section table (${sections} sections)`);
    let end = table + sections * PE_SECTION_HEADER;
    for (let i = 0; i < sections; i++) {
      const s = table + i * PE_SECTION_HEADER;
      const rawSize = r.u32le(s + 16);
      const rawPointer = r.u32le(s + 20);
      if (rawSize > 0) end = Math.max(end, rawPointer + rawSize);
    }
    return { length: end, from: 'the end of its last PE section' };
  }
  if (h.legacyHeader) return { length: ARM64_HEADER_SIZE, from: 'its header' };
  return { length: Math.ceil(h.imageSize / MIN_FILE_FRACTION), from: `image_size ${hex(h.imageSize)} / ${MIN_FILE_FRACTION}` };
}

/** Throws when the Image is shorter than its headers say it is (a cut-short file would crash at boot). */
export function checkArm64Length(bytes: Uint8Array, h: Arm64Image): void {
  const min = arm64MinLength(bytes, h);
  if (bytes.length < min.length) {
    throw new FormatError(
      FORMAT,
      bytes.length,
      `at least ${hex(min.length)} bytes (${min.from})`,
      `end of data at ${hex(bytes.length)} (a truncated Image?)`,
    );
  }
}
