/**
 * The arm64 entry trampoline for plain kexec_load.
 *
 * Linux 6.1's arm64 relocate_kernel.S enters the new image with x0 =
 * kimage->arch.dtb_mem, which only kexec_file_load sets; with kexec_load it is 0.
 * Documentation/arm64/booting.rst requires "x0 = physical address of device tree
 * blob (dtb) in system RAM" and "x1 = 0, x2 = 0, x3 = 0 (reserved for future use)".
 * So the entry we hand the kernel is this page, which sets them and branches to
 * the Image. It runs with the MMU off, so it uses only PC-relative literals.
 *
 * Instructions are always little-endian on AArch64; the literals are read as data
 * and so follow the data endianness of the CPU at entry, which for the little-endian
 * kernels we load (Image flags bit 0 = 0) is little-endian too.
 */

/** A64 `LDR Xt, label` (literal, 64-bit): imm19 = (label − pc) / 4. */
function ldrLiteral64(rt: number, pcRelative: number): number {
  if (pcRelative % 4 !== 0 || pcRelative < 0 || pcRelative >= 1 << 20) throw new RangeError('literal out of reach');
  return (0x58000000 | ((pcRelative / 4) << 5) | rt) >>> 0;
}

/** A64 `MOV Xd, XZR`, the alias of `ORR Xd, XZR, XZR`. */
function movZero(rd: number): number {
  return (0xaa1f03e0 | rd) >>> 0;
}

/** A64 `BR Xn`. */
function br(rn: number): number {
  return (0xd61f0000 | (rn << 5)) >>> 0;
}

/** Byte offsets of the two 64-bit literals the code reads. */
export const TRAMPOLINE_DTB_OFFSET = 0x18;
export const TRAMPOLINE_KERNEL_OFFSET = 0x20;
export const TRAMPOLINE_SIZE = 0x28;

/** The code words, each with the assembly it encodes. */
export function trampolineCode(): { word: number; asm: string }[] {
  return [
    { word: ldrLiteral64(0, TRAMPOLINE_DTB_OFFSET - 0x00), asm: 'ldr x0, dtb' },
    { word: movZero(1), asm: 'mov x1, xzr' },
    { word: movZero(2), asm: 'mov x2, xzr' },
    { word: movZero(3), asm: 'mov x3, xzr' },
    { word: ldrLiteral64(4, TRAMPOLINE_KERNEL_OFFSET - 0x10), asm: 'ldr x4, kernel' },
    { word: br(4), asm: 'br x4' },
  ];
}

/**
 * The trampoline's bytes: six instructions at 0x00–0x17, then `dtb` (0x18) and
 * `kernel` (0x20) as 64-bit little-endian physical addresses.
 */
export function buildTrampoline(dtbAddress: number, kernelEntry: number): Uint8Array {
  const out = new Uint8Array(TRAMPOLINE_SIZE);
  const dv = new DataView(out.buffer);
  trampolineCode().forEach(({ word }, i) => dv.setUint32(i * 4, word, true));
  dv.setBigUint64(TRAMPOLINE_DTB_OFFSET, BigInt(dtbAddress), true);
  dv.setBigUint64(TRAMPOLINE_KERNEL_OFFSET, BigInt(kernelEntry), true);
  return out;
}
