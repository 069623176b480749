/**
 * Runs corpus cases, each in a process of its own (so that its peak memory is
 * its own), a few at a time. Used by the corpus test and by `npm run
 * bench:corpus`, which prints the figures.
 */
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixture, repoRoot } from '../support.js';
import { type CorpusCase, filesOf, type Places, type ResolvedCase, resolveCase } from './cases.js';
import { BOMBS } from './files.js';
import type { CaseOutcome } from './run-case.js';

export const CASES_FILE = fixture('bad', 'cases.json');

export function loadCases(): CorpusCase[] {
  return JSON.parse(readFileSync(CASES_FILE, 'utf8')) as CorpusCase[];
}

/** A case gets this long (CPU time is what the corpus bounds; this only stops a hang). */
const HANG_MS = 60_000;

export interface CaseRun {
  /** The case as run: paths in place of its tokens. */
  c: ResolvedCase;
  outcome?: CaseOutcome;
  /** Set when the case's process did not report (crashed, hung, printed something else). */
  failure?: string;
  wallMs: number;
}

/** Fresh places for a run: the committed files, the bombs (made here), copies of the boot roots, a scratch directory per case. */
export function preparePlaces(cases: readonly CorpusCase[]): Places & { root: string } {
  const root = mkdtempSync(join(tmpdir(), 'hardboot-corpus-'));
  const bombs = join(root, 'bombs');
  mkdirSync(bombs);
  const wanted = new Set(cases.flatMap((c) => filesOf(c).bombs));
  for (const name of wanted) {
    const make = BOMBS[name];
    if (!make) throw new Error(`corpus: no bomb named ${name}`);
    writeFileSync(join(bombs, `${name}.bin`), make());
  }
  // Boot roots are copied: the boot manager's commands change the root they are given.
  const roots = join(root, 'roots');
  cpSync(fixture('bad', 'roots'), roots, { recursive: true });
  return { root, bad: fixture('bad'), bombs, fixtures: fixture(), roots, tmp: join(root, 'tmp') };
}

function runOne(c: CorpusCase, places: Places, index: number): Promise<CaseRun> {
  const tmp = join(places.tmp, String(index));
  mkdirSync(tmp, { recursive: true });
  const resolved = resolveCase(c, { ...places, tmp });
  const start = Date.now();
  return new Promise((done) => {
    const child = spawn(process.execPath, [join(repoRoot, 'build', 'test', 'corpus', 'run-case.js'), JSON.stringify(resolved)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), HANG_MS);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const wallMs = Date.now() - start;
      try {
        done({ c: resolved, outcome: JSON.parse(out) as CaseOutcome, wallMs });
      } catch {
        done({ c: resolved, failure: `runner exited ${signal ?? code}: ${err.slice(0, 2000) || out.slice(0, 2000)}`, wallMs });
      }
    });
  });
}

/** Runs every case, `parallel` at a time; results in case order. */
export async function runCases(cases: readonly CorpusCase[], places: Places, parallel = Math.max(1, Math.min(4, availableParallelism()))): Promise<CaseRun[]> {
  const results: CaseRun[] = new Array(cases.length);
  let next = 0;
  const worker = async () => {
    while (next < cases.length) {
      const i = next++;
      results[i] = await runOne(cases[i]!, places, i);
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  return results;
}

/** What is wrong with a case's run, or undefined when it did what cases.json says. */
export function verdict(r: CaseRun): string | undefined {
  if (r.failure) return r.failure;
  const o = r.outcome!;
  const c = r.c;
  if (o.code === 1) return `internal error (exit 1): ${o.err}`;
  if (o.code !== c.code) return `exit ${o.code}, expected ${c.code}: ${o.err}`;
  if (!o.err.includes(c.message)) return `stderr lacks ${JSON.stringify(c.message)}: ${o.err}`;
  if (c.output !== undefined && !o.out.includes(c.output)) return `stdout lacks ${JSON.stringify(c.output)}: ${o.out.slice(0, 1000)}`;
  const calls = o.calls.join(',');
  if (calls !== (c.loads ? 'load' : '')) return `kernel calls: [${calls}], expected [${c.loads ? 'load' : ''}]`;
  if (o.peakRssMiB > CASE_MAX_RSS_MIB) return `peak RSS ${o.peakRssMiB} MiB, above ${CASE_MAX_RSS_MIB}`;
  if (o.cpuMs > CASE_MAX_CPU_MS) return `CPU time ${o.cpuMs} ms, above ${CASE_MAX_CPU_MS}`;
  return undefined;
}

/** The corpus's bounds: no case may take more memory or CPU time than this. */
export const CASE_MAX_RSS_MIB = 256;
export const CASE_MAX_CPU_MS = 5000;
