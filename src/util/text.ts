/**
 * Small text inputs (boot loader configuration files) read with the same
 * discipline as the binary formats: bounded before they are looked at, NUL-free
 * UTF-8, and split into lines that know their byte offset in the file, so a
 * FormatError points into the file exactly as the binary parsers' do.
 */
import { FormatError, hex } from '../errors.js';

/** The largest configuration text read (a BLS entry, loader.conf, extlinux.conf): 64 KiB. */
export const BOOT_CONFIG_MAX_BYTES = 64 * 1024;
/** The most lines such a text may have. */
export const BOOT_CONFIG_MAX_LINES = 4096;

/** One line of a text: without its `\n` (and a `\r` before it), with its UTF-8 byte offset and 1-based number. */
export interface TextLine {
  readonly text: string;
  readonly offset: number;
  readonly number: number;
}

/** The UTF-8 length of a string (a lone surrogate counts as the 3 bytes of U+FFFD, as encoders write it). */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/** The length of the valid UTF-8 sequence starting at `i`, or 0 when it is not one (overlong, surrogate, above U+10FFFF, cut). */
function utf8SequenceAt(b: Uint8Array, i: number): number {
  const lead = b[i]!;
  let size: number;
  let min: number;
  if (lead >= 0xc2 && lead <= 0xdf) [size, min] = [2, 0x80];
  else if (lead >= 0xe0 && lead <= 0xef) [size, min] = [3, 0x800];
  else if (lead >= 0xf0 && lead <= 0xf4) [size, min] = [4, 0x10000];
  else return 0;
  if (i + size > b.length) return 0;
  let cp = lead & (0xff >> (size + 1));
  for (let k = 1; k < size; k++) {
    const c = b[i + k]!;
    if ((c & 0xc0) !== 0x80) return 0;
    cp = (cp << 6) | (c & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return size;
}

const describeByte = (b: number) => `byte ${hex(b)}`;

/**
 * The text of a configuration file's bytes. Refused before any decoding when
 * larger than `maxBytes`; a NUL or a byte that is not part of valid UTF-8 is a
 * FormatError at its offset. A byte-order mark stays in the text (as U+FEFF):
 * {@link textLines} drops it, so offsets keep counting the file's bytes.
 */
export function decodeText(bytes: Uint8Array, format: string, maxBytes = BOOT_CONFIG_MAX_BYTES): string {
  if (bytes.length > maxBytes) {
    throw new FormatError(format, 0, `a text of at most ${maxBytes} bytes`, `${bytes.length} bytes`);
  }
  for (let i = 0; i < bytes.length; ) {
    const b = bytes[i]!;
    if (b === 0) throw new FormatError(format, i, 'text without NUL bytes', 'a NUL byte');
    if (b < 0x80) {
      i++;
      continue;
    }
    const n = utf8SequenceAt(bytes, i);
    if (n === 0) throw new FormatError(format, i, 'UTF-8 text', describeByte(b));
    i += n;
  }
  return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
}

/**
 * The lines of a configuration text given as bytes or as a string, checked as
 * {@link decodeText} checks bytes (a string's size is its UTF-8 size). `\n`
 * ends a line and a `\r` before it is dropped; a last line without `\n` counts.
 */
export function textLines(input: string | Uint8Array, format: string, maxBytes = BOOT_CONFIG_MAX_BYTES, maxLines = BOOT_CONFIG_MAX_LINES): TextLine[] {
  let text: string;
  if (typeof input === 'string') {
    // A string longer than maxBytes code units is longer than maxBytes bytes: refuse it before measuring.
    const size = input.length > maxBytes ? input.length : utf8Length(input);
    if (size > maxBytes) throw new FormatError(format, 0, `a text of at most ${maxBytes} bytes`, `${size} bytes or more`);
    const nul = input.indexOf('\0');
    if (nul >= 0) throw new FormatError(format, utf8Length(input.slice(0, nul)), 'text without NUL bytes', 'a NUL byte');
    text = input;
  } else {
    text = decodeText(input, format, maxBytes);
  }
  const out: TextLine[] = [];
  let offset = 0;
  let start = 0;
  if (text.startsWith('\ufeff')) {
    start = 1;
    offset = 3;
  }
  while (start < text.length) {
    const nl = text.indexOf('\n', start);
    const end = nl < 0 ? text.length : nl;
    if (out.length === maxLines) {
      throw new FormatError(format, offset, `at most ${maxLines} lines`, `more (line ${maxLines + 1} starts here)`);
    }
    const raw = text.slice(start, end);
    out.push({ text: raw.endsWith('\r') ? raw.slice(0, -1) : raw, offset, number: out.length + 1 });
    offset += utf8Length(raw) + 1;
    start = end + 1;
  }
  return out;
}

/** `"text"` for messages: JSON-quoted and cut at 60 characters. */
export function quoteText(s: string): string {
  return JSON.stringify(s.length > 60 ? `${s.slice(0, 60)}…` : s);
}
