import { FormatError, hex } from '../errors.js';

/** A DataView over exactly the bytes of `b` (Node Buffers are slices of a shared pool). */
export function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

/**
 * Bounds-checked reads for one format. Every failure is a FormatError naming the
 * format, the offset and what was expected, so parsers never leak RangeError.
 */
export class ByteReader {
  readonly dv: DataView;
  constructor(
    readonly bytes: Uint8Array,
    readonly format: string,
  ) {
    this.dv = view(bytes);
  }

  get length(): number {
    return this.bytes.length;
  }

  fail(offset: number, expected: string, found: string): never {
    throw new FormatError(this.format, offset, expected, found);
  }

  need(offset: number, size: number, what: string): void {
    if (!Number.isSafeInteger(offset) || offset < 0 || size < 0 || offset + size > this.bytes.length) {
      this.fail(offset, `${what} (${size} bytes)`, `end of data at ${hex(this.bytes.length)}`);
    }
  }

  u8(off: number, what = 'a byte'): number {
    this.need(off, 1, what);
    return this.dv.getUint8(off);
  }
  u16le(off: number, what = 'a 16-bit word'): number {
    this.need(off, 2, what);
    return this.dv.getUint16(off, true);
  }
  u32le(off: number, what = 'a 32-bit word'): number {
    this.need(off, 4, what);
    return this.dv.getUint32(off, true);
  }
  u32be(off: number, what = 'a 32-bit word'): number {
    this.need(off, 4, what);
    return this.dv.getUint32(off, false);
  }
  u64le(off: number, what = 'a 64-bit word'): bigint {
    this.need(off, 8, what);
    return this.dv.getBigUint64(off, true);
  }
  u64be(off: number, what = 'a 64-bit word'): bigint {
    this.need(off, 8, what);
    return this.dv.getBigUint64(off, false);
  }
  /** A sub-view (no copy). */
  slice(off: number, size: number, what = 'data'): Uint8Array {
    this.need(off, size, what);
    return this.bytes.subarray(off, off + size);
  }
  /** A NUL-terminated string starting at off, at most max bytes long. */
  cstring(off: number, max = this.bytes.length - off, what = 'a NUL-terminated string'): string {
    this.need(off, 0, what);
    const end = Math.min(this.bytes.length, off + max);
    const nul = this.bytes.subarray(off, end).indexOf(0);
    if (nul < 0) this.fail(off, what, `no NUL before ${hex(end)}`);
    return new TextDecoder('utf-8', { fatal: false }).decode(this.bytes.subarray(off, off + nul));
  }
}

/** A number that must fit JavaScript's exact integer range (physical addresses do: ≤ 52 bits). */
export function safeNumber(v: bigint, format: string, offset: number, what: string): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new FormatError(format, offset, `${what} below 2^53`, hex(v));
  }
  return Number(v);
}

export function alignUp(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

export function alignDown(n: number, a: number): number {
  return Math.floor(n / a) * a;
}

export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const total = parts.reduce((s, p) => s + p.length, 0);
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
