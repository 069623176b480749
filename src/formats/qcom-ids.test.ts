import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FormatError } from '../errors.js';
import { readFixture } from '../../test/support.js';
import { dtsToDtb } from '../../test/fdt-tools.js';
import { parseFdt } from './fdt.js';
import { formatQcomIds, qcomIdsOf } from './qcom-ids.js';

const angler = readFixture('dtb', 'msm8994-huawei-angler-rev-101.dtb');
const bullhead101 = readFixture('qcom', 'msm8992-lg-bullhead-rev-101.dtb');
const j5 = readFixture('dtb', 'msm8916-samsung-j5.dtb');

/** A small tree with downstream (v1) ids, or any root properties given. */
const triple = (model: string, ids: string, more = '') =>
  dtsToDtb(`/dts-v1/; / { model = "${model}"; compatible = "qcom,msm8974-mtp", "qcom,msm8974"; qcom,msm-id = ${ids}; ${more} };`);

describe('qcomIdsOf: the ids of real trees, in each form', () => {
  it('v2 form (mainline angler): msm-id pairs × board-id pairs, pmic shown', () => {
    assert.deepEqual(qcomIdsOf(parseFdt(angler)), [{ platform: 0xcf, variant: 0x1f5a, subtype: 0, socRev: 0x20000, pmic: [0x10009, 0x1000a, 0, 0] }]);
    assert.deepEqual(
      qcomIdsOf(parseFdt(bullhead101))!.map((i) => [i.platform, i.variant, i.socRev]),
      [[0xfb, 0xb64, 0], [0xfc, 0xb64, 0]],
    );
  });
  it('triples (shamu, falcon), a quad (hammerhead, m8), and none', () => {
    assert.deepEqual(qcomIdsOf(parseFdt(triple('x', '<126 8 0x20000>, <126 8 0x10000>'))), [
      { platform: 126, variant: 8, socRev: 0x20000 },
      { platform: 126, variant: 8, socRev: 0x10000 },
    ]);
    assert.deepEqual(qcomIdsOf(parseFdt(triple('x', '<126 150 0x20000 11>'))), [{ platform: 126, variant: 150, socRev: 0x20000, boardRev: 11 }]);
    assert.deepEqual(qcomIdsOf(parseFdt(triple('x', '<126 150 0x20000>')), 'quad'), [{ platform: 126, variant: 150, socRev: 0x20000, boardRev: 0 }]);
    assert.equal(qcomIdsOf(parseFdt(j5)), undefined);
  });
  it('a malformed qcom,msm-id is a FormatError naming it', () => {
    assert.throws(() => qcomIdsOf(parseFdt(triple('x', '<1 2 3 4 5>'))), (e: unknown) => e instanceof FormatError && /\/qcom,msm-id: groups of 2 cells/.test(e.message));
  });
});

describe('qcomIdsOf: every combination, pmic quads included', () => {
  it('msm-id pairs × board-id pairs × pmic-id quads, pmic varying fastest', () => {
    const ids = qcomIdsOf(parseFdt(triple('x', '<0xcf 0x20000>, <0xcf 0x20001>', 'qcom,board-id = <8 0>; qcom,pmic-id = <1 2 0 0>, <3 4 0 0>;')))!;
    assert.deepEqual(ids.map(formatQcomIds), [
      'platform 0xcf variant 0x8 subtype 0x0 soc-rev 0x20000 pmic 0x1 0x2 0x0 0x0',
      'platform 0xcf variant 0x8 subtype 0x0 soc-rev 0x20000 pmic 0x3 0x4 0x0 0x0',
      'platform 0xcf variant 0x8 subtype 0x0 soc-rev 0x20001 pmic 0x1 0x2 0x0 0x0',
      'platform 0xcf variant 0x8 subtype 0x0 soc-rev 0x20001 pmic 0x3 0x4 0x0 0x0',
    ]);
  });
  it('a pmic-id that is not quads is a FormatError naming it', () => {
    assert.throws(
      () => qcomIdsOf(parseFdt(triple('x', '<0xcf 0x20000>', 'qcom,board-id = <8 0>; qcom,pmic-id = <1 2 3>;'))),
      (e: unknown) => e instanceof FormatError && /\/qcom,pmic-id: groups of 4 cells/.test(e.message),
    );
  });
});
