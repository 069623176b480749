/**
 * Runs one corpus case in this process and prints what happened as one JSON
 * line on stdout: the exit code, stderr, whether anything reached the kernel,
 * and this process's peak RSS and CPU time. The corpus test starts one process
 * per case so that each case's memory is its own.
 *
 *   node build/test/corpus/run-case.js '<case JSON with paths substituted>'
 */
import { readFileSync } from 'node:fs';
import { fakeHost, run } from '../host.js';
import { fixture } from '../support.js';
import type { ResolvedCase } from './cases.js';

export interface CaseOutcome {
  code: number;
  out: string;
  err: string;
  /** Calls that reached the (recording) kernel: load, unload, exec. */
  calls: string[];
  peakRssMiB: number;
  cpuMs: number;
}

async function main(): Promise<void> {
  const c = JSON.parse(process.argv[2]!) as ResolvedCase;
  const host =
    c.host === 'arm'
      ? fakeHost({ arch: 'arm', iomem: '40000000-7fffffff : System RAM\n', fdt: fixture('dtb', 'qemu-virt-arm.dtb') })
      : fakeHost({ arch: 'arm64', iomem: readFileSync(fixture('proc', 'iomem-arm64-virt.txt'), 'utf8'), fdt: fixture('dtb', 'qemu-virt-arm64.dtb'), ...(c.hardbootPage ? { hardbootPage: c.hardbootPage } : {}) });
  const r = await run(c.argv, host);
  const usage = process.resourceUsage();
  const outcome: CaseOutcome = {
    code: r.code,
    out: r.out.slice(0, 4000),
    err: r.err.slice(0, 4000),
    calls: host.calls.map((x) => x.call),
    peakRssMiB: Math.round((usage.maxRSS / 1024) * 10) / 10,
    cpuMs: Math.round((usage.userCPUTime + usage.systemCPUTime) / 1000),
  };
  process.stdout.write(`${JSON.stringify(outcome)}\n`);
}

await main();
