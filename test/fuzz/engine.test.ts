import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FormatError } from '../../src/errors.js';
import { type FuzzTarget, fuzz } from './engine.js';

const here = (url: string) => url.endsWith('/test/fuzz/engine.test.js');

/**
 * A bug behind two nested checks the seed does not pass, each met by about one
 * mutant in a thousand: guided, the fuzzer keeps the input that passes the
 * first and gets to the second in a few thousand runs; blind, it would need
 * about a million.
 */
const planted: FuzzTarget = {
  name: 'planted',
  about: 'throws a TypeError for inputs "FU" + two bytes ≥ 0xf0',
  seeds: () => [new TextEncoder().encode('FUxx')],
  run: (b) => {
    if (b.length < 4) throw new FormatError('planted', 0, '4 bytes', `${b.length}`);
    if (b[0] === 0x46 && b[1] === 0x55) {
      if (b[2]! >= 0xf0) {
        if (b[3]! >= 0xf0) throw new TypeError('planted bug');
      }
    }
  },
};

describe('the fuzz engine', () => {
  it('finds a bug two guided steps from its seed', () => {
    const r = fuzz(planted, { seed: 7, timeMs: 60_000, maxRuns: 200_000 }, here);
    assert.equal(r.findings.length, 1, `${r.executions} executions, corpus ${r.corpus}`);
    const f = r.findings[0]!;
    assert.match(f.error, /TypeError: planted bug/);
    assert.deepEqual([...f.input.subarray(0, 2)], [0x46, 0x55]);
    assert.ok(f.input[2]! >= 0xf0 && f.input[3]! >= 0xf0);
    assert.ok(r.executions < 100_000, `${r.executions} executions`);
    assert.ok(r.corpus >= 2, 'the input that reached the third check joined the corpus');
  });

  it('counts a FormatError as a fine outcome, and repeats itself for the same seed', () => {
    const quiet: FuzzTarget = { ...planted, run: (b) => void planted.run(b.subarray(0, 3)) };
    const a = fuzz(quiet, { seed: 3, timeMs: 60_000, maxRuns: 2000 }, here);
    const b = fuzz(quiet, { seed: 3, timeMs: 60_000, maxRuns: 2000 }, here);
    assert.equal(a.findings.length, 0);
    assert.deepEqual([a.executions, a.corpus, a.features], [b.executions, b.corpus, b.features]);
  });
});
