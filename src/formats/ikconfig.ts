/**
 * Kernel configurations: a `.config` text as a map, and the configuration a
 * kernel built with CONFIG_IKCONFIG carries inside itself. Pure.
 *
 * IKCONFIG (Linux 6.1 kernel/configs.c): the build gzips .config
 * (`gzip -n -f -9`, kernel/Makefile) and places it in .rodata between the ASCII
 * markers "IKCFG_ST" and "IKCFG_ED". The markers are in the *decompressed*
 * kernel, so:
 *  - arm64 `Image` holds them as is; Image.gz / Image.lz4 are peeled first;
 *  - an ARM zImage is a decompressor followed by the compressed kernel (the
 *    "piggy" data, arch/arm/boot/compressed/piggy.S). Its KRNL_SIZE tag points
 *    at the piggy's last word (__piggy_size_addr), which gives the payload's end;
 *    the payload's start is found by its compression magic. gzip and LZ4
 *    (legacy frame, as the kernel's `lz4 -l` writes it) are read; xz, lzma, lzo
 *    and zstd payloads are named and refused (the kernel's own
 *    scripts/extract-ikconfig can read them).
 */
import { FormatError, hex } from '../errors.js';
import { concatBytes, view } from '../util/bytes.js';
import { type CompressionMagic, crc32, gunzipMember, sniffCompression } from './compress.js';
import { readKernel, type KernelImage } from './kernel.js';
import { decodeLz4Legacy } from './lz4.js';
import { ZIMAGE_TAG_KRNL_SIZE, type ZImage } from './zimage.js';

export const IKCFG_START = 'IKCFG_ST';
export const IKCFG_END = 'IKCFG_ED';

/** CONFIG_NAME → value as written after '=' ("y", "m", "0x1000", "\"text\""); "# CONFIG_X is not set" → "n". */
export type KernelConfig = Map<string, string>;

const CONFIG_FORMAT = 'kernel config';

/**
 * Parses a .config (or a fragment). Blank lines and comments are skipped; a
 * line that is neither `CONFIG_X=value`, `# CONFIG_X is not set` nor a comment
 * is a FormatError at its character offset. A later line for the same option wins.
 */
export function parseKernelConfig(text: string): KernelConfig {
  const out: KernelConfig = new Map();
  let offset = 0;
  for (const line of text.split('\n')) {
    const here = offset;
    offset += line.length + 1;
    const t = line.replace(/\r$/, '').trim();
    if (t === '') continue;
    let m = /^# (CONFIG_[A-Za-z0-9_]+) is not set$/.exec(t);
    if (m) {
      out.set(m[1]!, 'n');
      continue;
    }
    if (t.startsWith('#')) continue;
    m = /^(CONFIG_[A-Za-z0-9_]+)=(.*)$/.exec(t);
    if (!m) throw new FormatError(CONFIG_FORMAT, here, 'CONFIG_NAME=value, "# CONFIG_NAME is not set" or a comment', JSON.stringify(t.slice(0, 80)));
    out.set(m[1]!, m[2]!);
  }
  return out;
}

/** True for a text that reads like a kernel config: several CONFIG_ lines and nothing else but comments. */
export function looksLikeKernelConfig(text: string): boolean {
  let options = 0;
  for (const raw of text.split('\n')) {
    const t = raw.trim();
    if (t === '') continue;
    if (/^(# )?CONFIG_[A-Za-z0-9_]+(=.*| is not set)$/.test(t)) options++;
    else if (!t.startsWith('#')) return false;
  }
  return options >= 2;
}

/** The option's value; names may be given with or without the CONFIG_ prefix. */
export function configValue(config: KernelConfig, name: string): string | undefined {
  return config.get(name.startsWith('CONFIG_') ? name : `CONFIG_${name}`);
}

/** y or m. */
export function configEnabled(config: KernelConfig, name: string): boolean {
  const v = configValue(config, name);
  return v === 'y' || v === 'm';
}

/** A numeric option (hex with 0x, or decimal); undefined when unset or not a number. */
export function configNumber(config: KernelConfig, name: string): number | undefined {
  const v = configValue(config, name);
  if (v === undefined) return undefined;
  const t = v.replace(/^"(.*)"$/, '$1');
  if (/^0x[0-9a-f]+$/i.test(t) || /^[0-9]+$/.test(t)) return Number(t);
  return undefined;
}

// ---------------------------------------------------------------- IKCONFIG

export interface EmbeddedConfig {
  /** The .config text. */
  text: string;
  /** Offset of "IKCFG_ST" in the decompressed kernel. */
  offset: number;
  /** The gzip data between the markers. */
  gz: Uint8Array;
}

function indexOfAscii(hay: Uint8Array, needle: string, from: number): number {
  const first = needle.charCodeAt(0);
  for (let i = hay.indexOf(first, from); i >= 0 && i + needle.length <= hay.length; i = hay.indexOf(first, i + 1)) {
    let ok = true;
    for (let k = 1; k < needle.length && ok; k++) ok = hay[i + k] === needle.charCodeAt(k);
    if (ok) return i;
  }
  return -1;
}

/**
 * The most a kernel configuration may decompress to: 4 MiB, fourteen times
 * Debian's 6.1 arm64 config (285 KiB).
 */
export const CONFIG_MAX_BYTES = 4 << 20;
/** IKCFG_ST markers followed by gzip data that are decompressed before giving up. */
const MAX_CONFIG_TRIES = 8;

/** Runs `parse` over a part of a larger input, moving its FormatError's offset by `base`. */
function withOffset<T>(base: number, parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    if (e instanceof FormatError && base > 0) throw new FormatError(e.format, e.offset + base, e.expected, e.found, e.file);
    throw e;
  }
}

/**
 * The configuration between the IKCONFIG markers of a decompressed kernel, or
 * undefined when no "IKCFG_ST" is followed by gzip data ending at "IKCFG_ED"
 * (the string can occur elsewhere, e.g. in a kernel that quotes the marker).
 */
export function findIkconfig(kernel: Uint8Array): EmbeddedConfig | undefined {
  let tries = 0;
  for (let at = indexOfAscii(kernel, IKCFG_START, 0); at >= 0; at = indexOfAscii(kernel, IKCFG_START, at + 1)) {
    const start = at + IKCFG_START.length;
    if (kernel[start] !== 0x1f || kernel[start + 1] !== 0x8b) continue;
    if (++tries > MAX_CONFIG_TRIES) break;
    try {
      const m = gunzipMember(kernel.subarray(start), { maxOutput: CONFIG_MAX_BYTES });
      const end = start + m.consumed;
      if (indexOfAscii(kernel.subarray(end, end + IKCFG_END.length), IKCFG_END, 0) !== 0) continue;
      return { text: new TextDecoder().decode(m.data), offset: at, gz: kernel.subarray(start, end) };
    } catch (e) {
      if (!(e instanceof FormatError)) throw e;
    }
  }
  return undefined;
}

export interface ZImagePayload {
  compression: CompressionMagic;
  /** Offset of the compressed kernel in the zImage. */
  offset: number;
  /** Its end (from KRNL_SIZE when present). */
  end: number;
  /** The decompressed kernel, for the compressions we read. */
  data?: Uint8Array;
}

const PAYLOAD_MAGICS: ReadonlyArray<readonly [CompressionMagic, readonly number[]]> = [
  ['gzip', [0x1f, 0x8b, 0x08]],
  ['lz4-legacy', [0x02, 0x21, 0x4c, 0x18]],
  ['xz', [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]],
  ['zstd', [0x28, 0xb5, 0x2f, 0xfd]],
  ['lzop', [0x89, 0x4c, 0x5a, 0x4f, 0x00, 0x0d, 0x0a, 0x1a, 0x0a]],
  ['lzma', [0x5d, 0x00, 0x00]],
];
/** Candidates tried per magic before giving up (false matches in the decompressor's code are rare). */
const MAX_TRIES = 64;
/**
 * The most the kernel inside a zImage may decompress to: 64 MiB, four times
 * Debian's 6.1 armmp kernel (15 MiB), and half the 128 MiB window the
 * decompressor unpacks it in.
 */
export const ZIMAGE_KERNEL_MAX_BYTES = 64 << 20;
/**
 * Candidates actually decompressed per magic: each costs up to the kernel's size,
 * so a zImage crafted with many payload-like streams costs a bounded amount of work.
 */
const MAX_INFLATES = 4;

function matchesAt(b: Uint8Array, off: number, magic: readonly number[]): boolean {
  for (let k = 0; k < magic.length; k++) if (b[off + k] !== magic[k]) return false;
  return true;
}

/**
 * More than the magic, for the formats we only name (the decompressor's own
 * code quotes some magics: Debian's zImage has "\xfd7zXZ\0" in a string table
 * before its real payload):
 *  - xz: the stream header's two flag bytes (0, check type 0–15) and their CRC-32
 *    (the .xz file format, 2.1.1);
 *  - lzma: a power-of-two dictionary size of at least 4 KiB after the properties byte;
 *  - zstd and lzop: their 4- and 9-byte magics suffice.
 */
function plausibleHeader(name: CompressionMagic, b: Uint8Array, off: number): boolean {
  if (name === 'xz') {
    if (off + 12 > b.length || b[off + 6] !== 0 || b[off + 7]! > 0x0f) return false;
    const stored = view(b).getUint32(off + 8, true);
    return crc32(b.subarray(off + 6, off + 8)) === stored;
  }
  if (name === 'lzma') {
    if (off + 5 > b.length) return false;
    const dict = view(b).getUint32(off + 1, true);
    return dict >= 4096 && (dict & (dict - 1)) === 0;
  }
  return true;
}

/**
 * Finds and, for gzip and LZ4, decompresses the kernel inside a zImage. The
 * payload must end where KRNL_SIZE says (the gzip trailer's ISIZE, or the
 * size word appended after other formats, is the piggy's last word); without
 * that tag the first candidate that decompresses is taken.
 */
export function zImagePayload(z: ZImage): ZImagePayload {
  const img = z.zimage;
  const krnl = z.tags.find((t) => t.tag === ZIMAGE_TAG_KRNL_SIZE);
  const sizePtr = krnl?.payload[0];
  const end = sizePtr !== undefined && sizePtr + 4 <= img.length ? sizePtr + 4 : img.length;
  // The decompressed kernel is as large as KRNL_SIZE's size word says (that word is the
  // payload's own last word: gzip's ISIZE, or the size appended after other formats).
  const maxOutput = Math.min(z.decompressedSize ?? ZIMAGE_KERNEL_MAX_BYTES, ZIMAGE_KERNEL_MAX_BYTES);
  let refused: { name: string; offset: number; why: string; count: number } | undefined;
  let unread: ZImagePayload | undefined;
  for (const [name, magic] of PAYLOAD_MAGICS) {
    let tries = 0;
    let inflates = 0;
    for (let off = img.indexOf(magic[0]!, 0x30); off >= 0 && off < end && tries < MAX_TRIES; off = img.indexOf(magic[0]!, off + 1)) {
      if (!matchesAt(img, off, magic)) continue;
      tries++;
      if (name === 'gzip' || name === 'lz4-legacy') {
        if (++inflates > MAX_INFLATES) break;
        try {
          const part = img.subarray(off, end);
          const r = name === 'gzip' ? gunzipMember(part, { maxOutput }) : decodeLz4Legacy(part, { maxOutput });
          // gzip ends with its own ISIZE; the kernel appends a size word after an LZ4 stream.
          const tail = end - off - r.consumed;
          if (sizePtr !== undefined && tail !== 0 && !(name === 'lz4-legacy' && tail === 4)) {
            refused = note(refused, name, off, `it ends ${hex(tail)} bytes before the size word`);
            continue;
          }
          return { compression: name, offset: off, end, data: r.data };
        } catch (e) {
          if (!(e instanceof FormatError)) throw e;
          refused = note(refused, name, off, `${e.expected}, found ${e.found}`);
          continue;
        }
      }
      // Named only: take the first with a plausible header (lzma's magic is weak, so it comes last).
      if (!plausibleHeader(name, img, off)) continue;
      if (!unread) unread = { compression: name, offset: off, end };
      break;
    }
  }
  if (unread) return unread;
  if (refused) {
    throw new FormatError(
      'zimage',
      refused.offset,
      `a compressed kernel inside the zImage that decompresses to at most ${hex(maxOutput)} bytes and ends at the KRNL_SIZE word`,
      `${refused.count} ${refused.name} candidate(s), none such (the first at ${hex(refused.offset)}: ${refused.why})`,
    );
  }
  throw new FormatError(
    'zimage',
    0x30,
    'a compressed kernel inside the zImage (gzip, LZ4, xz, lzma, lzo or zstd magic before the KRNL_SIZE word)',
    sizePtr === undefined ? 'none (and no KRNL_SIZE tag)' : `none before ${hex(end)}`,
  );
}

/** Keeps the first refused candidate's reason and counts the rest. */
function note(prev: { name: string; offset: number; why: string; count: number } | undefined, name: string, offset: number, why: string) {
  return prev ? { ...prev, count: prev.count + 1 } : { name, offset, why, count: 1 };
}

export interface KernelIkconfig {
  kernel: KernelImage;
  /** How the kernel text was reached: 'Image', 'Image.gz', 'zImage (gzip payload)', … */
  path: string;
  /** undefined: the kernel was built without CONFIG_IKCONFIG. */
  config?: EmbeddedConfig;
  /** Bytes searched for the markers. */
  searched: number;
}

/**
 * Reads the IKCONFIG of a kernel image (any format readKernel reads; `read`, when
 * the caller has read it already, is that result). Throws a
 * FormatError when the kernel's text cannot be reached (a zImage whose payload
 * is xz, say); returns `config: undefined` when the text was searched and holds
 * no configuration.
 */
export function kernelIkconfig(bytes: Uint8Array, read?: KernelImage): KernelIkconfig {
  const kernel = read ?? readKernel(bytes);
  const outer = kernel.compression === 'none' ? '' : ` (${kernel.compression})`;
  let text: Uint8Array;
  let path: string;
  if (kernel.kind === 'arm64-image') {
    text = kernel.image;
    path = `arm64 Image${outer}`;
  } else {
    const p = zImagePayload(kernel);
    if (!p.data) {
      throw new FormatError(
        'zimage',
        p.offset,
        'a gzip or LZ4 compressed kernel inside the zImage (the compressions hardboot reads)',
        `${p.compression}-compressed data at ${hex(p.offset)}: extract the config with the kernel's scripts/extract-ikconfig, or build with CONFIG_KERNEL_GZIP=y`,
      );
    }
    text = p.data;
    path = `zImage${outer}, ${p.compression} payload at ${hex(p.offset)}`;
  }
  const found = findIkconfig(text);
  const out: KernelIkconfig = { kernel, path, searched: text.length };
  if (found) out.config = found;
  return out;
}

/** The text of /proc/config.gz or a gzipped .config; plain text is returned as is. */
export function configText(bytes: Uint8Array): string {
  if (sniffCompression(bytes) === 'gzip') {
    const parts: Uint8Array[] = [];
    let rest = bytes;
    let total = 0;
    while (rest.length > 0 && sniffCompression(rest) === 'gzip') {
      // Concatenated members (gzip -c a b) share one budget.
      const m = withOffset(bytes.length - rest.length, () => gunzipMember(rest, { maxOutput: Math.max(1, CONFIG_MAX_BYTES - total) }));
      parts.push(m.data);
      total += m.data.length;
      rest = rest.subarray(m.consumed);
    }
    return new TextDecoder().decode(concatBytes(parts));
  }
  return new TextDecoder().decode(bytes);
}
