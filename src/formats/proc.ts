/**
 * /proc/iomem and /proc/cmdline as text: the twins of the live readers in
 * src/system/, so tests and `--dry-run` on another machine need no root.
 */
import { FormatError } from '../errors.js';
import type { MemoryMap, NamedRange, Range } from '../plan/memory.js';
import { normalize } from '../plan/memory.js';

export interface IomemEntry {
  readonly start: number;
  /** Exclusive (the file writes the last byte). */
  readonly end: number;
  readonly name: string;
  readonly depth: number;
  readonly children: IomemEntry[];
}

/**
 * Parses /proc/iomem: `START-END : NAME` lines, nested by two spaces of indent.
 * Offsets in errors are byte offsets of the line in the text.
 */
export function parseIomem(text: string): IomemEntry[] {
  const roots: IomemEntry[] = [];
  const stack: IomemEntry[] = [];
  let offset = 0;
  for (const line of text.split('\n')) {
    const here = offset;
    offset += line.length + 1;
    if (line.trim() === '') continue;
    const m = /^( *)([0-9a-fA-F]+)-([0-9a-fA-F]+) : (.*)$/.exec(line);
    if (!m) throw new FormatError('/proc/iomem', here, "'START-END : NAME'", JSON.stringify(line.slice(0, 60)));
    const indent = m[1]!.length;
    if (indent % 2 !== 0)
      throw new FormatError('/proc/iomem', here, 'an even indent', `${indent} spaces`);
    const depth = indent / 2;
    if (depth > stack.length)
      throw new FormatError('/proc/iomem', here, `nesting depth ≤ ${stack.length}`, String(depth));
    const start = parseInt(m[2]!, 16);
    const last = parseInt(m[3]!, 16);
    if (!Number.isSafeInteger(last) || last < start)
      throw new FormatError('/proc/iomem', here, 'START ≤ END below 2^53', `${m[2]}-${m[3]}`);
    const entry: IomemEntry = { start, end: last + 1, name: m[4]!, depth, children: [] };
    stack.length = depth;
    if (depth === 0) roots.push(entry);
    else stack[depth - 1]!.children.push(entry);
    stack.push(entry);
  }
  return roots;
}

/**
 * RAM and reserved regions from /proc/iomem. RAM is every top-level
 * "System RAM"; reserved is every "reserved" entry at any depth (firmware
 * regions, no-map reserved-memory) — the kernel's own code and data are not
 * reserved for kexec: the new kernel replaces them.
 *
 * A non-root reader sees every address as 0: that is an error, not an empty map.
 */
export function memoryFromIomem(text: string): MemoryMap {
  const entries = parseIomem(text);
  const ram: Range[] = [];
  const reserved: NamedRange[] = [];
  const walk = (es: IomemEntry[]): void => {
    for (const e of es) {
      if (e.depth === 0 && e.name === 'System RAM') ram.push({ start: e.start, end: e.end });
      else if (e.name.toLowerCase() === 'reserved') reserved.push({ start: e.start, end: e.end, name: 'reserved' });
      walk(e.children);
    }
  };
  walk(entries);
  if (ram.length > 0 && ram.every((r) => r.start === 0 && r.end === 1)) {
    throw new FormatError('/proc/iomem', 0, 'real addresses', 'all zero (read as root to see addresses)');
  }
  if (ram.length === 0) throw new FormatError('/proc/iomem', 0, "a 'System RAM' entry", 'none');
  return { ram: normalize(ram), reserved, source: '/proc/iomem' };
}

/** The running kernel's command line, as `--reuse-cmdline` passes it on. */
export function parseProcCmdline(text: string): string {
  // kexec-tools drops BOOT_IMAGE=: the bootloader sets it for the old kernel only.
  return text
    .replace(/\0/g, ' ')
    .trim()
    .split(/\s+/)
    .filter((w) => w !== '' && !w.startsWith('BOOT_IMAGE='))
    .join(' ');
}

/** The kernel's page size from /proc/self/smaps: the first `KernelPageSize: N kB` line. */
export function parseKernelPageSize(smaps: string): number {
  const m = /^KernelPageSize:\s+(\d+) kB$/m.exec(smaps);
  if (!m) throw new FormatError('/proc/self/smaps', 0, "a 'KernelPageSize: N kB' line", 'none');
  const bytes = Number(m[1]) * 1024;
  if (bytes < 4096 || (bytes & (bytes - 1)) !== 0) {
    throw new FormatError('/proc/self/smaps', m.index, 'a power-of-two page size ≥ 4 kB', `${m[1]} kB`);
  }
  return bytes;
}

/**
 * /sys/kernel/kexec_hardboot (kernel/patches/linux-6.1): the hardboot page's
 * physical address as `0x…` and a newline. Anything else is not our kernel's
 * file: undefined.
 */
export function parseHardbootSysfs(text: string): number | undefined {
  const m = /^\s*0x([0-9a-f]+)\s*$/i.exec(text);
  return m ? parseInt(m[1]!, 16) : undefined;
}
