import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { FormatError } from '../errors.js';
import { concatBytes } from '../util/bytes.js';
import { debianKernels, readFixture } from '../../test/support.js';
import { isZImage, parseZImage, ZIMAGE_TAG_KRNL_SIZE } from './zimage.js';
import { throwsFormat as throwsFormatOf } from '../../test/assert.js';

const work = mkdtempSync(join(tmpdir(), 'hardboot-zimage-'));
after(() => rmSync(work, { recursive: true, force: true }));

const arm = debianKernels().arm;
const zImage = new Uint8Array(readFileSync(arm.kernel));

/** `file -b` on some bytes: the reference tool's reading of the header. */
function fileType(bytes: Uint8Array): string {
  const f = join(work, 'probe');
  writeFileSync(f, bytes);
  return execFileSync('file', ['-b', f], { encoding: 'utf8' }).trim();
}

const throwsFormat = (fn: () => unknown, offset?: number, text?: RegExp) => throwsFormatOf(fn, 'zimage', offset, text);

interface Synth {
  size?: number;
  fileSize?: number;
  start?: number;
  order?: 'little' | 'big';
  flag?: number[] | null;
  table?: number[] | null;
  tableOffset?: number;
}

/**
 * A zImage header built from scratch: magic, start, end, endian flag, and an
 * optional tag table (words written in the header's byte order) at tableOffset.
 */
function synth(o: Synth = {}): Uint8Array {
  const size = o.size ?? 0x400;
  const b = new Uint8Array(o.fileSize ?? size);
  const dv = new DataView(b.buffer);
  const le = (o.order ?? 'little') === 'little';
  const start = o.start ?? 0;
  dv.setUint32(0x24, 0x016f2818, le);
  dv.setUint32(0x28, start, le);
  dv.setUint32(0x2c, start + size, le);
  if (o.flag !== null) b.set(o.flag ?? [1, 2, 3, 4], 0x30);
  if (o.table) {
    const at = o.tableOffset ?? 0x100;
    dv.setUint32(0x34, 0x45454545, le);
    dv.setUint32(0x38, at, le);
    o.table.forEach((w, i) => dv.setUint32(at + 4 * i, w, le));
  }
  return b;
}

describe("Debian's armhf zImage", () => {
  const dv = new DataView(zImage.buffer, zImage.byteOffset, zImage.byteLength);
  const z = parseZImage(zImage);

  it('has the header fields a hexdump shows, and the endianness `file` reports', () => {
    assert.equal(dv.getUint32(0x24, true), 0x016f2818);
    assert.equal(z.start, dv.getUint32(0x28, true));
    assert.equal(z.end, dv.getUint32(0x2c, true));
    assert.equal(z.size, z.end - z.start);
    assert.equal(z.size, zImage.length, 'a plain zImage file is exactly end − start bytes');
    assert.equal(z.zimage.length, z.size);
    assert.equal(z.headerByteOrder, 'little');
    assert.equal(z.endianSource, 'flag');
    assert.equal(z.endian, 'little');
    assert.equal(z.appendedDtb, undefined);
    assert.ok(isZImage(zImage));
    assert.match(fileType(zImage.subarray(0, 0x10000)), /ARM boot executable zImage \(little-endian\)/);
  });

  it('has a KRNL_SIZE tag whose size word is the size `xz -d` gives for the compressed kernel inside', () => {
    // Independent walk of the table, straight from the raw words.
    assert.equal(dv.getUint32(0x34, true), 0x45454545);
    const table = dv.getUint32(0x38, true);
    assert.equal(z.tableOffset, table);
    assert.equal(dv.getUint32(table + 4, true), 0x5a534c4b);
    const words = dv.getUint32(table, true);
    assert.equal(z.tags.length, 1);
    assert.equal(z.tags[0]!.tag, ZIMAGE_TAG_KRNL_SIZE);
    assert.deepEqual(z.tags[0]!.payload, Array.from({ length: words - 2 }, (_, i) => dv.getUint32(table + 8 + 4 * i, true)));
    assert.equal(dv.getUint32(table + 4 * words, true), 0, 'table ends with a zero size word');
    const sizePtr = dv.getUint32(table + 8, true);
    const bss = dv.getUint32(table + 12, true);
    const decompressed = dv.getUint32(sizePtr, true);
    assert.equal(z.decompressedSize, decompressed);
    assert.equal(z.bssSize, bss);
    assert.equal(z.kernelSize, decompressed + bss);
    assert.equal(z.textOffset, dv.getUint32(table + 16, true));
    assert.equal(z.mallocSize, dv.getUint32(table + 20, true));

    // Debian builds armmp with CONFIG_KERNEL_XZ: the piggy is an xz stream ending
    // with the 4-byte size word KRNL_SIZE points at.
    assert.match(readFileSync(arm.config, 'utf8'), /^CONFIG_KERNEL_XZ=y$/m);
    const xzMagic = Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]);
    const piggyStart = Buffer.from(zImage.buffer, zImage.byteOffset, sizePtr).lastIndexOf(xzMagic);
    assert.ok(piggyStart > 0);
    const out = execFileSync('xz', ['-dc', '--single-stream'], { input: zImage.subarray(piggyStart, sizePtr + 4), maxBuffer: 1 << 30 });
    assert.equal(out.length, z.decompressedSize);
  });

  it('finds a DTB appended to it, with the size from the FDT header', () => {
    for (const name of ['vexpress-v2p-ca15-tc1.dtb', 'sun7i-a20-cubieboard2.dtb', 'qemu-virt-arm.dtb']) {
      const dtb = readFixture('dtb', name);
      const totalsize = new DataView(dtb.buffer, dtb.byteOffset).getUint32(4, false);
      const withDtb = concatBytes([zImage, dtb, new Uint8Array(100).fill(0xaa)]);
      const p = parseZImage(withDtb);
      assert.equal(p.size, zImage.length);
      assert.deepEqual(p.zimage, zImage);
      assert.ok(p.appendedDtb, name);
      assert.equal(p.appendedDtb.offset, zImage.length);
      assert.equal(p.appendedDtb.size, totalsize);
      assert.equal(p.appendedDtb.size, dtb.length, `${name} is exactly totalsize bytes`);
      assert.deepEqual(p.appendedDtb.bytes, dtb);
    }
  });

  it('rejects an appended DTB whose totalsize does not fit, and a truncated zImage', () => {
    const dtb = readFixture('dtb', 'vexpress-v2p-ca15-tc1.dtb');
    const n = zImage.length;
    throwsFormat(() => parseZImage(concatBytes([zImage, dtb.subarray(0, dtb.length - 1)])), n + 4, /totalsize within the 0x32df bytes/);
    const tiny = dtb.slice(0, 64);
    new DataView(tiny.buffer).setUint32(4, 8, false);
    throwsFormat(() => parseZImage(concatBytes([zImage, tiny])), n + 4, /at least 40 bytes/);
    throwsFormat(() => parseZImage(zImage.subarray(0, n - 1)), 0x2c, /truncated/);
  });
});

describe('zImage header variants', () => {
  it('reads the endian flag as `file` does: little, big (BE8), and absent (pre-3.x)', () => {
    const little = parseZImage(synth());
    assert.deepEqual([little.endian, little.endianSource, little.headerByteOrder], ['little', 'flag', 'little']);
    assert.match(fileType(synth()), /zImage \(little-endian\)/);

    // BE8: magic, start and end swapped to little-endian by the linker script, flag in kernel order.
    const be8 = synth({ flag: [4, 3, 2, 1] });
    const p = parseZImage(be8);
    assert.deepEqual([p.endian, p.endianSource, p.headerByteOrder, p.size], ['big', 'flag', 'little', 0x400]);
    assert.match(fileType(be8), /zImage \(big-endian\)/);

    // Old big-endian build: every header word big-endian.
    const be = synth({ order: 'big', flag: [4, 3, 2, 1], start: 0x10008000 });
    const q = parseZImage(be);
    assert.deepEqual([q.endian, q.headerByteOrder, q.start, q.size], ['big', 'big', 0x10008000, 0x400]);
    assert.match(fileType(be), /zImage \(big-endian\)/);

    // No flag (an instruction word there): endianness from the magic's byte order.
    const old = parseZImage(synth({ order: 'big', flag: [0xe1, 0xa0, 0x00, 0x00] }));
    assert.deepEqual([old.endian, old.endianSource], ['big', 'magic']);
    assert.equal(parseZImage(synth({ flag: [0xe1, 0xa0, 0x00, 0x00] })).endian, 'little');
  });

  it('reads tag tables: 6.1 (6 words), older (4 words), unknown tags, big-endian words', () => {
    const krnl = 0x5a534c4b;
    const v61 = synth({ table: [6, krnl, 0x200, 0x3000, 0x8000, 0x10000, 0] });
    new DataView(v61.buffer).setUint32(0x200, 0x123456, true);
    const a = parseZImage(v61);
    assert.deepEqual([a.decompressedSize, a.bssSize, a.kernelSize, a.textOffset, a.mallocSize], [0x123456, 0x3000, 0x126456, 0x8000, 0x10000]);

    const old = synth({ table: [3, 0x11111111, 7, 4, krnl, 0x1fc, 0x10, 0] });
    new DataView(old.buffer).setUint32(0x1fc, 1000, true);
    const b = parseZImage(old);
    assert.deepEqual(b.tags.map((t) => [t.tag, t.payload.length]), [[0x11111111, 1], [krnl, 2]]);
    assert.deepEqual([b.kernelSize, b.textOffset, b.mallocSize], [1016, undefined, undefined]);

    // The size word stays little-endian (size_append) even when the header words are big-endian.
    const be = synth({ order: 'big', table: [4, krnl, 0x1f0, 0x20, 0] });
    new DataView(be.buffer).setUint32(0x1f0, 5000, true);
    assert.equal(parseZImage(be).kernelSize, 5000 + 0x20);

    const none = parseZImage(synth());
    assert.deepEqual([none.tableOffset, none.tags, none.kernelSize], [undefined, [], undefined]);
  });

  it('rejects broken tag tables with the offending offset', () => {
    const krnl = 0x5a534c4b;
    throwsFormat(() => parseZImage(synth({ table: [6], tableOffset: 0x3fc })), 0x3fc, /6-word tag/);
    throwsFormat(() => parseZImage(synth({ table: [0], tableOffset: 0x400, fileSize: 0x800 })), 0x400, /tag table inside the zImage/);
    throwsFormat(() => parseZImage(synth({ table: [1, krnl, 0] })), 0x100, /at least 2 words/);
    throwsFormat(() => parseZImage(synth({ table: [0x1000, krnl, 0] })), 0x100, /4096-word tag/);
    throwsFormat(() => parseZImage(synth({ table: [3, krnl, 0x10, 0] })), 0x100, /KRNL_SIZE tag with a size pointer/);
    throwsFormat(() => parseZImage(synth({ table: [4, krnl, 0x3fe, 0, 0] })), 0x3fe, /decompressed size word/);
    // A table that never ends (every tag 2 words, never 0).
    throwsFormat(() => parseZImage(synth({ table: Array.from({ length: 200 }, (_, i) => (i % 2 ? 7 : 2)), tableOffset: 0x40 })), undefined, /within 64 tags/);
  });

  it('rejects bad magic, short input, end below start, a size smaller than the header or larger than the file', () => {
    throwsFormat(() => parseZImage(new Uint8Array(0x20)), 0x24);
    throwsFormat(() => parseZImage(new Uint8Array(0x400)), 0x24, /0x16f2818/);
    throwsFormat(() => parseZImage(synth().subarray(0, 0x2c)), 0x2c);
    const backwards = synth();
    new DataView(backwards.buffer).setUint32(0x2c, 0x10, true);
    backwards.set([0, 1, 0, 0], 0x28);
    throwsFormat(() => parseZImage(backwards), 0x2c, /at or above the start/);
    throwsFormat(() => parseZImage(synth({ size: 0x20, fileSize: 0x400 })), 0x2c, /at least 0x30 bytes/);
    throwsFormat(() => parseZImage(synth({ size: 0x800, fileSize: 0x400 })), 0x2c, /0x800 bytes\) within the 0x400-byte input/);
  });

  it('random bytes, and random headers around a planted magic, throw nothing but FormatError', () => {
    const only = (bytes: Uint8Array) => {
      try {
        parseZImage(bytes);
      } catch (e) {
        if (!(e instanceof FormatError)) throw e;
      }
    };
    fc.assert(fc.property(fc.uint8Array({ maxLength: 256 }), only), { numRuns: 2000 });
    fc.assert(
      fc.property(
        fc.integer({ min: 0x24, max: 0x800 }),
        fc.constantFrom<'little' | 'big'>('little', 'big'),
        fc.array(fc.oneof(fc.nat(0x400), fc.constantFrom(0, 2, 4, 6, 0x45454545, 0x5a534c4b), fc.nat()), { minLength: 8, maxLength: 64 }),
        fc.nat(0x400),
        (fileSize, order, words, tail) => {
          const b = new Uint8Array(fileSize + 4 + tail);
          const dv = new DataView(b.buffer);
          dv.setUint32(0x24, 0x016f2818, order === 'little');
          const le = order === 'little';
          words.forEach((w, i) => {
            if (0x28 + 4 * i + 4 <= b.length) dv.setUint32(0x28 + 4 * i, w >>> 0, le);
          });
          // Point the table into the random words now and then.
          if (words[3] === 0x45454545 && b.length >= 0x3c) dv.setUint32(0x38, 0x40, le);
          if (b.length >= fileSize + 8 && tail % 2) dv.setUint32(fileSize, 0xd00dfeed, false);
          only(b);
          only(b.subarray(0, fileSize));
        },
      ),
      { numRuns: 3000 },
    );
  });
});
