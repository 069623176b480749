/**
 * The boot manager's own files, under `hardboot/` in the boot root:
 *
 * - `hardboot/hardboot.conf`: how entries boot — by hardboot or plain kexec,
 *   with which --mem-min/--mem-max, board and vendor_boot image. Same line
 *   syntax as loader.conf. Lines before the first `entry` apply to every entry;
 *   `entry GLOB` starts a section for the entries whose id the glob matches
 *   (loader.conf's globs); later sections override earlier ones, key by key.
 *
 *       # every entry: hardboot, segments above 0x20000000
 *       method hardboot
 *       mem-min 0x20000000
 *       entry pmos-*
 *       board shamu
 *       vendor-boot /android/vendor_boot.img
 *       entry rescue
 *       method kexec
 *
 * - `hardboot/default`, `hardboot/oneshot`, `hardboot/booted`: one line each,
 *   the state `set-default`, `set-oneshot` and a counted boot leave (an entry
 *   id; for `booted`, the entry file's name as it was renamed).
 *
 * Pure: text or bytes in, data out; bounded and checked like the other
 * configuration files, and refused (never half-read) when wrong.
 */
import { FormatError } from '../errors.js';
import { quoteText, textLines } from '../util/text.js';
import { parseCNumber } from '../util/number.js';
import { globMatch, keyValueLines, lineError } from './bls.js';

const CONF = 'hardboot.conf';

export type BootMethod = 'hardboot' | 'kexec';

/** How an entry boots; each field absent when nothing sets it. */
export interface EntryBootOptions {
  method?: BootMethod;
  memMin?: number;
  memMax?: number;
  /** A board name as --boardname takes it. */
  board?: string;
  /** A vendor_boot image (a path from the boot root), for an entry whose kernel is an Android boot image. */
  vendorBoot?: string;
}

export interface BootConfSection {
  /** The glob over entry ids; undefined for the lines before the first `entry`. */
  pattern?: string;
  options: EntryBootOptions;
  /** The line the section starts on (0 for the global lines). */
  line: number;
}

export interface BootConf {
  sections: BootConfSection[];
}

/** The most `entry` sections a file may have. */
export const BOOT_CONF_MAX_SECTIONS = 256;

const KEYS = ['method', 'mem-min', 'mem-max', 'board', 'vendor-boot'] as const;

/**
 * Parses `hardboot/hardboot.conf`. Refused: an unknown key (this is hardboot's
 * own file, so a typo must not pass silently), a key twice in one section, a
 * key without a value, a `method` other than `hardboot` or `kexec`, an address
 * that is not a number as kexec-tools reads one, `mem-min` above `mem-max` in
 * one section, and more than {@link BOOT_CONF_MAX_SECTIONS} sections.
 */
export function parseBootConf(input: string | Uint8Array): BootConf {
  const sections: BootConfSection[] = [{ options: {}, line: 0 }];
  let seen = new Map<string, number>();
  for (const { key, value, at } of keyValueLines(input, CONF)) {
    if (value === undefined || value === '') throw lineError(CONF, at, `a value after '${key}'`, 'none');
    if (key === 'entry') {
      if (sections.length > BOOT_CONF_MAX_SECTIONS) throw lineError(CONF, at, `at most ${BOOT_CONF_MAX_SECTIONS} 'entry' sections`, 'more');
      sections.push({ pattern: value, options: {}, line: at.number });
      seen = new Map();
      continue;
    }
    if (!(KEYS as readonly string[]).includes(key)) {
      throw lineError(CONF, at, `one of 'entry', ${KEYS.map((k) => `'${k}'`).join(', ')}`, quoteText(key));
    }
    const first = seen.get(key);
    if (first !== undefined) throw lineError(CONF, at, `'${key}' once per section`, `a second '${key}' (the first is on line ${first})`);
    seen.set(key, at.number);
    const o = sections.at(-1)!.options;
    if (key === 'method') {
      if (value !== 'hardboot' && value !== 'kexec') throw lineError(CONF, at, "'hardboot' or 'kexec'", quoteText(value));
      o.method = value;
    } else if (key === 'mem-min' || key === 'mem-max') {
      const n = parseCNumber(value);
      if (n === undefined) throw lineError(CONF, at, 'an address (0x… hexadecimal, 0… octal or decimal)', quoteText(value));
      if (key === 'mem-min') o.memMin = n;
      else o.memMax = n;
      if (o.memMin !== undefined && o.memMax !== undefined && o.memMin > o.memMax) {
        throw lineError(CONF, at, 'mem-min at or below mem-max', `mem-min 0x${o.memMin.toString(16)} above mem-max 0x${o.memMax.toString(16)}`);
      }
    } else if (key === 'board') o.board = value;
    else o.vendorBoot = value;
  }
  return { sections };
}

/** What the file says for one entry: the global lines, then every matching section in file order, later keys winning. */
export function bootOptionsFor(conf: BootConf | undefined, id: string): EntryBootOptions {
  const out: EntryBootOptions = {};
  for (const s of conf?.sections ?? []) {
    if (s.pattern === undefined || globMatch(s.pattern, id)) Object.assign(out, s.options);
  }
  return out;
}

/** The most bytes a state file may have (an entry id or file name, and a newline). */
export const STATE_MAX_BYTES = 4096;

/**
 * A state file's one value: its only non-empty line, trimmed. Refused: more
 * than one non-empty line, a value with `/` (state names entries, never paths),
 * and an empty file. `what` names the file in errors (`hardboot/default`).
 */
export function parseStateFile(input: string | Uint8Array, what: string): string {
  const lines = textLines(input, what, STATE_MAX_BYTES).filter((l) => l.text.trim() !== '');
  if (lines.length === 0) throw new FormatError(what, 0, 'an entry name', 'an empty file');
  if (lines.length > 1) throw new FormatError(what, lines[1]!.offset, 'one line', `a second line (line ${lines[1]!.number})`);
  const v = lines[0]!.text.trim();
  if (v.includes('/')) throw new FormatError(what, lines[0]!.offset, 'an entry name (no /)', quoteText(v));
  return v;
}

/** A state file's bytes for `value` (checked as parseStateFile would read it back). */
export function stateFileText(value: string, what: string): string {
  const text = `${value}\n`;
  if (parseStateFile(text, what) !== value) throw new FormatError(what, 0, 'an entry name without spaces around it', quoteText(value));
  return text;
}
