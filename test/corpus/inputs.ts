/**
 * The building blocks of the bad-input corpus: small valid inputs of every
 * format hardboot reads, made in code, and the encoders the damaged and the
 * oversized variants need (raw LZ4 blocks, deflate streams of zeros). Each
 * builder is deterministic: the same call gives the same bytes.
 */
import * as zlib from 'node:zlib';
import { type Fdt, type FdtNode, stringValue, u32Cells, writeFdt } from '../../src/formats/fdt.js';
import { concatBytes } from '../../src/util/bytes.js';
import { makeArm64Image, makeZImage } from '../kernels.js';

export const te = new TextEncoder();

export function u32le(...words: number[]): Uint8Array {
  const b = new Uint8Array(words.length * 4);
  const dv = new DataView(b.buffer);
  words.forEach((w, i) => dv.setUint32(i * 4, w >>> 0, true));
  return b;
}

export function u32be(...words: number[]): Uint8Array {
  const b = new Uint8Array(words.length * 4);
  const dv = new DataView(b.buffer);
  words.forEach((w, i) => dv.setUint32(i * 4, w >>> 0, false));
  return b;
}

/** `bytes` with the words or bytes at `at` replaced (a copy). */
export function patch(bytes: Uint8Array, at: number, replacement: Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.max(bytes.length, at + replacement.length));
  out.set(bytes);
  out.set(replacement, at);
  return out;
}

export function setLe32(bytes: Uint8Array, at: number, v: number): Uint8Array {
  return patch(bytes, at, u32le(v));
}

export function setBe32(bytes: Uint8Array, at: number, v: number): Uint8Array {
  return patch(bytes, at, u32be(v));
}

// ---------------------------------------------------------------- device trees

function node(name: string, props: [string, Uint8Array][], children: FdtNode[] = []): FdtNode {
  return { name, props: props.map(([n, value]) => ({ name: n, value })), children };
}

/** A small board: 1 GiB of RAM at 0x40000000 (as QEMU virt), /chosen, one extra node. */
export function smallFdt(extraRoot: [string, Uint8Array][] = [], memory: { name?: string; reg?: Uint8Array } = {}): Fdt {
  return {
    version: 17,
    lastCompVersion: 16,
    bootCpuidPhys: 0,
    reservations: [],
    totalSize: 0,
    root: node(
      '',
      [
        ['#address-cells', u32Cells(2)],
        ['#size-cells', u32Cells(2)],
        ['compatible', stringValue('hardboot,corpus-board')],
        ['model', stringValue('hardboot corpus board')],
        ...extraRoot,
      ],
      [
        node('chosen', [['bootargs', stringValue('console=ttyAMA0')]]),
        node(memory.name ?? 'memory@40000000', [
          ['device_type', stringValue(memory.name === undefined ? 'memory' : 'not-memory')],
          ['reg', memory.reg ?? u32Cells(0, 0x40000000, 0, 0x40000000)],
        ]),
        node('soc', [['ranges', new Uint8Array(0)]], [node('uart@9000000', [['compatible', stringValue('arm,pl011')]])]),
      ],
    ),
  };
}

/** smallFdt() as a blob: header, reservation map, structure block, strings block (in that order). */
export function smallDtb(extraRoot: [string, Uint8Array][] = []): Uint8Array {
  return writeFdt(smallFdt(extraRoot));
}

/** The four block offsets and sizes of a blob written by writeFdt, read back from its header. */
export function dtbHeader(dtb: Uint8Array): { total: number; struct: number; strings: number; rsv: number; stringsSize: number; structSize: number } {
  const dv = new DataView(dtb.buffer, dtb.byteOffset, dtb.byteLength);
  return {
    total: dv.getUint32(4),
    struct: dv.getUint32(8),
    strings: dv.getUint32(12),
    rsv: dv.getUint32(16),
    stringsSize: dv.getUint32(32),
    structSize: dv.getUint32(36),
  };
}

/** A board with Qualcomm ids in the dtbTool v2 form (msm-id pairs, board-id pairs). */
export function qcomDtb(platform: number, socRev: number, variant: number): Uint8Array {
  return smallDtb([
    ['qcom,msm-id', u32Cells(platform, socRev)],
    ['qcom,board-id', u32Cells(variant, 0)],
  ]);
}

// ---------------------------------------------------------------- kernels

/** A small arm64 Image without an EFI stub: 64 KiB file, 128 KiB image_size. */
export function arm64Kernel(): Uint8Array {
  return makeArm64Image({ textOffset: 0, imageSize: 0x20000, fileSize: 0x10000 });
}

/**
 * A small EFI-stub arm64 Image: "MZ" at 0, the PE header at 0x40 with two
 * sections whose raw data end at `fileSize` (as Linux's stub lays out .text
 * and .data).
 */
export function efiArm64Kernel(fileSize = 0x10000): Uint8Array {
  const b = makeArm64Image({ textOffset: 0, imageSize: fileSize * 2, fileSize });
  const dv = new DataView(b.buffer);
  b[0] = 0x4d; // "MZ", as the stub's first instruction encodes it
  b[1] = 0x5a;
  dv.setUint32(0x3c, 0x40, true);
  const pe = 0x40;
  dv.setUint32(pe, 0x00004550, true); // "PE\0\0"
  dv.setUint16(pe + 4, 0xaa64, true); // IMAGE_FILE_MACHINE_ARM64
  dv.setUint16(pe + 6, 2, true); // NumberOfSections
  dv.setUint16(pe + 20, 0xa0, true); // SizeOfOptionalHeader
  dv.setUint16(pe + 24, 0x20b, true); // PE32+
  const table = pe + 24 + 0xa0;
  const half = fileSize / 2;
  for (const [i, [name, start, size]] of ([['.text', 0x1000, half - 0x1000], ['.data', half, half]] as const).entries()) {
    const s = table + i * 40;
    b.set(te.encode(name), s);
    dv.setUint32(s + 8, size, true); // VirtualSize
    dv.setUint32(s + 12, start, true); // VirtualAddress
    dv.setUint32(s + 16, size, true); // SizeOfRawData
    dv.setUint32(s + 20, start, true); // PointerToRawData
  }
  return b;
}

/** A small zImage: 4 KiB with a KRNL_SIZE tag (size word at the end, bss, TEXT_OFFSET 0x8000, malloc). */
export function zImageKernel(): Uint8Array {
  return makeZImage({ size: 0x1000, decompressed: 0x3000, bss: 0x1000 });
}

// ---------------------------------------------------------------- compression

export function gzip(data: Uint8Array): Uint8Array {
  return new Uint8Array(zlib.gzipSync(data, { level: 9 }));
}

/** An LZ4 block holding `data` as literals only (valid: the last sequence is literals). */
export function lz4Literals(data: Uint8Array): Uint8Array {
  const n = data.length;
  const ext: number[] = [];
  if (n >= 15) {
    let rest = n - 15;
    while (rest >= 255) {
      ext.push(255);
      rest -= 255;
    }
    ext.push(rest);
  }
  return concatBytes([new Uint8Array([(Math.min(n, 15) << 4) | 0]), new Uint8Array(ext), data]);
}

/**
 * An LZ4 block that decodes to 1 + `matchLength` + 5 zero bytes: one literal, one
 * match at offset 1, five closing literals (the end-of-block rules hold).
 */
export function lz4ZeroRun(matchLength: number): Uint8Array {
  const ext: number[] = [];
  let rest = matchLength - 4 - 15;
  while (rest >= 255) {
    ext.push(255);
    rest -= 255;
  }
  ext.push(rest);
  return concatBytes([new Uint8Array([0x1f, 0x00, 0x01, 0x00]), new Uint8Array(ext), new Uint8Array([0x50, 0, 0, 0, 0, 0])]);
}

/** A legacy frame: the magic, then [u32 LE size][block] for each block. */
export function lz4Legacy(blocks: readonly Uint8Array[], sizeTrailer?: number): Uint8Array {
  const parts: Uint8Array[] = [u32le(0x184c2102)];
  for (const b of blocks) parts.push(u32le(b.length), b);
  if (sizeTrailer !== undefined) parts.push(u32le(sizeTrailer));
  return concatBytes(parts);
}

const ZERO_SEGMENT = 16 << 20;
let zeroSegment: Uint8Array | undefined;

/**
 * Raw deflate data for `prefix` followed by `zeros` zero bytes (a multiple of
 * 16 MiB), made without touching that much memory: a full flush resets the
 * compressor, so 16 MiB of zeros compress to the same bytes every time and the
 * segment is repeated; an empty final block ends the stream.
 */
export function deflateZeros(prefix: Uint8Array, zeros: number): Uint8Array {
  if (zeros % ZERO_SEGMENT !== 0) throw new Error(`deflateZeros: ${zeros} is not a multiple of 16 MiB`);
  zeroSegment ??= new Uint8Array(zlib.deflateRawSync(new Uint8Array(ZERO_SEGMENT), { level: 9, finishFlush: zlib.constants.Z_FULL_FLUSH }));
  const head = prefix.length > 0 ? [new Uint8Array(zlib.deflateRawSync(prefix, { finishFlush: zlib.constants.Z_FULL_FLUSH }))] : [];
  const body = Array.from({ length: zeros / ZERO_SEGMENT }, () => zeroSegment!);
  // BFINAL=1, BTYPE=01 (fixed Huffman), then end-of-block (code 256: seven 0 bits).
  return concatBytes([...head, ...body, new Uint8Array([0x03, 0x00])]);
}

/** A gzip member around deflateZeros(); the trailer's CRC-32 and ISIZE are left 0 (a bomb is refused before them). */
export function gzipZeros(prefix: Uint8Array, zeros: number): Uint8Array {
  const header = new Uint8Array([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]);
  return concatBytes([header, deflateZeros(prefix, zeros), new Uint8Array(8)]);
}

export { concatBytes, makeArm64Image, makeZImage };
