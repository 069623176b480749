import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FormatError } from '../errors.js';
import { readFixture } from '../../test/support.js';
import { parseFdt } from '../formats/fdt.js';
import { memoryMapFromFdt } from '../formats/fdt-memory.js';
import { memoryMapFor } from './memory-map.js';

describe('memoryMapFor', () => {
  const virt = parseFdt(readFixture('dtb', 'qemu-virt-arm64.dtb'));
  const j5 = parseFdt(readFixture('dtb', 'msm8916-samsung-j5.dtb'));
  it("the tree's RAM and reservations when no RAM is given", () => {
    assert.deepEqual(memoryMapFor(virt), { ram: [{ start: 0x40000000, end: 0x80000000 }], reserved: [], source: 'DTB /memory and /reserved-memory' });
  });
  it("given RAM replaces the tree's, its reservations stay", () => {
    const m = memoryMapFor(j5, [{ start: 0x80000000, end: 0xc0000000 }]);
    assert.deepEqual(m.ram, [{ start: 0x80000000, end: 0xc0000000 }]);
    assert.deepEqual(m.reserved, memoryMapFromFdt(j5).reserved);
    assert.ok(m.reserved.length > 0);
    assert.equal(m.source, '--memory, DTB /reserved-memory');
  });
  it('a tree whose bootloader fills in the RAM (reg size 0) and no RAM given: a FormatError saying what to give', () => {
    assert.throws(() => memoryMapFor(j5), (e: unknown) => e instanceof FormatError && /give --memory=START-END/.test(e.message));
  });
});
