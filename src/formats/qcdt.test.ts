import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { FormatError } from '../errors.js';
import { concatBytes, view } from '../util/bytes.js';
import { readFixture } from '../../test/support.js';
import { onlyFormatErrors, same, throwsExactly } from '../../test/assert.js';
import { parseFdt } from './fdt.js';
import { dtsToDtb } from '../../test/fdt-tools.js';
import { parseQcdt, type QcdtEntrySpec, qcdtIdsFromFdt, writeQcdt } from './qcdt.js';

const angler = readFixture('dtb', 'msm8994-huawei-angler-rev-101.dtb');
const bullhead10 = readFixture('qcom', 'msm8992-lg-bullhead-rev-10.dtb');
const bullhead101 = readFixture('qcom', 'msm8992-lg-bullhead-rev-101.dtb');
const libra = readFixture('qcom', 'msm8992-xiaomi-libra.dtb');
const ivy = readFixture('qcom', 'msm8994-sony-xperia-kitakami-ivy.dtb');
const REAL = [angler, bullhead10, bullhead101, libra, ivy];

/**
 * Every entry dtbTool would make from these DTBs. They all carry msm-id pairs, board-id and pmic-id (v3
 * ids); for an older table, as dtbTool -2 does, the pmic ids (v2) and the subtype (v1) are left out.
 */
function entriesOf(dtbs: Uint8Array[], version: 1 | 2 | 3 = 3): QcdtEntrySpec[] {
  return dtbs.flatMap((dtb) =>
    qcdtIdsFromFdt(parseFdt(dtb)).ids.map((ids) => ({
      ...ids,
      subtype: version >= 2 ? ids.subtype : 0,
      pmic: version >= 3 ? ids.pmic : [0, 0, 0, 0],
      dtb,
    })),
  );
}



/** dtbTool main(): `padding = page_size - (n % page_size)` — a full page when n is aligned. */
const dtbToolPad = (n: number, page: number) => n + (page - (n % page));

describe('qcdtIdsFromFdt: the ids dtbTool reads from real DTBs', () => {
  it('angler: one msm-id pair × one board-id pair × one pmic quad → version 3', () => {
    const r = qcdtIdsFromFdt(parseFdt(angler));
    assert.equal(r.version, 3);
    assert.deepEqual(r.ids, [{ platform: 0xcf, variant: 0x1f5a, subtype: 0, socRev: 0x20000, pmic: [0x10009, 0x1000a, 0, 0] }]);
  });
  it('bullhead rev 1.01: two msm-id pairs ("not matched pairs" with board-id) → two id sets', () => {
    const r = qcdtIdsFromFdt(parseFdt(bullhead101));
    assert.deepEqual(
      r.ids.map((i) => [i.platform, i.variant, i.subtype, i.socRev]),
      [[0xfb, 0xb64, 0, 0], [0xfc, 0xb64, 0, 0]],
    );
  });
  it('a v1-style tree: msm-id triples, no board-id → version 1', () => {
    const dtb = dtsToDtb('/dts-v1/; / { qcom,msm-id = <126 8 0x20000>, <126 8 0x10000>; };');
    const r = qcdtIdsFromFdt(parseFdt(dtb));
    assert.equal(r.version, 1);
    assert.deepEqual(r.ids.map((i) => [i.platform, i.variant, i.socRev]), [[126, 8, 0x20000], [126, 8, 0x10000]]);
  });
  it('pmic ids are indexed from version 3 only: without board-id, sets differing in them are one entry', () => {
    const dtb = dtsToDtb('/dts-v1/; / { qcom,msm-id = <126 8 0x20000>; qcom,pmic-id = <1 0 0 0>, <2 0 0 0>; };');
    const r = qcdtIdsFromFdt(parseFdt(dtb));
    assert.equal(r.version, 1);
    assert.deepEqual(r.ids, [{ platform: 126, variant: 8, subtype: 0, socRev: 0x20000, pmic: [0, 0, 0, 0] }]);
  });
  it('a tree without qcom,msm-id has nothing to index', () => {
    throwsExactly(() => qcdtIdsFromFdt(parseFdt(dtsToDtb('/dts-v1/; / { };'))), '<FDT>: FDT at offset 0x0: expected /qcom,msm-id (the ids dtbTool indexes a DTB by), found no such property');
  });
});

describe('writeQcdt: tables of real Qualcomm DTBs, every field checked against dtbtool.txt / dtbtool.c', () => {
  // QCDT layout (dtbTool's dtbtool.txt "2.2 Format", dtbtool.c main()), little-endian u32 words:
  // "QCDT" @0, version @4, count @8, entries from @12 — v1: platform, variant, soc rev, offset, size (20 bytes);
  // v2: platform, variant, subtype, soc rev, offset, size (24); v3: + pmic0..3 after soc rev (40) —
  // then a zero word, padding to a page, and the DTBs, each padded to a page (dtbTool's padding).
  for (const version of [1, 2, 3] as const) {
    for (const page of [2048, 4096]) {
      it(`version ${version}, page ${page}`, () => {
        const specs = entriesOf(REAL, version);
        const bytes = writeQcdt({ version, pageSize: page, entries: specs });
        const dv = view(bytes);
        const entrySize = { 1: 20, 2: 24, 3: 40 }[version];
        // Expected: the entries sorted by (platform, variant, subtype, soc rev, pmic), each distinct DTB once,
        // offsets given to DTBs in the order the sorted entries first use them.
        const key = (e: QcdtEntrySpec) => [e.platform, e.variant, e.subtype ?? 0, e.socRev, ...(e.pmic ?? [])];
        const sorted = [...specs].sort((a, b) => {
          const x = key(a);
          const y = key(b);
          for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
          return 0;
        });
        const n = sorted.length;
        assert.equal(n, 9, 'id sets: angler 1, bullhead rev 1.0 2, rev 1.01 2, libra 2, ivy 2');
        assert.equal(Buffer.from(bytes.subarray(0, 4)).toString('latin1'), 'QCDT');
        assert.equal(dv.getUint32(4, true), version);
        assert.equal(dv.getUint32(8, true), n);
        assert.equal(dv.getUint32(12 + n * entrySize, true), 0, 'end of list delimiter');
        const first = dtbToolPad(12 + n * entrySize + 4, page);
        const offsets = new Map<Uint8Array, number>();
        let at = first;
        sorted.forEach((e, i) => {
          const o = 12 + i * entrySize;
          const words = [dv.getUint32(o, true), dv.getUint32(o + 4, true)];
          let w = o + 8;
          if (version >= 2) {
            assert.equal(dv.getUint32(w, true), e.subtype, `entry ${i} subtype`);
            w += 4;
          }
          words.push(dv.getUint32(w, true));
          w += 4;
          assert.deepEqual(words, [e.platform, e.variant, e.socRev], `entry ${i} ids`);
          if (version === 3) {
            for (let k = 0; k < 4; k++) assert.equal(dv.getUint32(w + 4 * k, true), e.pmic![k], `entry ${i} pmic${k}`);
            w += 16;
          }
          if (!offsets.has(e.dtb)) {
            offsets.set(e.dtb, at);
            at += dtbToolPad(e.dtb.length, page);
          }
          assert.equal(dv.getUint32(w, true), offsets.get(e.dtb), `entry ${i} offset`);
          assert.equal(dv.getUint32(w + 4, true), dtbToolPad(e.dtb.length, page), `entry ${i} size (the padded size, as dtbTool writes it)`);
        });
        assert.equal(bytes.length, at);
        for (const [dtb, off] of offsets) {
          assert.ok(same(bytes.subarray(off, off + dtb.length), dtb));
          assert.ok(bytes.subarray(off + dtb.length, off + dtbToolPad(dtb.length, page)).every((b) => b === 0), 'zero padding');
        }
        assert.ok(bytes.subarray(12 + n * entrySize, first).every((b) => b === 0));

        // Round trip: the parser gives back every entry, and the same table rebuilds byte for byte.
        const q = parseQcdt(bytes);
        assert.equal(q.version, version);
        assert.ok(q.terminated);
        assert.equal(q.entries.length, n);
        q.entries.forEach((e, i) => {
          const s = sorted[i]!;
          assert.deepEqual([e.platform, e.variant, e.subtype, e.socRev, e.pmic], [s.platform, s.variant, s.subtype, s.socRev, s.pmic]);
          assert.ok(same(e.dtb, s.dtb), `entry ${i}: the DTB is its FDT totalsize bytes`);
        });
        assert.ok(same(writeQcdt({ version, pageSize: page, entries: q.entries }), bytes));
      });
    }
  }

  it('the ids of one DTB share one copy of it; identical DTBs given twice are stored once', () => {
    const bytes = writeQcdt({ version: 2, entries: [...entriesOf([ivy], 2), { platform: 1, variant: 2, socRev: 3, dtb: ivy.slice() }] });
    const q = parseQcdt(bytes);
    assert.equal(q.entries.length, 3);
    assert.equal(new Set(q.entries.map((e) => e.offset)).size, 1);
  });

  it("dtbTool's padding adds a full page to a DTB whose size is already page-aligned", () => {
    const dtb = dtsToDtb('/dts-v1/; / { qcom,msm-id = <1 2 3>; };', '-S', '4096');
    assert.equal(dtb.length, 4096);
    const bytes = writeQcdt({ version: 1, pageSize: 2048, entries: [{ platform: 1, variant: 2, socRev: 3, dtb }] });
    const dv = view(bytes);
    assert.equal(dv.getUint32(12 + 12, true), 2048, 'index (12 + 20 + 4 bytes) padded to one page');
    assert.equal(dv.getUint32(12 + 16, true), 4096 + 2048);
    assert.equal(bytes.length, 2048 + 6144);
  });

  it('refuses the same ids for two different DTBs, and ids a version cannot hold', () => {
    throwsExactly(
      () => writeQcdt({ version: 2, entries: [...entriesOf([bullhead10], 2), { platform: 0xfb, variant: 0xa64, subtype: 0, socRev: 0, dtb: libra }] }),
      '<QCDT>: QCDT at offset 0x0: expected one DTB per set of ids, found entries 0 and 2 both for platform 0xfb variant 0xa64 subtype 0x0 soc rev 0x0',
    );
    throwsExactly(() => writeQcdt({ version: 1, entries: [{ platform: 1, variant: 2, subtype: 3, socRev: 4, dtb: angler }] }), "<QCDT>: QCDT at offset 0x4: expected version 2 or 3 for entry 0's subtype id, found version 1");
    throwsExactly(() => writeQcdt({ version: 2, entries: [{ platform: 1, variant: 2, socRev: 4, pmic: [1], dtb: angler }] }), "<QCDT>: QCDT at offset 0x4: expected version 3 for entry 0's pmic ids, found version 2");
    throwsExactly(() => writeQcdt({ version: 3, entries: [{ platform: 1, variant: 2, socRev: 4, boardRev: 1, dtb: angler }] }), '<QCDT>: QCDT at offset 0x0: expected entry 0: ids a QCDT can hold (it has no board_rev), found board_rev 0x1');
  });
});

describe('parseQcdt: bad input', () => {
  const good = writeQcdt({ version: 2, pageSize: 2048, entries: entriesOf([bullhead10, libra], 2) });
  // Sorted ids: (0xfb, libra 0xc), (0xfb, bullhead 0xa64), (0xfc, 0xc), (0xfc, 0xa64); index 12 + 4 × 24 + 4
  // = 0x70 bytes, padded to 0x800; libra's DTB first at 0x800, bullhead's after it.
  const edit = (f: (dv: DataView) => void) => {
    const b = good.slice();
    f(view(b));
    return b;
  };
  const libraSize = dtbToolPad(libra.length, 2048);
  const end = `0x${good.length.toString(16)}`;
  const h = (n: number) => `0x${n.toString(16)}`;
  const cases: [string, Uint8Array, string][] = [
    ['empty', new Uint8Array(0), '<QCDT>: QCDT at offset 0x0: expected the magic "QCDT" (4 bytes), found end of data at 0x0'],
    ['bad magic', edit((dv) => dv.setUint8(3, 0x55)), '<QCDT>: QCDT at offset 0x0: expected the magic "QCDT" (51 43 44 54), found 51 43 44 55'],
    ['version 4', edit((dv) => dv.setUint32(4, 4, true)), '<QCDT>: QCDT at offset 0x4: expected version 1, 2 or 3, found 4'],
    ['no entries', edit((dv) => dv.setUint32(8, 0, true)), '<QCDT>: QCDT at offset 0x8: expected at least one entry, found 0'],
    ['too many entries', edit((dv) => dv.setUint32(8, 0x10000000, true)), `<QCDT>: QCDT at offset 0x8: expected 268435456 entries of 24 bytes from 0xc inside the ${end}-byte data, found a table ending at 0x18000000c`],
    ['truncated table', good.subarray(0, 50), '<QCDT>: QCDT at offset 0x8: expected 4 entries of 24 bytes from 0xc inside the 0x32-byte data, found a table ending at 0x6c'],
    ['entry pointing past the end', edit((dv) => dv.setUint32(12 + 16, good.length - 100, true)), `<QCDT>: QCDT at offset 0x1c: expected entry 0: a DTB after the index and inside the data, in [0x70, ${end}), found [${h(good.length - 100)}, ${h(good.length - 100 + libraSize)})`],
    ['entry pointing into the index', edit((dv) => dv.setUint32(12 + 16, 0x20, true)), `<QCDT>: QCDT at offset 0x1c: expected entry 0: a DTB after the index and inside the data, in [0x70, ${end}), found [0x20, ${h(0x20 + libraSize)})`],
    ['entry size too small', edit((dv) => dv.setUint32(12 + 20, 8, true)), '<QCDT>: QCDT at offset 0x20: expected entry 0: a size of at least 40 (an FDT header), found 0x8'],
    ['no DTB at the offset', edit((dv) => dv.setUint32(12 + 16, 0x900, true)), `<QCDT>: QCDT at offset 0x900: expected entry 0: a DTB (FDT magic 0xd00dfeed) at its offset, found ${h(view(good).getUint32(0x900, false))}`],
    ['DTB larger than its entry', edit((dv) => dv.setUint32(12 + 20, 0x1000, true)), `<QCDT>: QCDT at offset 0x804: expected entry 0: an FDT totalsize from 0x28 to the entry size 0x1000, found ${h(libra.length)}`],
    [
      'regions partly overlapping',
      edit((dv) => dv.setUint32(12 + 24 * 2 + 20, libraSize + 0x800, true)),
      `<QCDT>: QCDT at offset 0x4c: expected entry 2: a DTB region that is either entry 0's or apart from it, found [0x800, ${h(0x800 + libraSize + 0x800)}) partly overlapping [0x800, ${h(0x800 + libraSize)})`,
    ],
  ];
  for (const [name, bytes, message] of cases) it(name, () => throwsExactly(() => parseQcdt(bytes), message));

  it('random bytes behind the magic, and mutated tables: only FormatError', () => {
    const small = writeQcdt({ version: 3, pageSize: 64, entries: [{ platform: 1, variant: 2, socRev: 3, dtb: dtsToDtb('/dts-v1/; / { };') }] });
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.nat(3), (bytes, v) => {
        const head = new Uint8Array(8);
        head.set([0x51, 0x43, 0x44, 0x54]);
        view(head).setUint32(4, v, true);
        onlyFormatErrors(() => parseQcdt(concatBytes([head, bytes])));
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(small.length - 4), fc.nat(0xffffffff)), { maxLength: 3 }), fc.nat(small.length), (edits, cut) => {
        const b = small.slice(0, small.length - cut);
        for (const [o, v] of edits) if (o + 4 <= b.length) view(b).setUint32(o, v, true);
        onlyFormatErrors(() => parseQcdt(b));
      }),
      { numRuns: 2000 },
    );
  });
});
