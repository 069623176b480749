import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PlanError } from '../errors.js';
import { cells, parseFdt, findNode, getProp, readString, readCells, setProp } from '../formats/fdt.js';
import { parseArm64Image } from '../formats/arm64-image.js';
import { parseZImage } from '../formats/zimage.js';
import { makeArm64Image, makeZImage } from '../../test/kernels.js';
import { readFixture } from '../../test/support.js';
import { plan, type PlanInput, type PlanOptions } from './plan.js';
import { buildTrampoline } from './trampoline.js';

const RAM_1G = { ram: [{ start: 0x40000000, end: 0x80000000 }], reserved: [], source: 'test' };
const virt64 = parseFdt(readFixture('dtb', 'qemu-virt-arm64.dtb'));
const virt32 = parseFdt(readFixture('dtb', 'qemu-virt-arm.dtb'));
const entropy = Uint8Array.from({ length: 128 }, (_, i) => i);

function arm64(o: Partial<PlanOptions> = {}, extra: Partial<PlanInput> = {}, image = { textOffset: 0, imageSize: 0x1400000, fileSize: 0x1000000 }) {
  const bytes = makeArm64Image(image);
  return plan({
    kernel: { arch: 'arm64', image: parseArm64Image(bytes), bytes },
    initrd: new Uint8Array(0x180000).fill(0x11),
    dtb: { fdt: virt64, source: 'virt.dtb' },
    memory: RAM_1G,
    options: { commandLine: 'console=ttyAMA0', entropy, ...o },
    ...extra,
  });
}

function arm(o: Partial<PlanOptions> = {}, extra: Partial<PlanInput> = {}) {
  const z = parseZImage(makeZImage({ size: 0x500000, decompressed: 0x1000000, bss: 0x80000 }));
  return plan({
    kernel: { arch: 'arm', zimage: z },
    initrd: new Uint8Array(0x180000).fill(0x22),
    dtb: { fdt: virt32, source: 'virt.dtb' },
    memory: RAM_1G,
    options: { commandLine: 'console=ttyAMA0', entropy, ...o },
    ...extra,
  });
}

const page = (n: number) => Math.ceil(n / 0x1000) * 0x1000;

describe('arm64 layout', () => {
  it('places kernel, initrd, dtb and trampoline in that order from the bottom of RAM', () => {
    const p = arm64();
    const [k, i, d, t] = p.segments;
    assert.deepEqual(p.segments.map((s) => s.kind), ['kernel', 'initrd', 'dtb', 'trampoline']);
    // Kernel: 2 MiB-aligned base + text_offset 0; memsz is image_size (bss included), not the file size.
    assert.equal(k!.mem, 0x40000000);
    assert.equal(k!.memsz, 0x1400000);
    assert.equal(k!.bytes.length, 0x1000000);
    // initrd right after the kernel's image_size.
    assert.equal(i!.mem, 0x41400000);
    assert.equal(i!.memsz, 0x180000);
    assert.equal(i!.bytes.length, 0x180000);
    // dtb right after the initrd; its size is the compact tree + edits + 64 KiB.
    assert.equal(d!.mem, 0x41580000);
    assert.equal(d!.memsz, page(d!.bytes.length));
    // trampoline in the next page, 40 bytes: six instructions and two literals.
    assert.equal(t!.mem, 0x41580000 + d!.memsz);
    assert.equal(t!.memsz, 0x1000);
    assert.deepEqual(t!.bytes, buildTrampoline(0x41580000, 0x40000000));
    assert.equal(p.entry, t!.mem);
    assert.equal(p.flags, 0x00b70000);
    assert.deepEqual(p.dtb, { source: 'virt.dtb', mem: 0x41580000, size: d!.bytes.length });
    assert.deepEqual(p.warnings, []);
  });

  it('writes the command line, 64-bit initrd cells and fresh seeds into the dtb', () => {
    const p = arm64();
    const dtb = parseFdt(p.segments[2]!.bytes);
    const chosen = findNode(dtb, '/chosen')!;
    assert.equal(readString(getProp(chosen, 'bootargs')!), 'console=ttyAMA0');
    assert.deepEqual(readCells(getProp(chosen, 'linux,initrd-start')!, 2), [0x41400000n]);
    assert.deepEqual(readCells(getProp(chosen, 'linux,initrd-end')!, 2), [0x41580000n]);
    assert.deepEqual(getProp(chosen, 'kaslr-seed')!.value, entropy.subarray(0, 8));
    assert.deepEqual(getProp(chosen, 'rng-seed')!.value, entropy.subarray(8, 8 + 32));
    // The rest of the tree is QEMU's, untouched.
    const strip = (n: typeof dtb.root) => ({ ...n, children: n.children.filter((c) => c.name !== 'chosen') });
    assert.deepEqual(strip(dtb.root), strip(virt64.root));
  });

  it('removes the seeds when there is no entropy, and says so', () => {
    const p = arm64({ entropy: undefined as unknown as Uint8Array });
    const chosen = findNode(parseFdt(p.segments[2]!.bytes), '/chosen')!;
    assert.equal(getProp(chosen, 'kaslr-seed'), undefined);
    assert.equal(getProp(chosen, 'rng-seed'), undefined);
    assert.deepEqual(p.warnings, [
      '/chosen/kaslr-seed removed: no entropy was given to refresh it',
      '/chosen/rng-seed removed: no entropy was given to refresh it',
    ]);
  });

  it('a hardboot drops the UEFI tables the EFI stub left in /chosen (gone after the reset), and says so; a kexec keeps them', () => {
    const efiTree = parseFdt(readFixture('dtb', 'qemu-virt-arm64.dtb'));
    const chosen = findNode(efiTree, '/chosen')!;
    setProp(chosen, 'linux,uefi-system-table', cells([0x7c440018], 2));
    setProp(chosen, 'linux,uefi-mmap-start', cells([0x7b000000], 2));
    setProp(chosen, 'linux,uefi-mmap-size', cells([0x1200], 1));
    const uefi = (p: ReturnType<typeof arm64>) => findNode(parseFdt(p.segments.find((x) => x.kind === 'dtb')!.bytes), '/chosen')!.props.map((x) => x.name).filter((n) => n.startsWith('linux,uefi-'));
    const kexec = arm64({}, { dtb: { fdt: efiTree, source: 'efi.dtb' } });
    assert.deepEqual(uefi(kexec), ['linux,uefi-system-table', 'linux,uefi-mmap-start', 'linux,uefi-mmap-size']);
    const hb = arm64({ memMin: 0x50000000, hardboot: true, hardbootPage: 0x7f000000 }, { dtb: { fdt: efiTree, source: 'efi.dtb' } });
    assert.deepEqual(uefi(hb), []);
    assert.deepEqual(hb.warnings, [
      '/chosen/linux,uefi-system-table, linux,uefi-mmap-start, linux,uefi-mmap-size removed: the UEFI tables of this boot are gone after the reset (give the stored kernel its own --dtb on a UEFI machine)',
    ]);
  });

  it('leaves the source tree as it was', () => {
    arm64();
    arm64({ commandLine: 'changed', entropy: undefined as unknown as Uint8Array });
    assert.deepEqual(virt64, parseFdt(readFixture('dtb', 'qemu-virt-arm64.dtb')));
  });

  it('honours text_offset of pre-5.8 kernels', () => {
    const p = arm64({}, {}, { textOffset: 0x80000, imageSize: 0x1400000, fileSize: 0x100000 });
    assert.equal(p.segments[0]!.mem, 0x40080000);
    assert.equal(p.segments[1]!.mem, 0x41480000);
  });

  it('starts at --mem-min and sets the hardboot flag', () => {
    const p = arm64({ memMin: 0x50000000, hardboot: true, hardbootPage: 0x7f000000 });
    assert.equal(p.flags, 0x00b70004);
    assert.deepEqual(p.segments.map((s) => s.mem).slice(0, 3), [0x50000000, 0x51400000, 0x51580000]);
    assert.deepEqual(p.keepClear, [{ start: 0x7f000000, end: 0x7f001000, name: 'hardboot page', kind: 'hardboot-page' }]);
  });

  it('steps around the hardboot page', () => {
    const p = arm64({ hardbootPage: 0x40100000 });
    assert.equal(p.segments[0]!.mem, 0x40200000);
    assert.equal(p.segments[1]!.mem, 0x41600000);
  });

  it('keeps every byte at or below --mem-max', () => {
    const p = arm64({ memMin: 0x40000000, memMax: 0x417fffff });
    for (const s of p.segments) assert.ok(s.mem + s.memsz <= 0x41800000, `${s.kind} ends at ${s.mem + s.memsz}`);
    assert.throws(() => arm64({ memMax: 0x412fffff }), {
      message:
        'no room for the kernel Image (20 MiB): the largest free region left is 19 MiB; RAM from test is [0x40000000, 0x80000000), limited by --mem-min/--mem-max to [0x0, 0x41300000)',
    });
  });

  it('avoids reserved memory and --avoid ranges', () => {
    const p = arm64({ avoid: [{ start: 0x40000000, end: 0x40400000, name: '--avoid' }] }, {
      memory: { ...RAM_1G, reserved: [{ start: 0x41800000, end: 0x41a00000, name: 'reserved' }] },
    });
    assert.equal(p.segments[0]!.mem, 0x40400000);
    // initrd does not fit between kernel end 0x41800000 and … it lands after the reserved block.
    assert.equal(p.segments[1]!.mem, 0x41a00000);
  });

  it('uses the running kernel page size for alignment', () => {
    const p = arm64({ pageSize: 0x10000 });
    for (const s of p.segments) {
      assert.equal(s.mem % 0x10000, 0);
      assert.equal(s.memsz % 0x10000, 0);
    }
  });
});

describe('arm layout', () => {
  it('runs the zImage at the window base + TEXT_OFFSET and keeps the decompressor room clear', () => {
    const p = arm();
    const [k, i, d] = p.segments;
    assert.deepEqual(p.segments.map((s) => s.kind), ['kernel', 'initrd', 'dtb']);
    assert.equal(k!.mem, 0x40008000);
    assert.equal(k!.memsz, 0x500000);
    assert.equal(p.entry, 0x40008000);
    assert.equal(p.flags, 0x00280000);
    // Page table below TEXT_OFFSET; unpacked kernel (16 MiB + 512 KiB bss) from 0x40008000 to 0x41088000,
    // overlapping the zImage, so the decompressor moves itself past it: 5 MiB + 128 KiB scratch.
    assert.deepEqual(p.keepClear, [
      { start: 0x40004000, end: 0x40008000, name: 'decompressor', kind: 'decompressor' },
      { start: 0x40508000, end: 0x415a8000, name: 'decompressor', kind: 'decompressor' },
    ]);
    assert.equal(i!.mem, 0x415a8000);
    assert.equal(d!.mem, 0x415a8000 + 0x180000);
    const chosen = findNode(parseFdt(d!.bytes), '/chosen')!;
    // 32-bit cells on arm.
    assert.deepEqual(readCells(getProp(chosen, 'linux,initrd-start')!, 1), [0x415a8000n]);
    assert.deepEqual(readCells(getProp(chosen, 'linux,initrd-end')!, 1), [0x41728000n]);
    assert.deepEqual(p.warnings, []);
  });

  it('warns that a zImage above the first 128 MiB window loses the RAM below it', () => {
    const p = arm({ memMin: 0x48000000 });
    assert.equal(p.segments[0]!.mem, 0x48008000);
    assert.deepEqual(p.warnings, [
      'the zImage at 0x48008000 unpacks the kernel to 0x48008000: that kernel will not use the 128 MiB of RAM below 0x48000000',
    ]);
  });

  it('keeps the initrd and dtb in lowmem', () => {
    // Free RAM only far above the window base + 760 MiB: the initrd cannot go there.
    assert.throws(
      () => arm({ avoid: [{ start: 0x41600000, end: 0x7fe00000, name: '--avoid' }] }),
      (e: unknown) => e instanceof PlanError && /no room for the initrd/.test(e.message),
    );
  });
});

describe('plan errors', () => {
  it('rejects --mem-min above --mem-max', () => {
    assert.throws(() => arm64({ memMin: 0x60000000, memMax: 0x50000000 }), {
      name: 'PlanError',
      message: '--mem-min 0x60000000 is above --mem-max 0x50000000',
    });
  });

  it('rejects command lines longer than COMMAND_LINE_SIZE − 1', () => {
    assert.doesNotThrow(() => arm64({ commandLine: 'x'.repeat(2047) }));
    assert.throws(() => arm64({ commandLine: 'x'.repeat(2048) }), {
      message: 'the command line is 2048 bytes; arm64 kernels take at most 2047 (COMMAND_LINE_SIZE 2048 with the NUL)',
    });
    assert.doesNotThrow(() => arm({ commandLine: 'x'.repeat(1023) }));
    assert.throws(() => arm({ commandLine: 'é'.repeat(512) }), { message: /1024 bytes; arm kernels take at most 1023/ });
  });

  it('says how much room there was when the initrd does not fit', () => {
    assert.throws(() => arm64({}, { memory: { ram: [{ start: 0x40000000, end: 0x41500000 }], reserved: [], source: '--memory' } }), {
      message:
        'no room for the initrd (1.5 MiB): the largest free region left is 1 MiB; RAM from --memory is [0x40000000, 0x41500000)',
    });
  });

  it('needs a hardboot page for a hardboot load', () => {
    assert.throws(() => arm64({ hardboot: true }), { message: /needs the hardboot page address/ });
  });

  it('refuses big-endian arm64 kernels', () => {
    assert.throws(() => arm64({}, {}, { textOffset: 0, imageSize: 0x200000, fileSize: 0x1000, flags: 0b1011 } as never), {
      message: /big-endian arm64 kernels are not supported/,
    });
  });

  it('finds no usable RAM when the window misses it', () => {
    assert.throws(() => arm64({ memMin: 0x90000000 }), { message: 'no usable RAM in [0x90000000, 0x1fffffffffffff) (--mem-min/--mem-max); RAM from test is [0x40000000, 0x80000000)' });
  });
});

