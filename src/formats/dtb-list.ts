/**
 * Device trees as files carry them: several one after another (Image.gz-dtb,
 * zImage-dtb, a bare concatenation), appended to a kernel, and what identifies
 * each (the root's compatible and model).
 */
import { FormatError, hex } from '../errors.js';
import { view } from '../util/bytes.js';
import { type Fdt, FDT_MAGIC, getProp, readStringList } from './fdt.js';
import type { KernelImage } from './kernel.js';

/** The strings of a root property (compatible, model); none when it is absent or not strings. */
export function rootStrings(fdt: Fdt, name: string): string[] {
  const p = getProp(fdt.root, name);
  if (!p) return [];
  try {
    return readStringList(p, `/${name}`);
  } catch (e) {
    if (e instanceof FormatError) return [];
    throw e;
  }
}

/** The root `compatible` list and `model`. */
export function identityOf(fdt: Fdt): { compatible: string[]; model?: string } {
  const model = rootStrings(fdt, 'model')[0];
  return model === undefined ? { compatible: rootStrings(fdt, 'compatible') } : { compatible: rootStrings(fdt, 'compatible'), model };
}

/**
 * DTBs one after another (Image.gz-dtb, zImage-dtb, a bare concatenation),
 * skipping zero padding between them as the fork did. Anything else after a DTB
 * is a FormatError.
 */
export function splitDtbs(bytes: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  const dv = view(bytes);
  let p = 0;
  while (p < bytes.length) {
    if (bytes[p] === 0) {
      p++;
      continue;
    }
    if (bytes.length - p < 8 || dv.getUint32(p, false) !== FDT_MAGIC) {
      throw new FormatError('DTB list', p, `a DTB (FDT magic ${hex(FDT_MAGIC)}) or zero padding`, `${bytes.length - p} bytes starting ${hex(bytes[p]!)}`);
    }
    const total = dv.getUint32(p + 4, false);
    if (total < 40 || total > bytes.length - p) {
      throw new FormatError('DTB list', p + 4, `a totalsize from 0x28 to the ${hex(bytes.length - p)} bytes left`, hex(total));
    }
    out.push(bytes.subarray(p, p + total));
    p += total;
  }
  return out;
}

/** The DTBs appended to a kernel image (zImage-dtb, Image.gz-dtb, Image.lz4-dtb). */
export function appendedDtbs(file: Uint8Array, kernel: KernelImage): Uint8Array[] {
  if (kernel.compression !== 'none') return splitDtbs(kernel.trailing);
  if (kernel.kind === 'zimage') return splitDtbs(file.subarray(kernel.size));
  return []; // an uncompressed arm64 Image has no recorded end
}
