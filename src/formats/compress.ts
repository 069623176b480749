/**
 * Kernel compression: recognising the container by its magic, and reading the two
 * that arm64 bootloaders take (Image.gz, Image.lz4). Pure functions over bytes;
 * node:zlib only inflates the raw deflate data, the gzip framing is parsed here
 * (RFC 1952) so that we know exactly where the member ends.
 */
import { constants as bufferConstants } from 'node:buffer';
import * as zlib from 'node:zlib';
import { FormatError, hex } from '../errors.js';
import { ByteReader, view } from '../util/bytes.js';
import { decodeLz4Legacy, peekLz4Legacy } from './lz4.js';

/** What we can decompress ('none': the bytes are not compressed). */
export type Compression = 'gzip' | 'lz4-legacy' | 'none';
/** What we recognise by magic; the extra names are reported, not decompressed. */
export type CompressionMagic = Compression | 'lz4-frame' | 'xz' | 'lzma' | 'zstd' | 'bzip2' | 'lzop';

/** Magic bytes at offset 0, as Linux's lib/decompress.c and each tool's format documents give them. */
const MAGICS: ReadonlyArray<readonly [CompressionMagic, readonly number[]]> = [
  ['gzip', [0x1f, 0x8b]],
  ['lz4-legacy', [0x02, 0x21, 0x4c, 0x18]], // 0x184C2102 LE
  ['lz4-frame', [0x04, 0x22, 0x4d, 0x18]], // 0x184D2204 LE
  ['xz', [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]], // FD "7zXZ" 00
  ['zstd', [0x28, 0xb5, 0x2f, 0xfd]], // 0xFD2FB528 LE
  ['bzip2', [0x42, 0x5a, 0x68]], // "BZh"
  ['lzop', [0x89, 0x4c, 0x5a, 0x4f, 0x00, 0x0d, 0x0a, 0x1a, 0x0a]], // 0x89 "LZO" 00 0D 0A 1A 0A
  ['lzma', [0x5d, 0x00, 0x00]], // legacy .lzma: properties byte 0x5d (lc3 lp0 pb2), dictionary size LE
];

/** The tool that undoes each format we only name, for the error message. */
const UNSUPPORTED_HINT: Record<Exclude<CompressionMagic, Compression>, string> = {
  'lz4-frame': 'lz4 -d',
  xz: 'xz -d',
  lzma: 'lzma -d',
  zstd: 'zstd -d',
  bzip2: 'bzip2 -d',
  lzop: 'lzop -d',
};

/** Names the compression format by its magic bytes; 'none' when no magic matches. */
export function sniffCompression(bytes: Uint8Array): CompressionMagic {
  for (const [name, magic] of MAGICS) {
    if (magic.length <= bytes.length && magic.every((b, i) => bytes[i] === b)) return name;
  }
  return 'none';
}

/**
 * The compression we can undo. Formats we only recognise (xz, lzma, zstd, bzip2,
 * lzop, the LZ4 frame format) throw a FormatError that says how to decompress them.
 */
export function detectCompression(bytes: Uint8Array): Compression {
  const name = sniffCompression(bytes);
  if (name === 'gzip' || name === 'lz4-legacy' || name === 'none') return name;
  throw new FormatError(
    name,
    0,
    'gzip, LZ4 legacy-frame or uncompressed data (the compressions hardboot reads)',
    `${name}-compressed data, which is not supported: decompress it first (${UNSUPPORTED_HINT[name]})`,
  );
}

// ---------------------------------------------------------------------------
// CRC-32 (ISO-HDLC, the one gzip uses)

let table: Uint32Array | undefined;

function crcTable(): Uint32Array {
  if (table) return table;
  // Eight 256-entry tables for "slicing by 8": table k maps a byte seen k positions
  // earlier. Table 0 is the classic reflected polynomial 0xEDB88320 table.
  const t = new Uint32Array(256 * 8);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  for (let n = 0; n < 256; n++) {
    let c = t[n]!;
    for (let k = 1; k < 8; k++) {
      c = t[c & 0xff]! ^ (c >>> 8);
      t[k * 256 + n] = c;
    }
  }
  table = t;
  return t;
}

/** CRC-32 computed here (Node 18 has no zlib.crc32); exported so tests can check it against zlib. */
export function crc32Portable(bytes: Uint8Array, crc = 0): number {
  const t = crcTable();
  let c = ~crc >>> 0;
  let i = 0;
  const n8 = bytes.length - (bytes.length % 8);
  for (; i < n8; i += 8) {
    const lo = (c ^ (bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24))) >>> 0;
    c =
      t[7 * 256 + (lo & 0xff)]! ^
      t[6 * 256 + ((lo >>> 8) & 0xff)]! ^
      t[5 * 256 + ((lo >>> 16) & 0xff)]! ^
      t[4 * 256 + (lo >>> 24)]! ^
      t[3 * 256 + bytes[i + 4]!]! ^
      t[2 * 256 + bytes[i + 5]!]! ^
      t[1 * 256 + bytes[i + 6]!]! ^
      t[bytes[i + 7]!]!;
  }
  for (; i < bytes.length; i++) c = t[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

const zlibCrc32 = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;

/** CRC-32 of `bytes`, continuing from `crc`: zlib's (Node ≥ 20.15) when present, else ours. */
export function crc32(bytes: Uint8Array, crc = 0): number {
  return zlibCrc32 ? zlibCrc32(bytes, crc) >>> 0 : crc32Portable(bytes, crc);
}

// ---------------------------------------------------------------------------
// gzip (RFC 1952)

const FTEXT = 0x01;
const FHCRC = 0x02;
const FEXTRA = 0x04;
const FNAME = 0x08;
const FCOMMENT = 0x10;
const FRESERVED = 0xe0;

export interface GzipMember {
  /** The decompressed bytes. */
  data: Uint8Array;
  /** Bytes of input the member occupies (header, deflate data, 8-byte trailer); what follows is not ours. */
  consumed: number;
  /** Offset of the deflate data (the header's length). */
  dataOffset: number;
  /** The FNAME field (gzip's original file name), if set. */
  name?: string;
  /** The FCOMMENT field, if set. */
  comment?: string;
  /** MTIME, seconds since the epoch (0: none). */
  mtime: number;
  /** The OS byte (3: Unix, 255: unknown). */
  os: number;
  /** The FTEXT hint. */
  text: boolean;
}

export interface GunzipOptions {
  /**
   * Refuse to decompress more than this many bytes. Every caller states what is
   * plausible for what it reads (a kernel's header, a DTB's limit, a config's):
   * nothing is inflated against a flat "far above anything" bound.
   */
  maxOutput: number;
}

/**
 * The largest buffer this Node can make: 2^30 − 1 bytes on 32-bit ARM with
 * Node 18, where a larger maxOutputLength makes zlib throw before inflating.
 */
const MAX_BUFFER = bufferConstants.MAX_LENGTH;

/** What the fixed part of a gzip member's header says (RFC 1952 2.3). */
interface GzipHeader {
  /** Offset of the deflate data (the header's length). */
  dataOffset: number;
  flags: number;
  mtime: number;
  os: number;
  name?: string;
  comment?: string;
}

function parseGzipHeader(r: ByteReader): GzipHeader {
  const bytes = r.bytes;
  const id = r.u16le(0, 'the gzip magic 1f 8b');
  if (id !== 0x8b1f) r.fail(0, 'the gzip magic 1f 8b', hex(id));
  const cm = r.u8(2, 'the compression method');
  if (cm !== 8) r.fail(2, 'compression method 8 (deflate)', String(cm));
  const flags = r.u8(3, 'the flags byte');
  if (flags & FRESERVED) r.fail(3, 'reserved flag bits 5–7 clear', hex(flags));
  const h: GzipHeader = { dataOffset: 0, flags, mtime: r.u32le(4, 'MTIME'), os: r.u8(9, 'the OS byte') };
  let p = 10;
  if (flags & FEXTRA) {
    const xlen = r.u16le(p, 'the FEXTRA length');
    r.need(p + 2, xlen, 'the FEXTRA field');
    p += 2 + xlen;
  }
  if (flags & FNAME) {
    h.name = r.cstring(p, undefined, 'the FNAME field (NUL-terminated)');
    p = bytes.indexOf(0, p) + 1;
  }
  if (flags & FCOMMENT) {
    h.comment = r.cstring(p, undefined, 'the FCOMMENT field (NUL-terminated)');
    p = bytes.indexOf(0, p) + 1;
  }
  if (flags & FHCRC) {
    const stored = r.u16le(p, 'the header CRC16');
    const computed = crc32(bytes.subarray(0, p)) & 0xffff;
    if (stored !== computed) r.fail(p, `header CRC16 ${hex(computed)}`, hex(stored));
    p += 2;
  }
  h.dataOffset = p;
  return h;
}

/**
 * Reads the gzip member at the start of `bytes`: parses the header, inflates the
 * deflate data, and checks the trailer's CRC-32 and ISIZE. `consumed` tells where
 * the member ends (Android's Image.gz-dtb puts DTBs right after it).
 */
export function gunzipMember(bytes: Uint8Array, options: GunzipOptions): GzipMember {
  const r: ByteReader = new ByteReader(bytes, 'gzip');
  const { dataOffset, flags: flg, mtime, os, ...member } = parseGzipHeader(r);

  const maxOutput = Math.min(options.maxOutput, MAX_BUFFER);
  let data: Uint8Array;
  let deflateSize: number;
  try {
    const res = zlib.inflateRawSync(bytes.subarray(dataOffset), {
      info: true,
      maxOutputLength: maxOutput,
      chunkSize: outputSizeHint(bytes, dataOffset, maxOutput),
    }) as unknown as { buffer: Buffer; engine: { bytesWritten: number } };
    data = new Uint8Array(res.buffer.buffer, res.buffer.byteOffset, res.buffer.byteLength);
    deflateSize = res.engine.bytesWritten;
  } catch (e) {
    throw zlibFailure(e, bytes.length, dataOffset, maxOutput);
  }

  const trailer = dataOffset + deflateSize;
  const storedCrc = r.u32le(trailer, 'the gzip trailer CRC-32');
  const storedSize = r.u32le(trailer + 4, 'the gzip trailer ISIZE');
  const crc = crc32(data);
  if (crc !== storedCrc) {
    r.fail(trailer, `CRC-32 ${hex(crc)} of the ${hex(data.length)} decompressed bytes`, hex(storedCrc));
  }
  const isize = data.length % 0x1_0000_0000;
  if (isize !== storedSize) r.fail(trailer + 4, `ISIZE ${hex(isize)} (decompressed length mod 2^32)`, hex(storedSize));

  return {
    data,
    consumed: trailer + 8,
    dataOffset,
    mtime,
    os,
    text: (flg & FTEXT) !== 0,
    ...member,
  };
}

/**
 * zlib inflates into chunks of `chunkSize` and concatenates them, so a kernel
 * costs twice its size at the peak. When the member ends the input (the usual
 * Image.gz), its ISIZE trailer is the exact output size: one chunk, no copy.
 * The guess is only a buffer size, so a wrong one (data after the member) costs
 * nothing but a different chunking; it is capped at what deflate can expand to.
 */
function outputSizeHint(bytes: Uint8Array, dataOffset: number, maxOutput: number): number {
  const DEFAULT = 64 * 1024;
  if (bytes.length < dataOffset + 8) return DEFAULT;
  const isize = view(bytes).getUint32(bytes.length - 4, true);
  const deflateMaxRatio = 1032; // deflate's largest expansion: 258 bytes per 2-bit code
  const cap = Math.min(maxOutput, (bytes.length - dataOffset) * deflateMaxRatio);
  return isize >= DEFAULT && isize <= cap ? isize : DEFAULT;
}

/** zlib's Error (or RangeError for maxOutputLength) as our FormatError. */
function zlibFailure(e: unknown, length: number, dataOffset: number, maxOutput: number): FormatError {
  const err = e as { code?: string; message?: string };
  if (err.code === 'Z_BUF_ERROR') {
    const expected = 'the rest of the deflate data and the 8-byte trailer';
    return new FormatError('gzip', length, expected, 'end of data (truncated)');
  }
  if (err.code === 'ERR_BUFFER_TOO_LARGE' || e instanceof RangeError) {
    const expected = `deflate data that decompresses to at most ${hex(maxOutput)} bytes`;
    return new FormatError('gzip', dataOffset, expected, 'more');
  }
  return new FormatError('gzip', dataOffset, 'valid deflate data', `zlib: ${err.message ?? String(e)}`);
}

// ---------------------------------------------------------------------------

export interface Decompressed {
  compression: Compression;
  /** The decompressed bytes (`bytes` itself for 'none'). */
  data: Uint8Array;
  /** Input bytes the compressed stream occupies (all of them for 'none'). */
  consumed: number;
  /** Input bytes after the stream (e.g. DTBs appended to Image.gz); empty for 'none'. */
  trailing: Uint8Array;
}

/** Undoes gzip or LZ4 legacy compression, if any, refusing output beyond `maxOutput` bytes; other compressions throw (see detectCompression). */
export function decompress(bytes: Uint8Array, options: GunzipOptions): Decompressed {
  const compression = detectCompression(bytes);
  let data: Uint8Array;
  let consumed: number;
  switch (compression) {
    case 'none':
      return { compression, data: bytes, consumed: bytes.length, trailing: bytes.subarray(bytes.length) };
    case 'gzip':
      ({ data, consumed } = gunzipMember(bytes, options));
      break;
    case 'lz4-legacy':
      ({ data, consumed } = decodeLz4Legacy(bytes, options));
      break;
  }
  return { compression, data, consumed, trailing: bytes.subarray(consumed) };
}

/** Compressed bytes fed per step when peeking: one step of deflate input expands to at most 1032× (≈ 264 KiB). */
const PEEK_STEP = 256;

/**
 * The first `n` decompressed bytes (fewer when the stream is shorter), inflating
 * only as much of the input as that takes: how a caller learns what a stream
 * holds, and so how much output is plausible, before it decompresses the whole
 * of it. Checks nothing beyond the header; decompress() checks the rest.
 */
export function peekDecompressed(bytes: Uint8Array, n: number): Uint8Array {
  const compression = detectCompression(bytes);
  switch (compression) {
    case 'none':
      return bytes.subarray(0, n);
    case 'lz4-legacy':
      return peekLz4Legacy(bytes, n);
    case 'gzip': {
      const r = new ByteReader(bytes, 'gzip');
      const { dataOffset } = parseGzipHeader(r);
      const deflate = bytes.subarray(dataOffset);
      for (let step = PEEK_STEP; ; step *= 2) {
        const part = deflate.subarray(0, step);
        let out: Buffer;
        try {
          // A sync flush returns what the prefix decodes to instead of failing on the missing end.
          out = zlib.inflateRawSync(part, { finishFlush: zlib.constants.Z_SYNC_FLUSH, maxOutputLength: Math.min(MAX_BUFFER, step * 1032 + 1024) });
        } catch (e) {
          throw zlibFailure(e, bytes.length, dataOffset, step * 1032);
        }
        if (out.length >= n || part.length === deflate.length) return new Uint8Array(out.buffer, out.byteOffset, Math.min(n, out.length));
      }
    }
  }
}

