/**
 * Which kernel a file holds: peels gzip or LZ4 legacy compression, then reads an ARM
 * zImage or an arm64 Image header. Bytes after a compressed stream (Android's
 * Image.gz-dtb / Image.lz4-dtb append DTBs there) are returned as `trailing`.
 */
import { FormatError, hex } from '../errors.js';
import { view } from '../util/bytes.js';
import { type Arm64Image, checkArm64Length, isArm64Image, parseArm64Image } from './arm64-image.js';
import { type Compression, decompress, peekDecompressed, sniffCompression } from './compress.js';
import { isZImage, parseZImage, type ZImage } from './zimage.js';

export interface KernelCommon {
  /** The compression peeled off ('none': the file is the image itself). */
  compression: Compression;
  /** Input bytes taken by the compressed stream (the whole input for 'none'). */
  compressedSize: number;
  /** Input bytes after the compressed stream (appended DTBs); empty for 'none'. */
  trailing: Uint8Array;
}

export type KernelImage =
  | (KernelCommon & { kind: 'zimage'; arch: 'arm' } & ZImage)
  | (KernelCommon & {
      kind: 'arm64-image';
      arch: 'arm64';
      /** The (decompressed) Image: what gets loaded at base + textOffset. */
      image: Uint8Array;
    } & Arm64Image);

export const KERNEL_FORMATS_READ =
  'an ARM zImage (0x016f2818 at 0x24) or an arm64 Image ("ARM\\x64" at 0x38), ' +
  'uncompressed or in gzip or an LZ4 legacy frame';

/**
 * The most a compressed kernel may decompress to: 128 MiB, four times Debian's
 * 6.1 arm64 Image (31 MiB) and three times Android GKI's. A compressed stream is
 * first peeked at: the Image header inside bounds it further (its image_size, or
 * a zImage's end − start), and a stream that holds no kernel header is refused
 * before it is inflated at all.
 */
export const KERNEL_MAX_BYTES = 128 << 20;

/** Enough decompressed bytes to tell an arm64 Image (64-byte header) or a zImage (header to 0x34). */
const HEADER_PEEK = 64;

export function readKernel(bytes: Uint8Array): KernelImage {
  const kernel = identifyImage(bytes, 'none', bytes.length, bytes.subarray(bytes.length));
  if (kernel) return kernel;

  // peekDecompressed() throws for the compressions we only recognise (xz, zstd, …).
  const c = sniffCompression(bytes);
  if (c === 'none') throw new FormatError('kernel', 0, KERNEL_FORMATS_READ, describe(bytes));
  const head = peekDecompressed(bytes, HEADER_PEEK);
  const maxOutput = plausibleKernelSize(head);
  if (maxOutput === undefined) {
    throw new FormatError('kernel', 0, `${c} data holding ${KERNEL_FORMATS_READ}`, `${c} data holding ${describe(head, false)}`);
  }
  const d = decompress(bytes, { maxOutput });
  const inner = identifyImage(d.data, d.compression, d.consumed, d.trailing);
  if (inner) return inner;
  throw new FormatError('kernel', 0, `${c} data holding ${KERNEL_FORMATS_READ}`, `${c} data holding ${describe(d.data)}`);
}

/**
 * How many bytes the kernel whose first bytes are `head` can be, by its own
 * header, capped at KERNEL_MAX_BYTES; undefined when `head` is no kernel header.
 */
function plausibleKernelSize(head: Uint8Array): number | undefined {
  if (isArm64Image(head)) {
    const h = parseArm64Image(head);
    // A pre-3.17 header has no image_size: only the cap bounds it.
    return h.legacyHeader ? KERNEL_MAX_BYTES : Math.min(h.imageSize, KERNEL_MAX_BYTES);
  }
  if (isZImage(head) && head.length >= 0x30) {
    // end − start at 0x2c/0x28 is the zImage's length; parseZImage checks the words once inflated.
    const dv = view(head);
    const le = dv.getUint32(0x24, true) === 0x016f2818;
    const size = dv.getUint32(0x2c, le) - dv.getUint32(0x28, le);
    return size > 0 ? Math.min(size, KERNEL_MAX_BYTES) : KERNEL_MAX_BYTES;
  }
  if (isZImage(head)) return KERNEL_MAX_BYTES;
  return undefined;
}

function identifyImage(
  data: Uint8Array,
  compression: Compression,
  compressedSize: number,
  trailing: Uint8Array,
): KernelImage | undefined {
  const common: KernelCommon = { compression, compressedSize, trailing };
  if (isArm64Image(data)) {
    const header = parseArm64Image(data);
    checkArm64Length(data, header);
    return { ...common, kind: 'arm64-image', arch: 'arm64', image: data, ...header };
  }
  if (isZImage(data)) return { ...common, kind: 'zimage', arch: 'arm', ...parseZImage(data) };
  return undefined;
}

/** What the bytes look like instead, for the error message. */
function describe(bytes: Uint8Array, whole = true): string {
  const ascii = (off: number, s: string) => s.split('').every((c, i) => bytes[off + i] === c.charCodeAt(0));
  const be32 = (off: number) => (bytes.length >= off + 4 ? view(bytes).getUint32(off, false) : -1);
  if (bytes.length === 0) return 'empty input';
  if (ascii(0, '\x7fELF')) return 'an ELF file (a vmlinux? boot the Image or zImage made from it)';
  if (ascii(0, 'ANDROID!')) return 'an Android boot image (unpack its kernel first)';
  if (ascii(0, 'VNDRBOOT')) return 'an Android vendor_boot image (it holds no kernel)';
  if (be32(0) === 0x27051956) return 'a U-Boot legacy uImage (strip its 64-byte header)';
  if (be32(0) === 0xd00dfeed) return 'a flattened device tree (a DTB or FIT image, not a kernel)';
  if (ascii(0x202, 'HdrS')) return 'an x86 bzImage';
  const magic = sniffCompression(bytes);
  if (magic !== 'none') return `${magic}-compressed data`;
  const head = Array.from(bytes.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join(' ');
  return whole ? `an unknown format (${hex(bytes.length)} bytes starting ${head})` : `an unknown format (starting ${head})`;
}
