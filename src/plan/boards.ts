/**
 * The board data (boards.json): per board, how to pick its DTB and what to copy
 * from the running tree, validated before anything trusts it.
 */
import { FormatError } from '../errors.js';
import type { MsmIdForm } from '../formats/qcom-ids.js';
import type { Arch } from './abi.js';

/** What to copy from the running tree into the chosen DTB. */
export type CopyRule =
  | { node: string; prop: 'reg'; as: 'memory' }
  | { node: string; prefix: string }
  | { node: string; props: string[]; create?: boolean };

export interface BoardDef {
  names: string[];
  description: string;
  soc?: string;
  arch?: Arch;
  /** false for board-file kernels booted with ATAGs (nothing to select or copy). */
  devicetree: boolean;
  msmIdForm?: MsmIdForm;
  hardbootPage?: number;
  copy: CopyRule[];
  /** Where each fact came from. */
  readme: string;
}

const BOARDS = 'boards.json';

function bad(where: string, expected: string, found: unknown): never {
  throw new FormatError(BOARDS, 0, `${where}: ${expected}`, JSON.stringify(found) ?? String(found));
}

/** Validates boards.json's contents (the CLI reads the file; this stays pure). */
export function parseBoards(json: unknown): BoardDef[] {
  if (typeof json !== 'object' || json === null || !Array.isArray((json as { boards?: unknown }).boards)) {
    bad('the top level', 'an object with a "boards" array', json);
  }
  const seen = new Set<string>();
  return (json as { boards: unknown[] }).boards.map((b, i) => {
    const where = `boards[${i}]`;
    if (typeof b !== 'object' || b === null) bad(where, 'an object', b);
    const o = b as Record<string, unknown>;
    const names = o['names'];
    if (!Array.isArray(names) || names.length === 0 || !names.every((n) => typeof n === 'string' && /^[a-z0-9_-]+$/.test(n))) {
      bad(`${where}.names`, 'a non-empty list of lower-case board names', names);
    }
    for (const n of names as string[]) {
      if (seen.has(n)) bad(`${where}.names`, 'names used by one board only', n);
      seen.add(n);
    }
    for (const key of ['description', 'readme']) {
      if (typeof o[key] !== 'string' || (o[key] as string).length === 0) bad(`${where}.${key}`, 'a non-empty string', o[key]);
    }
    if (typeof o['devicetree'] !== 'boolean') bad(`${where}.devicetree`, 'true or false', o['devicetree']);
    const def: BoardDef = {
      names: names as string[],
      description: o['description'] as string,
      devicetree: o['devicetree'] as boolean,
      copy: [],
      readme: o['readme'] as string,
    };
    if (o['soc'] !== undefined) {
      if (typeof o['soc'] !== 'string') bad(`${where}.soc`, 'a string', o['soc']);
      def.soc = o['soc'] as string;
    }
    if (o['arch'] !== undefined) {
      if (o['arch'] !== 'arm' && o['arch'] !== 'arm64') bad(`${where}.arch`, '"arm" or "arm64"', o['arch']);
      def.arch = o['arch'] as Arch;
    }
    if (o['msmIdForm'] !== undefined) {
      if (!['pairs', 'triples', 'quad'].includes(o['msmIdForm'] as string)) bad(`${where}.msmIdForm`, '"pairs", "triples" or "quad"', o['msmIdForm']);
      def.msmIdForm = o['msmIdForm'] as MsmIdForm;
    }
    if (o['hardbootPage'] !== undefined) {
      const s = o['hardbootPage'];
      if (typeof s !== 'string' || !/^0x[0-9a-f]+$/i.test(s) || Number(s) % 0x1000 !== 0) bad(`${where}.hardbootPage`, 'a page-aligned hex address string', s);
      def.hardbootPage = Number(s);
    }
    const copy = o['copy'] ?? [];
    if (!Array.isArray(copy)) bad(`${where}.copy`, 'a list', copy);
    def.copy = (copy as unknown[]).map((c, k) => {
      const w = `${where}.copy[${k}]`;
      if (typeof c !== 'object' || c === null) bad(w, 'an object', c);
      const r = c as Record<string, unknown>;
      if (typeof r['node'] !== 'string' || !(r['node'] as string).startsWith('/')) bad(`${w}.node`, 'an absolute node path', r['node']);
      const node = r['node'] as string;
      if (r['as'] === 'memory') {
        if (r['prop'] !== 'reg') bad(`${w}.prop`, '"reg" with "as": "memory"', r['prop']);
        return { node, prop: 'reg' as const, as: 'memory' as const };
      }
      if (typeof r['prefix'] === 'string' && r['prefix'] !== '') return { node, prefix: r['prefix'] as string };
      const props = r['props'];
      if (!Array.isArray(props) || props.length === 0 || !props.every((p) => typeof p === 'string' && p !== '')) {
        bad(w, '{"as": "memory"}, a "prefix", or a non-empty "props" list', c);
      }
      const rule: CopyRule = { node, props: props as string[] };
      if (r['create'] !== undefined) {
        if (typeof r['create'] !== 'boolean') bad(`${w}.create`, 'true or false', r['create']);
        rule.create = r['create'] as boolean;
      }
      return rule;
    });
    if (!def.devicetree && def.copy.length > 0) bad(`${where}.copy`, 'nothing to copy for a board without a device tree', def.copy);
    return def;
  });
}

export function findBoard(boards: readonly BoardDef[], name: string): BoardDef | undefined {
  const n = name.toLowerCase();
  return boards.find((b) => b.names.includes(n));
}
