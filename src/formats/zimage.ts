/**
 * The ARM (32-bit) zImage header, its extension tag table, and a DTB appended to it.
 *
 * Layout (Linux 6.1 arch/arm/boot/compressed/head.S, vmlinux.lds.S):
 *   0x24 _magic_sig   0x016F2818
 *   0x28 _magic_start absolute load/run address of the zImage (0 for position-independent ones)
 *   0x2C _magic_end   zImage end address: the file is end − start bytes long
 *   0x30 0x04030201   endianness flag, a plain `.word` in the kernel's data endianness
 *   0x34 0x45454545   "a table follows" magic
 *   0x38 _magic_table offset of the tag table from the start of the zImage
 * For BE8 builds the linker script byte-swaps the magic, start, end, table offset and
 * tags (ZIMAGE_MAGIC) so that they read little-endian like everywhere else; only the
 * endian flag stays in kernel order. Older big-endian builds stored every header word
 * big-endian, so a byte-swapped magic means "read the header big-endian".
 *
 * The tag table is a list of [size in words, tag id, payload…] ending with a size of
 * 0. KRNL_SIZE (0x5A534C4B, "KLSZ") carries the offset of the word holding the
 * decompressed kernel's size (the piggy data's last 4 bytes, little-endian, written
 * by scripts/Makefile.lib size_append) and the kernel's bss size; 6.1 adds
 * TEXT_OFFSET and the decompressor's malloc size.
 */
import { hex } from '../errors.js';
import { ByteReader } from '../util/bytes.js';
import { FDT_MAGIC } from './fdt.js';

export const ZIMAGE_MAGIC = 0x016f2818;
export const ZIMAGE_MAGIC_OFFSET = 0x24;
export const ZIMAGE_TABLE_MAGIC = 0x45454545;
export const ZIMAGE_TAG_KRNL_SIZE = 0x5a534c4b;
/** The FDT header (ten 32-bit words) is the smallest possible blob. */
const FDT_HEADER_SIZE = 40;
/** AUTO_ZRELADDR: the decompressor unpacks into the 128 MiB-aligned window it runs in. */
const ZIMAGE_WINDOW = 0x8000000;
/** More tags than any kernel writes (6.1 writes one): bounds the walk over a corrupt table. */
const MAX_TAGS = 64;

const FORMAT = 'zimage';

export type Endian = 'little' | 'big';

export interface ZImageTag {
  /** Tag id, e.g. ZIMAGE_TAG_KRNL_SIZE. */
  tag: number;
  /** Offset of the tag's first word in the zImage. */
  offset: number;
  /** Payload words (after the size and id words), in header byte order. */
  payload: number[];
}

export interface AppendedDtb {
  /** Offset in the input (= the zImage's size). */
  offset: number;
  /** The FDT header's totalsize. */
  size: number;
  bytes: Uint8Array;
}

export interface ZImage {
  /** The kernel's endianness: from the 0x30 flag, else (pre-flag kernels) from the magic's byte order. */
  endian: Endian;
  endianSource: 'flag' | 'magic';
  /** Byte order of the header words: 'big' only for old big-endian builds with a byte-swapped magic. */
  headerByteOrder: Endian;
  /** Absolute load/run address from the header (0: position independent). */
  start: number;
  end: number;
  /** end − start: the zImage's length in bytes. */
  size: number;
  /** Offset of the tag table, when the header has one. */
  tableOffset?: number;
  tags: ZImageTag[];
  /** Memory the decompressed kernel needs: its size plus bss (from KRNL_SIZE). */
  kernelSize?: number;
  /** The decompressed kernel's size, read at KRNL_SIZE's size pointer. */
  decompressedSize?: number;
  bssSize?: number;
  /** The kernel's TEXT_OFFSET (6.1's KRNL_SIZE tag; 0x8000 on most platforms). */
  textOffset?: number;
  /** The decompressor's malloc area (6.1's KRNL_SIZE tag). */
  mallocSize?: number;
  /** Exactly `size` bytes: the zImage without anything appended. */
  zimage: Uint8Array;
  /** An FDT starting right at `size` (CONFIG_ARM_APPENDED_DTB, kexec's `--dtb` with no file). */
  appendedDtb?: AppendedDtb;
}

const SWAPPED_MAGIC = 0x18286f01;

/** True when the zImage magic (either byte order) is at 0x24. */
export function isZImage(bytes: Uint8Array): boolean {
  if (bytes.length < ZIMAGE_MAGIC_OFFSET + 4) return false;
  const m = new ByteReader(bytes, FORMAT).u32le(ZIMAGE_MAGIC_OFFSET);
  return m === ZIMAGE_MAGIC || m === SWAPPED_MAGIC;
}

export function parseZImage(bytes: Uint8Array): ZImage {
  const r: ByteReader = new ByteReader(bytes, FORMAT);
  const magic = r.u32le(ZIMAGE_MAGIC_OFFSET, 'the zImage magic');
  let headerByteOrder: Endian;
  if (magic === ZIMAGE_MAGIC) headerByteOrder = 'little';
  else if (magic === SWAPPED_MAGIC) headerByteOrder = 'big';
  else r.fail(ZIMAGE_MAGIC_OFFSET, `the zImage magic ${hex(ZIMAGE_MAGIC)} (either byte order)`, hex(magic));
  const word = (off: number, what: string) => (headerByteOrder === 'little' ? r.u32le(off, what) : r.u32be(off, what));

  const start = word(0x28, 'the zImage start address');
  const end = word(0x2c, 'the zImage end address');
  if (end < start) r.fail(0x2c, `an end address at or above the start ${hex(start)}`, hex(end));
  const size = end - start;
  if (size < 0x30) r.fail(0x2c, 'a zImage of at least 0x30 bytes (its own header)', `end − start = ${hex(size)}`);
  if (size > bytes.length) {
    r.fail(
      0x2c,
      `end − start (${hex(size)} bytes) within the ${hex(bytes.length)}-byte input`,
      'a longer zImage (truncated file?)',
    );
  }
  const zimage = bytes.subarray(0, size);
  const z: ByteReader = new ByteReader(zimage, FORMAT);

  let endian: Endian = headerByteOrder;
  let endianSource: ZImage['endianSource'] = 'magic';
  if (size >= 0x34) {
    // The flag's bytes in memory: 01 02 03 04 on a little-endian kernel, 04 03 02 01 on a big-endian one.
    const flag = z.u32le(0x30);
    if (flag === 0x04030201) [endian, endianSource] = ['little', 'flag'];
    else if (flag === 0x01020304) [endian, endianSource] = ['big', 'flag'];
  }

  const result: ZImage = { endian, endianSource, headerByteOrder, start, end, size, tags: [], zimage };

  if (size >= 0x3c && z.u32le(0x34) === ZIMAGE_TABLE_MAGIC) {
    const tableWord = (off: number, what: string) =>
      headerByteOrder === 'little' ? z.u32le(off, what) : z.u32be(off, what);
    const tableOffset = tableWord(0x38, 'the tag table offset');
    result.tableOffset = tableOffset;
    let t = tableOffset;
    for (let n = 0; ; n++) {
      if (n > MAX_TAGS) z.fail(t, `the tag table's end (a zero size word) within ${MAX_TAGS} tags`, 'more tags');
      const words = tableWord(t, 'a tag size word (tag table inside the zImage)');
      if (words === 0) break;
      if (words < 2) z.fail(t, 'a tag size of at least 2 words (size and id)', String(words));
      z.need(t, words * 4, `a ${words}-word tag`);
      const payload: number[] = [];
      for (let i = 2; i < words; i++) payload.push(tableWord(t + i * 4, 'a tag payload word'));
      result.tags.push({ tag: tableWord(t + 4, 'a tag id'), offset: t, payload });
      t += words * 4;
    }
    const krnl = result.tags.find((tag) => tag.tag === ZIMAGE_TAG_KRNL_SIZE);
    if (krnl) {
      const [sizePtr, bss, textOffset, mallocSize] = krnl.payload;
      if (sizePtr === undefined || bss === undefined) {
        z.fail(
          krnl.offset,
          'a KRNL_SIZE tag with a size pointer and a bss size (4 words or more)',
          `${krnl.payload.length + 2} words`,
        );
      }
      // size_append writes little-endian bytes whatever the kernel's endianness.
      const decompressed = z.u32le(sizePtr, 'the decompressed size word KRNL_SIZE points to');
      result.decompressedSize = decompressed;
      result.bssSize = bss;
      result.kernelSize = decompressed + bss;
      if (textOffset !== undefined) {
        // arch/arm/kernel/head.S: "#if (KERNEL_RAM_VADDR & 0xffff) != 0x8000 #error", and
        // KERNEL_RAM_VADDR is the 16 MiB-aligned KERNEL_OFFSET + TEXT_OFFSET; the decompressor
        // unpacks within the 128 MiB window it runs in.
        if ((textOffset & 0xffff) !== 0x8000 || textOffset >= ZIMAGE_WINDOW) {
          z.fail(krnl.offset + 16, `a TEXT_OFFSET ending in 0x8000 (arch/arm/kernel/head.S) below ${hex(ZIMAGE_WINDOW)}`, hex(textOffset));
        }
        result.textOffset = textOffset;
      }
      if (mallocSize !== undefined) result.mallocSize = mallocSize;
    }
  }

  if (bytes.length - size >= 4 && r.u32be(size) === FDT_MAGIC) {
    const total = r.u32be(size + 4, "the appended DTB's totalsize");
    if (total < FDT_HEADER_SIZE) {
      r.fail(size + 4, `an appended DTB totalsize of at least ${FDT_HEADER_SIZE} bytes (the FDT header)`, hex(total));
    }
    if (total > bytes.length - size) {
      const room = bytes.length - size;
      r.fail(size + 4, `an appended DTB totalsize within the ${hex(room)} bytes after the zImage`, hex(total));
    }
    result.appendedDtb = { offset: size, size: total, bytes: bytes.subarray(size, size + total) };
  }
  return result;
}
