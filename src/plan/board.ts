/**
 * Board selection: which of several DTBs (a QCDT dt.img, an Android DT table,
 * or DTBs appended to a kernel) belongs to the running board, and what the
 * chosen DTB takes over from the running tree. Pure.
 *
 * Qualcomm ids are read by formats/qcom-ids.ts (both forms are described there).
 *
 * The rule (the fork's choose_dtb, and LK's as dtbtool.txt 3.2 describes it):
 * platform and hardware (variant) ids must be equal, and the subtype when both
 * sides have one; then an exact soc_rev (and board_rev) wins, else the highest
 * soc_rev (then board_rev) not above the running one. The fork's hammerhead code
 * also required a strictly lower board_rev in the fallback; we accept an equal
 * one, as its shamu code does for soc_rev. pmic ids are shown, not compared (the
 * fork ignored them). The running tree's id sets are tried in order and the
 * first that matches a candidate decides (the fork read only the first one; a
 * mainline tree lists every SoC revision it supports). Among equally good
 * candidates the first whose root
 * `compatible` includes the running tree's first compatible wins, else the first;
 * the others are reported. Without Qualcomm ids on both sides, the root
 * `compatible` lists are matched: the candidate holding the running tree's most
 * specific compatible wins.
 */
import { FormatError, hex, PlanError } from '../errors.js';
import type { DtTable } from '../formats/dttable.js';
import { dtTableEntryBlob } from '../formats/dttable.js';
import {
  ensureNode,
  type Fdt,
  type FdtProp,
  findNode,
  getProp,
  parseFdt,
  propError,
  readCells,
  setProp,
} from '../formats/fdt.js';
import { memoryFromFdt, setMemoryReg } from '../formats/fdt-memory.js';
import { identityOf, rootStrings } from '../formats/dtb-list.js';
import { type Qcdt, qcdtEntryIds } from '../formats/qcdt.js';
import { formatQcomIds, type MsmIdForm, type QcomIds, qcomIdsOf } from '../formats/qcom-ids.js';
import type { BoardDef } from './boards.js';
import type { Arch } from './abi.js';


export interface BoardCandidate {
  /** Where it came from, for messages: "QCDT entry 3", "DTB 2 appended to the kernel". */
  source: string;
  dtb: Uint8Array;
  /** A QCDT entry's ids (what the bootloader selects by); otherwise the DTB's own are read. */
  tableIds?: QcomIds;
  /** An Android DT table entry's id, rev and custom words (vendor-defined; shown only). */
  dtTable?: { id: number; rev: number; custom: number[] };
}

// ---------------------------------------------------------------- candidates

export function candidatesFromQcdt(q: Qcdt): BoardCandidate[] {
  return q.entries.map((e) => {
    return { source: `QCDT entry ${e.index}`, dtb: e.dtb, tableIds: qcdtEntryIds(q.version, e) };
  });
}

export function candidatesFromDtTable(t: DtTable): BoardCandidate[] {
  // Entries that share a DT (mkdtboimg stores a repeated file once) share one decompression.
  const blobs = new Map<string, Uint8Array>();
  return t.entries.map((e) => {
    const key = `${e.offset}:${e.size}:${e.compression}`;
    let dtb = blobs.get(key);
    if (!dtb) blobs.set(key, (dtb = dtTableEntryBlob(e)));
    return { source: `DT table entry ${e.index}`, dtb, dtTable: { id: e.id, rev: e.rev, custom: e.custom } };
  });
}

export function candidatesFromDtbs(dtbs: readonly Uint8Array[], where: string): BoardCandidate[] {
  return dtbs.map((dtb, i) => ({ source: `DTB ${i} ${where}`, dtb }));
}

// ---------------------------------------------------------------- selection

export type MatchRule = 'exact' | 'lower-revision' | 'compatible';

export interface BoardChoice {
  index: number;
  candidate: BoardCandidate;
  /** The chosen DTB, parsed. */
  fdt: Fdt;
  rule: MatchRule;
  /** The running id set that matched, and the candidate's (Qualcomm rules). */
  running?: QcomIds;
  matched?: QcomIds;
  /** The running compatible string that matched (compatible rule). */
  compatible?: string;
  /** Other candidates that matched as well (same rank): reported, not used. */
  alsoMatched: number[];
}

interface Parsed {
  c: BoardCandidate;
  index: number;
  fdt: Fdt;
  ids?: QcomIds[];
  compatible: string[];
  model?: string;
}

export interface SelectOptions {
  /** The board's data (from boards.json): its msm-id form. */
  board?: BoardDef;
}

/**
 * Parses each distinct DTB once: the entries of a table that share a blob (a
 * QCDT's ids for one DTB, a DT table's repeated file) share its parse.
 */
function fdtParser(): (dtb: Uint8Array) => Fdt {
  const seen = new Map<ArrayBufferLike, Map<string, Fdt>>();
  return (dtb) => {
    let inBuffer = seen.get(dtb.buffer);
    if (!inBuffer) seen.set(dtb.buffer, (inBuffer = new Map()));
    const key = `${dtb.byteOffset}:${dtb.length}`;
    let fdt = inBuffer.get(key);
    if (!fdt) inBuffer.set(key, (fdt = parseFdt(dtb)));
    return fdt;
  };
}

function parseCandidate(c: BoardCandidate, index: number, parse: (dtb: Uint8Array) => Fdt, form?: MsmIdForm): Parsed {
  try {
    const fdt = parse(c.dtb);
    const ids = c.tableIds ? [c.tableIds] : qcomIdsOf(fdt, form);
    const p: Parsed = { c, index, fdt, compatible: rootStrings(fdt, 'compatible') };
    if (ids) p.ids = ids;
    const model = rootStrings(fdt, 'model')[0];
    if (model !== undefined) p.model = model;
    return p;
  } catch (e) {
    if (e instanceof FormatError) throw new FormatError(e.format, e.offset, `${c.source}: ${e.expected}`, e.found);
    throw e;
  }
}

/** Ranks a candidate id set against a running one: undefined (no match), 0 exact, else a fallback key. */
function rank(cand: QcomIds, run: QcomIds): { exact: boolean; key: [number, number] } | undefined {
  if (cand.platform !== run.platform) return undefined;
  if ((cand.variant ?? 0) !== (run.variant ?? 0)) return undefined;
  if (cand.subtype !== undefined && run.subtype !== undefined && cand.subtype !== run.subtype) return undefined;
  const cb = cand.boardRev ?? 0;
  const rb = run.boardRev ?? 0;
  if (cand.socRev === run.socRev && cb === rb) return { exact: true, key: [cand.socRev, cb] };
  if (cand.socRev <= run.socRev && cb <= rb) return { exact: false, key: [cand.socRev, cb] };
  return undefined;
}

function describeCandidate(p: Parsed): string {
  const ids = p.ids ? p.ids.map(formatQcomIds).join('; ') : 'no qcom ids';
  const who = [p.model ? JSON.stringify(p.model) : undefined, p.compatible.length ? `compatible ${p.compatible.map((s) => JSON.stringify(s)).join(', ')}` : undefined]
    .filter(Boolean)
    .join(', ');
  const dt = p.c.dtTable ? ` (table id ${hex(p.c.dtTable.id)} rev ${hex(p.c.dtTable.rev)})` : '';
  return `#${p.index} ${p.c.source}${dt}: ${ids}${who ? ` — ${who}` : ''}`;
}

/**
 * Chooses the candidate for the running tree `live` (see the module comment for
 * the rule). A failed match is a PlanError listing every candidate's ids and
 * the running ids.
 */
export function selectBoard(candidates: readonly BoardCandidate[], live: Fdt, opts: SelectOptions = {}): BoardChoice {
  const form = opts.board?.msmIdForm;
  const parse = fdtParser();
  const parsed = candidates.map((c, i) => parseCandidate(c, i, parse, form));
  const running = qcomIdsOf(live, form);
  const liveCompat = rootStrings(live, 'compatible');
  const prefer = (group: Parsed[]): Parsed => group.find((p) => liveCompat[0] !== undefined && p.compatible.includes(liveCompat[0])) ?? group[0]!;

  if (running && parsed.some((p) => p.ids)) {
    for (const run of running) {
      const exact: { p: Parsed; ids: QcomIds }[] = [];
      const lower: { p: Parsed; ids: QcomIds; key: [number, number] }[] = [];
      for (const p of parsed) {
        for (const ids of p.ids ?? []) {
          const r = rank(ids, run);
          if (!r) continue;
          if (r.exact) exact.push({ p, ids });
          else lower.push({ p, ids, key: r.key });
          break;
        }
      }
      let rule: MatchRule;
      let group: { p: Parsed; ids: QcomIds }[];
      if (exact.length > 0) {
        rule = 'exact';
        group = exact;
      } else if (lower.length > 0) {
        rule = 'lower-revision';
        const best = lower.reduce((a, b) => (b.key[0] > a.key[0] || (b.key[0] === a.key[0] && b.key[1] > a.key[1]) ? b : a)).key;
        group = lower.filter((l) => l.key[0] === best[0] && l.key[1] === best[1]);
      } else {
        continue;
      }
      const chosen = prefer(group.map((g) => g.p));
      const matched = group.find((g) => g.p === chosen)!.ids;
      return {
        index: chosen.index,
        candidate: chosen.c,
        fdt: chosen.fdt,
        rule,
        running: run,
        matched,
        alsoMatched: group.map((g) => g.p.index).filter((i) => i !== chosen.index),
      };
    }
  } else if (liveCompat.length > 0) {
    let best: { p: Parsed; score: number }[] = [];
    let bestScore = Infinity;
    for (const p of parsed) {
      const score = liveCompat.findIndex((s) => p.compatible.includes(s));
      if (score < 0) continue;
      if (score < bestScore) {
        bestScore = score;
        best = [{ p, score }];
      } else if (score === bestScore) {
        best.push({ p, score });
      }
    }
    if (best.length > 0) {
      const chosen = best[0]!.p;
      return {
        index: chosen.index,
        candidate: chosen.c,
        fdt: chosen.fdt,
        rule: 'compatible',
        compatible: liveCompat[bestScore]!,
        alsoMatched: best.slice(1).map((b) => b.p.index),
      };
    }
  }

  const liveId = identityOf(live);
  const runningText = running
    ? running.map(formatQcomIds).join('; ')
    : 'no qcom,msm-id';
  const who = [liveId.model ? JSON.stringify(liveId.model) : undefined, liveCompat.length ? `compatible ${liveCompat.map((s) => JSON.stringify(s)).join(', ')}` : undefined]
    .filter(Boolean)
    .join(', ');
  const rule = running && parsed.some((p) => p.ids)
    ? 'same platform and variant (and subtype), soc-rev equal or the highest lower one'
    : 'a root compatible string in common';
  throw new PlanError(
    [
      `no DTB matches the running board (${rule})`,
      `  running: ${runningText}${who ? ` — ${who}` : ''}`,
      `  candidates (${parsed.length}):`,
      ...parsed.map((p) => `    ${describeCandidate(p)}`),
    ].join('\n'),
  );
}

// ---------------------------------------------------------------- live properties

export interface LiveCopyReport {
  /** The chosen tree with the copies made (a copy: the tree given is left as it was). */
  fdt: Fdt;
  /** Paths set in the chosen tree. */
  copied: string[];
  /** Paths the board copies that the running tree does not have. */
  missing: string[];
}

/**
 * Copies what the board's data lists from the running tree into the chosen
 * one: `/memory` `reg` through setMemoryReg (decoded with the running tree's
 * cell sizes, encoded with the chosen tree's), `/chosen` properties by prefix
 * (shamu's `mmi,…`), named properties (m8's calibration data). A property the
 * running tree lacks is reported in `missing`; running RAM is required.
 * Properties are replaced, not appended to (the fork's m8 code appended).
 * The edits go into a copy of `chosen`, returned in the report.
 */
export function applyLiveProps(source: Fdt, live: Fdt, board: BoardDef): LiveCopyReport {
  const chosen = structuredClone(source);
  const report: LiveCopyReport = { fdt: chosen, copied: [], missing: [] };
  const path = (node: string, prop: string) => (node === '/' ? `/${prop}` : `${node}/${prop}`);
  for (const rule of board.copy) {
    if ('as' in rule) {
      const ranges = memoryFromFdt(live).memory;
      if (ranges.length === 0) {
        throw new PlanError(`board ${board.names[0]}: the running tree describes no RAM (${rule.node} reg) to copy into the chosen DTB`);
      }
      const node = setMemoryReg(chosen, ranges);
      report.copied.push(`/${node.name}/reg`);
      continue;
    }
    const from = findNode(live, rule.node);
    if ('prefix' in rule) {
      const props = from?.props.filter((p) => p.name.startsWith(rule.prefix)) ?? [];
      if (props.length === 0) {
        report.missing.push(path(rule.node, `${rule.prefix}*`));
        continue;
      }
      const to = ensureNode(chosen, rule.node);
      for (const p of props) {
        setProp(to, p.name, p.value);
        report.copied.push(path(rule.node, p.name));
      }
      continue;
    }
    let to = findNode(chosen, rule.node);
    for (const name of rule.props) {
      const p = from ? getProp(from, name) : undefined;
      if (!p) {
        report.missing.push(path(rule.node, name));
        continue;
      }
      if (!to) {
        if (!rule.create) {
          report.missing.push(`${rule.node} (in the chosen DTB)`);
          break;
        }
        to = ensureNode(chosen, rule.node);
      }
      setProp(to, name, p.value);
      report.copied.push(path(rule.node, name));
    }
  }
  return report;
}
