/**
 * Boot Loader Specification (UAPI.1) Type #1 entries, `loader/loader.conf`,
 * boot counting in entry file names, the UAPI Version Format Specification's
 * comparison, the spec's menu order and the default-entry choice.
 *
 * Where the specification leaves a reader free, this module does what the
 * boot loader that ships with it (systemd-boot) does, and says so; where
 * systemd-boot would quietly drop a line, it refuses the file instead (a boot
 * manager should not boot something other than what the file says).
 */
import { FormatError } from '../errors.js';
import { quoteText, textLines, type TextLine } from '../util/text.js';

// ---------------------------------------------------------------- lines

/** A `key value` line this module keeps but does not interpret. */
export interface ConfigLine {
  readonly key: string;
  readonly value: string;
  /** The line's byte offset in the file. */
  readonly offset: number;
  readonly line: number;
}

/**
 * The `key value` lines of a BLS-style file, as systemd-boot reads them: each
 * line is trimmed of spaces and tabs, `#` after that starts a comment line,
 * the key ends at the first space or tab and the value is the rest, trimmed; a
 * value wholly in double quotes loses them. A key alone is returned with value
 * `undefined` (the caller decides whether its key may be empty).
 */
export function keyValueLines(input: string | Uint8Array, format: string): { key: string; value: string | undefined; at: TextLine }[] {
  const out: { key: string; value: string | undefined; at: TextLine }[] = [];
  for (const at of textLines(input, format)) {
    const line = at.text.replace(/^[ \t]+|[ \t]+$/g, '');
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([^ \t]+)[ \t]+([\s\S]*)$/.exec(line);
    if (!m) {
      out.push({ key: line, value: undefined, at });
      continue;
    }
    let value = m[2]!;
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    out.push({ key: m[1]!, value, at });
  }
  return out;
}

export function lineError(format: string, at: TextLine, expected: string, found: string): FormatError {
  return new FormatError(format, at.offset, expected, `${found} (line ${at.number})`);
}

// ---------------------------------------------------------------- entries

const ENTRY = 'BLS entry';

/** A Type #1 entry file (`loader/entries/*.conf`), as written. */
export interface BlsEntry {
  title?: string;
  version?: string;
  machineId?: string;
  sortKey?: string;
  /** The kernel, a path from the root of the entry's partition. */
  linux?: string;
  /** An EFI program (only EFI systems can start it; hardboot cannot). */
  efi?: string;
  /** Every `initrd` line, in file order. */
  initrd: string[];
  /** Every `options` line joined with a space; absent when there is none. */
  options?: string;
  devicetree?: string;
  /** Every `devicetree-overlay` line's space-separated paths, in order. */
  devicetreeOverlay: string[];
  /** An EFI architecture name (`x64`, `aa64`, `arm`, …) as written; compare case-insensitively. */
  architecture?: string;
  /** Lines with keys this parser does not know, in file order (shown, never acted on). */
  other: ConfigLine[];
}

type SingleKey = 'title' | 'version' | 'machineId' | 'sortKey' | 'linux' | 'efi' | 'devicetree' | 'architecture';
const SINGLE: Readonly<Record<string, SingleKey>> = {
  title: 'title',
  version: 'version',
  'machine-id': 'machineId',
  'sort-key': 'sortKey',
  linux: 'linux',
  efi: 'efi',
  devicetree: 'devicetree',
  architecture: 'architecture',
};

/**
 * Parses a Type #1 entry file. Text or the file's bytes (refused when larger
 * than 64 KiB or 4096 lines, or not NUL-free UTF-8). Offsets in errors are
 * byte offsets of the line, and the message names its number.
 *
 * Refused: a known key twice (systemd-boot keeps the last `linux`, other
 * readers the first: the file is ambiguous), a known key without a value
 * (except `options` and `devicetree-overlay`, where empty means none), and an
 * entry with neither `linux` nor `efi` (the spec requires one).
 */
export function parseBlsEntry(input: string | Uint8Array): BlsEntry {
  const e: BlsEntry = { initrd: [], devicetreeOverlay: [], other: [] };
  const seen = new Map<string, TextLine>();
  for (const { key, value, at } of keyValueLines(input, ENTRY)) {
    const single = Object.hasOwn(SINGLE, key) ? SINGLE[key] : undefined;
    if (single !== undefined) {
      const first = seen.get(key);
      if (first) throw lineError(ENTRY, at, `'${key}' once`, `a second '${key}' (the first is on line ${first.number})`);
      seen.set(key, at);
    }
    if (value === undefined || value === '') {
      if (key === 'options' || key === 'devicetree-overlay') continue;
      if (single !== undefined || key === 'initrd') throw lineError(ENTRY, at, `a value after '${key}'`, 'none');
      e.other.push({ key, value: value ?? '', offset: at.offset, line: at.number });
      continue;
    }
    if (single !== undefined) e[single] = value;
    else if (key === 'initrd') e.initrd.push(value);
    else if (key === 'options') e.options = e.options === undefined ? value : `${e.options} ${value}`;
    else if (key === 'devicetree-overlay') e.devicetreeOverlay.push(...value.split(/[ \t]+/).filter((p) => p !== ''));
    else e.other.push({ key, value, offset: at.offset, line: at.number });
  }
  if (e.linux === undefined && e.efi === undefined) {
    throw new FormatError(ENTRY, 0, "a 'linux' or an 'efi' key", 'neither');
  }
  return e;
}

// ---------------------------------------------------------------- boot counting in names

const NAME = 'BLS entry name';
/** Counters above this are not boot counting (systemd-boot's limit, INT_MAX). */
export const BOOT_COUNTER_MAX = 0x7fffffff;

/** What an entry's file name says: its id and, when it is counted, its counters. */
export interface EntryName {
  /** The file name as given, e.g. `fedora-6.1+2-1.conf`. */
  fileName: string;
  /** The name without its suffix and boot counter, e.g. `fedora-6.1`: stable while the file is renamed. */
  id: string;
  /** `.conf` (Type #1) or `.efi` (Type #2), as spelled in the name. */
  suffix: string;
  /** Boots still to try; 0 is a "bad" entry. Absent when the name carries no counter. */
  triesLeft?: number;
  /** Failed boots so far (0 when the name has `+LEFT` alone). Present exactly when triesLeft is. */
  triesDone?: number;
}

/**
 * The id and boot counters of an entry file name: `ID.conf`, `ID+LEFT.conf`,
 * `ID+LEFT-DONE.conf` (also `.efi`, either suffix in any case, as FAT names
 * are). Only the last `+` counts and the suffix must follow the counter at
 * once; a name whose `+…` is anything else (`a+b.conf`, `a+1-.conf`, a counter
 * above {@link BOOT_COUNTER_MAX}, or nothing before the `+`) is not counted:
 * its whole stem is the id, as the specification ("boot counting is enabled
 * for entries which match this pattern") and systemd-boot have it. Leading
 * zeros are read as decimal (`+03` is 3).
 *
 * Refused: a name that is not a file name (empty, with `/` or NUL) or does not
 * end in `.conf` or `.efi`, or whose stem is empty.
 */
export function parseEntryName(fileName: string): EntryName {
  if (fileName.includes('/') || fileName.includes('\0')) {
    throw new FormatError(NAME, 0, 'a file name (no / or NUL)', quoteText(fileName));
  }
  const m = /^(.+)(\.(?:conf|efi))$/i.exec(fileName);
  if (!m) throw new FormatError(NAME, 0, "a name ending in '.conf' or '.efi' after at least one character", quoteText(fileName));
  const stem = m[1]!;
  const suffix = m[2]!;
  const c = /^(.+)\+(\d+)(?:-(\d+))?$/.exec(stem);
  if (c) {
    const left = Number(c[2]);
    const done = c[3] === undefined ? 0 : Number(c[3]);
    if (left <= BOOT_COUNTER_MAX && done <= BOOT_COUNTER_MAX) {
      return { fileName, id: c[1]!, suffix, triesLeft: left, triesDone: done };
    }
  }
  return { fileName, id: stem, suffix };
}

/**
 * The name a counted entry's file takes when a boot of it begins: one try
 * fewer left (never below 0) and one more done (never above
 * {@link BOOT_COUNTER_MAX}), as systemd-boot renames it before it starts the
 * kernel. The boot counts as failed until the booted system blesses it.
 * `undefined` for a name without a counter: nothing to rename.
 */
export function attemptedEntryName(fileName: string): string | undefined {
  const n = parseEntryName(fileName);
  if (n.triesLeft === undefined || n.triesDone === undefined) return undefined;
  return `${n.id}+${Math.max(n.triesLeft - 1, 0)}-${Math.min(n.triesDone + 1, BOOT_COUNTER_MAX)}${n.suffix}`;
}

/** The name a booted entry's file takes once the boot is known good: its counter removed (`ID.conf`). */
export function blessedEntryName(fileName: string): string {
  const n = parseEntryName(fileName);
  return n.triesLeft === undefined ? fileName : `${n.id}${n.suffix}`;
}

/** Whether a counted entry has used up its tries (the spec's "bad" entries). */
export function isBadEntry(name: Pick<EntryName, 'triesLeft'>): boolean {
  return name.triesLeft === 0;
}

// ---------------------------------------------------------------- versions

const isDigit = (c: string) => c >= '0' && c <= '9';
const isAlpha = (c: string) => (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
const isVersionChar = (c: string) => isDigit(c) || isAlpha(c) || c === '~' || c === '-' || c === '^' || c === '.';

/**
 * Compares two version strings by the UAPI Version Format Specification, as
 * the implementation it names (`systemd-analyze compare-versions`, systemd's
 * strverscmp_improved) does: negative when `a` is older, 0 when equal,
 * positive when newer.
 *
 * In a loop: characters other than ASCII letters, digits and `~-^.` are
 * skipped; a `~` sorts before anything, even the end (`1~rc1` < `1`); then a
 * string with characters left is newer (`1^` > `1`, `1.` > `1`); then, facing
 * anything else, `-` sorts lower, then `^`, then `.`; then digit runs compare
 * as numbers of any length (some digits, even `0`, beat none), letter runs
 * byte by byte (`A` < `a`) with the longer run newer.
 *
 * The specification's prose differs from its implementation in three places,
 * and this follows the implementation: it tests the end before `~`, so two of
 * its examples read `0` < `~` and '' < `~` (here `~` < '' < `0`, the intent
 * "a suffix that always sorts lower"); it says a `^` facing a letter, digit
 * or `.` sorts higher (here lower: `1^a` < `1.a`, as the code's own example
 * list `123-1` < `123^post1` < `123.a-1` has it); and it evaluates a missing
 * number as 0 (here `0` > '' at that point: `00` > `a`).
 */
export function compareVersions(a: string, b: string): number {
  let i = 0;
  let j = 0;
  for (;;) {
    while (i < a.length && !isVersionChar(a[i]!)) i++;
    while (j < b.length && !isVersionChar(b[j]!)) j++;
    // Each step below looks at where the one before it left off, without skipping again (as systemd does).
    if (a[i] === '~' || b[j] === '~') {
      if (a[i] !== '~') return 1;
      if (b[j] !== '~') return -1;
      i++;
      j++;
    }
    if (i >= a.length || j >= b.length) return i < a.length ? 1 : j < b.length ? -1 : 0;
    for (const [sep, older] of SEPARATORS) {
      if (a[i] === sep || b[j] === sep) {
        if (a[i] !== sep) return older ? 1 : -1;
        if (b[j] !== sep) return older ? -1 : 1;
        i++;
        j++;
      }
    }
    let ei: number;
    let ej: number;
    if (isDigitAt(a, i) || isDigitAt(b, j)) {
      for (ei = i; isDigitAt(a, ei); ei++);
      for (ej = j; isDigitAt(b, ej); ej++);
      // Digits, even zeros, are newer than none; then leading zeros go, a longer number is bigger,
      // and numbers of one length compare digit by digit.
      if (ei === i || ej === j) return ei === i ? -1 : 1;
      while (a[i] === '0') i++;
      while (b[j] === '0') j++;
      const d = ei - i - (ej - j) || codeUnitOrder(a.slice(i, ei), b.slice(j, ej));
      if (d !== 0) return Math.sign(d);
    } else {
      for (ei = i; isAlphaAt(a, ei); ei++);
      for (ej = j; isAlphaAt(b, ej); ej++);
      const n = Math.min(ei - i, ej - j);
      const d = codeUnitOrder(a.slice(i, i + n), b.slice(j, j + n)) || ei - i - (ej - j);
      if (d !== 0) return Math.sign(d);
    }
    i = ei;
    j = ej;
  }
}

/** The separators in the order they are tested, each with whether the string holding it alone is the older. */
const SEPARATORS = [
  ['-', true],
  ['^', true],
  ['.', true],
] as const;
const isDigitAt = (s: string, k: number) => k < s.length && isDigit(s[k]!);
const isAlphaAt = (s: string, k: number) => k < s.length && isAlpha(s[k]!);

/** Plain code-unit order (for ASCII runs). */
function codeUnitOrder(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The spec's "alphanumerical order": strcmp(3) on UTF-8, which is code-point
 * order (JavaScript's `<` is UTF-16 order and differs above U+FFFF); an absent
 * or empty string sorts first.
 */
export function compareAlphanumerical(a: string | undefined, b: string | undefined): number {
  const x = a ?? '';
  const y = b ?? '';
  if (x === '' || y === '') return x === '' ? (y === '' ? 0 : -1) : 1;
  const ia = x[Symbol.iterator]();
  const ib = y[Symbol.iterator]();
  for (;;) {
    const p = ia.next();
    const q = ib.next();
    if (p.done || q.done) return p.done ? (q.done ? 0 : -1) : 1;
    const d = p.value.codePointAt(0)! - q.value.codePointAt(0)!;
    if (d !== 0) return Math.sign(d);
  }
}

// ---------------------------------------------------------------- the menu

/** An entry as the menu lists it: its file's contents and what its name says. */
export type BlsMenuEntry = BlsEntry & EntryName;

/** Reads one entry file: its name (id, counters) and its contents. */
export function readBlsMenuEntry(fileName: string, input: string | Uint8Array): BlsMenuEntry {
  return { ...parseBlsEntry(input), ...parseEntryName(fileName) };
}

/** What the order looks at. */
export type BlsSortFields = Pick<BlsEntry, 'sortKey' | 'machineId' | 'version'> & Pick<EntryName, 'fileName' | 'triesLeft'>;

/**
 * The specification's menu order (its "Sorting" section): entries out of
 * tries ("bad") last; entries with a `sort-key` before those without; two
 * with one by `sort-key`, then `machine-id` (both alphanumerical, ascending),
 * then `version`, newest first; and at the end, by file name without its
 * `.conf`/`.efi` suffix, newest version first (counters included, as the spec
 * allows, so names differing only in counters order by them).
 */
export function compareBlsEntries(a: BlsSortFields, b: BlsSortFields): number {
  const bad = Number(isBadEntry(a)) - Number(isBadEntry(b));
  if (bad !== 0) return bad;
  const ka = a.sortKey !== undefined && a.sortKey !== '';
  const kb = b.sortKey !== undefined && b.sortKey !== '';
  if (ka !== kb) return ka ? -1 : 1;
  if (ka && kb) {
    const d =
      compareAlphanumerical(a.sortKey, b.sortKey) ||
      compareAlphanumerical(a.machineId, b.machineId) ||
      -compareVersions(a.version ?? '', b.version ?? '');
    if (d !== 0) return d;
  }
  return -compareVersions(stem(a.fileName), stem(b.fileName));
}

const stem = (fileName: string) => fileName.replace(/\.(conf|efi)$/i, '');

/** The entries in menu order (a sorted copy; the order of equal entries is kept). */
export function sortBlsEntries<T extends BlsSortFields>(entries: readonly T[]): T[] {
  return [...entries].sort(compareBlsEntries);
}

// ---------------------------------------------------------------- loader.conf

const LOADER = 'loader.conf';

/** `timeout` of loader.conf: seconds, or one of the menu words. */
export type LoaderTimeout = { seconds: number } | { menu: 'force' | 'hidden' | 'disabled' };

/** `loader/loader.conf`, the parts a boot manager uses. */
export interface LoaderConf {
  /** `default`: a glob over entry ids, or `@saved`. */
  default?: string;
  /**
   * `timeout`. `{ seconds: 0 }`, `{ menu: 'hidden' }` (and the newer `menu-disabled`): no menu,
   * the default boots at once; `{ menu: 'force' }`: the menu stays until a choice.
   */
  timeout?: LoaderTimeout;
  /** Every other line (`editor`, `console-mode`, `auto-entries`, …), in file order. */
  other: ConfigLine[];
}

/** Timeouts above this many seconds are refused (systemd-boot keeps them in 32 bits). */
export const LOADER_TIMEOUT_MAX_SECONDS = 0xffffffff;

/**
 * Parses `loader/loader.conf` (same line syntax as an entry). Refused, where
 * systemd-boot logs and ignores the line: `default` or `timeout` twice or
 * without a value, a `timeout` that is neither a decimal number of seconds
 * (at most {@link LOADER_TIMEOUT_MAX_SECONDS}) nor `menu-force`,
 * `menu-hidden`, `menu-disabled`, and a `default` starting with `@` other than
 * `@saved` (systemd-boot knows no other special id).
 */
export function parseLoaderConf(input: string | Uint8Array): LoaderConf {
  const conf: LoaderConf = { other: [] };
  const seen = new Map<string, TextLine>();
  for (const { key, value, at } of keyValueLines(input, LOADER)) {
    if (key !== 'default' && key !== 'timeout') {
      conf.other.push({ key, value: value ?? '', offset: at.offset, line: at.number });
      continue;
    }
    const first = seen.get(key);
    if (first) throw lineError(LOADER, at, `'${key}' once`, `a second '${key}' (the first is on line ${first.number})`);
    seen.set(key, at);
    if (value === undefined || value === '') throw lineError(LOADER, at, `a value after '${key}'`, 'none');
    if (key === 'default') {
      if (value.startsWith('@') && value.toLowerCase() !== '@saved') {
        throw lineError(LOADER, at, "a glob pattern over entry ids, or '@saved'", quoteText(value));
      }
      conf.default = value;
    } else if (value === 'menu-force' || value === 'menu-hidden' || value === 'menu-disabled') {
      conf.timeout = { menu: value.slice('menu-'.length) as 'force' | 'hidden' | 'disabled' };
    } else {
      if (!/^\d{1,10}$/.test(value) || Number(value) > LOADER_TIMEOUT_MAX_SECONDS) {
        throw lineError(LOADER, at, `seconds (0 to ${LOADER_TIMEOUT_MAX_SECONDS}), 'menu-force', 'menu-hidden' or 'menu-disabled'`, quoteText(value));
      }
      conf.timeout = { seconds: Number(value) };
    }
  }
  return conf;
}

// ---------------------------------------------------------------- globs and the default entry

type GlobToken = { kind: 'star' } | { kind: 'any' } | { kind: 'set'; ranges: [number, number][] } | { kind: 'char'; cp: number };

function globTokens(pattern: string): GlobToken[] {
  const cps = [...pattern].map((c) => c.codePointAt(0)!);
  const out: GlobToken[] = [];
  for (let i = 0; i < cps.length; i++) {
    const c = cps[i]!;
    if (c === 0x2a /* * */) {
      if (out.at(-1)?.kind !== 'star') out.push({ kind: 'star' });
    } else if (c === 0x3f /* ? */) out.push({ kind: 'any' });
    else if (c === 0x5c /* \ */ && i + 1 < cps.length) out.push({ kind: 'char', cp: cps[++i]! });
    else if (c === 0x5b /* [ */) {
      // A set: a ']' right after '[' is a member; no negation (systemd-boot has none). Unclosed: a literal '['.
      const close = cps.indexOf(0x5d, i + 2);
      if (close < 0) {
        out.push({ kind: 'char', cp: c });
        continue;
      }
      const body = cps.slice(i + 1, close);
      const ranges: [number, number][] = [];
      for (let k = 0; k < body.length; k++) {
        const lo = body[k]!;
        if (body[k + 1] === 0x2d /* - */ && k + 2 < body.length) {
          ranges.push([lo, body[k + 2]!]);
          k += 2;
        } else ranges.push([lo, lo]);
      }
      out.push({ kind: 'set', ranges });
      i = close;
    } else out.push({ kind: 'char', cp: c });
  }
  return out;
}

function tokenMatches(t: GlobToken, cp: number): boolean {
  if (t.kind === 'any') return true;
  if (t.kind === 'char') return t.cp === cp;
  if (t.kind === 'set') return t.ranges.some(([lo, hi]) => cp >= lo && cp <= hi);
  return false;
}

/**
 * Whether `name` matches a loader.conf glob, case-insensitively, as
 * systemd-boot matches `default`: `*` any run, `?` one character, `[…]` one
 * of a set with ranges (no negation: `[!a]` is the set of `!` and `a`), `\`
 * quotes the next character. Linear in the lengths (one backtrack point).
 */
export function globMatch(pattern: string, name: string): boolean {
  const p = globTokens(pattern.toLowerCase());
  const s = [...name.toLowerCase()].map((c) => c.codePointAt(0)!);
  let i = 0;
  let k = 0;
  let starAt = -1;
  let resume = 0;
  while (k < s.length) {
    const t = p[i];
    if (t !== undefined && t.kind === 'star') {
      starAt = i++;
      resume = k;
    } else if (t !== undefined && tokenMatches(t, s[k]!)) {
      i++;
      k++;
    } else if (starAt >= 0) {
      i = starAt + 1;
      k = ++resume;
    } else return false;
  }
  while (p[i]?.kind === 'star') i++;
  return i === p.length;
}

/** Why the default entry is the one it is. */
export type DefaultReason = 'pattern' | 'saved' | 'first' | 'none';

/** The default entry, with why it was chosen. */
export interface DefaultChoice<T> {
  /** Absent when every entry is out of tries (or there are none): a person must choose. */
  entry?: T;
  /** Its index in the sorted list given. */
  index: number;
  reason: DefaultReason;
  /** A sentence for the user when the configured default could not be used. */
  note?: string;
}

/** Whether a loader.conf pattern names this entry: its id, its name with suffix and no counter, or its file name. */
function patternNames(pattern: string, e: EntryName): boolean {
  return globMatch(pattern, e.id) || globMatch(pattern, `${e.id}${e.suffix}`) || globMatch(pattern, e.fileName);
}

/**
 * The entry to boot without asking, from entries already in menu order
 * ({@link sortBlsEntries}): the first one the loader.conf `default` glob
 * names, else the first; entries out of tries are never chosen this way (they
 * stay in the menu, where a person may pick one).
 *
 * `@saved` names the entry systemd-boot saved in an EFI variable: hardboot
 * has no such variable, so the caller passes the id it keeps (`saved`); with
 * none, the first entry is chosen and `note` says why.
 */
export function selectDefaultBlsEntry<T extends EntryName>(sorted: readonly T[], conf?: Pick<LoaderConf, 'default'>, saved?: string): DefaultChoice<T> {
  const usable = (e: T) => !isBadEntry(e);
  const pick = (reason: DefaultReason, match: (e: T) => boolean, note?: string): DefaultChoice<T> | undefined => {
    const index = sorted.findIndex((e) => usable(e) && match(e));
    if (index < 0) return undefined;
    return note === undefined ? { entry: sorted[index]!, index, reason } : { entry: sorted[index]!, index, reason, note };
  };
  let note: string | undefined;
  const pattern = conf?.default;
  if (pattern !== undefined && pattern.toLowerCase() === '@saved') {
    if (saved !== undefined) {
      const hit = pick('saved', (e) => e.id.toLowerCase() === saved.toLowerCase() || e.fileName.toLowerCase() === saved.toLowerCase());
      if (hit) return hit;
      note = `the saved entry '${saved}' is not among the usable entries`;
    } else note = "'default @saved' needs a saved entry, and none is kept";
  } else if (pattern !== undefined) {
    const hit = pick('pattern', (e) => patternNames(pattern, e));
    if (hit) return hit;
    note = `'default ${pattern}' names no usable entry`;
  }
  const first = pick('first', () => true, note);
  if (first) return first;
  return { index: -1, reason: 'none', note: sorted.length === 0 ? 'there are no entries' : 'every entry has used up its boot tries' };
}
