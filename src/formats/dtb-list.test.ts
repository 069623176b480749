import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FormatError } from '../errors.js';
import { readFixture } from '../../test/support.js';
import { concatBytes } from '../util/bytes.js';
import { appendedDtbs, identityOf, splitDtbs } from './dtb-list.js';
import { parseFdt } from './fdt.js';
import { readKernel } from './kernel.js';

describe('DTB lists', () => {
  const rk = readFixture('dtb', 'rk3399-pinebook-pro.dtb');
  const virt = readFixture('dtb', 'qemu-virt-arm.dtb');

  it('splitDtbs: zero padding skipped, anything else refused', () => {
    const parts = splitDtbs(concatBytes([rk, new Uint8Array(7), virt]));
    assert.deepEqual(parts.map((p) => p.length), [rk.length, virt.length]);
    assert.throws(
      () => splitDtbs(concatBytes([rk, Uint8Array.of(1, 2, 3)])),
      (e: unknown) =>
        e instanceof FormatError &&
        e.message === `<DTB list>: DTB list at offset 0x${rk.length.toString(16)}: expected a DTB (FDT magic 0xd00dfeed) or zero padding, found 3 bytes starting 0x1`,
    );
  });

  it('appendedDtbs: what follows a zImage; nothing after an uncompressed arm64 Image', () => {
    const z = readFixture('bad', 'ok-zimage.bin');
    const file = concatBytes([z, virt]);
    assert.deepEqual(appendedDtbs(file, readKernel(file)).map((d) => d.length), [virt.length]);
    const image = readFixture('bad', 'ok-arm64-image.bin');
    assert.deepEqual(appendedDtbs(image, readKernel(image)), []);
  });

  it("identityOf: the root's model and compatible list", () => {
    assert.deepEqual(identityOf(parseFdt(rk)), { compatible: ['pine64,pinebook-pro', 'rockchip,rk3399'], model: 'Pine64 Pinebook Pro' });
  });
});
