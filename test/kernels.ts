/**
 * Minimal kernels built in code, with exactly the header fields a test wants,
 * for layout tests that spell out every address. Real kernels (Debian's, the
 * lab's) are tested beside these.
 */

/** An arm64 Image header (Documentation/arm64/booting.rst) followed by filler up to fileSize. */
export function makeArm64Image(o: { textOffset: number; imageSize: number; flags?: number; fileSize: number }): Uint8Array {
  const b = new Uint8Array(o.fileSize);
  const dv = new DataView(b.buffer);
  dv.setUint32(0x00, 0x14000010, true); // b #0x40 (code0)
  dv.setBigUint64(0x08, BigInt(o.textOffset), true);
  dv.setBigUint64(0x10, BigInt(o.imageSize), true);
  dv.setBigUint64(0x18, BigInt(o.flags ?? 0b1010), true); // 4 KiB pages, place anywhere
  dv.setUint32(0x38, 0x644d5241, true); // "ARM\x64"
  for (let i = 0x40; i < b.length; i++) b[i] = i & 0xff;
  return b;
}

/**
 * A zImage header (arch/arm/boot/compressed/head.S, vmlinux.lds.S) with a
 * KRNL_SIZE tag; the decompressed size sits in the last four bytes as
 * size_append writes it.
 */
export function makeZImage(o: { size: number; decompressed: number; bss: number; textOffset?: number; mallocSize?: number }): Uint8Array {
  const b = new Uint8Array(o.size);
  const dv = new DataView(b.buffer);
  dv.setUint32(0x24, 0x016f2818, true);
  dv.setUint32(0x28, 0, true);
  dv.setUint32(0x2c, o.size, true);
  dv.setUint32(0x30, 0x04030201, true);
  dv.setUint32(0x34, 0x45454545, true);
  dv.setUint32(0x38, 0x100, true);
  const tag = [6, 0x5a534c4b, o.size - 4, o.bss, o.textOffset ?? 0x8000, o.mallocSize ?? 0x10000, 0];
  tag.forEach((w, i) => dv.setUint32(0x100 + i * 4, w, true));
  dv.setUint32(o.size - 4, o.decompressed, true);
  return b;
}
