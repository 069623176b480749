/**
 * A coverage-guided fuzzer for the parsers, built from two maintained pieces:
 * fast-check generates the mutations (seeded, so a run is reproducible, and it
 * shrinks a failing input to its smallest mutation list), and V8's own block
 * coverage (node:inspector, Profiler.takePreciseCoverage) is the guidance: an
 * input that reaches a block, or a block's hit-count bucket, that no earlier
 * input reached joins the corpus and is mutated in later rounds.
 *
 * Why not Jazzer.js (libFuzzer): its current release needs glibc 2.38 (Debian
 * 12 has 2.36) and its older ones download their native part from GitHub at
 * install time, which a machine with only the npm registry cannot do.
 */
import { Session } from 'node:inspector';
import fc from 'fast-check';
import { HardbootError } from '../../src/errors.js';

export interface FuzzTarget {
  name: string;
  /** What it exercises, for the report. */
  about: string;
  /** The inputs fuzzing starts from. */
  seeds: () => Uint8Array[];
  /** Runs the parser(s); a HardbootError is a fine outcome, anything else thrown is a finding. */
  run: (bytes: Uint8Array) => void;
}

export interface FuzzOptions {
  seed: number;
  /** Stop after this much time (ms) or this many executions, whichever comes first. */
  timeMs: number;
  maxRuns?: number;
  /** Executions per round: the corpus grows between rounds. */
  roundSize?: number;
  /** Longest mutant kept (bytes). */
  maxLength?: number;
}

export interface Finding {
  /** The smallest failing input fast-check shrank to. */
  input: Uint8Array;
  error: string;
}

export interface FuzzReport {
  target: string;
  executions: number;
  ms: number;
  seeds: number;
  corpus: number;
  /** Distinct covered (coverage range, hit-count bucket) pairs in src/ at the end. */
  features: number;
  /**
   * Distinct coverage ranges of src/ executed at least once: V8 reports a
   * function's range and, inside it, each block whose count differs from its
   * parent's, so this counts functions and branches taken, not every block.
   */
  ranges: number;
  /** The slowest single execution (ms). */
  slowestMs: number;
  findings: Finding[];
}

// ---------------------------------------------------------------- coverage

interface Range {
  startOffset: number;
  endOffset: number;
  count: number;
}
interface ScriptCoverage {
  url: string;
  functions: { ranges: Range[] }[];
}

/** V8 precise coverage over the inspector session of this very thread (its posts answer synchronously). */
class Coverage {
  private readonly session = new Session();
  constructor(private readonly only: (url: string) => boolean) {
    this.session.connect();
    this.post('Profiler.enable');
    this.post('Profiler.startPreciseCoverage', { callCount: true, detailed: true });
  }

  private post<T>(method: string, params: object = {}): T {
    let result: T | undefined;
    let error: Error | null = null;
    let done = false;
    this.session.post(method, params, (err: Error | null, res?: unknown) => {
      error = err;
      result = res as T;
      done = true;
    });
    if (!done) throw new Error(`inspector: ${method} did not answer synchronously`);
    if (error) throw error;
    return result!;
  }

  /**
   * Ranges seen so far, per function (url:start:end of its first range). V8
   * leaves out a block whose count equals its parent's, so a block that ran
   * shows up only as the absence of its count-0 range: the ranges known from
   * earlier runs are what tell it.
   */
  private readonly known = new Map<string, Map<string, [number, number]>>();

  /** The features hit since the last call (taking coverage resets V8's counters). */
  take(): string[] {
    const { result } = this.post<{ result: ScriptCoverage[] }>('Profiler.takePreciseCoverage');
    const out: string[] = [];
    for (const script of result) {
      if (!this.only(script.url)) continue;
      for (const f of script.functions) {
        const fn = f.ranges[0];
        if (!fn) continue;
        const key = `${script.url}:${fn.startOffset}:${fn.endOffset}`;
        let known = this.known.get(key);
        if (!known) this.known.set(key, (known = new Map()));
        const reported = new Set<string>();
        for (const r of f.ranges) {
          const id = `${r.startOffset}:${r.endOffset}`;
          reported.add(id);
          known.set(id, [r.startOffset, r.endOffset]);
          if (r.count > 0) out.push(`${script.url}:${id}:${bucket(r.count)}`);
        }
        if (fn.count === 0) continue;
        // A known block not reported this time ran as often as the innermost reported range around it.
        for (const [id, [start, end]] of known) {
          if (reported.has(id)) continue;
          let count = 0;
          let width = Infinity;
          for (const r of f.ranges) {
            if (r.startOffset <= start && end <= r.endOffset && r.endOffset - r.startOffset < width) {
              width = r.endOffset - r.startOffset;
              count = r.count;
            }
          }
          if (count > 0) out.push(`${script.url}:${id}:${bucket(count)}`);
        }
      }
    }
    return out;
  }

  stop(): void {
    this.post('Profiler.stopPreciseCoverage');
    this.post('Profiler.disable');
    this.session.disconnect();
  }
}

/** AFL's hit-count buckets: 1, 2, 3, 4–7, 8–15, 16–31, 32–127, 128+. */
function bucket(n: number): number {
  if (n <= 3) return n;
  if (n < 8) return 4;
  if (n < 16) return 8;
  if (n < 32) return 16;
  if (n < 128) return 32;
  return 128;
}

// ---------------------------------------------------------------- mutations

/** Values that sit on the edges parsers check: sizes, counts, magics, offsets. */
const INTERESTING = [0, 1, 2, 3, 4, 7, 8, 16, 0x28, 0x40, 0x7f, 0x80, 0xff, 0x100, 0x1000, 0x7fff, 0x8000, 0xffff, 0x10000, 0x200000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff, 0xd00dfeed, 0x016f2818, 0x644d5241, 0x184c2102, 0xd7b7ab1e];

type Mutation =
  | { op: 'bit'; at: number; bit: number }
  | { op: 'byte'; at: number; value: number }
  | { op: 'word'; at: number; value: number; be: boolean }
  | { op: 'insert'; at: number; bytes: Uint8Array }
  | { op: 'delete'; at: number; length: number }
  | { op: 'copy'; from: number; to: number; length: number }
  | { op: 'splice'; at: number; other: number; from: number; length: number }
  | { op: 'truncate'; at: number };

/** Positions are fractions of the input's length, so one mutation list applies to any input. */
const position = fc.integer({ min: 0, max: 0xffff });

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('bit' as const), at: position, bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ op: fc.constant('byte' as const), at: position, value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ op: fc.constant('word' as const), at: position, value: fc.oneof(fc.constantFrom(...INTERESTING), fc.nat()), be: fc.boolean() }),
  fc.record({ op: fc.constant('insert' as const), at: position, bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
  fc.record({ op: fc.constant('delete' as const), at: position, length: fc.integer({ min: 1, max: 64 }) }),
  fc.record({ op: fc.constant('copy' as const), from: position, to: position, length: fc.integer({ min: 1, max: 64 }) }),
  fc.record({ op: fc.constant('splice' as const), at: position, other: fc.nat(), from: position, length: fc.integer({ min: 1, max: 256 }) }),
  fc.record({ op: fc.constant('truncate' as const), at: position }),
);

function place(p: number, length: number): number {
  return length === 0 ? 0 : Math.floor((p / 0x10000) * length);
}

function apply(input: Uint8Array, ms: readonly Mutation[], corpus: readonly Uint8Array[], maxLength: number): Uint8Array {
  let b: Uint8Array = input.slice();
  for (const m of ms) {
    const at = 'at' in m ? place(m.at, b.length) : 0;
    switch (m.op) {
      case 'bit':
        if (b.length) b[at] = b[at]! ^ (1 << m.bit);
        break;
      case 'byte':
        if (b.length) b[at] = m.value;
        break;
      case 'word':
        if (b.length >= 4) new DataView(b.buffer).setUint32(Math.min(at, b.length - 4) & ~3, m.value >>> 0, !m.be);
        break;
      case 'insert':
        b = concat(b.subarray(0, at), m.bytes, b.subarray(at));
        break;
      case 'delete':
        b = concat(b.subarray(0, at), b.subarray(at + m.length));
        break;
      case 'copy': {
        const from = place(m.from, b.length);
        const to = place(m.to, b.length);
        b.copyWithin(to, from, from + m.length);
        break;
      }
      case 'splice': {
        const other = corpus[m.other % corpus.length]!;
        const from = place(m.from, other.length);
        b = concat(b.subarray(0, at), other.subarray(from, from + m.length), b.subarray(at));
        break;
      }
      case 'truncate':
        b = b.subarray(0, at).slice();
        break;
    }
    if (b.length > maxLength) b = b.subarray(0, maxLength).slice();
  }
  return b;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

// ---------------------------------------------------------------- the loop

/** Runs one target; `only` picks the scripts whose coverage counts (the parsers under src/). */
export function fuzz(target: FuzzTarget, o: FuzzOptions, only: (url: string) => boolean): FuzzReport {
  const maxLength = o.maxLength ?? 1 << 16;
  const roundSize = o.roundSize ?? 200;
  const seen = new Set<string>();
  const ranges = new Set<string>();
  const corpus: Uint8Array[] = [];
  const findings: Finding[] = [];
  const cov = new Coverage(only);
  cov.take();
  let executions = 0;
  let slowestMs = 0;
  const start = Date.now();

  /** One execution: returns the error when it is a finding; adds the input to the corpus when it covered something new. */
  const exec = (bytes: Uint8Array): string | undefined => {
    // Only src/ counts, and nothing of src/ runs between executions: one take per run suffices.
    const t = performance.now();
    let finding: string | undefined;
    try {
      target.run(bytes);
    } catch (e) {
      if (!(e instanceof HardbootError)) finding = (e as Error).stack ?? String(e);
    }
    slowestMs = Math.max(slowestMs, performance.now() - t);
    executions++;
    let fresh = false;
    for (const f of cov.take()) {
      if (seen.has(f)) continue;
      seen.add(f);
      ranges.add(f.slice(0, f.lastIndexOf(':')));
      fresh = true;
    }
    if (fresh && !finding) corpus.push(bytes);
    return finding;
  };

  try {
    const seeds = target.seeds();
    for (const s of seeds) {
      const f = exec(s);
      if (f) findings.push({ input: s, error: f });
    }
    if (corpus.length === 0) corpus.push(...seeds.slice(0, 1), new Uint8Array(0));
    for (let round = 0; Date.now() - start < o.timeMs && executions < (o.maxRuns ?? Infinity) && findings.length === 0; round++) {
      const snapshot = corpus.slice();
      // fast-check leans towards small and boundary values by default; a fuzzer wants positions
      // and byte values drawn evenly (the INTERESTING words supply the boundaries).
      const mutant = fc.noBias(
        fc.tuple(fc.nat({ max: snapshot.length - 1 }), fc.array(mutation, { minLength: 1, maxLength: 4 })).map(([i, ms]) => apply(snapshot[i]!, ms, snapshot, maxLength)),
      );
      const result = fc.check(
        fc.property(mutant, (bytes) => exec(bytes) === undefined),
        { seed: o.seed + round, numRuns: roundSize, endOnFailure: false },
      );
      if (result.failed && result.counterexample) {
        const input = result.counterexample[0];
        findings.push({ input, error: exec(input) ?? 'failed only while shrinking' });
      }
    }
  } finally {
    cov.stop();
  }
  return {
    target: target.name,
    executions,
    ms: Date.now() - start,
    seeds: target.seeds().length,
    corpus: corpus.length,
    features: seen.size,
    ranges: ranges.size,
    slowestMs: Math.round(slowestMs),
    findings,
  };
}
