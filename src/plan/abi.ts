/** Numbers fixed by the kernel's ABI, each with where it is defined. */

export type Arch = 'arm' | 'arm64';

/** include/uapi/linux/kexec.h: KEXEC_ARCH_ARM (40 << 16), KEXEC_ARCH_AARCH64 (183 << 16). */
export const KEXEC_ARCH: Record<Arch, number> = { arm: 40 << 16, arm64: 183 << 16 };

/**
 * The historical kexec-hardboot flag (MultiROM era), the 6.1 series' bit. Linux
 * 6.1 leaves bit 2 free (KEXEC_FLAGS = ON_CRASH | PRESERVE_CONTEXT); later
 * mainline gives it to KEXEC_UPDATE_ELFCOREHDR, so the 6.12 series uses 0x8000.
 * hardboot sends the bit the running kernel announces in
 * /sys/kernel/kexec_hardboot/flag; this one only where it has nothing to read.
 */
export const KEXEC_HARDBOOT = 0x00000004;

/** include/uapi/linux/kexec.h: KEXEC_SEGMENT_MAX. */
export const KEXEC_SEGMENT_MAX = 16;

/** arch/{arm,arm64}/include/uapi/asm/setup.h: COMMAND_LINE_SIZE, including the NUL. */
export const COMMAND_LINE_SIZE: Record<Arch, number> = { arm: 1024, arm64: 2048 };

/** The hardboot page's record is written in one page; the page itself is avoided whole. */
export const HARDBOOT_PAGE_SIZE = 0x1000;
