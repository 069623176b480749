/**
 * Which kernel a file holds: peels gzip or LZ4 legacy compression, then reads an ARM
 * zImage or an arm64 Image header. Bytes after a compressed stream (Android's
 * Image.gz-dtb / Image.lz4-dtb append DTBs there) are returned as `trailing`.
 */
import { FormatError, hex } from '../errors.js';
import { view } from '../util/bytes.js';
import { type Arm64Image, isArm64Image, parseArm64Image } from './arm64-image.js';
import { type Compression, decompress, sniffCompression } from './compress.js';
import { isZImage, parseZImage, type ZImage } from './zimage.js';

interface KernelCommon {
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

export function readKernel(bytes: Uint8Array): KernelImage {
  const kernel = identifyImage(bytes, 'none', bytes.length, bytes.subarray(bytes.length));
  if (kernel) return kernel;

  // decompress() throws for the compressions we only recognise (xz, zstd, …).
  const d = decompress(bytes);
  if (d.compression !== 'none') {
    const inner = identifyImage(d.data, d.compression, d.consumed, d.trailing);
    if (inner) return inner;
    const c = d.compression;
    throw new FormatError('kernel', 0, `${c} data holding ${KERNEL_FORMATS_READ}`, `${c} data holding ${describe(d.data)}`);
  }
  throw new FormatError('kernel', 0, KERNEL_FORMATS_READ, describe(bytes));
}

function identifyImage(
  data: Uint8Array,
  compression: Compression,
  compressedSize: number,
  trailing: Uint8Array,
): KernelImage | undefined {
  const common: KernelCommon = { compression, compressedSize, trailing };
  if (isArm64Image(data)) {
    return { ...common, kind: 'arm64-image', arch: 'arm64', image: data, ...parseArm64Image(data) };
  }
  if (isZImage(data)) return { ...common, kind: 'zimage', arch: 'arm', ...parseZImage(data) };
  return undefined;
}

/** What the bytes look like instead, for the error message. */
function describe(bytes: Uint8Array): string {
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
  return `an unknown format (${hex(bytes.length)} bytes starting ${head})`;
}
