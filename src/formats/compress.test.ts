import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import * as zlib from 'node:zlib';
import fc from 'fast-check';
import { FormatError } from '../errors.js';
import { concatBytes } from '../util/bytes.js';
import { readFixture } from '../../test/support.js';
import { crc32, crc32Portable, decompress, detectCompression, gunzipMember, sniffCompression } from './compress.js';
import { throwsFormat } from '../../test/assert.js';

/** These tests read well-formed streams of known size: the output cap is not what they test. */
const ANY_SIZE = 1 << 30;

const work = mkdtempSync(join(tmpdir(), 'hardboot-compress-'));
after(() => rmSync(work, { recursive: true, force: true }));

const text = new TextEncoder().encode('kexec-hardboot keeps the kernel in RAM across a reset. '.repeat(4000));
const dtb = readFixture('dtb', 'vexpress-v2p-ca15-tc1.dtb');

/** node:zlib's gzip as a plain Uint8Array (Buffer#slice would alias, not copy). */
function gzipSync(b: Uint8Array): Uint8Array {
  return new Uint8Array(zlib.gzipSync(b));
}

/** Runs a compressor CLI on a file and returns its output; `name` is the file name gzip records. */
function cli(tool: string, args: string[], input: Uint8Array, name = 'payload.bin'): Uint8Array {
  const f = join(work, name);
  writeFileSync(f, input);
  return new Uint8Array(execFileSync(tool, [...args, f], { maxBuffer: 1 << 30 }));
}


/** A gzip member built field by field, so every optional header field can be exercised. */
function handMadeGzip(data: Uint8Array, opts: { extra?: Uint8Array; name?: string; comment?: string; hcrc?: boolean }): Uint8Array {
  const enc = new TextEncoder();
  let flg = 0;
  const parts: Uint8Array[] = [];
  if (opts.extra) {
    flg |= 4;
    parts.push(Uint8Array.of(opts.extra.length & 0xff, opts.extra.length >> 8), opts.extra);
  }
  if (opts.name !== undefined) {
    flg |= 8;
    parts.push(enc.encode(opts.name), Uint8Array.of(0));
  }
  if (opts.comment !== undefined) {
    flg |= 16;
    parts.push(enc.encode(opts.comment), Uint8Array.of(0));
  }
  if (opts.hcrc) flg |= 2;
  let header = concatBytes([Uint8Array.of(0x1f, 0x8b, 8, flg, 0x78, 0x56, 0x34, 0x12, 0, 3), ...parts]);
  if (opts.hcrc) {
    // The reference CRC-32 is the one zlib puts in a gzip trailer, independent of ours.
    const c = crcByZlib(header) & 0xffff;
    header = concatBytes([header, Uint8Array.of(c & 0xff, c >> 8)]);
  }
  const ref = zlib.gzipSync(data); // for its trailer (CRC-32 and ISIZE)
  return concatBytes([header, zlib.deflateRawSync(data), ref.subarray(ref.length - 8)]);
}

function crcByZlib(b: Uint8Array): number {
  const z = zlib.gzipSync(b);
  return new DataView(z.buffer, z.byteOffset + z.length - 8, 4).getUint32(0, true);
}

describe('detectCompression', () => {
  it('names gzip, LZ4 legacy and uncompressed data from real tool output', () => {
    assert.equal(detectCompression(gzipSync(text)), 'gzip');
    assert.equal(detectCompression(cli('gzip', ['-c'], text)), 'gzip');
    assert.equal(detectCompression(cli('lz4', ['-l', '-c'], text)), 'lz4-legacy');
    assert.equal(detectCompression(text), 'none');
    assert.equal(detectCompression(new Uint8Array(0)), 'none');
  });

  it('recognises xz, lzma, zstd, bzip2, the LZ4 frame format and lzop, and refuses them clearly', () => {
    const samples: Array<[string, Uint8Array]> = [
      ['xz', cli('xz', ['-c'], text)],
      ['lzma', cli('xz', ['--format=lzma', '-c'], text)],
      ['lz4-frame', cli('lz4', ['-c'], text)],
      // zstd, bzip2 and lzop are not among the tools setup installs: their first bytes,
      // as each format's specification fixes them (zstd RFC 8878 frame magic 0xFD2FB528 LE
      // and a frame header; "BZh9" and the block magic 0x314159265359; lzop's 9-byte magic).
      ['zstd', Uint8Array.of(0x28, 0xb5, 0x2f, 0xfd, 0x24, 0x10, 0x81, 0x00)],
      ['bzip2', Uint8Array.of(0x42, 0x5a, 0x68, 0x39, 0x31, 0x41, 0x59, 0x26, 0x53, 0x59)],
      ['lzop', Uint8Array.of(0x89, 0x4c, 0x5a, 0x4f, 0x00, 0x0d, 0x0a, 0x1a, 0x0a, 0x10, 0x30)],
    ];
    for (const [name, bytes] of samples) {
      assert.equal(sniffCompression(bytes), name);
      throwsFormat(() => detectCompression(bytes), name, 0, /not supported: decompress it first/);
      throwsFormat(() => decompress(bytes, { maxOutput: ANY_SIZE }), name, 0);
    }
  });
});

describe('crc32', () => {
  it('matches the CRC-32 zlib writes into gzip trailers, for every length up to 64 and a large buffer', () => {
    const big = new Uint8Array(3 << 20).map((_, i) => (i * 2654435761) >>> 24);
    for (const b of [...Array.from({ length: 65 }, (_, n) => big.subarray(7, 7 + n)), big]) {
      const want = crcByZlib(b);
      assert.equal(crc32Portable(b), want);
      assert.equal(crc32(b), want);
    }
    // Continuation: crc(a ++ b) from crc(a).
    assert.equal(crc32Portable(big.subarray(1000), crc32Portable(big.subarray(0, 1000))), crcByZlib(big));
  });
});

describe('gunzipMember', () => {
  it('reads node:zlib output, with bytes after the member left alone', () => {
    const z = gzipSync(text);
    const m = gunzipMember(z, { maxOutput: ANY_SIZE });
    assert.deepEqual(m.data, text);
    assert.equal(m.consumed, z.length);
    assert.equal(m.dataOffset, 10);
    assert.equal(m.name, undefined);

    const withDtb = concatBytes([z, dtb]);
    const m2 = gunzipMember(withDtb, { maxOutput: ANY_SIZE });
    assert.equal(m2.consumed, z.length);
    assert.deepEqual(withDtb.subarray(m2.consumed), dtb);
  });

  it('reads the gzip CLI (FNAME set) at levels 1 and 9, and a second member stays unread', () => {
    for (const level of ['-1', '-9']) {
      const z = cli('gzip', ['-c', level], text, 'Image');
      assert.equal(z[3]! & 8, 8, 'gzip sets FNAME');
      const m = gunzipMember(z, { maxOutput: ANY_SIZE });
      assert.equal(m.name, 'Image');
      assert.equal(m.os, 3);
      assert.deepEqual(m.data, text);
      assert.equal(m.consumed, z.length);
      assert.equal(m.dataOffset, 10 + 'Image'.length + 1);
    }
    const a = cli('gzip', ['-c'], text.subarray(0, 1000), 'a');
    const b = cli('gzip', ['-c'], text.subarray(1000, 3000), 'b');
    const m = gunzipMember(concatBytes([a, b]), { maxOutput: ANY_SIZE });
    assert.equal(m.consumed, a.length);
    assert.deepEqual(m.data, text.subarray(0, 1000));
  });

  it('parses FEXTRA, FNAME, FCOMMENT and FHCRC', () => {
    const z = handMadeGzip(text, { extra: Uint8Array.of(0x41, 0x42, 2, 0, 9, 9), name: 'vmlinuz', comment: 'built by hand', hcrc: true });
    const m = gunzipMember(z, { maxOutput: ANY_SIZE });
    assert.equal(m.name, 'vmlinuz');
    assert.equal(m.comment, 'built by hand');
    assert.equal(m.mtime, 0x12345678);
    assert.equal(m.dataOffset, 10 + 2 + 6 + 8 + 14 + 2);
    assert.deepEqual(m.data, text);
    // gzip -t, the reference reader, agrees the member is valid.
    writeFileSync(join(work, 'hand.gz'), z);
    execFileSync('gzip', ['-t', join(work, 'hand.gz')]);

    const badHcrc = z.slice();
    badHcrc[m.dataOffset - 1]! ^= 1;
    throwsFormat(() => gunzipMember(badHcrc, { maxOutput: ANY_SIZE }), 'gzip', m.dataOffset - 2, /header CRC16/);
  });

  it('reports a corrupt CRC-32, a wrong ISIZE and a truncated stream with their offsets', () => {
    const z = gzipSync(text);
    const trailer = z.length - 8;
    const badCrc = z.slice();
    badCrc[trailer]! ^= 0xff;
    throwsFormat(() => gunzipMember(badCrc, { maxOutput: ANY_SIZE }), 'gzip', trailer, /CRC-32/);
    const badSize = z.slice();
    badSize[trailer + 4]! ^= 1;
    throwsFormat(() => gunzipMember(badSize, { maxOutput: ANY_SIZE }), 'gzip', trailer + 4, /ISIZE/);
    // Cut inside the deflate data, and inside the trailer.
    throwsFormat(() => gunzipMember(z.subarray(0, z.length - 20), { maxOutput: ANY_SIZE }), 'gzip', z.length - 20, /truncated/);
    throwsFormat(() => gunzipMember(z.subarray(0, z.length - 3), { maxOutput: ANY_SIZE }), 'gzip', trailer + 4, /ISIZE/);
    throwsFormat(() => gunzipMember(z.subarray(0, 10), { maxOutput: ANY_SIZE }), 'gzip', 10, /truncated/);
  });

  it('reports bad headers and bad deflate data as FormatError, never as zlib errors', () => {
    const z = gzipSync(text);
    throwsFormat(() => gunzipMember(Uint8Array.of(0x1f), { maxOutput: ANY_SIZE }), 'gzip', 0);
    throwsFormat(() => gunzipMember(concatBytes([Uint8Array.of(0x1f, 0x8c), z.subarray(2)]), { maxOutput: ANY_SIZE }), 'gzip', 0, /magic/);
    const cm = z.slice();
    cm[2] = 7;
    throwsFormat(() => gunzipMember(cm, { maxOutput: ANY_SIZE }), 'gzip', 2, /deflate/);
    const reserved = z.slice();
    reserved[3] = 0x20;
    throwsFormat(() => gunzipMember(reserved, { maxOutput: ANY_SIZE }), 'gzip', 3, /reserved/);
    const fname = Uint8Array.of(0x1f, 0x8b, 8, 8, 0, 0, 0, 0, 0, 3, 0x61, 0x62, 0x63); // FNAME "abc", no NUL
    throwsFormat(() => gunzipMember(fname, { maxOutput: ANY_SIZE }), 'gzip', 10, /FNAME/);
    const junk = concatBytes([z.subarray(0, 10), Uint8Array.of(0xff, 0xff, 0xff, 0xff)]);
    throwsFormat(() => gunzipMember(junk, { maxOutput: ANY_SIZE }), 'gzip', 10, /zlib: invalid block type/);
    throwsFormat(() => gunzipMember(z, { maxOutput: 1000 }), 'gzip', 10, /at most 0x3e8 bytes/);
  });

  it('random bytes, alone or after a gzip header, throw nothing but FormatError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), fc.nat(31), (bytes, flg) => {
        for (const input of [bytes, concatBytes([Uint8Array.of(0x1f, 0x8b, 8, flg, 0, 0, 0, 0, 0, 3), bytes])]) {
          try {
            gunzipMember(input, { maxOutput: ANY_SIZE });
          } catch (e) {
            if (!(e instanceof FormatError)) throw e;
          }
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('decompress', () => {
  it('returns the data and the bytes after the stream for gzip and LZ4, and the input itself for none', () => {
    const gz = cli('gzip', ['-c'], text);
    const d1 = decompress(concatBytes([gz, dtb]), { maxOutput: ANY_SIZE });
    assert.equal(d1.compression, 'gzip');
    assert.deepEqual(d1.data, text);
    assert.equal(d1.consumed, gz.length);
    assert.deepEqual(d1.trailing, dtb);

    const lz = cli('lz4', ['-l', '-c'], text);
    const d2 = decompress(concatBytes([lz, dtb]), { maxOutput: ANY_SIZE });
    assert.equal(d2.compression, 'lz4-legacy');
    assert.deepEqual(d2.data, text);
    assert.equal(d2.consumed, lz.length);
    assert.deepEqual(d2.trailing, dtb);

    const d3 = decompress(text, { maxOutput: ANY_SIZE });
    assert.equal(d3.compression, 'none');
    assert.equal(d3.data, text);
    assert.equal(d3.trailing.length, 0);
  });

  it('reads back a file that `gzip -k` wrote, byte for byte', () => {
    const f = join(work, 'roundtrip');
    writeFileSync(f, text);
    execFileSync('gzip', ['-k', '-f', f]);
    const d = decompress(new Uint8Array(readFileSync(`${f}.gz`)), { maxOutput: ANY_SIZE });
    assert.deepEqual(d.data, text);
  });
});
