/**
 * Qualcomm's board ids in a device tree's root: the one reader behind both the
 * QCDT table a dtbTool would build and the board selection. Pure.
 *
 * A tree's root carries them in one of two forms:
 *  - the old downstream form, read by the MultiROM-era kexec-tools fork
 *    (kexec/arch/arm/mach-*.c): `qcom,msm-id = <platform_id hardware_id soc_rev>`
 *    (shamu, falcon, e2nxx; dtbTool's v1 triples) or
 *    `<platform_id hardware_id soc_rev board_rev>` (hammerhead, m8);
 *  - the v2 form (dtbTool's dtbtool.txt 3.1, and mainline trees, e.g. Debian's
 *    qcom/msm8994-huawei-angler-rev-101.dtb): `qcom,msm-id = <soc_id soc_rev>, …`
 *    pairs with `qcom,board-id = <hardware_id subtype>, …` pairs, every
 *    combination being one id set ("not matched pairs"); `qcom,pmic-id` quads
 *    may follow (QCDT v3), and multiply the combinations again.
 * A tree with qcom,board-id is read in the v2 form; without it, a multiple of
 * three cells as triples and four cells as one (…, board_rev) quad; the caller
 * may name the form (a board's data does).
 */
import { hex } from '../errors.js';
import { type Fdt, type FdtProp, getProp, propError, readCells } from './fdt.js';

/** How qcom,msm-id cells group: <platform rev> (with qcom,board-id), <platform variant rev>, or four. */
export type MsmIdForm = 'pairs' | 'triples' | 'quad';

/** One set of Qualcomm ids a DTB is selected by. */
export interface QcomIds {
  /** platform_id / soc_id (the chipset: msm-id x). */
  platform: number;
  /** hardware_id / variant (platform type: MTP, CDP, or the OEM's board number). */
  variant?: number;
  subtype?: number;
  socRev: number;
  boardRev?: number;
  /** pmic0..pmic3. */
  pmic?: readonly number[];
}

function groups(prop: FdtProp, path: string, n: number): number[][] {
  const c = readCells(prop, 1, path).map(Number);
  if (c.length === 0 || c.length % n !== 0) throw propError(prop, `groups of ${n} cells`, `${c.length} cells`, path);
  const out: number[][] = [];
  for (let i = 0; i < c.length; i += n) out.push(c.slice(i, i + n));
  return out;
}

/**
 * Every Qualcomm id set of a tree's root, in the order the properties list
 * them (msm-id, then board-id, then pmic-id varying fastest), or undefined
 * without qcom,msm-id. A property whose cells do not group is a FormatError.
 */
export function qcomIdsOf(fdt: Fdt, form?: MsmIdForm): QcomIds[] | undefined {
  const msm = getProp(fdt.root, 'qcom,msm-id');
  if (!msm) return undefined;
  const board = getProp(fdt.root, 'qcom,board-id');
  const pmicProp = getProp(fdt.root, 'qcom,pmic-id');
  const cells = readCells(msm, 1, '/qcom,msm-id').length;
  const f: MsmIdForm = form ?? (board ? 'pairs' : cells % 3 === 0 ? 'triples' : cells === 4 ? 'quad' : 'pairs');
  const pmics: (number[] | undefined)[] = pmicProp ? groups(pmicProp, '/qcom,pmic-id', 4) : [undefined];
  const withPmics = (ids: QcomIds[]): QcomIds[] => ids.flatMap((i) => pmics.map((pmic) => (pmic ? { ...i, pmic } : i)));
  switch (f) {
    case 'quad': {
      // The fork's hammerhead code reads 3 cells as board_rev 0.
      if (cells !== 4 && cells !== 3) {
        throw propError(msm, '4 cells <platform hardware soc_rev board_rev> (or 3)', `${cells} cells`, '/qcom,msm-id');
      }
      const [c] = groups(msm, '/qcom,msm-id', cells);
      return withPmics([{ platform: c![0]!, variant: c![1]!, socRev: c![2]!, boardRev: c![3] ?? 0 }]);
    }
    case 'triples':
      return withPmics(groups(msm, '/qcom,msm-id', 3).map(([p, v, r]) => ({ platform: p!, variant: v!, socRev: r! })));
    case 'pairs': {
      const boards = board ? groups(board, '/qcom,board-id', 2) : [undefined];
      return withPmics(
        groups(msm, '/qcom,msm-id', 2).flatMap(([p, r]) =>
          boards.map((b) => (b ? { platform: p!, variant: b[0]!, subtype: b[1]!, socRev: r! } : { platform: p!, socRev: r! })),
        ),
      );
    }
  }
}

/** "platform 0xcf variant 0x8 subtype 0x0 soc-rev 0x20000", with the fields the set has (pmic when not all zero). */
export function formatQcomIds(ids: QcomIds): string {
  const parts = [`platform ${hex(ids.platform)}`];
  if (ids.variant !== undefined) parts.push(`variant ${hex(ids.variant)}`);
  if (ids.subtype !== undefined) parts.push(`subtype ${hex(ids.subtype)}`);
  parts.push(`soc-rev ${hex(ids.socRev)}`);
  if (ids.boardRev !== undefined) parts.push(`board-rev ${hex(ids.boardRev)}`);
  if (ids.pmic && ids.pmic.some((p) => p !== 0)) parts.push(`pmic ${ids.pmic.map(hex).join(' ')}`);
  return parts.join(' ');
}
