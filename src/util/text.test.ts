import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { FormatError } from '../errors.js';
import { decodeText, textLines, utf8Length } from './text.js';

const bytes = (...b: number[]) => Uint8Array.from(b);
const fails = (fn: () => unknown, offset: number, expected: RegExp) =>
  assert.throws(fn, (e: unknown) => e instanceof FormatError && e.offset === offset && expected.test(e.message));

describe('decodeText', () => {
  it("accepts exactly what a fatal UTF-8 decoder accepts, less NUL (any bytes)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
        let ref: string | undefined;
        try {
          ref = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(b);
        } catch {
          ref = undefined;
        }
        if (ref?.includes('\0')) ref = undefined;
        let ours: string | undefined;
        try {
          ours = decodeText(b, 'T');
        } catch (e) {
          assert.ok(e instanceof FormatError);
          ours = undefined;
        }
        assert.equal(ours, ref);
      }),
      { numRuns: 3000 },
    );
  });
  it('names the offending byte: NUL, overlong, surrogate, above U+10FFFF, cut short; and the size cap first', () => {
    fails(() => decodeText(bytes(0x61, 0x00), 'T'), 1, /NUL/);
    fails(() => decodeText(bytes(0x61, 0xc0, 0x80), 'T'), 1, /UTF-8 text, found byte 0xc0/);
    fails(() => decodeText(bytes(0xed, 0xa0, 0x80), 'T'), 0, /UTF-8/);
    fails(() => decodeText(bytes(0xf4, 0x90, 0x80, 0x80), 'T'), 0, /UTF-8/);
    fails(() => decodeText(bytes(0x61, 0x62, 0xe2, 0x82), 'T'), 2, /UTF-8/);
    fails(() => decodeText(new Uint8Array(11).fill(0xff), 'T', 10), 0, /at most 10 bytes, found 11 bytes/);
  });
});

describe('textLines', () => {
  it('gives each line its UTF-8 byte offset and number, drops a BOM and CRs before LF', () => {
    const text = '\ufefftitle Ünïcode\r\n# c\nlast';
    const fromString = textLines(text, 'T');
    const fromBytes = textLines(new TextEncoder().encode(text), 'T');
    assert.deepEqual(fromString, fromBytes);
    assert.deepEqual(fromString, [
      { text: 'title Ünïcode', offset: 3, number: 1 },
      { text: '# c', offset: 3 + utf8Length('title Ünïcode\r\n'), number: 2 },
      { text: 'last', offset: 3 + utf8Length('title Ünïcode\r\n# c\n'), number: 3 },
    ]);
  });
  it('bounds the lines and the size of a string as of bytes', () => {
    fails(() => textLines('a\n'.repeat(5), 'T', 1000, 4), 8, /at most 4 lines/);
    fails(() => textLines('é'.repeat(6), 'T', 10), 0, /at most 10 bytes, found 12 bytes or more/);
    fails(() => textLines('ab\0', 'T'), 2, /NUL/);
  });
  it('utf8Length agrees with TextEncoder for any string', () => {
    fc.assert(fc.property(fc.string({ unit: 'grapheme' }), (s) => assert.equal(utf8Length(s), new TextEncoder().encode(s).length)));
  });
});
