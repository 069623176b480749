/**
 * SHA-1 (FIPS 180-4, section 6.1), incremental. mkbootimg's image id is a SHA-1;
 * computing it here keeps node:crypto, and OpenSSL's start-up (a quarter of a
 * second in the lab's emulated guests), out of every hardboot run. Not for
 * security: only to write the id boot images carry.
 */
export class Sha1 {
  private readonly h = new Uint32Array([0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0]);
  private readonly block = new Uint8Array(64);
  private readonly w = new Uint32Array(80);
  private used = 0;
  /** Bytes hashed so far (a double holds any length a Uint8Array can have, exactly). */
  private length = 0;

  update(data: Uint8Array): this {
    let i = 0;
    this.length += data.length;
    if (this.used > 0) {
      const take = Math.min(64 - this.used, data.length);
      this.block.set(data.subarray(0, take), this.used);
      this.used += take;
      i = take;
      if (this.used < 64) return this;
      this.compress(this.block, 0);
      this.used = 0;
    }
    for (; i + 64 <= data.length; i += 64) this.compress(data, i);
    this.block.set(data.subarray(i), 0);
    this.used = data.length - i;
    return this;
  }

  /** The 20-byte digest; the object is spent afterwards. */
  digest(): Uint8Array {
    const bits = this.length * 8;
    const pad = new Uint8Array((this.used < 56 ? 56 : 120) - this.used + 8);
    pad[0] = 0x80;
    const dv = new DataView(pad.buffer);
    dv.setUint32(pad.length - 8, Math.floor(bits / 2 ** 32));
    dv.setUint32(pad.length - 4, bits >>> 0);
    this.length -= pad.length; // the padding is not message length
    this.update(pad);
    const out = new Uint8Array(20);
    const ov = new DataView(out.buffer);
    this.h.forEach((v, k) => ov.setUint32(k * 4, v));
    return out;
  }

  private compress(b: Uint8Array, at: number): void {
    const w = this.w;
    for (let t = 0; t < 16; t++) {
      const j = at + t * 4;
      w[t] = (b[j]! << 24) | (b[j + 1]! << 16) | (b[j + 2]! << 8) | b[j + 3]!;
    }
    for (let t = 16; t < 80; t++) {
      const x = w[t - 3]! ^ w[t - 8]! ^ w[t - 14]! ^ w[t - 16]!;
      w[t] = (x << 1) | (x >>> 31);
    }
    let [a, bb, c, d, e] = this.h as unknown as [number, number, number, number, number];
    for (let t = 0; t < 80; t++) {
      const f = t < 20 ? (bb & c) | (~bb & d) : t < 40 ? bb ^ c ^ d : t < 60 ? (bb & c) | (bb & d) | (c & d) : bb ^ c ^ d;
      const k = t < 20 ? 0x5a827999 : t < 40 ? 0x6ed9eba1 : t < 60 ? 0x8f1bbcdc : 0xca62c1d6;
      const tmp = (((a << 5) | (a >>> 27)) + f + e + k + w[t]!) | 0;
      e = d;
      d = c;
      c = (bb << 30) | (bb >>> 2);
      bb = a;
      a = tmp;
    }
    this.h[0] = this.h[0]! + a;
    this.h[1] = this.h[1]! + bb;
    this.h[2] = this.h[2]! + c;
    this.h[3] = this.h[3]! + d;
    this.h[4] = this.h[4]! + e;
  }
}
