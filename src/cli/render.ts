/** The plan as a person reads it (a table and a memory picture) and as JSON. */
import { hex } from '../errors.js';
import type { Plan } from '../plan/plan.js';
import { formatSize, intersect, normalize, overlaps, range, type Range } from '../util/memory.js';

export interface PlanJson {
  arch: string;
  flags: string;
  entry: string;
  segments: { kind: string; mem: string; memsz: string; bufsz: string }[];
  commandLine: string | null;
  dtb: { source: string; mem: string; size: string };
  keepClear: { name: string; start: string; end: string }[];
  warnings: string[];
}

export function planJson(plan: Plan): PlanJson {
  return {
    arch: plan.arch,
    flags: hex(plan.flags),
    entry: hex(plan.entry),
    segments: plan.segments.map((s) => ({ kind: s.kind, mem: hex(s.mem), memsz: hex(s.memsz), bufsz: hex(s.bytes.length) })),
    commandLine: plan.commandLine ?? null,
    dtb: { source: plan.dtb.source, mem: hex(plan.dtb.mem), size: hex(plan.dtb.size) },
    keepClear: plan.keepClear.map((k) => ({ name: k.name, start: hex(k.start), end: hex(k.end) })),
    warnings: plan.warnings,
  };
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]!))).join('  ').trimEnd()).join('\n');
}

export function renderPlan(plan: Plan): string {
  const rows = [['#', 'kind', 'mem', 'end', 'memsz', 'bufsz']];
  plan.segments.forEach((s, i) =>
    rows.push([String(i), s.kind, hex(s.mem), hex(s.mem + s.memsz), formatSize(s.memsz), formatSize(s.bytes.length)]),
  );
  const head = [
    `arch ${plan.arch}   flags ${hex(plan.flags)}   entry ${hex(plan.entry)}`,
    `dtb ${plan.dtb.source} → ${hex(plan.dtb.mem)} (${formatSize(plan.dtb.size)})`,
    `command line: ${plan.commandLine === undefined ? '(none)' : JSON.stringify(plan.commandLine)}`,
  ];
  const notes = plan.warnings.map((w) => `warning: ${w}`);
  return [...head, '', table(rows), '', renderMemory(plan), ...(notes.length ? ['', ...notes] : [])].join('\n') + '\n';
}

const LEGEND: [string, string][] = [
  ['K', 'kernel'],
  ['I', 'initrd'],
  ['D', 'dtb'],
  ['T', 'trampoline'],
  ['H', 'hardboot page'],
  ['Z', 'decompressor'],
  ['A', 'avoided'],
  ['R', 'reserved'],
  ['.', 'free'],
];

/**
 * One bar per RAM bank, 64 cells wide. A cell shows the most important thing
 * that touches it, so a 4 KiB page stays visible in a 1 GiB bank; then the
 * regions in address order with exact bounds.
 */
export function renderMemory(plan: Plan, width = 64): string {
  const items: { r: Range; label: string; ch: string; rank: number }[] = [];
  const rank = (ch: string) => LEGEND.findIndex(([c]) => c === ch);
  for (const s of plan.segments) {
    const ch = LEGEND.find(([, n]) => n === s.kind)![0];
    items.push({ r: range(s.mem, s.mem + s.memsz), label: s.kind, ch, rank: rank(ch) });
  }
  for (const k of plan.keepClear) {
    const ch = k.kind === 'hardboot-page' ? 'H' : k.kind === 'decompressor' ? 'Z' : 'A';
    items.push({ r: k, label: k.name, ch, rank: rank(ch) });
  }
  for (const r of plan.memory.reserved) items.push({ r, label: r.name, ch: 'R', rank: rank('R') });
  const out: string[] = [`memory (${plan.memory.source}):`];
  for (const bank of normalize(plan.memory.ram)) {
    const len = bank.end - bank.start;
    const cell = len / width;
    let bar = '';
    for (let i = 0; i < width; i++) {
      const c = range(bank.start + Math.floor(i * cell), bank.start + Math.floor((i + 1) * cell));
      const hit = items.filter((it) => overlaps(it.r, c)).sort((a, b) => a.rank - b.rank)[0];
      bar += hit ? hit.ch : '.';
    }
    out.push(`  ${hex(bank.start)} |${bar}| ${hex(bank.end)}  ${formatSize(len)} RAM`);
    const inBank = items
      .filter((it) => intersect([it.r], [bank]).length > 0)
      .sort((a, b) => a.r.start - b.r.start || a.rank - b.rank);
    for (const it of inBank) {
      out.push(`    ${it.ch} ${hex(it.r.start).padStart(12)} – ${hex(it.r.end).padEnd(12)} ${formatSize(it.r.end - it.r.start).padStart(10)}  ${it.label}`);
    }
  }
  out.push(`  legend: ${LEGEND.map(([c, n]) => `${c} ${n}`).join(', ')}`);
  return out.join('\n');
}
