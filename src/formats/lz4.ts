/**
 * LZ4 block decoder and the LZ4 legacy frame, the container of Linux's `Image.lz4`
 * (scripts/Makefile.lib: `lz4 -l -9`, then `size_append` writes the uncompressed
 * size as a 4-byte little-endian word after the frame).
 *
 * Facts from lz4's doc/lz4_Block_format.md and doc/lz4_Frame_format.md:
 * - A block is a run of sequences: token (high nibble literal length, low nibble
 *   match length − 4, 15 meaning "add the following bytes until one is not 255"),
 *   literals, then a 2-byte little-endian offset (0 is invalid) and the match.
 * - End of block: the last sequence holds only literals and the block ends right
 *   after them; the last 5 bytes are literals; the last match starts at least 12
 *   bytes before the end. "A conformant decoder is allowed to reject" blocks that
 *   break these rules; we do, as every reference encoder follows them.
 * - Legacy frame: magic 0x184C2102 (LE), then [u32 LE compressed size][block]…,
 *   each block independent and decoding to at most 8 MiB. There is no end mark: the
 *   frame ends at end of input or where a new frame magic starts.
 */
import { FormatError, hex } from '../errors.js';
import { ByteReader, view } from '../util/bytes.js';

export const LZ4_LEGACY_MAGIC = 0x184c2102;
/** Legacy frames cut the input into 8 MiB blocks; only the last may be shorter. */
export const LZ4_LEGACY_BLOCK_SIZE = 8 << 20;
/** LZ4_COMPRESSBOUND(8 MiB): no legacy block can be larger than this when compressed. */
export const LZ4_LEGACY_MAX_BLOCK = LZ4_LEGACY_BLOCK_SIZE + Math.floor(LZ4_LEGACY_BLOCK_SIZE / 255) + 16;

/** Below this length a plain loop beats `set`/`copyWithin` (measured: their call cost dominates). */
const SHORT_COPY = 32;

/**
 * The most a block of `compressed` bytes can decode to: every sequence that emits a
 * match spends at least 3 bytes (token + offset) per 19 output bytes, and each
 * extension byte adds at most 255, so output ≤ 255 × input. Used to size buffers
 * so that a hostile size word cannot make us allocate 8 MiB per 5 input bytes.
 */
function maxDecoded(compressed: number): number {
  return Math.min(LZ4_LEGACY_BLOCK_SIZE, compressed * 255 + 64);
}

/**
 * Decodes the LZ4 block src[start, end) into dst from dstStart, writing nothing at
 * or beyond dstLimit. Returns the new end of output. Matches may only reach back to
 * dstStart (legacy blocks are independent). Errors name offsets in `src`, shifted
 * by `base` so that callers report positions in their whole input.
 */
export function decodeLz4BlockInto(
  src: Uint8Array,
  start: number,
  end: number,
  dst: Uint8Array,
  dstStart: number,
  dstLimit: number,
  base = 0,
  format = 'lz4',
): number {
  // Only format and base are captured here: a variable a closure captures lives in a
  // context object, which would slow every access to it in the loop below.
  const fail = (at: number, expected: string, found: string): never => blockError(format, base, at, expected, found);
  if (start < 0 || end > src.length || start > end || dstStart < 0 || dstLimit > dst.length || dstStart > dstLimit) {
    // A caller bug, not bad data; still a typed error so nothing else escapes.
    const found = `[${hex(start)}, ${hex(end)}) → [${hex(dstStart)}, ${hex(dstLimit)})`;
    fail(start, 'block bounds inside the buffers', found);
  }
  if (start === end) fail(start, 'an LZ4 block (at least a token byte)', 'an empty block');

  let sp = start;
  let dp = dstStart;
  let lastMatchStart = -1;
  let lastMatchEnd = -1;
  for (;;) {
    // Invariant: sp < end here, so the token byte exists.
    const token = src[sp++]!;

    let lit = token >>> 4;
    if (lit === 15) {
      let b: number;
      do {
        if (sp >= end) fail(sp, 'a literal length byte', 'end of block');
        b = src[sp++]!;
        lit += b;
      } while (b === 255);
    }
    if (lit > end - sp) {
      fail(sp, `${hex(lit)} literal bytes`, `only ${hex(end - sp)} bytes left in the block`);
    }
    if (lit > dstLimit - dp) fail(sp, limitText(dstLimit - dstStart), `${hex(dp - dstStart + lit)} bytes or more`);
    if (lit < SHORT_COPY) {
      for (let i = 0; i < lit; i++) dst[dp + i] = src[sp + i]!;
    } else {
      dst.set(src.subarray(sp, sp + lit), dp);
    }
    sp += lit;
    dp += lit;

    // End of block rule 1: the last sequence is literals only, ending the block.
    if (sp === end) break;

    if (end - sp < 2) fail(sp, 'a 2-byte match offset', 'end of block');
    const offset = src[sp]! | (src[sp + 1]! << 8);
    if (offset === 0) fail(sp, 'a match offset of at least 1', '0 (invalid in LZ4)');
    if (offset > dp - dstStart) {
      fail(sp, `a match offset within the ${hex(dp - dstStart)} bytes decoded so far in this block`, hex(offset));
    }
    sp += 2;

    let len = (token & 15) + 4;
    if ((token & 15) === 15) {
      let b: number;
      do {
        if (sp >= end) fail(sp, 'a match length byte', 'end of block');
        b = src[sp++]!;
        len += b;
      } while (b === 255);
    }
    if (len > dstLimit - dp) fail(sp, limitText(dstLimit - dstStart), `${hex(dp - dstStart + len)} bytes or more`);

    const from = dp - offset;
    if (len < SHORT_COPY) {
      // Byte by byte is also the right semantics for overlapping matches (offset < len).
      for (let i = 0; i < len; i++) dst[dp + i] = dst[from + i]!;
    } else if (offset >= len) {
      dst.copyWithin(dp, from, from + len);
    } else if (offset === 1) {
      dst.fill(dst[from]!, dp, dp + len);
    } else {
      // Overlap: the output repeats with period `offset`. Copy one period, then keep
      // doubling from the match start (copied stays a multiple of offset).
      dst.copyWithin(dp, from, dp);
      let copied = offset;
      while (copied < len) {
        const n = Math.min(copied, len - copied);
        dst.copyWithin(dp + copied, dp, dp + n);
        copied += n;
      }
    }
    lastMatchStart = dp;
    dp += len;
    lastMatchEnd = dp;

    if (sp === end) fail(sp, 'a last sequence of literals after the last match', 'end of block');
  }

  if (lastMatchStart >= 0) {
    const out = dp - dstStart;
    // End of block rules 2 and 3.
    if (dp - lastMatchEnd < 5) {
      const found = `a match ending at ${hex(lastMatchEnd - dstStart)} of ${hex(out)}`;
      fail(end, 'the last 5 decoded bytes of a block to be literals', found);
    }
    if (dp - lastMatchStart < 12) {
      const found = `a match at ${hex(lastMatchStart - dstStart)} of ${hex(out)}`;
      fail(end, 'the last match to start at least 12 bytes before the end of the block', found);
    }
  }
  return dp;
}

function blockError(format: string, base: number, at: number, expected: string, found: string): never {
  throw new FormatError(format, base + at, expected, found);
}

function limitText(limit: number): string {
  return `a block that decodes to at most ${hex(limit)} bytes`;
}

/** Decodes one independent LZ4 block that decodes to at most `maxOutput` bytes. */
export function decodeLz4Block(block: Uint8Array, maxOutput: number = LZ4_LEGACY_BLOCK_SIZE): Uint8Array {
  const out = new Uint8Array(Math.min(maxOutput, block.length * 255 + 64));
  const n = decodeLz4BlockInto(block, 0, block.length, out, 0, out.length);
  return out.subarray(0, n);
}

export interface Lz4LegacyStream {
  /** The decompressed bytes. */
  data: Uint8Array;
  /** Input bytes that belong to the stream: magic(s), blocks and, if recognised, the size trailer. */
  consumed: number;
  /** Compressed blocks decoded. */
  blocks: number;
  /** Legacy frames read (concatenated frames each start with the magic). */
  frames: number;
  /**
   * The kernel's `size_append` trailer (uncompressed size, u32 LE) when one follows the
   * stream and matches the decoded length; counted in `consumed`.
   */
  sizeTrailer?: number;
}

/**
 * Decodes an LZ4 legacy frame at the start of `bytes`. Where the stream ends:
 * - at end of input (or fewer than 4 bytes left, which are left unconsumed);
 * - at a word equal to the decoded length that cannot be a block (too large for a
 *   block, or running past the input): the kernel's size trailer, consumed;
 * - at a zero word (Linux's lib/decompress_unlz4.c reads it as end of file) or a
 *   word too large to be a block (another format follows: a DTB's magic read LE
 *   is 0xedfe0dd0); neither is consumed.
 * A new legacy magic continues the stream (concatenated frames, as lz4 decodes them).
 */
export function decodeLz4Legacy(bytes: Uint8Array, options: { maxOutput: number }): Lz4LegacyStream {
  const r: ByteReader = new ByteReader(bytes, 'lz4-legacy');
  const magic = r.u32le(0, 'the LZ4 legacy frame magic');
  if (magic !== LZ4_LEGACY_MAGIC) r.fail(0, `the LZ4 legacy frame magic ${hex(LZ4_LEGACY_MAGIC)}`, hex(magic));
  const { maxOutput } = options;

  // The walk's bound holds every block's output, so the buffer never has to grow (and be copied).
  const out = new Output(Math.min(estimateOutput(bytes), maxOutput));
  let p = 4;
  let blocks = 0;
  let frames = 1;
  let sizeTrailer: number | undefined;
  for (;;) {
    const left = bytes.length - p;
    if (left < 4) break;
    const word = r.dv.getUint32(p, true);
    if (word === LZ4_LEGACY_MAGIC) {
      frames++;
      p += 4;
      continue;
    }
    const cannotBeBlock = word > LZ4_LEGACY_MAX_BLOCK || word > left - 4;
    if (blocks > 0 && cannotBeBlock && word === out.length % 0x1_0000_0000) {
      sizeTrailer = word;
      p += 4;
      break;
    }
    if (word === 0 || word > LZ4_LEGACY_MAX_BLOCK) break;
    if (word > left - 4) {
      r.fail(p, `a block of ${hex(word)} bytes`, `only ${hex(left - 4)} bytes left after the block size`);
    }
    const start = p + 4;
    if (out.length >= maxOutput) {
      r.fail(p, `the end of a stream that decompresses to at most ${hex(maxOutput)} bytes`, `another block after ${hex(out.length)} bytes`);
    }
    // A block may decode to no more than what is left of maxOutput: the limit is checked
    // sequence by sequence, so a bomb stops at the cap, never allocates past it.
    const room = Math.min(maxDecoded(word), maxOutput - out.length);
    const limit = out.reserve(room);
    out.length = decodeLz4BlockInto(bytes, start, start + word, out.buf, out.length, limit, 0, 'lz4-legacy');
    blocks++;
    p = start + word;
  }
  const result: Lz4LegacyStream = { data: out.buf.subarray(0, out.length), consumed: p, blocks, frames };
  if (sizeTrailer !== undefined) result.sizeTrailer = sizeTrailer;
  return result;
}

/**
 * An upper bound of the decoded size from a quick walk over the block size words
 * (each block decodes to at most maxDecoded of its size); the caller caps it with
 * its maxOutput, so hostile size words cannot make us allocate more than that.
 */
function estimateOutput(bytes: Uint8Array): number {
  const dv = view(bytes);
  let total = 0;
  let p = 4;
  while (bytes.length - p >= 4) {
    const word = dv.getUint32(p, true);
    if (word === LZ4_LEGACY_MAGIC) {
      p += 4;
      continue;
    }
    if (word === 0 || word > LZ4_LEGACY_MAX_BLOCK || word > bytes.length - p - 4) break;
    total += maxDecoded(word);
    p += 4 + word;
  }
  return total;
}

/** One growing output buffer: blocks decode straight into it, no per-block copies. */
class Output {
  buf: Uint8Array;
  length = 0;
  constructor(capacity: number) {
    this.buf = new Uint8Array(capacity);
  }
  /** Makes room for `n` more bytes and returns the limit for the next write. */
  reserve(n: number): number {
    const need = this.length + n;
    if (need > this.buf.length) {
      const next = new Uint8Array(Math.max(need, this.buf.length * 2));
      next.set(this.buf.subarray(0, this.length));
      this.buf = next;
    }
    return need;
  }
}

/**
 * The first `n` bytes an LZ4 legacy frame decodes to, from its first block alone
 * (a legacy block decodes to at most 8 MiB, so this is bounded whatever the
 * input claims); fewer when the first block is shorter.
 */
export function peekLz4Legacy(bytes: Uint8Array, n: number): Uint8Array {
  const r: ByteReader = new ByteReader(bytes, 'lz4-legacy');
  const magic = r.u32le(0, 'the LZ4 legacy frame magic');
  if (magic !== LZ4_LEGACY_MAGIC) r.fail(0, `the LZ4 legacy frame magic ${hex(LZ4_LEGACY_MAGIC)}`, hex(magic));
  if (bytes.length < 8) return new Uint8Array(0);
  const word = r.u32le(4, 'the first block size');
  if (word === 0 || word > LZ4_LEGACY_MAX_BLOCK) return new Uint8Array(0);
  if (word > bytes.length - 8) r.fail(4, `a block of ${hex(word)} bytes`, `only ${hex(bytes.length - 8)} bytes left after the block size`);
  const out = new Uint8Array(maxDecoded(word));
  const end = decodeLz4BlockInto(bytes, 8, 8 + word, out, 0, out.length, 0, 'lz4-legacy');
  return out.subarray(0, Math.min(n, end));
}
