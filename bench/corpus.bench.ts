/**
 * `npm run bench:corpus`: runs the bad-input corpus and prints its size and,
 * per case, the exit code, peak RSS, CPU and wall time; then the worst of each.
 */
import { rmSync } from 'node:fs';
import { loadCases, preparePlaces, runCases, verdict } from '../test/corpus/corpus.js';
import { filesOf } from '../test/corpus/cases.js';

const cases = loadCases();
const t0 = Date.now();
const places = preparePlaces(cases);
const made = Date.now() - t0;
const runs = await runCases(cases, places, 1);
rmSync(places.root, { recursive: true, force: true });

const files = new Set(cases.flatMap((c) => filesOf(c).bad));
const bombs = new Set(cases.flatMap((c) => filesOf(c).bombs));
console.log(`corpus: ${cases.length} cases over ${files.size} committed files and ${bombs.size} bombs (made in ${made} ms)`);
console.log('case'.padEnd(44), 'exit', 'rss MiB'.padStart(8), 'cpu ms'.padStart(7), 'wall ms'.padStart(8));
let failed = 0;
for (const r of runs) {
  const o = r.outcome;
  const problem = verdict(r);
  if (problem) failed++;
  console.log(r.c.id.padEnd(44), String(o?.code ?? '-').padStart(4), String(o?.peakRssMiB ?? '-').padStart(8), String(o?.cpuMs ?? '-').padStart(7), String(r.wallMs).padStart(8), problem ? ` FAIL ${problem.slice(0, 200)}` : '');
}
const worst = (key: 'peakRssMiB' | 'cpuMs') => runs.reduce((a, b) => ((b.outcome?.[key] ?? 0) > (a.outcome?.[key] ?? 0) ? b : a));
const rss = worst('peakRssMiB');
const cpu = worst('cpuMs');
const wall = runs.reduce((a, b) => (b.wallMs > a.wallMs ? b : a));
console.log(`worst peak RSS: ${rss.outcome?.peakRssMiB} MiB (${rss.c.id}); worst CPU: ${cpu.outcome?.cpuMs} ms (${cpu.c.id}); worst wall: ${wall.wallMs} ms (${wall.c.id})`);
console.log(`exit 1 (internal errors): ${runs.filter((r) => r.outcome?.code === 1).length}; cases failing their expectation: ${failed}`);
process.exitCode = failed > 0 ? 1 : 0;
