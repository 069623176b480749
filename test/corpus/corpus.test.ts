/**
 * The bad-input corpus: every case exits with its code and message, never
 * with an internal error (1), never reaches kexec_load, and stays within the
 * corpus's memory and CPU bounds. Each case runs in its own process.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fixture } from '../support.js';
import { filesOf } from './cases.js';
import { type CaseRun, loadCases, preparePlaces, runCases, verdict } from './corpus.js';
import { BOMBS, corpusFiles } from './files.js';

const cases = loadCases();
const dir = fixture('bad');

describe('the committed bad-input corpus', () => {
  const committed = readdirSync(dir).filter((f) => f.endsWith('.bin')).map((f) => f.slice(0, -4)).sort();
  const built = corpusFiles();

  it('holds at least 100 files, each what test/corpus/files.ts builds (npm run corpus:make writes them)', () => {
    assert.ok(committed.length >= 100, `${committed.length} files`);
    assert.deepEqual(committed, Object.keys(built).sort());
    for (const name of committed) assert.ok(Buffer.from(built[name]!).equals(readFileSync(join(dir, `${name}.bin`))), `${name}.bin differs from its builder`);
  });

  it('uses every committed file and every bomb, in cases with unique names', () => {
    const used = new Set(cases.flatMap((c) => filesOf(c).bad));
    assert.deepEqual(committed.filter((n) => !used.has(n)), []);
    const bombs = new Set(cases.flatMap((c) => filesOf(c).bombs));
    assert.deepEqual(Object.keys(BOMBS).filter((n) => !bombs.has(n)), []);
    assert.equal(new Set(cases.map((c) => c.id)).size, cases.length);
  });

  it('guards each of the ten defects the robustness review found', () => {
    for (let d = 1; d <= 10; d++) assert.ok(cases.some((c) => c.defect === d), `no case for defect ${d}`);
  });
});

describe('every corpus case: its exit code and message, no kexec_load, ≤ 256 MiB, ≤ 5 s CPU', () => {
  let runs: CaseRun[] = [];
  let root = '';
  before(async () => {
    const places = preparePlaces(cases);
    root = places.root;
    runs = await runCases(cases, places, 2);
  });
  after(() => rmSync(root, { recursive: true, force: true }));
  cases.forEach((c, i) => {
    it(c.id, () => {
      const problem = verdict(runs[i]!);
      assert.equal(problem, undefined, `${c.id} (${runs[i]!.c.argv.join(' ')}): ${problem}`);
    });
  });
});
