/**
 * `npm run fuzz -- [--time SECONDS] [--runs N] [--seed N] [TARGET…]`
 *
 * Fuzzes each target (all by default) for the given time (per target) or
 * number of executions, from a fixed seed, and prints executions, speed,
 * corpus growth and coverage. A finding (anything thrown that is not one of
 * hardboot's own errors) is written to fuzz-findings/TARGET-N.bin with its
 * stack, and the exit code is 1.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../support.js';
import { fuzz } from './engine.js';
import { TARGETS } from './targets.js';

function args(argv: string[]): { timeMs: number; runs?: number; seed: number; targets: string[] } {
  const o = { timeMs: 60_000, seed: 1, targets: [] as string[] } as { timeMs: number; runs?: number; seed: number; targets: string[] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined || !/^\d+(\.\d+)?$/.test(v)) throw new Error(`${a} needs a number`);
      return Number(v);
    };
    if (a === '--time') o.timeMs = value() * 1000;
    else if (a === '--runs') o.runs = value();
    else if (a === '--seed') o.seed = value();
    else if (a.startsWith('-')) throw new Error(`unknown option ${a}`);
    else o.targets.push(a);
  }
  for (const t of o.targets) if (!TARGETS.some((x) => x.name === t)) throw new Error(`unknown target ${t} (${TARGETS.map((x) => x.name).join(', ')})`);
  return o;
}

let o: ReturnType<typeof args>;
try {
  o = args(process.argv.slice(2));
} catch (e) {
  console.error(`fuzz: ${(e as Error).message}`);
  process.exit(2);
}
const src = `file://${join(repoRoot, 'build', 'src')}/`;
const chosen = TARGETS.filter((t) => o.targets.length === 0 || o.targets.includes(t.name));
console.log(`fuzz: ${chosen.length} targets, seed ${o.seed}, ${o.runs !== undefined ? `${o.runs} runs or ` : ''}${o.timeMs / 1000} s each (guided by V8 block coverage of build/src)`);
console.log('target'.padEnd(10), 'execs'.padStart(8), 'exec/s'.padStart(7), 'corpus'.padStart(12), 'ranges'.padStart(7), 'features'.padStart(9), 'slowest'.padStart(8), ' findings');
let findings = 0;
let total = 0;
for (const t of chosen) {
  const r = fuzz(t, { seed: o.seed, timeMs: o.timeMs, ...(o.runs !== undefined ? { maxRuns: o.runs } : {}) }, (url) => url.startsWith(src));
  total += r.executions;
  console.log(
    r.target.padEnd(10),
    String(r.executions).padStart(8),
    String(Math.round(r.executions / (r.ms / 1000))).padStart(7),
    `${r.seeds} → ${r.corpus}`.padStart(12),
    String(r.ranges).padStart(7),
    String(r.features).padStart(9),
    `${r.slowestMs} ms`.padStart(8),
    ` ${r.findings.length}`,
  );
  r.findings.forEach((f, i) => {
    const dir = join(repoRoot, 'fuzz-findings');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `${t.name}-${i}.bin`);
    writeFileSync(file, f.input);
    writeFileSync(`${file}.txt`, `${f.error}\n`);
    console.log(`  finding: ${file} (${f.input.length} bytes): ${f.error.split('\n')[0]}`);
  });
  findings += r.findings.length;
}
console.log(`fuzz: ${total} executions, ${findings} findings`);
process.exitCode = findings > 0 ? 1 : 0;
