/**
 * extlinux.conf as U-Boot's distro boot (`sysboot`, boot/pxe_utils.c and its
 * parser) reads it, and as Debian's u-boot-menu and postmarketOS write it.
 * U-Boot is the reference for which keywords exist and what they mean; where
 * it quietly does something surprising with an odd file, this parser refuses
 * the file instead (each case is listed at {@link parseExtlinux}).
 */
import { FormatError } from '../errors.js';
import { quoteText, textLines, type TextLine } from '../util/text.js';

const FORMAT = 'extlinux.conf';

/** A line kept but not interpreted: its keyword in lower case (`menu background` for MENU lines), and its value. */
export interface ExtlinuxLine {
  readonly keyword: string;
  readonly value: string;
  readonly offset: number;
  readonly line: number;
}

/** One LABEL and the lines under it. */
export interface ExtlinuxEntry {
  /** The LABEL's name (what DEFAULT names), case kept. */
  label: string;
  /** MENU LABEL: the text a menu shows. */
  menuLabel?: string;
  /** KERNEL or LINUX, as written (U-Boot reads `PATH#CONF` as a FIT image and its configuration). */
  kernel?: string;
  /**
   * The initrd: the INITRD line's path, or with none the `initrd=` word of
   * APPEND (pxelinux's spelling, which U-Boot also reads). U-Boot loads one
   * file: a comma is part of its name (syslinux would split there).
   */
  initrd: string[];
  /** APPEND: the kernel command line. */
  append?: string;
  /** FDT or DEVICETREE: one device tree file. */
  fdt?: string;
  /** FDTDIR or DEVICETREEDIR: a directory U-Boot picks `$fdtfile` (or `$soc-$board.dtb`) from. */
  fdtdir?: string;
  /** FDTOVERLAYS (or DEVICETREE-OVERLAY): space-separated overlay paths, in order. */
  fdtoverlays: string[];
  /** Other lines under the label (LOCALBOOT, IPAPPEND, KASLRSEED, SAY, FIT, unknown keywords). */
  other: ExtlinuxLine[];
  /** Where the LABEL line is. */
  offset: number;
  line: number;
}

/** A whole extlinux.conf. */
export interface ExtlinuxConf {
  /** The labels in file order. */
  entries: ExtlinuxEntry[];
  /** DEFAULT (or ONTIMEOUT; the last one wins), else the first label with MENU DEFAULT. Always names a label. */
  default?: string;
  /**
   * TIMEOUT in milliseconds (the file gives tenths of a second). 0 means no
   * limit: the menu waits for a choice (syslinux, U-Boot).
   */
  timeoutMs?: number;
  /** PROMPT: whether the menu asks (non-zero) or boots the default at once (0). */
  prompt?: boolean;
  /** MENU TITLE. */
  menuTitle?: string;
  /** Top-level lines kept but not interpreted (INCLUDE, FALLBACK, MENU BACKGROUND, unknown keywords). */
  other: ExtlinuxLine[];
}

/** TIMEOUT above this many tenths of a second is refused (U-Boot keeps it in an int). */
export const EXTLINUX_TIMEOUT_MAX_TENTHS = 0x7fffffff;

type LabelKey = 'kernel' | 'initrd' | 'append' | 'fdt' | 'fdtdir' | 'fdtoverlays' | 'menu label';
/** Keywords under a LABEL and the field each fills (synonyms as U-Boot's keyword table has them). */
const LABEL_KEYWORDS: Readonly<Record<string, LabelKey>> = {
  kernel: 'kernel',
  linux: 'kernel',
  initrd: 'initrd',
  append: 'append',
  fdt: 'fdt',
  devicetree: 'fdt',
  fdtdir: 'fdtdir',
  devicetreedir: 'fdtdir',
  fdtoverlays: 'fdtoverlays',
  'devicetree-overlay': 'fdtoverlays',
  'menu label': 'menu label',
};
/** U-Boot's other label keywords: kept under the label. */
const OTHER_LABEL_KEYWORDS = new Set(['localboot', 'ipappend', 'kaslrseed', 'say', 'fit', 'menu default']);
/** Keywords that end a LABEL in U-Boot (they belong to the whole file). */
const TOP_KEYWORDS = new Set(['default', 'ontimeout', 'timeout', 'prompt', 'include', 'fallback', 'menu title', 'menu include', 'menu background']);

function fail(at: TextLine, expected: string, found: string): never {
  throw new FormatError(FORMAT, at.offset, expected, `${found} (line ${at.number})`);
}

/**
 * Parses extlinux.conf from text or the file's bytes (at most 64 KiB and 4096
 * lines, NUL-free UTF-8). Keywords are case-insensitive and may be indented;
 * a line whose first word starts with `#` is a comment; a value is the rest of
 * its line, trimmed (a `#` inside it is kept). MENU is read with its second
 * word (MENU LABEL, MENU TITLE, MENU DEFAULT).
 *
 * Refused (U-Boot's behaviour in brackets):
 * - a keyword that needs a value without one, or with a value starting with
 *   `#` (U-Boot fails the whole file);
 * - a label keyword (KERNEL, APPEND, …) twice in one label (U-Boot keeps the
 *   first of some and the last of others);
 * - a label keyword before any LABEL, or after a top-level keyword (DEFAULT,
 *   TIMEOUT, …) inside a label (U-Boot ends the label there and ignores the
 *   line);
 * - a TIMEOUT that is not a decimal number of tenths up to
 *   {@link EXTLINUX_TIMEOUT_MAX_TENTHS} (U-Boot reads a leading number, 0 if none);
 * - a DEFAULT that names no LABEL (U-Boot prints "Missing default").
 *
 * Kept without meaning: PROMPT with a value that is not a number (U-Boot
 * ignores it too), and unknown keywords, which stay with the label they
 * appear in (U-Boot ends the label at an unknown keyword).
 */
export function parseExtlinux(input: string | Uint8Array): ExtlinuxConf {
  const conf: ExtlinuxConf = { entries: [], other: [] };
  let current: ExtlinuxEntry | undefined;
  /** Why label lines may not follow now: the top-level line that ended the current label. */
  let endedBy: TextLine | undefined;
  let defaultAt: TextLine | undefined;
  let menuDefault: string | undefined;
  let seen = new Map<LabelKey, TextLine>();

  for (const at of textLines(input, FORMAT)) {
    const line = at.text.replace(/^[ \t]+/, '');
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([^ \t]+)[ \t]*([\s\S]*)$/.exec(line)!;
    let keyword = m[1]!.toLowerCase();
    let value = m[2]!.replace(/[ \t]+$/, '');
    if (keyword === 'menu') {
      const sub = /^([^ \t]+)[ \t]*([\s\S]*)$/.exec(value);
      keyword = sub ? `menu ${sub[1]!.toLowerCase()}` : 'menu';
      value = sub ? sub[2]! : '';
    }
    const needValue = (what = keyword): string => {
      if (value === '' || value.startsWith('#')) fail(at, `a value after '${what}'`, value === '' ? 'none' : 'a comment');
      return value;
    };
    const keep = (): ExtlinuxLine => ({ keyword, value, offset: at.offset, line: at.number });

    if (keyword === 'label') {
      current = { label: needValue(), initrd: [], fdtoverlays: [], other: [], offset: at.offset, line: at.number };
      conf.entries.push(current);
      endedBy = undefined;
      seen = new Map();
      continue;
    }
    const field = Object.hasOwn(LABEL_KEYWORDS, keyword) ? LABEL_KEYWORDS[keyword] : undefined;
    if (field !== undefined || OTHER_LABEL_KEYWORDS.has(keyword)) {
      if (!current) fail(at, `'${keyword}' under a LABEL`, 'no LABEL before it');
      if (endedBy) fail(at, `'${keyword}' before any top-level keyword in its LABEL`, `after '${endedBy.text.trim()}' on line ${endedBy.number}, which ends the label for U-Boot`);
      if (field === undefined) {
        if (keyword === 'menu default') menuDefault ??= current.label;
        current.other.push(keep());
        continue;
      }
      const first = seen.get(field);
      if (first) fail(at, `one '${field}' per LABEL`, `another on line ${first.number}`);
      seen.set(field, at);
      const v = needValue();
      if (field === 'kernel') current.kernel = v;
      else if (field === 'initrd') current.initrd = [v];
      else if (field === 'append') current.append = v;
      else if (field === 'fdt') current.fdt = v;
      else if (field === 'fdtdir') current.fdtdir = v;
      else if (field === 'fdtoverlays') current.fdtoverlays = v.split(/[ \t]+/);
      else current.menuLabel = v;
      continue;
    }
    if (TOP_KEYWORDS.has(keyword)) {
      if (current) endedBy ??= at;
      if (keyword === 'default' || keyword === 'ontimeout') {
        conf.default = needValue();
        defaultAt = at;
      } else if (keyword === 'timeout') {
        const v = needValue();
        if (!/^\d{1,10}$/.test(v) || Number(v) > EXTLINUX_TIMEOUT_MAX_TENTHS) {
          fail(at, `tenths of a second (0 to ${EXTLINUX_TIMEOUT_MAX_TENTHS})`, quoteText(v));
        }
        conf.timeoutMs = Number(v) * 100;
      } else if (keyword === 'prompt' && /^\d{1,10}$/.test(value)) {
        conf.prompt = Number(value) !== 0;
      } else if (keyword === 'menu title') {
        conf.menuTitle = needValue();
      } else conf.other.push(keep());
      continue;
    }
    // Unknown: kept with the label it appears in, or with the file.
    (current && !endedBy ? current.other : conf.other).push(keep());
  }

  for (const e of conf.entries) {
    if (e.initrd.length === 0 && e.append !== undefined) {
      const m = /(?:^|[ \t])initrd=([^ \t]+)/.exec(e.append);
      if (m) e.initrd = [m[1]!];
    }
  }
  if (conf.default !== undefined) {
    if (!conf.entries.some((e) => e.label === conf.default)) fail(defaultAt!, `a LABEL named ${quoteText(conf.default)}`, 'none');
  } else if (menuDefault !== undefined) conf.default = menuDefault;
  return conf;
}

/**
 * The entry U-Boot boots without a choice: the first LABEL whose name is the
 * DEFAULT (label names are case-sensitive), else the first LABEL; undefined
 * for a file without labels.
 */
export function defaultExtlinuxEntry(conf: ExtlinuxConf): ExtlinuxEntry | undefined {
  return (conf.default !== undefined ? conf.entries.find((e) => e.label === conf.default) : undefined) ?? conf.entries[0];
}
