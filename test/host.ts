/**
 * A Host built from fixtures: the live readers' twins fed with files, and a
 * kernel that records what it was asked to do instead of doing it. Tests use
 * `calls` to prove that bad input never reaches kexec_load.
 */
import { readFileSync } from 'node:fs';
import { parseFdt } from '../src/formats/fdt.js';
import { type HardbootSupport, memoryFromIomem, parseProcCmdline } from '../src/formats/proc.js';
import type { Arch } from '../src/plan/abi.js';
import type { Plan } from '../src/plan/plan.js';
import { type Host, listDir, readInputFile, writeSegmentFiles } from '../src/system/host.js';
import { main } from '../src/cli/main.js';
import { bootFiles } from '../src/system/bootfs.js';
import type { Terminal } from '../src/system/terminal.js';

export interface FakeHostOptions {
  arch?: Arch;
  iomem?: string;
  fdt?: string;
  cmdline?: string;
  pageSize?: number;
  /** Shorthand for a kernel of the first series: its single sysfs file with this page (flag 0x4). */
  hardbootPage?: number;
  /** What the kernel says about hardboot (wins over hardbootPage). */
  hardboot?: HardbootSupport;
  loaded?: boolean;
  /** Contents of /proc and /sys files by path; absent paths do not exist. */
  sys?: Record<string, Uint8Array | string>;
  /** The menu's console (default: one that never sends a key and whose clock never ticks). */
  terminal?: Terminal;
}

export interface FakeHost extends Host {
  calls: { call: 'load' | 'unload' | 'exec'; plan?: Plan; arch?: Arch; sync?: boolean }[];
}

export function fakeHost(o: FakeHostOptions = {}): FakeHost {
  const calls: FakeHost['calls'] = [];
  return {
    calls,
    arch: () => o.arch,
    memory: () => memoryFromIomem(o.iomem ?? '40000000-7fffffff : System RAM\n'),
    cmdline: () => parseProcCmdline(o.cmdline ?? 'console=ttyAMA0 root=/dev/vda\n'),
    fdt: () => {
      if (!o.fdt) throw new Error('fake host: no running tree');
      return parseFdt(new Uint8Array(readFileSync(o.fdt)));
    },
    pageSize: () => o.pageSize ?? 4096,
    hardboot: () => o.hardboot ?? (o.hardbootPage !== undefined ? { interface: 'file', page: o.hardbootPage, flag: 0x4 } : undefined),
    kexecLoaded: () => o.loaded ?? false,
    entropy: (n) => Uint8Array.from({ length: n }, (_, i) => (i * 7 + 1) & 0xff),
    readFile: readInputFile,
    listDir,
    sysFile: (path) => {
      const v = o.sys?.[path];
      return typeof v === 'string' ? new TextEncoder().encode(v) : v;
    },
    writeFiles: writeSegmentFiles,
    bootFiles: bootFiles(),
    terminal: () => o.terminal ?? { tty: false, colours: false, write: () => undefined, keys: () => () => undefined, every: () => () => undefined },
    kernel: {
      load: async (plan) => {
        calls.push({ call: 'load', plan });
      },
      unload: async (arch) => {
        calls.push({ call: 'unload', arch });
      },
      exec: async (x) => {
        calls.push({ call: 'exec', ...(x.sync ? {} : { sync: false }) });
        throw new Error('fake host: exec does not return in real life');
      },
    },
  };
}

/** Runs the CLI in-process against a host; returns what a shell would see. */
export async function run(argv: string[], host: Host): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, host, { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}
