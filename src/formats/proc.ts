/**
 * /proc/iomem and /proc/cmdline as text: the twins of the live readers in
 * src/system/, so tests and `--dry-run` on another machine need no root.
 */
import { FormatError } from '../errors.js';
import type { MemoryMap, NamedRange, Range } from '../util/memory.js';
import { normalize } from '../util/memory.js';

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
 * /sys/kernel/kexec_hardboot as the first version of the kernel series made
 * it: one file, the hardboot page's physical address as `0x…` and a newline.
 * Anything else is not our kernel's file: undefined.
 */
export function parseHardbootSysfs(text: string): number | undefined {
  const m = /^\s*0x([0-9a-f]+)\s*$/i.exec(text);
  return m ? parseInt(m[1]!, 16) : undefined;
}

/** What a kernel with kexec hardboot says about it in /sys/kernel/kexec_hardboot. */
export interface HardbootSupport {
  /** 'directory': /sys/kernel/kexec_hardboot/ (series v2); 'file': the first series' single file. */
  interface: 'directory' | 'file';
  /** The hardboot page's physical address. */
  page: number;
  /** The kexec_load() flag bit that asks for a hardboot (0x4 on the 6.1 series; the file form implies it). */
  flag: number;
  /** The record version the kernel writes and takes over. */
  recordVersion?: number;
  /** 'psci-system-reset2-warm', 'psci-system-reset' or 'none'. */
  reset?: string;
  /** Whether a hardboot is possible now, and if not why (the kernel's words). */
  ready?: boolean;
  reason?: string;
  /** Whether this kernel's boot code takes records over (CONFIG_KEXEC_HARDBOOT_TAKEOVER). */
  takeover?: boolean;
  /** What the boot code checks of each segment: 'full' or 'edges'. */
  check?: string;
}

/** The flag the 6.1 series and MultiROM use. */
export const HARDBOOT_FLAG_6_1 = 0x4;

/**
 * /sys/kernel/kexec_hardboot/ as the kernel series (v2) makes it: `files` maps
 * each file's name to its text (a missing optional file is simply absent).
 * `page` and `flag` are required; the flag must be one bit of the low 16 other
 * than KEXEC_ON_CRASH (0x1) and KEXEC_PRESERVE_CONTEXT (0x2), since those are
 * the bits kexec_load() takes. `dir` names the directory in errors.
 */
export function parseHardbootDirectory(files: Readonly<Record<string, string>>, dir: string): HardbootSupport {
  const bad = (name: string, expected: string): never => {
    const text = files[name];
    throw new FormatError('sysfs', 0, expected, text === undefined ? 'no such file' : JSON.stringify(text.trim()), `${dir}/${name}`);
  };
  const hexOf = (name: string): number | undefined => {
    const m = /^\s*0x([0-9a-f]{1,13})\s*$/i.exec(files[name] ?? '');
    return m ? parseInt(m[1]!, 16) : undefined;
  };
  const page = hexOf('page') ?? bad('page', 'a hex address such as 0x47fff000');
  if (page % 0x1000 !== 0) bad('page', 'a 4 KiB-aligned address');
  const flag = hexOf('flag') ?? bad('flag', 'a hex flag such as 0x4');
  if (flag === 0 || flag > 0xffff || (flag & (flag - 1)) !== 0 || flag <= 0x2) {
    bad('flag', 'one kexec_load() flag bit between 0x4 and 0x8000');
  }
  const out: HardbootSupport = { interface: 'directory', page, flag };
  const text = (name: string) => files[name]?.trim();
  const version = text('record_version');
  if (version !== undefined) {
    if (!/^\d+$/.test(version)) bad('record_version', 'a decimal version');
    out.recordVersion = Number(version);
  }
  const reset = text('reset');
  if (reset !== undefined) out.reset = reset;
  const status = text('status');
  if (status !== undefined) {
    if (status === 'ready') out.ready = true;
    else if (status.startsWith('unavailable: ')) {
      out.ready = false;
      out.reason = status.slice('unavailable: '.length);
    } else bad('status', '"ready" or "unavailable: <reason>"');
  }
  const takeover = text('takeover');
  if (takeover !== undefined) {
    if (takeover !== '0' && takeover !== '1') bad('takeover', '0 or 1');
    out.takeover = takeover === '1';
  }
  const check = text('check');
  if (check !== undefined) out.check = check;
  return out;
}

/** The first series' single file, as the same record (its flag was always 0x4). */
export function hardbootFromFile(text: string, path: string): HardbootSupport {
  const page = parseHardbootSysfs(text);
  if (page === undefined) throw new FormatError('sysfs', 0, 'a hex address such as 0x47fff000', JSON.stringify(text.trim()), path);
  return { interface: 'file', page, flag: HARDBOOT_FLAG_6_1 };
}

/** Uid and CapEff of a /proc/<pid>/status text. */
export function parseProcStatus(text: string): { uid?: number[]; capEff?: bigint } {
  const out: { uid?: number[]; capEff?: bigint } = {};
  const uid = /^Uid:\s+(.*)$/m.exec(text);
  if (uid) out.uid = uid[1]!.trim().split(/\s+/).map(Number);
  const cap = /^CapEff:\s+([0-9a-fA-F]+)\s*$/m.exec(text);
  if (cap) out.capEff = BigInt(`0x${cap[1]}`);
  return out;
}

/** The bracketed level of /sys/kernel/security/lockdown ("[none] integrity confidentiality"). */
export function parseLockdown(text: string): string | undefined {
  return /\[([a-z]+)\]/.exec(text)?.[1];
}
