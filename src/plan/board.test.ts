import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { FormatError, PlanError } from '../errors.js';
import { concatBytes } from '../util/bytes.js';
import { debianKernels, readFixture, repoRoot } from '../../test/support.js';
import { writeDtTable, parseDtTable } from '../formats/dttable.js';
import { parseFdt, writeFdt } from '../formats/fdt.js';
import { dtbToDts, dtsToDtb } from '../../test/fdt-tools.js';
import { readKernel } from '../formats/kernel.js';
import { parseQcdt, qcdtIdsFromFdt, writeQcdt } from '../formats/qcdt.js';
import { appendedDtbs, identityOf } from '../formats/dtb-list.js';
import { qcomIdsOf } from '../formats/qcom-ids.js';
import {
  applyLiveProps,
  candidatesFromDtbs,
  candidatesFromDtTable,
  candidatesFromQcdt,
  selectBoard,
} from './board.js';
import { type BoardDef, findBoard, parseBoards } from './boards.js';
import { same } from '../../test/assert.js';

const angler = readFixture('dtb', 'msm8994-huawei-angler-rev-101.dtb');
const bullhead10 = readFixture('qcom', 'msm8992-lg-bullhead-rev-10.dtb');
const bullhead101 = readFixture('qcom', 'msm8992-lg-bullhead-rev-101.dtb');
const libra = readFixture('qcom', 'msm8992-xiaomi-libra.dtb');
const ivy = readFixture('qcom', 'msm8994-sony-xperia-kitakami-ivy.dtb');
const karin = readFixture('qcom', 'msm8994-sony-xperia-kitakami-karin.dtb');
const j5 = readFixture('dtb', 'msm8916-samsung-j5.dtb');
const rk = readFixture('dtb', 'rk3399-pinebook-pro.dtb');
const vexpress = readFixture('dtb', 'vexpress-v2p-ca15-tc1.dtb');
const cubie = readFixture('dtb', 'sun7i-a20-cubieboard2.dtb');
const virt = readFixture('dtb', 'qemu-virt-arm64.dtb');
/** Boards a dtbTool table can hold together (ivy and karin carry the same ids: dtbTool keeps one of them). */
const QCOM = [angler, bullhead10, bullhead101, libra, ivy];

const boards = parseBoards(JSON.parse(readFileSync(join(repoRoot, 'src', 'plan', 'boards.json'), 'utf8')));

/** A QCDT v3 of these DTBs, as dtbTool builds it from their qcom,msm-id / board-id / pmic-id. */
function qcdtOf(dtbs: Uint8Array[]): Uint8Array {
  return writeQcdt({ version: 3, entries: dtbs.flatMap((dtb) => qcdtIdsFromFdt(parseFdt(dtb)).ids.map((ids) => ({ ...ids, dtb }))) });
}

/** A small tree with downstream (v1) ids and a model marker. */
const triple = (model: string, ids: string) => dtsToDtb(`/dts-v1/; / { model = "${model}"; compatible = "qcom,msm8974-mtp", "qcom,msm8974"; qcom,msm-id = ${ids}; };`);

function planError(fn: () => unknown): string {
  let message = '';
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof PlanError, `expected a PlanError, got ${String(e)}`);
    message = e.message;
    return true;
  });
  return message;
}

describe('selectBoard: Qualcomm ids, from a QCDT built from real DTBs', () => {
  const q = parseQcdt(qcdtOf(QCOM));
  const candidates = candidatesFromQcdt(q);

  for (const [name, dtb] of [['angler', angler], ['bullhead rev 1.0', bullhead10], ['bullhead rev 1.01', bullhead101], ['libra', libra]] as const) {
    it(`the running tree of ${name} gets its own DTB (exact ids)`, () => {
      const c = selectBoard(candidates, parseFdt(dtb));
      assert.equal(c.rule, 'exact');
      assert.ok(same(c.candidate.dtb, dtb));
      assert.deepEqual(c.alsoMatched, []);
    });
  }

  it('two boards with the same ids (kitakami ivy and karin, appended DTBs): the running compatible breaks the tie, the other is reported', () => {
    const both = candidatesFromDtbs([ivy, karin], 'appended to the kernel');
    const c = selectBoard(both, parseFdt(karin));
    assert.ok(same(c.candidate.dtb, karin));
    assert.equal(c.rule, 'exact');
    assert.deepEqual(c.alsoMatched, [0]);
    assert.ok(same(selectBoard(both, parseFdt(ivy)).candidate.dtb, ivy));
  });

  it('no match: a PlanError listing every candidate\'s ids and the running ids', () => {
    const message = planError(() => selectBoard(candidatesFromQcdt(parseQcdt(qcdtOf([libra, ivy]))), parseFdt(angler)));
    assert.equal(
      message,
      [
        'no DTB matches the running board (same platform and variant (and subtype), soc-rev equal or the highest lower one)',
        '  running: platform 0xcf variant 0x1f5a subtype 0x0 soc-rev 0x20000 pmic 0x10009 0x1000a 0x0 0x0 — "Huawei Nexus 6P", compatible "huawei,angler", "qcom,msm8994"',
        '  candidates (4):',
        '    #0 QCDT entry 0: platform 0xcf variant 0x8 subtype 0x0 soc-rev 0x20000 pmic 0x10009 0x1000a 0x0 0x0 — "Sony Xperia Z3+/Z4", compatible "sony,ivy-row", "qcom,msm8994"',
        '    #1 QCDT entry 1: platform 0xcf variant 0x8 subtype 0x0 soc-rev 0x20001 pmic 0x10009 0x1000a 0x0 0x0 — "Sony Xperia Z3+/Z4", compatible "sony,ivy-row", "qcom,msm8994"',
        '    #2 QCDT entry 2: platform 0xfb variant 0xc subtype 0x0 soc-rev 0x0 pmic 0x10009 0x1000a 0x0 0x0 — "Xiaomi Mi 4C", compatible "xiaomi,libra", "qcom,msm8992"',
        '    #3 QCDT entry 3: platform 0xfc variant 0xc subtype 0x0 soc-rev 0x0 pmic 0x10009 0x1000a 0x0 0x0 — "Xiaomi Mi 4C", compatible "xiaomi,libra", "qcom,msm8992"',
      ].join('\n'),
    );
  });
});

describe('selectBoard: the revision rule of the historical tool', () => {
  // One DTB per soc revision, in a QCDT v1 (platform 126 = MSM8974, variant 8 = MTP).
  const revs = [0x10000, 0x20000, 0x30000];
  const table = writeQcdt({ version: 1, entries: revs.map((r) => ({ platform: 126, variant: 8, socRev: r, dtb: triple(`rev ${r.toString(16)}`, `<126 8 ${r}>`) })) });
  const candidates = candidatesFromQcdt(parseQcdt(table));
  const pick = (running: string) => {
    const c = selectBoard(candidates, parseFdt(triple('running', running)));
    return [c.rule, identityOf(parseFdt(c.candidate.dtb)).model];
  };
  const model = (r: number) => `rev ${r.toString(16)}`;

  it('an exact soc revision wins', () => assert.deepEqual(pick('<126 8 0x20000>'), ['exact', model(0x20000)]));
  it('else the highest lower one', () => {
    assert.deepEqual(pick('<126 8 0x25000>'), ['lower-revision', model(0x20000)]);
    assert.deepEqual(pick('<126 8 0x90000>'), ['lower-revision', model(0x30000)]);
  });
  it('never a higher one, nor another variant', () => {
    assert.match(planError(() => pick('<126 8 0x5000>')), /^no DTB matches the running board/);
    assert.match(planError(() => pick('<126 9 0x20000>')), /running: platform 0x7e variant 0x9 soc-rev 0x20000 — "running"/);
  });
  it('board_rev (hammerhead\'s fourth cell): exact pair first, else the highest lower (soc_rev, board_rev)', () => {
    const quads = [10, 11, 13].map((b) => ({ source: `b${b}`, dtb: triple(`board ${b}`, `<126 150 0x20000 ${b}>`) }));
    const hammerhead = findBoard(boards, 'hammerhead');
    const choose = (running: string) => selectBoard(quads, parseFdt(triple('live', running)), { board: hammerhead! });
    assert.equal(choose('<126 150 0x20000 11>').candidate.source, 'b11');
    assert.equal(choose('<126 150 0x20000 11>').rule, 'exact');
    assert.equal(choose('<126 150 0x20000 12>').candidate.source, 'b11');
    assert.equal(choose('<126 150 0x20000 12>').rule, 'lower-revision');
    assert.equal(choose('<126 150 0x30000 20>').candidate.source, 'b13');
    assert.match(planError(() => choose('<126 150 0x20000 9>')), /board-rev 0x9/);
  });
});

describe('selectBoard: DTBs appended to a kernel, and non-Qualcomm DT tables', () => {
  it("bullhead's two revisions appended to Debian's zImage (with zero padding between, as dtb.img files had)", () => {
    const zImage = new Uint8Array(readFileSync(debianKernels().arm.kernel));
    const file = concatBytes([zImage, bullhead10, new Uint8Array(100), bullhead101]);
    const dtbs = appendedDtbs(file, readKernel(file));
    assert.equal(dtbs.length, 2);
    const c = selectBoard(candidatesFromDtbs(dtbs, 'appended to the kernel'), parseFdt(bullhead101));
    assert.equal(c.candidate.source, 'DTB 1 appended to the kernel');
    assert.ok(same(c.candidate.dtb, bullhead101));
  });

  it('an Android DT table of boards without Qualcomm ids: the running tree\'s most specific compatible wins', () => {
    const t = parseDtTable(writeDtTable({ entries: [vexpress, rk, cubie, virt, j5].map((dtb, i) => ({ dtb, id: i })) }));
    const candidates = candidatesFromDtTable(t);
    for (const dtb of [vexpress, rk, cubie, virt, j5]) {
      const c = selectBoard(candidates, parseFdt(dtb));
      assert.equal(c.rule, 'compatible');
      assert.ok(same(c.candidate.dtb, dtb));
    }
    assert.equal(selectBoard(candidates, parseFdt(rk)).compatible, 'pine64,pinebook-pro');
    // A running board known only by its SoC matches the board of that SoC.
    const generic = dtsToDtb('/dts-v1/; / { compatible = "vendor,other-board", "rockchip,rk3399"; };');
    assert.equal(selectBoard(candidates, parseFdt(generic)).compatible, 'rockchip,rk3399');
    assert.equal(
      planError(() => selectBoard(candidates.slice(0, 2), parseFdt(cubie))),
      [
        'no DTB matches the running board (a root compatible string in common)',
        '  running: no qcom,msm-id — "Cubietech Cubieboard2", compatible "cubietech,cubieboard2", "allwinner,sun7i-a20"',
        '  candidates (2):',
        '    #0 DT table entry 0 (table id 0x0 rev 0x0): no qcom ids — "V2P-CA15", compatible "arm,vexpress,v2p-ca15,tc1", "arm,vexpress,v2p-ca15", "arm,vexpress"',
        '    #1 DT table entry 1 (table id 0x1 rev 0x0): no qcom ids — "Pine64 Pinebook Pro", compatible "pine64,pinebook-pro", "rockchip,rk3399"',
      ].join('\n'),
    );
  });

  it('a candidate that is not a DTB is a FormatError naming it', () => {
    assert.throws(
      () => selectBoard([{ source: 'DTB 0 appended to the kernel', dtb: new Uint8Array(64) }], parseFdt(rk)),
      (e: unknown) => e instanceof FormatError && e.message.startsWith('<FDT>: FDT at offset 0x0: expected DTB 0 appended to the kernel: magic 0xd00dfeed'),
    );
  });

});

describe('applyLiveProps: what boards.json says each board takes from the running tree', () => {
  const live = parseFdt(
    dtsToDtb(`/dts-v1/;
/ {
  #address-cells = <1>; #size-cells = <1>;
  model = "running phone";
  htc,project-id = <271 0 0x40000>;
  memory { device_type = "memory"; reg = <0x00000000 0x0fe00000 0x10000000 0x30000000>; };
  chosen { bootargs = "console=ttyHSL0"; mmi,ram_size = <3072>; mmi,serial = "ZX1G22"; linux,initrd-start = <0>; };
  calibration_data { als_flash = [01 02 03]; gyro_flash = [04]; };
};`),
  );

  it('shamu: /memory/reg (re-encoded for the chosen tree\'s 2-cell addresses) and every /chosen mmi,* property', () => {
    const chosen = parseFdt(angler);
    const before = writeFdt(chosen);
    const r = applyLiveProps(chosen, live, findBoard(boards, 'shamu')!);
    assert.deepEqual(r.copied, ['/memory@80000000/reg', '/chosen/mmi,ram_size', '/chosen/mmi,serial']);
    assert.deepEqual(r.missing, []);
    assert.ok(same(writeFdt(chosen), before), 'the tree given is not changed');
    const dts = dtbToDts(writeFdt(r.fdt));
    assert.equal(dts.nodes.get('/memory@80000000')!.get('reg'), '<0x00 0x00 0x00 0xfe00000 0x00 0x10000000 0x00 0x30000000>');
    assert.equal(dts.nodes.get('/chosen')!.get('mmi,ram_size'), '<0xc00>');
    assert.equal(dts.nodes.get('/chosen')!.get('mmi,serial'), '"ZX1G22"');
    assert.equal(dts.nodes.get('/chosen')!.get('linux,initrd-start'), undefined, 'only the listed prefix');
  });

  it('m8: named properties, nodes created where the data says, the missing ones reported', () => {
    const chosen = parseFdt(angler);
    const r = applyLiveProps(chosen, live, findBoard(boards, 'm8')!);
    assert.deepEqual(r.copied, ['/memory@80000000/reg', '/calibration_data/als_flash', '/calibration_data/gyro_flash', '/htc,project-id']);
    assert.equal(r.missing.length, 11 + 6 + 2);
    assert.ok(r.missing.includes('/chosen/config/bootloaderflag') && r.missing.includes('/htc_workaround_reserve_leading_pages/compatible'));
    const dts = dtbToDts(writeFdt(r.fdt));
    assert.equal(dts.nodes.get('/calibration_data')!.get('als_flash'), '[01 02 03]');
    assert.equal(dts.nodes.get('/')!.get('htc,project-id'), '<0x10f 0x00 0x40000>');
  });

  it('a running tree without RAM is a PlanError', () => {
    const noRam = parseFdt(dtsToDtb('/dts-v1/; / { chosen { }; };'));
    assert.equal(planError(() => applyLiveProps(parseFdt(angler), noRam, findBoard(boards, 'angler')!)), 'board angler: the running tree describes no RAM (/memory reg) to copy into the chosen DTB');
  });
});

describe('boards.json', () => {
  it('parses; names are unique; the boards the issue names are there; every board says where its facts came from', () => {
    for (const name of ['hammerhead', 'shamu', 'flo', 'mako', 'angler', 'bullhead', 'falcon', 'm8', 'flounder', 'g2']) assert.ok(findBoard(boards, name), name);
    assert.equal(findBoard(boards, 'HammerHead')?.names[0], 'hammerhead');
    assert.equal(findBoard(boards, 'nonesuch'), undefined);
    for (const b of boards) assert.ok(b.readme.length > 40, b.names[0]);
    assert.equal(findBoard(boards, 'hammerhead')!.hardbootPage, 0x10100000);
    assert.equal(findBoard(boards, 'flo')!.devicetree, false);
  });
  it('the real angler and bullhead trees have the ids and form their entries describe', () => {
    assert.deepEqual(qcomIdsOf(parseFdt(angler), findBoard(boards, 'angler')!.msmIdForm)!.map((i) => [i.platform, i.variant, i.socRev]), [[0xcf, 0x1f5a, 0x20000]]);
    assert.deepEqual(qcomIdsOf(parseFdt(bullhead10), findBoard(boards, 'bullhead')!.msmIdForm)!.map((i) => i.variant), [0xa64, 0xa64]);
  });
  it('bad data is a FormatError saying which field', () => {
    const bad = (json: unknown, message: string) => assert.throws(() => parseBoards(json), (e: unknown) => e instanceof FormatError && e.message === message);
    const ok: Partial<BoardDef> & Record<string, unknown> = { names: ['x'], description: 'd', devicetree: true, readme: 'r', copy: [] };
    bad([], '<boards.json>: boards.json at offset 0x0: expected the top level: an object with a "boards" array, found []');
    bad({ boards: [{ ...ok, names: ['X Y'] }] }, '<boards.json>: boards.json at offset 0x0: expected boards[0].names: a non-empty list of lower-case board names, found ["X Y"]');
    bad({ boards: [ok, ok] }, '<boards.json>: boards.json at offset 0x0: expected boards[1].names: names used by one board only, found "x"');
    bad({ boards: [{ ...ok, copy: [{ node: 'memory', prop: 'reg', as: 'memory' }] }] }, '<boards.json>: boards.json at offset 0x0: expected boards[0].copy[0].node: an absolute node path, found "memory"');
    bad({ boards: [{ ...ok, hardbootPage: '0x1234' }] }, '<boards.json>: boards.json at offset 0x0: expected boards[0].hardbootPage: a page-aligned hex address string, found "0x1234"');
    bad({ boards: [{ ...ok, devicetree: false, copy: [{ node: '/memory', prop: 'reg', as: 'memory' }] }] }, '<boards.json>: boards.json at offset 0x0: expected boards[0].copy: nothing to copy for a board without a device tree, found [{"node":"/memory","prop":"reg","as":"memory"}]');
  });
  it('random JSON: only FormatError', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        try {
          parseBoards({ boards: [v] });
        } catch (e) {
          if (!(e instanceof FormatError)) throw e;
        }
      }),
      { numRuns: 1000 },
    );
  });
});
