import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Sha1 } from './sha1.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const text = (s: string) => new TextEncoder().encode(s);

describe('Sha1', () => {
  it("FIPS 180's examples", () => {
    assert.equal(hex(new Sha1().update(text('abc')).digest()), 'a9993e364706816aba3e25717850c26c9cd0d89d');
    assert.equal(hex(new Sha1().update(text('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq')).digest()), '84983e441c3bd26ebaae4aa1f95129e5e54670f1');
    assert.equal(hex(new Sha1().digest()), 'da39a3ee5e6b4b0d3255bfef95601890afd80709');
  });
  it('equals node:crypto for any data fed in any chunks (every padding case: 55, 56, 63, 64 bytes …)', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 6 }), (chunks) => {
        const ours = new Sha1();
        const ref = createHash('sha1');
        for (const c of chunks) {
          ours.update(c);
          ref.update(c);
        }
        assert.equal(hex(ours.digest()), ref.digest('hex'));
      }),
      { numRuns: 500 },
    );
    for (let n = 50; n <= 130; n++) {
      const data = Uint8Array.from({ length: n }, (_, i) => (i * 7) & 0xff);
      assert.equal(hex(new Sha1().update(data).digest()), createHash('sha1').update(data).digest('hex'), `${n} bytes`);
    }
  });
});
