import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { FormatError } from '../errors.js';
import { concatBytes } from '../util/bytes.js';
import { readFixture } from '../../test/support.js';
import {
  decodeLz4Block,
  decodeLz4Legacy,
  LZ4_LEGACY_BLOCK_SIZE,
  LZ4_LEGACY_MAGIC,
  LZ4_LEGACY_MAX_BLOCK,
} from './lz4.js';
import { throwsFormat } from '../../test/assert.js';

/** These tests read well-formed streams of known size: the output cap is not what they test. */
const ANY_SIZE = 1 << 30;

const MiB = 1 << 20;

/** The reference encoder, as Linux's Makefile.lib and Android builds call it (legacy frame). */
function lz4Cli(input: Uint8Array, level = '-1'): Uint8Array {
  return new Uint8Array(execFileSync('lz4', ['-l', '-c', level], { input, maxBuffer: 1 << 30 }));
}

function u32le(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, true);
  return b;
}

/** Deterministic pseudo-random bytes (xorshift32), so failures reproduce. */
function randomBytes(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

/** Compressible data with matches of many lengths and offsets, overlapping ones included. */
function mixedBytes(n: number, seed = 7): Uint8Array {
  const out = new Uint8Array(n);
  const rnd = randomBytes(n, seed);
  let i = 0;
  let k = 0;
  while (i < n) {
    const kind = rnd[k++ % n]! % 4;
    const len = Math.min(n - i, 1 + ((rnd[k++ % n]! * 37) % 700));
    if (kind === 0 || i < 16) {
      out.set(rnd.subarray(i, i + len), i); // literals
    } else {
      const period = 1 + (rnd[k++ % n]! % (kind === 1 ? 4 : 300));
      const back = Math.min(i, period);
      for (let j = 0; j < len; j++) out[i + j] = out[i + j - back]!; // overlapping copy
    }
    i += len;
  }
  return out;
}

function withMagic(...parts: Uint8Array[]): Uint8Array {
  return concatBytes([u32le(LZ4_LEGACY_MAGIC), ...parts]);
}

function block(bytes: number[]): Uint8Array {
  return concatBytes([u32le(bytes.length), Uint8Array.from(bytes)]);
}


const ascii = (s: string) => Array.from(s, (c) => c.charCodeAt(0));

describe('lz4 block decoder', () => {
  it('decodes a literal-only block and an empty block (a single zero token)', () => {
    assert.deepEqual(decodeLz4Block(Uint8Array.from([0x50, ...ascii('hello')])), Uint8Array.from(ascii('hello')));
    assert.equal(decodeLz4Block(Uint8Array.from([0x00])).length, 0);
  });

  it('decodes a hand-made block with a match, an overlapping match and length extension bytes', () => {
    // "abcd", match offset 4 length 8, then literals "vwxyz"
    const b1 = [0x44, ...ascii('abcd'), 0x04, 0x00, 0x50, ...ascii('vwxyz')];
    assert.deepEqual(decodeLz4Block(Uint8Array.from(b1)), Uint8Array.from(ascii('abcdabcdabcdvwxyz')));
    // "x", match offset 1 length 15+4+255+10 = 284 (one 255 extension byte), then 5 literals
    const b2 = [0x1f, ...ascii('x'), 0x01, 0x00, 0xff, 0x0a, 0x50, ...ascii('12345')];
    assert.deepEqual(decodeLz4Block(Uint8Array.from(b2)), Uint8Array.from(ascii('x'.repeat(285) + '12345')));
    // 20 literals (15 + extension 5), match offset 3 length 40 (overlapping, copyWithin path), 5 literals
    const lits = 'ABCDEFGHIJKLMNOPQRST';
    const b3 = [0xff, 5, ...ascii(lits), 0x03, 0x00, 40 - 19, 0x50, ...ascii('.....')];
    const want = lits + 'RST'.repeat(14).slice(0, 40) + '.....';
    assert.deepEqual(decodeLz4Block(Uint8Array.from(b3)), Uint8Array.from(ascii(want)));
  });

  it('rejects offset 0 and offsets before the start of the block, naming the offset field', () => {
    throwsFormat(() => decodeLz4Block(Uint8Array.from([0x40, ...ascii('abcd'), 0x00, 0x00, 0x50, ...ascii('vwxyz')])), 'lz4', 5, /offset of at least 1/);
    throwsFormat(() => decodeLz4Block(Uint8Array.from([0x40, ...ascii('abcd'), 0x05, 0x00, 0x50, ...ascii('vwxyz')])), 'lz4', 5, /within the 0x4 bytes/);
    // A match first, before any output.
    throwsFormat(() => decodeLz4Block(Uint8Array.from([0x00, 0x01, 0x00, 0x50, ...ascii('vwxyz')])), 'lz4', 1);
  });

  it('rejects literal runs and lengths past the end of the block', () => {
    throwsFormat(() => decodeLz4Block(Uint8Array.from([0x50, ...ascii('hell')])), 'lz4', 1, /0x5 literal bytes/);
    throwsFormat(() => decodeLz4Block(Uint8Array.from([0xf0, 0xff])), 'lz4', 2, /literal length byte/);
    throwsFormat(() => decodeLz4Block(Uint8Array.from([0xf0, 0x10, 1, 2, 3])), 'lz4', 2, /0x1f literal bytes/);
  });

  it('rejects truncated sequences: half an offset, a cut match length, a block ending after a match', () => {
    throwsFormat(() => decodeLz4Block(Uint8Array.from([0x40, ...ascii('abcd'), 0x04])), 'lz4', 5, /2-byte match offset/);
    throwsFormat(() => decodeLz4Block(Uint8Array.from([0x4f, ...ascii('abcd'), 0x04, 0x00, 0xff])), 'lz4', 8, /match length byte/);
    throwsFormat(() => decodeLz4Block(Uint8Array.from([0x44, ...ascii('abcd'), 0x04, 0x00])), 'lz4', 7, /last sequence of literals/);
  });

  it('enforces the end-of-block rules (5 literal bytes last, last match ≥ 12 bytes before the end)', () => {
    // Only 4 literals after the last match.
    throwsFormat(() => decodeLz4Block(Uint8Array.from([0x44, ...ascii('abcd'), 0x04, 0x00, 0x40, ...ascii('wxyz')])), 'lz4', 12, /last 5 decoded bytes/);
    // 5 literals after it, but the match (length 4) starts only 9 bytes before the end.
    throwsFormat(() => decodeLz4Block(Uint8Array.from([0x40, ...ascii('abcd'), 0x04, 0x00, 0x50, ...ascii('vwxyz')])), 'lz4', 13, /at least 12 bytes/);
  });

  it('stops at the output limit', () => {
    throwsFormat(() => decodeLz4Block(Uint8Array.from([0x50, ...ascii('hello')]), 4), 'lz4', 1, /at most 0x4 bytes/);
  });
});

describe('lz4 legacy frame', () => {
  it('round-trips small inputs through `lz4 -l -c1`: empty, 5 bytes, text', () => {
    for (const input of [new Uint8Array(0), Uint8Array.from(ascii('hello')), Uint8Array.from(ascii('hardboot '.repeat(5000)))]) {
      const z = lz4Cli(input);
      const r = decodeLz4Legacy(z, { maxOutput: ANY_SIZE });
      assert.deepEqual(r.data, input);
      assert.equal(r.consumed, z.length);
      assert.equal(r.frames, 1);
      assert.equal(r.sizeTrailer, undefined);
    }
  });

  it('round-trips incompressible random data (every block stored as one long literal run)', () => {
    const input = randomBytes(3 * MiB + 12345, 42);
    const z = lz4Cli(input);
    assert.ok(z.length > input.length, 'random data grows under LZ4');
    const r = decodeLz4Legacy(z, { maxOutput: ANY_SIZE });
    assert.deepEqual(r.data, input);
    assert.equal(r.blocks, 1);
    assert.equal(r.consumed, z.length);
  });

  it('round-trips a >8 MiB input as several 8 MiB blocks, at levels 1, 9 and 12', () => {
    const input = mixedBytes(20 * MiB + 777);
    for (const level of ['-1', '-9', '-12']) {
      const z = lz4Cli(input, level);
      const r = decodeLz4Legacy(z, { maxOutput: ANY_SIZE });
      assert.equal(r.blocks, Math.ceil(input.length / LZ4_LEGACY_BLOCK_SIZE), level);
      assert.equal(r.consumed, z.length, level);
      assert.ok(Buffer.from(r.data).equals(input), `level ${level}: decoded bytes differ`);
    }
  });

  it("reads the kernel's size_append trailer (small and >8 MiB outputs) and stops before what follows", () => {
    const dtb = readFixture('dtb', 'vexpress-v2p-ca15-tc1.dtb');
    for (const input of [mixedBytes(300_000, 3), mixedBytes(9 * MiB, 4)]) {
      const z = lz4Cli(input);
      const withSize = concatBytes([z, u32le(input.length)]);
      const r = decodeLz4Legacy(withSize, { maxOutput: ANY_SIZE });
      assert.equal(r.sizeTrailer, input.length);
      assert.equal(r.consumed, withSize.length);
      assert.ok(Buffer.from(r.data).equals(input));

      // Android's Image.lz4-dtb: the kernel's Image.lz4 (with its size) and then DTBs.
      const andDtb = concatBytes([withSize, dtb]);
      const r2 = decodeLz4Legacy(andDtb, { maxOutput: ANY_SIZE });
      assert.equal(r2.consumed, withSize.length);
      assert.equal(r2.sizeTrailer, input.length);

      // Without the size word: the DTB magic read LE (0xedfe0dd0) cannot be a block size.
      const r3 = decodeLz4Legacy(concatBytes([z, dtb]), { maxOutput: ANY_SIZE });
      assert.equal(r3.consumed, z.length);
      assert.equal(r3.sizeTrailer, undefined);
      assert.ok(Buffer.from(r3.data).equals(input));
    }
  });

  it('decodes concatenated legacy frames as one stream, and stops at a zero word', () => {
    const a = mixedBytes(100_000, 5);
    const b = mixedBytes(50_000, 6);
    const both = concatBytes([lz4Cli(a), lz4Cli(b)]);
    const r = decodeLz4Legacy(both, { maxOutput: ANY_SIZE });
    assert.equal(r.frames, 2);
    assert.equal(r.consumed, both.length);
    assert.deepEqual(r.data, concatBytes([a, b]));

    const za = lz4Cli(a);
    const padded = concatBytes([za, new Uint8Array(4096)]);
    const p = decodeLz4Legacy(padded, { maxOutput: ANY_SIZE });
    assert.equal(p.consumed, za.length);
    assert.deepEqual(p.data, a);
    // Fewer than 4 bytes after the stream are left to the caller.
    assert.equal(decodeLz4Legacy(concatBytes([za, Uint8Array.of(1, 2)]), { maxOutput: ANY_SIZE }).consumed, za.length);
  });

  it('rejects a wrong magic, a block size running past the input, and a block decoding to more than 8 MiB', () => {
    throwsFormat(() => decodeLz4Legacy(Uint8Array.of(0x04, 0x22, 0x4d, 0x18), { maxOutput: ANY_SIZE }), 'lz4-legacy', 0, /0x184c2102/);
    throwsFormat(() => decodeLz4Legacy(Uint8Array.of(0x02, 0x21), { maxOutput: ANY_SIZE }), 'lz4-legacy', 0);

    const z = lz4Cli(Uint8Array.from(ascii('hello world, hello world, hello world')));
    // Size word says 0x100 bytes, 10 follow.
    throwsFormat(() => decodeLz4Legacy(withMagic(u32le(0x100), new Uint8Array(10)), { maxOutput: ANY_SIZE }), 'lz4-legacy', 4, /0x100 bytes/);
    // A truncated stream: its last block lacks its final bytes.
    throwsFormat(() => decodeLz4Legacy(z.subarray(0, z.length - 3), { maxOutput: ANY_SIZE }), 'lz4-legacy', 4, /block of/);
    // A block whose declared size cuts it short (the decoder sees the shortened block).
    const short = z.slice();
    new DataView(short.buffer).setUint32(4, z.length - 8 - 3, true);
    throwsFormat(() => decodeLz4Legacy(short, { maxOutput: ANY_SIZE }), 'lz4-legacy');

    // "a" then a match of offset 1 and 8 MiB + 1 bytes, then 5 literals.
    let ext = LZ4_LEGACY_BLOCK_SIZE + 1 - 1 - 19;
    const extBytes: number[] = [];
    while (ext >= 255) {
      extBytes.push(255);
      ext -= 255;
    }
    extBytes.push(ext);
    const bomb = [0x1f, 0x61, 0x01, 0x00, ...extBytes, 0x50, ...ascii('12345')];
    throwsFormat(() => decodeLz4Legacy(withMagic(block(bomb)), { maxOutput: ANY_SIZE }), 'lz4-legacy', undefined, /at most 0x800000 bytes/);
    // With the match 6 bytes shorter, 1 + match + 5 is exactly 8 MiB: accepted.
    extBytes[extBytes.length - 1]! -= 6;
    const fits = [0x1f, 0x61, 0x01, 0x00, ...extBytes, 0x50, ...ascii('12345')];
    assert.equal(decodeLz4Legacy(withMagic(block(fits)), { maxOutput: ANY_SIZE }).data.length, LZ4_LEGACY_BLOCK_SIZE);
  });

  it('treats a word larger than any block as the end of the stream, not as a block', () => {
    const z = lz4Cli(Uint8Array.from(ascii('x'.repeat(1000))));
    const r = decodeLz4Legacy(concatBytes([z, u32le(LZ4_LEGACY_MAX_BLOCK + 1), new Uint8Array(64)]), { maxOutput: ANY_SIZE });
    assert.equal(r.consumed, z.length);
  });

  it('decodes a 30 MiB stream in well under a second', () => {
    const input = mixedBytes(30 * MiB, 11);
    const z = lz4Cli(input);
    const t0 = performance.now();
    const r = decodeLz4Legacy(z, { maxOutput: ANY_SIZE });
    const ms = performance.now() - t0;
    assert.ok(Buffer.from(r.data).equals(input));
    assert.ok(ms < 1000, `took ${ms.toFixed(0)} ms`);
  });
});

describe('lz4 properties', () => {
  const onlyFormatErrors = (fn: () => unknown) => {
    try {
      fn();
    } catch (e) {
      if (!(e instanceof FormatError)) throw e;
    }
  };

  it('random bytes (bare, after the magic, as a block) throw nothing but FormatError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), (bytes) => {
        onlyFormatErrors(() => decodeLz4Legacy(bytes, { maxOutput: ANY_SIZE }));
        onlyFormatErrors(() => decodeLz4Legacy(withMagic(bytes), { maxOutput: ANY_SIZE }));
        onlyFormatErrors(() => decodeLz4Legacy(withMagic(u32le(bytes.length), bytes), { maxOutput: ANY_SIZE }));
        onlyFormatErrors(() => decodeLz4Block(bytes));
      }),
      { numRuns: 2000 },
    );
  });

  it('corrupting any byte of real lz4 output gives a FormatError or some output, never another error', () => {
    const z = lz4Cli(mixedBytes(20_000, 9));
    fc.assert(
      fc.property(fc.nat(z.length - 1), fc.integer({ min: 1, max: 255 }), (at, x) => {
        const bad = z.slice();
        bad[at]! ^= x;
        onlyFormatErrors(() => decodeLz4Legacy(bad, { maxOutput: ANY_SIZE }));
      }),
      { numRuns: 1000 },
    );
  });

  it('random data round-trips through the lz4 CLI', () => {
    // Runs of random literals and repeated byte patterns, so matches of all shapes occur.
    const piece = fc.oneof(
      fc.uint8Array({ minLength: 1, maxLength: 3000 }),
      fc
        .tuple(fc.uint8Array({ minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 400 }))
        .map(([p, n]) => concatBytes(Array.from({ length: n }, () => p))),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 30 }), fc.constantFrom('-1', '-9'), (pieces, level) => {
        const input = concatBytes(pieces);
        assert.deepEqual(decodeLz4Legacy(lz4Cli(input, level), { maxOutput: ANY_SIZE }).data, input);
      }),
      { numRuns: 40 },
    );
  });
});
