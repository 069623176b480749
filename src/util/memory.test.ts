import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { covered, formatRange, formatSize, intersect, lowestFit, normalize, parseRangeList, range, subtract } from './memory.js';

describe('ranges', () => {
  it('normalizes: sorts, merges touching and overlapping, drops empty', () => {
    assert.deepEqual(normalize([range(30, 40), range(0, 10), range(10, 20), range(35, 50), range(60, 60)]), [range(0, 20), range(30, 50)]);
  });

  it('subtracts holes from the middle and the edges', () => {
    assert.deepEqual(subtract([range(0, 100)], [range(10, 20), range(90, 120), range(-5, 2)]), [range(2, 10), range(20, 90)]);
  });

  it('intersects lists', () => {
    assert.deepEqual(intersect([range(0, 10), range(20, 30)], [range(5, 25)]), [range(5, 10), range(20, 25)]);
  });

  it('finds the lowest aligned fit, with an offset from the alignment', () => {
    const free = [range(0x1000, 0x3000), range(0x200000, 0x800000)];
    assert.equal(lowestFit(free, 0x1000, { align: 0x1000 }), 0x1000);
    assert.equal(lowestFit(free, 0x3000, { align: 0x1000 }), 0x200000);
    assert.equal(lowestFit(free, 0x100000, { align: 0x200000, offset: 0x80000 }), 0x280000);
    assert.equal(lowestFit(free, 0x10000, { align: 0x1000, from: 0x700001 }), 0x701000);
    assert.equal(lowestFit(free, 0x100000, { align: 0x1000, from: 0x700001 }), undefined);
    assert.equal(lowestFit(free, 0x700000, { align: 0x1000 }), undefined);
  });

  it('lowestFit always returns an aligned place inside one free range', () => {
    const r = fc.tuple(fc.nat(1 << 20), fc.nat(1 << 20)).map(([a, b]) => range(Math.min(a, b), Math.max(a, b)));
    fc.assert(
      fc.property(fc.array(r, { maxLength: 6 }), fc.integer({ min: 1, max: 1 << 16 }), fc.constantFrom(1, 0x10, 0x1000), fc.nat(0x100), (free, len, align, offset) => {
        const at = lowestFit(free, len, { align, offset: offset % align });
        if (at === undefined) return;
        assert.equal((at - (offset % align)) % align, 0);
        assert.ok(covered(range(at, at + len), normalize(free)));
      }),
    );
  });

  it('parses --memory lists with inclusive ends', () => {
    assert.deepEqual(parseRangeList('0x40000000-0x7fffffff,80000000-8fffffff'), [range(0x40000000, 0x80000000), range(0x80000000, 0x90000000)]);
    assert.equal(parseRangeList('0x40000000'), "'0x40000000' is not START-END in hex (e.g. 0x40000000-0x7fffffff)");
    assert.equal(parseRangeList('2000-1000'), "'2000-1000' ends before it starts");
  });

  it('prints ranges and sizes', () => {
    assert.equal(formatRange(range(0x40000000, 0x80000000)), '[0x40000000, 0x80000000)');
    assert.deepEqual([0, 4096, 1536 * 1024, 1 << 30, 0x1400000].map(formatSize), ['0 B', '4 KiB', '1.5 MiB', '1 GiB', '20 MiB']);
  });
});
