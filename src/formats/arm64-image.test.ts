import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { FormatError } from '../errors.js';
import { debianKernels } from '../../test/support.js';
import { isArm64Image, parseArm64Image } from './arm64-image.js';
import { throwsFormat as throwsFormatOf } from '../../test/assert.js';

const work = mkdtempSync(join(tmpdir(), 'hardboot-arm64-'));
after(() => rmSync(work, { recursive: true, force: true }));

const image = new Uint8Array(readFileSync(debianKernels().arm64.kernel));

/** What `file -b` says about the header: endianness and the page-size words it prints. */
function fileSays(bytes: Uint8Array): { text: string; endian: string; pages: string[] } {
  const f = join(work, 'probe');
  writeFileSync(f, bytes);
  const text = execFileSync('file', ['-b', f], { encoding: 'utf8' }).trim();
  assert.match(text, /^Linux kernel ARM64 boot executable Image/);
  return { text, endian: /(little|big)-endian/.exec(text)?.[1] ?? '?', pages: text.match(/\d+K pages/g) ?? [] };
}

/** The first 64 KiB of the real Image with header fields replaced. */
function patched(set: { textOffset?: bigint; imageSize?: bigint; flags?: bigint }): Uint8Array {
  const b = image.slice(0, 0x10000);
  const dv = new DataView(b.buffer);
  if (set.textOffset !== undefined) dv.setBigUint64(0x08, set.textOffset, true);
  if (set.imageSize !== undefined) dv.setBigUint64(0x10, set.imageSize, true);
  if (set.flags !== undefined) dv.setBigUint64(0x18, set.flags, true);
  return b;
}

const throwsFormat = (fn: () => unknown, offset: number, text?: RegExp) => throwsFormatOf(fn, 'arm64-image', offset, text);

describe("Debian's arm64 Image", () => {
  const dv = new DataView(image.buffer, image.byteOffset, image.byteLength);
  const h = parseArm64Image(image);

  it('has the header fields a hexdump shows', () => {
    assert.ok(isArm64Image(image));
    assert.equal(dv.getUint32(0x38, true), 0x644d5241);
    assert.equal(new TextDecoder().decode(image.subarray(0x38, 0x3c)), 'ARMd');
    assert.equal(h.code0, dv.getUint32(0, true));
    assert.equal(h.code1, dv.getUint32(4, true));
    assert.equal(h.rawTextOffset, dv.getBigUint64(0x08, true));
    assert.equal(h.rawImageSize, dv.getBigUint64(0x10, true));
    assert.equal(h.rawFlags, dv.getBigUint64(0x18, true));
    assert.equal(h.peOffset, dv.getUint32(0x3c, true));
    assert.equal(h.textOffset, Number(dv.getBigUint64(0x08, true)));
    assert.equal(h.imageSize, Number(dv.getBigUint64(0x10, true)));
    assert.ok(h.imageSize >= image.length, 'image_size covers the file and the bss after it');
    assert.equal(h.legacyHeader, false);
    const flags = Number(dv.getBigUint64(0x18, true));
    assert.equal(h.bigEndian, (flags & 1) === 1);
    assert.equal(h.pageSize, [0, 4096, 16384, 65536][(flags >> 1) & 3]);
    assert.equal(h.placeAnywhere, (flags & 8) === 8);
  });

  it('agrees with `file` on endianness and page size', () => {
    const said = fileSays(image.subarray(0, 0x10000));
    assert.equal(said.endian, h.bigEndian ? 'big' : 'little');
    assert.deepEqual(said.pages, [`${h.pageSize / 1024}K pages`]);
  });

  it('is an EFI stub kernel: "MZ" at 0 and "PE\\0\\0" at res5', () => {
    assert.equal(h.efi, true);
    assert.equal(dv.getUint16(0, true), 0x5a4d);
    assert.equal(dv.getUint32(h.peOffset, true), 0x00004550);
    assert.equal(parseArm64Image(patched({})).efi, true);
    const noMz = patched({});
    noMz[0] = 0;
    assert.equal(parseArm64Image(noMz).efi, false);
  });
});

describe('arm64 Image header variants', () => {
  it('decodes every flags value; endianness and 4K/16K/unspecified pages match `file`', () => {
    for (let flags = 0; flags < 16; flags++) {
      const h = parseArm64Image(patched({ flags: BigInt(flags) | 0xf0n })); // reserved bits are ignored
      const field = (flags >> 1) & 3;
      assert.equal(h.bigEndian, (flags & 1) === 1);
      assert.equal(h.placeAnywhere, (flags & 8) === 8);
      assert.equal(h.pageSize, [0, 4096, 16384, 65536][field]);
      const said = fileSays(patched({ flags: BigInt(flags) }));
      assert.equal(said.endian, h.bigEndian ? 'big' : 'little', said.text);
      // file 5.44 tests the two page-size bits one by one, so for the value 3 (64K) it
      // prints "4K pages, 16K pages, 32K pages"; booting.rst is the authority there.
      if (field !== 3) assert.deepEqual(said.pages, field === 0 ? [] : [`${h.pageSize / 1024}K pages`], said.text);
    }
  });

  it('treats image_size 0 as a pre-3.17 kernel: text_offset 0x80000, size = file length', () => {
    const b = patched({ imageSize: 0n, textOffset: 0x80000n, flags: 0n });
    const h = parseArm64Image(b);
    assert.deepEqual([h.legacyHeader, h.textOffset, h.imageSize, h.bigEndian, h.pageSize], [true, 0x80000, b.length, false, 0]);
    // A big-endian pre-3.17 kernel wrote text_offset 0x80000 big-endian.
    const be = patched({ imageSize: 0n });
    new DataView(be.buffer).setBigUint64(0x08, 0x80000n, false);
    const hb = parseArm64Image(be);
    assert.deepEqual([hb.legacyHeader, hb.textOffset, hb.bigEndian], [true, 0x80000, true]);
    assert.equal(hb.rawTextOffset, 0x80000n << 24n);
  });

  it('rejects a short header, a wrong magic, text_offset ≥ 2 MiB and image_size ≥ 2^53', () => {
    throwsFormat(() => parseArm64Image(image.subarray(0, 63)), 0, /64-byte arm64 Image header/);
    const bad = patched({});
    bad[0x3b] = 0x65;
    throwsFormat(() => parseArm64Image(bad), 0x38, /0x644d5241/);
    throwsFormat(() => parseArm64Image(patched({ textOffset: 0x200000n })), 0x08, /below 0x200000/);
    throwsFormat(() => parseArm64Image(patched({ imageSize: 1n << 53n })), 0x10, /below 2\^53/);
    assert.equal(parseArm64Image(patched({ textOffset: 0x1ff000n })).textOffset, 0x1ff000);
  });

  it('random bytes, and random headers with the magic planted, throw nothing but FormatError', () => {
    const only = (bytes: Uint8Array) => {
      try {
        parseArm64Image(bytes);
      } catch (e) {
        if (!(e instanceof FormatError)) throw e;
      }
    };
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), only), { numRuns: 2000 });
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 64, maxLength: 300 }), fc.bigUint64Array({ minLength: 3, maxLength: 3 }), (bytes, fields) => {
        const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        dv.setUint32(0x38, 0x644d5241, true);
        fields.forEach((v, i) => dv.setBigUint64(8 + 8 * i, i === 0 ? v % 0x400000n : v >> BigInt(i * 8), true));
        only(bytes);
      }),
      { numRuns: 2000 },
    );
  });
});
