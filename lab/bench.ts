/**
 * `npm run bench:lab`: the figures of the `bench` scenario. The guest prints one
 * marker per load ("HB-MARKER: bench tool=hardboot run=1 wall=0:03.21 rss_kb=51234",
 * busybox `time -v`); this reads them back from the serial log and summarises each
 * tool: median wall time, peak RSS, hardboot's ratio to kexec-tools (goal ≤ 1.5×),
 * and how far each way of starting hardboot is above the runtime's own start.
 *
 * The tools (lab/guest/scenarios/bench.sh): `node-startup` (`node -e 0`, Debian's
 * Node, the same binary the release bundles), `kexec-tools`, `hardboot` (the npm
 * way: /usr/bin/hardboot, dist/hardboot.mjs on that Node), `release-version` and
 * `release` (the release's launcher and start-up snapshot: `--version`, then the load).
 */
import { LabError } from './env.js';

export interface BenchSample {
  tool: string;
  run: number;
  wallMs: number;
  rssKb: number;
}

/** Elapsed time as `time -v` prints it: busybox "0m 0.35s" / "1h 2m 3.04s", GNU "[h:]m:ss.cc". */
export function parseElapsed(s: string): number {
  const bb = /^(?:(\d+)h )?(\d+)m (\d+(?:\.\d+)?)s$/.exec(s.trim());
  if (bb) return Math.round((Number(bb[1] ?? 0) * 3600 + Number(bb[2]) * 60 + Number(bb[3])) * 1000);
  const parts = s.trim().split(':');
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => !/^\d+(\.\d+)?$/.test(p))) {
    throw new LabError(`bench: cannot read the elapsed time '${s}'`);
  }
  return Math.round(parts.map(Number).reduce((acc, p) => acc * 60 + p, 0) * 1000);
}

/**
 * The RSS unit `time -v` really used. BusyBox's time converts ru_maxrss as if it were
 * pages although Linux gives kilobytes, so its figures can be 4× too large. The guest
 * times `dd bs=64M` (a 64 MiB buffer, touched) and reports it as "bench-calibration";
 * the factor is how many 64 MiB that came to, rounded (1 if right, 4 with the bug).
 */
export function rssFactor(log: string): number {
  const m = /HB-MARKER: bench-calibration rss_kb=(\d+)/.exec(log);
  if (!m) return 1;
  const f = Math.round(Number(m[1]) / 65536);
  return f >= 1 ? f : 1;
}

export function parseBench(log: string): BenchSample[] {
  const factor = rssFactor(log);
  const out: BenchSample[] = [];
  for (const line of log.split('\n')) {
    const m = /HB-MARKER: bench tool=(\S+) run=(\d+) wall=(.+?) rss_kb=(\d+)/.exec(line);
    if (m) out.push({ tool: m[1]!, run: Number(m[2]), wallMs: parseElapsed(m[3]!), rssKb: Math.round(Number(m[4]) / factor) });
  }
  return out;
}

export interface BenchSummary {
  tool: string;
  runs: number;
  medianWallMs: number;
  peakRssKb: number;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function summarise(samples: readonly BenchSample[]): BenchSummary[] {
  const tools = [...new Set(samples.map((s) => s.tool))];
  return tools.map((tool) => {
    const xs = samples.filter((s) => s.tool === tool);
    return { tool, runs: xs.length, medianWallMs: median(xs.map((s) => s.wallMs)), peakRssKb: Math.max(...xs.map((s) => s.rssKb)) };
  });
}

/** Lines for the report; the ratio is hardboot's median over kexec-tools'. */
export function formatBench(arch: string, rows: readonly BenchSummary[]): string[] {
  const lines = rows.map(
    (r) => `${arch.padEnd(5)} ${r.tool.padEnd(12)} median ${(r.medianWallMs / 1000).toFixed(2)}s over ${r.runs} run(s), peak RSS ${(r.peakRssKb / 1024).toFixed(1)} MiB`,
  );
  const k = rows.find((r) => r.tool === 'kexec-tools');
  const h = rows.find((r) => r.tool === 'hardboot');
  if (k && h && k.medianWallMs > 0) {
    const ratio = h.medianWallMs / k.medianWallMs;
    lines.push(`${arch.padEnd(5)} hardboot / kexec-tools wall time: ${ratio.toFixed(2)}x (goal <= 1.5x: ${ratio <= 1.5 ? 'met' : 'NOT met'})`);
  }
  const node = rows.find((r) => r.tool === 'node-startup');
  if (node) {
    for (const [tool, what] of [['hardboot', 'hardboot -l (npm, dist/hardboot.mjs)'], ['release', 'hardboot -l (release, snapshot)']] as const) {
      const t = rows.find((r) => r.tool === tool);
      if (!t) continue;
      const over = (t.medianWallMs - node.medianWallMs) / 1000;
      lines.push(`${arch.padEnd(5)} ${what} above node -e 0: ${over >= 0 ? '+' : ''}${over.toFixed(2)}s (goal <= +0.50s: ${over <= 0.5 ? 'met' : 'NOT met'})`);
    }
  }
  return lines;
}

/** The times a reset benchmark reads from one run (see resetFigures). */
export interface TimedRun {
  markers?: { name: string; atMs: number }[];
  events?: { event: string; atMs: number }[];
  lines?: { name: string; atMs: number }[];
}

/**
 * How long a hardboot takes against a cold boot of the same kernel in the same QEMU:
 * - cold: QEMU's start to the kernel's first console line ("Booting Linux…");
 * - reset: the running kernel's "Starting new kernel" (kexec -e has begun) to the
 *   stored kernel's first console line after the guest reset — the copy, the record,
 *   the reset, QEMU's reload, the boot kernel's check and the jump;
 * - exec: the guest's `hardboot-exec` marker (just before `hardboot -e` starts Node)
 *   to that same line.
 * Throws a LabError naming what a run lacked.
 */
export function resetFigures(hardboots: readonly TimedRun[], colds: readonly TimedRun[]): { coldMs: number; resetMs: number; execMs: number } {
  const first = (r: TimedRun, name: string, after = -1): number => {
    const t = (r.lines ?? []).find((l) => l.name === name && l.atMs > after)?.atMs;
    if (t === undefined) throw new LabError(`bench: a run has no '${name}' console line${after >= 0 ? ` after ${after} ms` : ''}`);
    return t;
  };
  const reset = (r: TimedRun): number => {
    const at = (r.events ?? []).find((e) => e.event === 'RESET')?.atMs;
    if (at === undefined) throw new LabError('bench: a hardboot run saw no guest reset');
    return at;
  };
  const marker = (r: TimedRun, name: string): number => {
    const t = (r.markers ?? []).find((m) => m.name === name)?.atMs;
    if (t === undefined) throw new LabError(`bench: a hardboot run has no '${name}' marker`);
    return t;
  };
  return {
    coldMs: median(colds.map((r) => first(r, 'kernel-start'))),
    resetMs: median(hardboots.map((r) => first(r, 'kernel-start', reset(r)) - first(r, 'kexec-start'))),
    execMs: median(hardboots.map((r) => first(r, 'kernel-start', reset(r)) - marker(r, 'hardboot-exec'))),
  };
}

/** The reset path against a cold boot, as lines for the bench report. */
export function formatResetFigures(arch: string, f: { coldMs: number; resetMs: number; execMs: number }): string[] {
  const s = (ms: number) => `${(ms / 1000).toFixed(2)}s`;
  return [
    `${arch} cold boot        QEMU start → first kernel line: ${s(f.coldMs)} (median of 3)`,
    `${arch} hardboot reset   "Starting new kernel" → stored kernel's first line: ${s(f.resetMs)}; ratio to the cold boot ${(f.resetMs / f.coldMs).toFixed(2)}x (goal <= 1.05x: ${f.resetMs <= 1.05 * f.coldMs ? 'met' : 'NOT met'})`,
    `${arch} hardboot -e      marker before hardboot -e (Node start-up included) → stored kernel's first line: ${s(f.execMs)}`,
  ];
}
