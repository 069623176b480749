import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import * as zlib from 'node:zlib';
import fc from 'fast-check';
import { FormatError } from '../errors.js';
import { concatBytes } from '../util/bytes.js';
import { debianKernels, readFixture } from '../../test/support.js';
import { parseArm64Image } from './arm64-image.js';
import { readKernel } from './kernel.js';
import { parseZImage } from './zimage.js';
import { throwsFormat as throwsFormatOf, same } from '../../test/assert.js';

const kernels = debianKernels();
const image = new Uint8Array(readFileSync(kernels.arm64.kernel));
const zImage = new Uint8Array(readFileSync(kernels.arm.kernel));
const dtbA = readFixture('dtb', 'msm8994-huawei-angler-rev-101.dtb');
const dtbB = readFixture('dtb', 'msm8916-samsung-j5.dtb');

function tool(cmd: string, args: string[], input: Uint8Array): Uint8Array {
  return new Uint8Array(execFileSync(cmd, args, { input, maxBuffer: 1 << 30 }));
}

/** scripts/Makefile.lib size_append: the uncompressed size as 4 little-endian bytes. */
function sizeAppend(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, true);
  return b;
}


const throwsFormat = (fn: () => unknown, format: string, text?: RegExp) => throwsFormatOf(fn, format, undefined, text);

describe('readKernel: arm64', () => {
  const header = parseArm64Image(image);

  it("reads Debian's uncompressed Image", () => {
    const k = readKernel(image);
    assert.equal(k.kind, 'arm64-image');
    assert.equal(k.arch, 'arm64');
    assert.equal(k.compression, 'none');
    assert.equal(k.compressedSize, image.length);
    assert.equal(k.trailing.length, 0);
    if (k.kind !== 'arm64-image') return;
    assert.equal(k.image, image);
    assert.equal(k.imageSize, header.imageSize);
    assert.equal(k.pageSize, header.pageSize);
  });

  it('reads Image.gz made by the gzip CLI', () => {
    const gz = tool('gzip', ['-c'], image);
    const k = readKernel(gz);
    assert.equal(k.compression, 'gzip');
    assert.equal(k.compressedSize, gz.length);
    assert.equal(k.trailing.length, 0);
    assert.ok(k.kind === 'arm64-image' && same(k.image, image), 'decompressed Image equals the original');
    assert.equal(k.textOffset, header.textOffset);
  });

  it("reads Android's Image.gz-dtb (node:zlib gzip, two DTBs after it) and hands back the DTBs", () => {
    const gz = new Uint8Array(zlib.gzipSync(image, { level: 6 }));
    const dtbs = concatBytes([dtbA, dtbB]);
    const k = readKernel(concatBytes([gz, dtbs]));
    assert.equal(k.compression, 'gzip');
    assert.equal(k.compressedSize, gz.length);
    assert.deepEqual(k.trailing, dtbs);
    assert.ok(k.kind === 'arm64-image' && same(k.image, image));
  });

  it("reads Image.lz4 as Linux builds it (lz4 -l -9, size_append), with and without a DTB after it", () => {
    const lz = concatBytes([tool('lz4', ['-l', '-9', '-c'], image), sizeAppend(image.length)]);
    const k = readKernel(lz);
    assert.equal(k.compression, 'lz4-legacy');
    assert.equal(k.compressedSize, lz.length, 'the size word belongs to the compressed file');
    assert.equal(k.trailing.length, 0);
    assert.ok(k.kind === 'arm64-image' && same(k.image, image));

    const k2 = readKernel(concatBytes([lz, dtbA]));
    assert.equal(k2.compressedSize, lz.length);
    assert.deepEqual(k2.trailing, dtbA);

    const plain = tool('lz4', ['-l', '-1', '-c'], image);
    const k3 = readKernel(concatBytes([plain, dtbA]));
    assert.equal(k3.compressedSize, plain.length);
    assert.deepEqual(k3.trailing, dtbA);
    assert.ok(k3.kind === 'arm64-image' && same(k3.image, image));
  });
});

describe('readKernel: arm', () => {
  it("reads Debian's zImage and a DTB appended to it", () => {
    const k = readKernel(zImage);
    assert.equal(k.kind, 'zimage');
    assert.equal(k.arch, 'arm');
    assert.equal(k.compression, 'none');
    if (k.kind !== 'zimage') return;
    assert.equal(k.size, zImage.length);
    assert.equal(k.kernelSize, parseZImage(zImage).kernelSize);

    const dtb = readFixture('dtb', 'vexpress-v2p-ca15-tc1.dtb');
    const k2 = readKernel(concatBytes([zImage, dtb]));
    assert.ok(k2.kind === 'zimage' && k2.appendedDtb);
    assert.equal(k2.appendedDtb.offset, zImage.length);
    assert.equal(k2.appendedDtb.size, dtb.length);
  });

  it('reads a gzipped zImage', () => {
    const k = readKernel(tool('gzip', ['-c', '-1'], zImage));
    assert.equal(k.kind, 'zimage');
    assert.equal(k.compression, 'gzip');
    assert.ok(k.kind === 'zimage' && same(k.zimage, zImage));
  });
});

describe('readKernel: what it refuses', () => {
  it('names compressions it cannot undo', () => {
    throwsFormat(() => readKernel(tool('xz', ['-c', '-0'], image.subarray(0, 1 << 20))), 'xz', /not supported: decompress it first \(xz -d\)/);
    throwsFormat(() => readKernel(tool('lz4', ['-c'], image.subarray(0, 1 << 20))), 'lz4-frame', /lz4 -d/);
  });

  it('lists the formats it reads when the input is something else, and says what it looks like', () => {
    const list = /ARM zImage .*arm64 Image .*gzip .*LZ4 legacy frame/;
    throwsFormat(() => readKernel(new Uint8Array(4096)), 'kernel', list);
    throwsFormat(() => readKernel(new Uint8Array(0)), 'kernel', /empty input/);
    throwsFormat(() => readKernel(concatBytes([Uint8Array.of(0x7f, 0x45, 0x4c, 0x46, 2, 1, 1), new Uint8Array(100)])), 'kernel', /an ELF file/);
    throwsFormat(() => readKernel(concatBytes([new TextEncoder().encode('ANDROID!'), new Uint8Array(2000)])), 'kernel', /Android boot image/);
    throwsFormat(() => readKernel(concatBytes([Uint8Array.of(0x27, 0x05, 0x19, 0x56), new Uint8Array(100)])), 'kernel', /uImage/);
    throwsFormat(() => readKernel(dtbA), 'kernel', /device tree/);
    // Compressed, but not a kernel inside.
    throwsFormat(() => readKernel(tool('gzip', ['-c'], dtbA)), 'kernel', /gzip data holding a flattened device tree/);
    throwsFormat(() => readKernel(tool('lz4', ['-l', '-c'], new Uint8Array(5000))), 'kernel', /lz4-legacy data holding an unknown format/);
  });

  it('random bytes, bare or behind a gzip or LZ4 legacy magic, throw nothing but FormatError', () => {
    const prefixes = [new Uint8Array(0), Uint8Array.of(0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3), Uint8Array.of(0x02, 0x21, 0x4c, 0x18)];
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1024 }), fc.nat(2), (bytes, p) => {
        try {
          readKernel(concatBytes([prefixes[p]!, bytes]));
        } catch (e) {
          if (!(e instanceof FormatError)) throw e;
        }
      }),
      { numRuns: 3000 },
    );
  });
});
