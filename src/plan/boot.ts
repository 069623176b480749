/**
 * What `hardboot boot` and the menu do with a boot root, decided without
 * touching it: which entry boots without a person (the one-shot entry, else
 * the saved default, else the menu's default), and for the chosen entry the
 * load (files under the root, command line, method and options from
 * hardboot.conf) and the state it leaves (the boot counter's rename, the
 * `booted` record `hardboot bless` reads, the one-shot entry used up).
 *
 * Pure: the menu, the parsed files and the state come in; the caller reads and
 * writes them, loads, and executes, in the order {@link BootPlan} lists.
 */
import { posix } from 'node:path';
import { PlanError, UsageError } from '../errors.js';
import { attemptedEntryName, blessedEntryName } from '../formats/bls.js';
import { type BootConf, type BootMethod, bootOptionsFor } from '../formats/hardboot-conf.js';
import type { BootMenu, MenuEntry } from './menu.js';

/** The state files under `hardboot/` (each absent when not set). */
export interface BootState {
  /** `set-default`: the entry to boot when nothing else is asked for. */
  default?: string;
  /** `set-oneshot`: the entry to boot next time only. */
  oneshot?: string;
  /** The file name (in loader/entries) of the counted entry booted last, for `bless`. */
  booted?: string;
}

/** The state directory and its files, relative to the boot root. */
export const STATE_DIR = 'hardboot';
export const STATE_FILES = { default: 'hardboot/default', oneshot: 'hardboot/oneshot', booted: 'hardboot/booted' } as const;
export const BOOT_CONF_FILE = 'hardboot/hardboot.conf';

export type SelectionReason = 'oneshot' | 'saved' | 'default' | 'fallback' | 'chosen';

export interface Selection {
  index: number;
  reason: SelectionReason;
  notes: string[];
}

/** Why an entry cannot be booted without a person choosing it, or undefined when it can. */
function notAutomatic(e: MenuEntry): string | undefined {
  if (e.unbootable) return `it cannot be booted by hardboot: ${e.unbootable}`;
  if (e.bad) return 'it has used up its boot tries';
  return undefined;
}

/**
 * The menu index `name` means: a 1-based number as the menu shows it, an
 * entry id (`SOURCE:ID` to pick between a BLS entry and an extlinux label of
 * the same name), or a BLS entry's file name with or without its counter.
 * Exact case first, then case-insensitive; -1 when nothing matches; an
 * ambiguous name is refused.
 */
export function findEntry(menu: BootMenu, name: string): number {
  if (/^[1-9][0-9]*$/.test(name) && Number(name) <= menu.entries.length) return Number(name) - 1;
  const m = /^(bls|extlinux):(.+)$/.exec(name);
  const source = m ? m[1] : undefined;
  const want = m ? m[2]! : name;
  for (const fold of [false, true]) {
    const eq = (a: string) => (fold ? a.toLowerCase() === want.toLowerCase() : a === want);
    const hits: number[] = [];
    menu.entries.forEach((e, i) => {
      if (source !== undefined && e.source !== source) return;
      const base = posix.basename(e.file);
      if (eq(e.id) || (e.source === 'bls' && (eq(base) || eq(blessedEntryName(base))))) hits.push(i);
    });
    if (hits.length > 1) {
      throw new UsageError(`'${name}' names ${hits.length} entries (${hits.map((i) => `${menu.entries[i]!.source}:${menu.entries[i]!.id}`).join(', ')}): write SOURCE:ID`);
    }
    if (hits.length === 1) return hits[0]!;
  }
  return -1;
}

/** The index of `name` in the menu, or a UsageError listing what there is. */
export function requireEntry(menu: BootMenu, name: string): number {
  const i = findEntry(menu, name);
  if (i < 0) {
    const known = menu.entries.map((e, k) => `${k + 1} ${e.id}`).join(', ');
    throw new UsageError(`no boot entry '${name}'${known ? `; there are: ${known}` : ': the boot root has none'}`);
  }
  return i;
}

/**
 * The entries to boot without a person, best first: the one-shot entry, the
 * saved default, the menu's own default, then every other entry in menu
 * order — each only when it is in the menu, has tries left and can be booted
 * (a skipped one-shot or saved default gets a note). The first is the choice;
 * the rest are the fallbacks when it cannot even be loaded.
 */
export function automaticCandidates(menu: BootMenu, state: BootState): { selections: Selection[]; notes: string[] } {
  const notes: string[] = [];
  const out: Selection[] = [];
  const add = (index: number, reason: SelectionReason) => {
    if (!out.some((s) => s.index === index) && notAutomatic(menu.entries[index]!) === undefined) out.push({ index, reason, notes });
  };
  const named = (what: string, name: string | undefined, reason: SelectionReason) => {
    if (name === undefined) return;
    const i = findEntry(menu, name);
    if (i < 0) notes.push(`the ${what} entry '${name}' is not in the menu`);
    else {
      const why = notAutomatic(menu.entries[i]!);
      if (why) notes.push(`the ${what} entry '${name}' is skipped: ${why}`);
      else add(i, reason);
    }
  };
  named('one-shot', state.oneshot, 'oneshot');
  named('saved default', state.default, 'saved');
  if (menu.defaultIndex !== undefined) add(menu.defaultIndex, 'default');
  menu.entries.forEach((_, i) => add(i, 'fallback'));
  return { selections: out, notes };
}

/** The entry to boot without a person ({@link automaticCandidates}' first), or undefined when nothing qualifies. */
export function automaticSelection(menu: BootMenu, state: BootState): Selection | undefined {
  return automaticCandidates(menu, state).selections[0];
}

/** Everything one boot of an entry does, in order: load, then the state changes, then execute. */
export interface BootPlan {
  entry: MenuEntry;
  method: BootMethod;
  /** Absolute paths (under the root). */
  kernel: string;
  initrds: string[];
  devicetree?: string;
  vendorBoot?: string;
  commandLine?: string;
  memMin?: number;
  memMax?: number;
  board?: string;
  /** A counted BLS entry: its file renamed (paths relative to the root) before the kernel runs. */
  count?: { from: string; to: string };
  /** The `booted` record after this boot: the counted entry's new file name, or undefined (the record is removed). */
  booted?: string;
  /** Whether the one-shot record is removed (it named this entry, or an entry that cannot be used). */
  clearOneshot: boolean;
  notes: string[];
}

/**
 * A path an entry names, as a path under the root: BLS and extlinux paths are
 * from the root of the partition the file is on (the boot root), whether or not
 * they start with `/`; `..` cannot leave it.
 */
export function underRoot(root: string, path: string): string {
  return posix.join(root, posix.normalize(`/${path}`));
}

/**
 * The plan for booting menu entry `index`. `hardbootAvailable`: whether the
 * running kernel can hardboot (an entry without a `method` in hardboot.conf
 * boots by hardboot when it can, else by kexec, with a note).
 */
export function planBoot(
  menu: BootMenu,
  index: number,
  o: { root: string; conf?: BootConf; state: BootState; reason: SelectionReason; hardbootAvailable: boolean },
): BootPlan {
  const entry = menu.entries[index];
  if (!entry) throw new UsageError(`no menu entry ${index + 1}`);
  if (entry.unbootable || entry.kernel === undefined) {
    throw new PlanError(`${posix.join(o.root, entry.file)}: ${entry.id} cannot be booted by hardboot: ${entry.unbootable ?? 'it names no kernel'}`);
  }
  const notes: string[] = [];
  const opts = bootOptionsFor(o.conf, entry.id);
  let method: BootMethod;
  if (opts.method !== undefined) method = opts.method;
  else if (o.hardbootAvailable) method = 'hardboot';
  else {
    method = 'kexec';
    notes.push(`this kernel cannot hardboot: ${entry.id} boots by plain kexec`);
  }
  const p: BootPlan = {
    entry,
    method,
    kernel: underRoot(o.root, entry.kernel),
    initrds: entry.initrds.map((i) => underRoot(o.root, i)),
    clearOneshot: o.state.oneshot !== undefined && (o.reason === 'oneshot' || findEntry(menu, o.state.oneshot) < 0),
    notes,
  };
  if (entry.devicetree !== undefined) p.devicetree = underRoot(o.root, entry.devicetree);
  if (opts.vendorBoot !== undefined) p.vendorBoot = underRoot(o.root, opts.vendorBoot);
  if (entry.commandLine !== undefined) p.commandLine = entry.commandLine;
  if (opts.memMin !== undefined) p.memMin = opts.memMin;
  if (opts.memMax !== undefined) p.memMax = opts.memMax;
  if (opts.board !== undefined) p.board = opts.board;
  if (entry.source === 'bls') {
    const base = posix.basename(entry.file);
    const next = attemptedEntryName(base);
    if (next !== undefined) {
      p.count = { from: entry.file, to: posix.join(posix.dirname(entry.file), next) };
      p.booted = next;
      if (entry.triesLeft === 0) notes.push(`${entry.id} has no boot tries left; booting it because it was chosen`);
    }
  }
  return p;
}

/** What `hardboot bless` does: the counted file's rename to its plain name, from the `booted` record. */
export function planBless(booted: string | undefined, entries: readonly string[]): { rename?: { from: string; to: string }; note: string } {
  if (booted === undefined) return { note: 'nothing to bless: the last boot was not of a counted entry' };
  const to = blessedEntryName(booted);
  if (entries.includes(booted)) {
    if (to === booted) return { note: `${booted} has no boot counter` };
    return { rename: { from: booted, to }, note: `${booted} blessed: now ${to}` };
  }
  if (entries.includes(to)) return { note: `${to} is already blessed` };
  return { note: `nothing to bless: ${booted}, the entry booted last, is gone from loader/entries` };
}
