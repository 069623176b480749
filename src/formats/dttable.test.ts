import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { FormatError } from '../errors.js';
import { concatBytes, view } from '../util/bytes.js';
import { readFixture } from '../../test/support.js';
import { onlyFormatErrors, same, throwsExactly } from '../../test/assert.js';
import { DT_TABLE_MAGIC, dtTableEntryBlob, parseDtTable, writeDtTable } from './dttable.js';
import { dtbToDts } from '../../test/fdt-tools.js';

const angler = readFixture('dtb', 'msm8994-huawei-angler-rev-101.dtb');
const bullhead10 = readFixture('qcom', 'msm8992-lg-bullhead-rev-10.dtb');
const bullhead101 = readFixture('qcom', 'msm8992-lg-bullhead-rev-101.dtb');
const rk = readFixture('dtb', 'rk3399-pinebook-pro.dtb');



/** mkdtboimg's own decompression (mkdtboimg.py extract_dt_file: zlib.decompress(data, 47), zlib or gzip). */
function pythonInflate(data: Uint8Array): Uint8Array {
  return new Uint8Array(
    execFileSync('python3', ['-c', 'import sys, zlib; sys.stdout.buffer.write(zlib.decompress(sys.stdin.buffer.read(), 47))'], { input: data, maxBuffer: 1 << 26 }),
  );
}

describe('writeDtTable: every field where libufdt dt_table.h puts it', () => {
  // dt_table_header (big-endian u32s): magic @0, total_size @4, header_size @8, dt_entry_size @12,
  // dt_entry_count @16, dt_entries_offset @20, page_size @24, version @28. dt_table_entry (32 bytes):
  // dt_size @0, dt_offset @4, id @8, rev @12, custom[4] @16 (v1: flags @16, custom[3] @20).
  // mkdtboimg.py lays out: header, entries, then each DT once, back to back (a repeated file reused).
  it('version 0: four real board DTBs, one given twice', () => {
    const entries = [
      { dtb: angler, id: 0xcf, rev: 0x20000, custom: [1, 2, 3, 4] },
      { dtb: bullhead10, id: 0xa64 },
      { dtb: bullhead101, id: 0xb64, rev: 1 },
      { dtb: angler, id: 0xcf, rev: 0x20001 },
      { dtb: rk, id: 0x3399 },
    ];
    const img = writeDtTable({ entries, pageSize: 4096 });
    const dv = view(img);
    const be = (o: number) => dv.getUint32(o, false);
    assert.equal(be(0), DT_TABLE_MAGIC);
    assert.equal(be(8), 32);
    assert.equal(be(12), 32);
    assert.equal(be(16), 5);
    assert.equal(be(20), 32);
    assert.equal(be(24), 4096);
    assert.equal(be(28), 0);
    const dtsAt = 32 + 5 * 32;
    const expectOffsets = [dtsAt, dtsAt + angler.length, dtsAt + angler.length + bullhead10.length, dtsAt, dtsAt + angler.length + bullhead10.length + bullhead101.length];
    assert.equal(be(4), expectOffsets[4]! + rk.length);
    assert.equal(img.length, be(4));
    entries.forEach((e, i) => {
      const o = 32 + i * 32;
      assert.equal(be(o), e.dtb.length, `entry ${i} dt_size`);
      assert.equal(be(o + 4), expectOffsets[i], `entry ${i} dt_offset`);
      assert.equal(be(o + 8), e.id);
      assert.equal(be(o + 12), e.rev ?? 0);
      for (let k = 0; k < 4; k++) assert.equal(be(o + 16 + 4 * k), e.custom?.[k] ?? 0);
      assert.ok(same(img.subarray(expectOffsets[i]!, expectOffsets[i]! + e.dtb.length), e.dtb));
    });
    const t = parseDtTable(img);
    assert.equal(t.version, 0);
    assert.deepEqual(
      t.entries.map((e) => [e.id, e.rev, e.custom, e.compression, e.offset]),
      entries.map((e, i) => [e.id, e.rev ?? 0, [0, 1, 2, 3].map((k) => e.custom?.[k] ?? 0), 'none', expectOffsets[i]]),
    );
    // dtc reads every DT the parser hands back.
    for (const e of t.entries) assert.ok(dtbToDts(dtTableEntryBlob(e)).nodes.has('/'));
    // Round trip.
    assert.ok(same(writeDtTable({ pageSize: 4096, entries: t.entries.map((e) => ({ dtb: dtTableEntryBlob(e), id: e.id, rev: e.rev, custom: e.custom })) }), img));
  });

  it('version 1: compression in flags bits 0–3, read back by mkdtboimg\'s own decompression call', () => {
    const img = writeDtTable({
      version: 1,
      entries: [
        { dtb: angler, id: 1, compression: 'none', custom: [7] },
        { dtb: bullhead10, id: 2, compression: 'zlib' },
        { dtb: bullhead101, id: 3, compression: 'gzip' },
      ],
    });
    const dv = view(img);
    assert.equal(dv.getUint32(28, false), 1);
    assert.deepEqual([0, 1, 2].map((i) => dv.getUint32(32 + i * 32 + 16, false)), [0, 1, 2], 'flags = compression');
    assert.equal(dv.getUint32(32 + 20, false), 7, "v1 custom[0] follows flags");
    const t = parseDtTable(img);
    assert.deepEqual(t.entries.map((e) => e.compression), ['none', 'zlib', 'gzip']);
    assert.deepEqual(t.entries[0]!.custom, [7, 0, 0]);
    assert.ok(same(dtTableEntryBlob(t.entries[1]!), bullhead10));
    assert.ok(same(dtTableEntryBlob(t.entries[2]!), bullhead101));
    assert.ok(same(pythonInflate(t.entries[1]!.data), bullhead10));
    assert.ok(same(pythonInflate(t.entries[2]!.data), bullhead101));
    assert.ok(same(new Uint8Array(execFileSync('gzip', ['-dc'], { input: t.entries[2]!.data })), bullhead101));
  });

  it('refuses compression in version 0, and an empty table', () => {
    throwsExactly(() => writeDtTable({ entries: [{ dtb: angler, compression: 'gzip' }] }), '<DT table>: DT table at offset 0x1c: expected version 1 for a compressed entry (entry 0: gzip), found version 0');
    throwsExactly(() => writeDtTable({ entries: [] }), '<DT table>: DT table at offset 0x10: expected at least one DT, found none');
  });
});

describe('parseDtTable: bad input', () => {
  const good = writeDtTable({ entries: [{ dtb: bullhead10, id: 1 }, { dtb: bullhead101, id: 2 }] });
  const dtsAt = 32 + 64;
  const edit = (f: (dv: DataView) => void) => {
    const b = good.slice();
    f(view(b));
    return b;
  };
  const h = (n: number) => `0x${n.toString(16)}`;
  const end = h(good.length);
  const cases: [string, Uint8Array, string][] = [
    ['empty', new Uint8Array(0), '<DT table>: DT table at offset 0x0: expected the DT table magic (4 bytes), found end of data at 0x0'],
    ['bad magic', edit((dv) => dv.setUint32(0, 0xd7b7ab1f, false)), '<DT table>: DT table at offset 0x0: expected the DT table magic 0xd7b7ab1e, found 0xd7b7ab1f'],
    ['an ACPI overlay table', edit((dv) => dv.setUint32(0, 0x41435049, false)), '<DT table>: DT table at offset 0x0: expected the DT table magic 0xd7b7ab1e, found an ACPI overlay table (magic "ACPI"), which holds no device trees'],
    ['truncated header', good.subarray(0, 20), '<DT table>: DT table at offset 0x0: expected the 32-byte dt_table_header (32 bytes), found end of data at 0x14'],
    ['version 2', edit((dv) => dv.setUint32(28, 2, false)), '<DT table>: DT table at offset 0x1c: expected version 0 or 1, found 2'],
    ['header_size wrong', edit((dv) => dv.setUint32(8, 40, false)), '<DT table>: DT table at offset 0x8: expected header_size 32, found 40'],
    ['entry size wrong', edit((dv) => dv.setUint32(12, 36, false)), '<DT table>: DT table at offset 0xc: expected dt_entry_size 32, found 36'],
    ['total_size past the data', edit((dv) => dv.setUint32(4, good.length + 1, false)), `<DT table>: DT table at offset 0x4: expected total_size from 0x20 to the data length ${end}, found ${h(good.length + 1)}`],
    ['truncated file', good.subarray(0, 200), `<DT table>: DT table at offset 0x4: expected total_size from 0x20 to the data length 0xc8, found ${end}`],
    ['entries offset inside the header', edit((dv) => dv.setUint32(20, 16, false)), '<DT table>: DT table at offset 0x14: expected dt_entries_offset at or after the header (0x20), 4-aligned, found 0x10'],
    ['too many entries', edit((dv) => dv.setUint32(16, 0x8000000, false)), `<DT table>: DT table at offset 0x10: expected dt_entry_count entries (32 bytes each from 0x20) inside total_size ${end}, found 134217728 entries, ending at 0x100000020`],
    ['entry of size 0', edit((dv) => dv.setUint32(32, 0, false)), '<DT table>: DT table at offset 0x20: expected entry 0: a dt_size above 0, found 0'],
    ['entry past total_size', edit((dv) => dv.setUint32(32 + 32 + 4, good.length - 10, false)), `<DT table>: DT table at offset 0x44: expected entry 1: a DT after the entries and inside total_size, in [0x60, ${end}), found [${h(good.length - 10)}, ${h(good.length - 10 + bullhead101.length)})`],
    ['entry pointing into the entries', edit((dv) => dv.setUint32(32 + 4, 40, false)), `<DT table>: DT table at offset 0x24: expected entry 0: a DT after the entries and inside total_size, in [0x60, ${end}), found [0x28, ${h(40 + bullhead10.length)})`],
    ['entry not at a DTB', edit((dv) => dv.setUint32(32 + 4, dtsAt + 8, false)), `<DT table>: DT table at offset ${h(dtsAt + 8)}: expected entry 0: a DT starting with the FDT magic 0xd00dfeed, found ${h(view(good).getUint32(dtsAt + 8, false))}`],
    ['unknown compression (v1)', edit((dv) => { dv.setUint32(28, 1, false); dv.setUint32(32 + 16, 5, false); }), '<DT table>: DT table at offset 0x30: expected entry 0: compression 0 (none), 1 (zlib) or 2 (gzip) in flags bits 0–3, found 5'],
    ['flags say gzip, data is a plain DTB', edit((dv) => { dv.setUint32(28, 1, false); dv.setUint32(32 + 16, 2, false); }), `<DT table>: DT table at offset ${h(dtsAt)}: expected entry 0: gzip data (1f 8b), as its flags say, found d0 0d fe ed`],
    [
      'entries partly overlapping',
      edit((dv) => dv.setUint32(32 + 32 + 4, dtsAt, false)),
      `<DT table>: DT table at offset 0x44: expected entry 1: a DT that is either entry 0's or apart from it, found [${h(dtsAt)}, ${h(dtsAt + bullhead101.length)}) partly overlapping [${h(dtsAt)}, ${h(dtsAt + bullhead10.length)})`,
    ],
  ];
  for (const [name, bytes, message] of cases) it(name, () => throwsExactly(() => parseDtTable(bytes), message));

  it('a corrupt zlib entry is a FormatError when read', () => {
    const img = writeDtTable({ version: 1, entries: [{ dtb: angler, compression: 'zlib' }] });
    const b = img.slice();
    b.fill(0x55, 32 + 32 + 10, 32 + 32 + 40);
    const t = parseDtTable(b);
    assert.throws(() => dtTableEntryBlob(t.entries[0]!), (e: unknown) => e instanceof FormatError && /entry 0: valid zlib data/.test(e.message));
  });

  it('random bytes behind the magic, and mutated tables: only FormatError', () => {
    const small = writeDtTable({ version: 1, entries: [{ dtb: bullhead10.subarray(0, 64) as Uint8Array }] });
    const magic = new Uint8Array(4);
    view(magic).setUint32(0, DT_TABLE_MAGIC, false);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 500 }), (bytes) => onlyFormatErrors(() => parseDtTable(concatBytes([magic, bytes])))),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(100), fc.nat(0xffffffff)), { maxLength: 3 }), fc.nat(small.length), (edits, cut) => {
        const b = small.slice(0, small.length - cut);
        for (const [o, v] of edits) if (o + 4 <= b.length) view(b).setUint32(o & ~3, v, false);
        onlyFormatErrors(() => {
          const t = parseDtTable(b);
          for (const e of t.entries) dtTableEntryBlob(e);
        });
      }),
      { numRuns: 2000 },
    );
  });
});
