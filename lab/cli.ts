/**
 * `npm run lab -- <scenario|build|list> [--arch arm|arm64] [--timeout-scale N]`
 *
 * Builds what is missing (kernel, guest), boots the scenario on each arch asked for
 * (both by default), prints one PASS/FAIL line per QEMU boot on stdout and timings on
 * stderr. Exit 0 when everything passed; on failure 1 with a one-line reason and the
 * log path; 2 for bad arguments. This is the only place the lab decides an exit code.
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { formatBench, formatResetFigures, parseBench, resetFigures, summarise } from './bench.js';
import { ARCHES, Arch, LabError, formatDuration } from './env.js';
import { buildGuest } from './guest.js';
import { DEFAULT_KERNEL_VERSION, KERNEL_VERSIONS, KernelVersion, buildKernel, isKernelVersion } from './kernel.js';
import { buildRelease } from './release.js';
import { SCENARIOS, VariantResult, describeResult, findScenario, runScenario, timeline } from './scenarios.js';
import { UsageError } from '../src/errors.js';

interface Args {
  command: string;
  /** The scenarios to run, in order (`all`: every one but bench). */
  scenarios: string[];
  arches: Arch[];
  /** The kernel versions to run on, in order (default: 6.1). */
  kernels: KernelVersion[];
  timeoutScale: number;
}

const USAGE = `usage: npm run lab -- <command|scenario…> [--arch arm|arm64] [--kernel ${KERNEL_VERSIONS.join('|')}] [--timeout-scale N]
commands:
  list            the scenarios
  build           build the kernel and guest, boot nothing
  build-release   build release/hardboot-<version>-linux-<arch>.tar.gz (npm run release), boot nothing
  all             every scenario but bench (what CI runs)
${SCENARIOS.map((s) => `  ${s.name.padEnd(15)} ${s.summary}`).join('\n')}
--arch and --kernel may be repeated or comma-separated; default: both arches, Linux ${DEFAULT_KERNEL_VERSION}.`;

export function parseArgs(argv: readonly string[]): Args {
  const words: string[] = [];
  const arches: Arch[] = [];
  const kernels: KernelVersion[] = [];
  let timeoutScale = 1;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = (): string => {
      const eq = a.indexOf('=');
      if (eq >= 0) return a.slice(eq + 1);
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`${a} needs a value`);
      return v;
    };
    if (a === '--arch' || a.startsWith('--arch=')) {
      for (const x of value().split(',')) {
        if (x !== 'arm' && x !== 'arm64') throw new UsageError(`--arch: expected arm or arm64, found '${x}'`);
        if (!arches.includes(x)) arches.push(x);
      }
    } else if (a === '--kernel' || a.startsWith('--kernel=')) {
      for (const x of value().split(',')) {
        if (!isKernelVersion(x)) throw new UsageError(`--kernel: expected ${KERNEL_VERSIONS.join(' or ')}, found '${x}'`);
        if (!kernels.includes(x)) kernels.push(x);
      }
    } else if (a === '--timeout-scale' || a.startsWith('--timeout-scale=')) {
      timeoutScale = Number(value());
      if (!(timeoutScale > 0)) throw new UsageError(`--timeout-scale: expected a positive number`);
    } else if (a === '-h' || a === '--help') {
      words.unshift('help');
    } else if (a.startsWith('-')) {
      throw new UsageError(`unknown option ${a}`);
    } else {
      words.push(a);
    }
  }
  const command = words[0];
  if (command === undefined) throw new UsageError('no command given');
  const arch = arches.length > 0 ? arches : [...ARCHES];
  const kernel = kernels.length > 0 ? kernels : [DEFAULT_KERNEL_VERSION];
  if (['list', 'build', 'build-release', 'help'].includes(command)) {
    if (words.length > 1) throw new UsageError(`unexpected argument '${words[1]}'`);
    return { command, scenarios: [], arches: arch, kernels: kernel, timeoutScale };
  }
  const scenarios = words.flatMap((w) => (w === 'all' ? SCENARIOS.filter((s) => s.name !== 'bench').map((s) => s.name) : [w]));
  for (const name of scenarios) {
    if (!findScenario(name)) throw new UsageError(`unknown scenario '${name}' (${SCENARIOS.map((s) => s.name).join(', ')}, or all)`);
  }
  return { command: 'run', scenarios, arches: arch, kernels: kernel, timeoutScale };
}

/** The run's timeline when it saw a reset (the hardboot scenarios): where the time went. */
function formatTimeline(r: VariantResult): string {
  if (!(r.events ?? []).some((e) => e.event === 'RESET')) return '';
  return `  timeline: ${timeline(r).map((t) => `${t.name}@${formatDuration(t.atMs)}`).join(' → ')}\n`;
}

function note(msg: string): void {
  process.stderr.write(`[lab] ${msg}\n`);
}

async function run(args: Args): Promise<number> {
  if (args.command === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (args.command === 'list') {
    for (const s of SCENARIOS) process.stdout.write(`${s.name}\t${s.summary}\n`);
    return 0;
  }
  if (args.command === 'build-release') {
    for (const arch of args.arches) {
      const r = await buildRelease(arch);
      process.stdout.write(
        `${r.tarball}: ${(r.compressed / 1e6).toFixed(1)} MB, ${(r.unpacked / 1e6).toFixed(1)} MB unpacked; libraries: ${r.libraries.join(' ')}\n`,
      );
    }
    return 0;
  }
  const results: VariantResult[] = [];
  const bench: string[] = [];
  for (const version of args.kernels) {
    for (const arch of args.arches) {
      let t = Date.now();
      const kernel = await buildKernel(arch, { version });
      note(`${arch} Linux ${version} kernel ${kernel.built ? 'built' : 'cached'} in ${formatDuration(Date.now() - t)}: ${kernel.image}`);
      t = Date.now();
      // scripts/lab.mjs sets this when the bundle did not build: better no hardboot in
      // the guest than a stale one.
      const bundleError = process.env['HARDBOOT_LAB_BUNDLE_ERROR'];
      const guest = await buildGuest(arch, kernel, bundleError ? { bundle: null, noBundleReason: bundleError } : {});
      const built = guest.layers.filter((l) => l.built).map((l) => l.name);
      note(
        `${arch} guest ${built.length ? `built (${built.join(', ')})` : 'cached'} in ${formatDuration(Date.now() - t)}: ${guest.initrd}` +
          (guest.hasBundle ? '' : ` (no /usr/bin/hardboot: ${guest.noBundleReason})`),
      );
      for (const name of args.scenarios) {
        const scenario = findScenario(name)!;
        if (scenario.arches && !scenario.arches.includes(arch)) {
          note(`${name}: ${scenario.arches.join(', ')} only; nothing to run on ${arch}`);
          continue;
        }
        for (const r of await runScenario(scenario, arch, kernel, guest, { timeoutScale: args.timeoutScale })) {
          results.push(r);
          if (r.ok) process.stdout.write(`${describeResult(r)}\n${formatTimeline(r)}  log: ${r.log}\n`);
          else process.stderr.write(`${describeResult(r)}\n  log: ${r.log}\n`);
          if (r.ok && scenario.name === 'bench') bench.push(...formatBench(arch, summarise(parseBench(readFileSync(r.log, 'utf8')))));
        }
        if (scenario.name === 'bench') {
          // The reset path against a cold boot: three runs of each, medians.
          const runs = async (n: string) => {
            const out: VariantResult[] = [];
            for (let i = 0; i < 3; i++) out.push(...(await runScenario(findScenario(n)!, arch, kernel, guest, { timeoutScale: args.timeoutScale })));
            const bad = out.find((r) => !r.ok);
            if (bad) throw new LabError(`bench: ${describeResult(bad)}`, bad.log);
            return out;
          };
          bench.push(...formatResetFigures(arch, resetFigures(await runs('hardboot'), await runs('boot'))));
        }
      }
    }
  }
  if (results.length > 1) {
    const failed = results.filter((r) => !r.ok).length;
    process.stdout.write(`${results.length - failed} passed, ${failed} failed\n`);
  }
  if (bench.length > 0) process.stdout.write(`\n${bench.join('\n')}\n`);
  return results.every((r) => r.ok) ? 0 : 1;
}

export async function main(argv: readonly string[]): Promise<number> {
  try {
    return await run(parseArgs(argv));
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`lab: ${e.message}\n${USAGE}\n`);
      return 2;
    }
    if (e instanceof LabError) {
      process.stderr.write(`lab: ${e.message}\n${e.log ? `  log: ${e.log}\n` : ''}`);
      return 1;
    }
    throw e;
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`lab: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
