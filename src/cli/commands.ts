/**
 * The commands: typed options in, data out. They read files and the machine
 * only through a Host, and every check happens before the one kernel call, so
 * bad input never loads anything.
 */
import { FormatError, HardbootError, PlanError, SystemError, UsageError, hex, withFile } from '../errors.js';
import type { Fdt } from '../formats/fdt.js';
import type { HardbootSupport } from '../formats/proc.js';
import { configText, kernelIkconfig, parseKernelConfig } from '../formats/ikconfig.js';
import type { KernelImage } from '../formats/kernel.js';
import { type DoctorInputs, type Finding, doctor as runDoctor } from '../doctor/doctor.js';
import type { Arch } from '../plan/abi.js';
import type { MemoryMap } from '../util/memory.js';
import { type KernelInput, type Plan, plan } from '../plan/plan.js';
import type { Host } from '../system/host.js';
import { PATHS, machineName } from '../system/live.js';
import type { Options } from './args.js';
import { commandLineFrom } from '../plan/cmdline.js';
import { memoryMapFor } from '../plan/memory-map.js';
import { chosenBootargs } from '../formats/fdt.js';
import { type Inspection, describeFile } from './inspect.js';
import { resolveInputs } from './inputs.js';

export interface LoadResult {
  plan: Plan;
  kernel: { path: string; format: string; compression: string };
  /** True when kexec_load was called and succeeded. */
  loaded: boolean;
  saved: string[];
  notes: string[];
  /** The hardboot page the plan kept clear, when there was one. */
  hardbootPage?: number;
}

/** Enough for kaslr-seed (8 bytes) and rng-seed (QEMU writes 32; bootloaders up to 64). */
const ENTROPY_BYTES = 128;

export async function load(o: Options, host: Host): Promise<LoadResult> {
  const notes: string[] = [];
  const running = host.arch();
  const arch = o.arch ?? running;
  if (!arch) {
    throw new UsageError(`this machine is ${machineName()}: hardboot loads arm and arm64 kernels; plan for one with --dry-run --arch=arm|arm64`);
  }
  const native = arch === running;

  const inputs = resolveInputs(o, host, native);
  const { kernel, kernelPath, initrd, dtb } = inputs;
  notes.push(...inputs.notes);
  if (kernel.arch !== arch) {
    throw new PlanError(`${kernelPath}: is an ${kernel.arch} kernel (${inputs.kernelFrom}); this plan is for ${arch}`);
  }
  if (o.kernelType !== undefined && o.kernelType !== kernel.kind) {
    throw new UsageError(`--type says ${o.kernelType === 'zimage' ? 'zImage' : 'Image'}, but ${kernelPath} is ${inputs.kernelFrom}`);
  }

  const memory = withFile(dtb.file, () => chooseMemory(o, dtb.fdt, host, native));
  // The running command line is the running machine's: with --live-dtb (or planning for
  // another machine) it is that tree's /chosen/bootargs, never this machine's /proc/cmdline.
  const runningLine = (): string => {
    if (o.liveDtb === undefined && native) return host.cmdline();
    if (o.liveDtb === undefined) throw new UsageError('--reuse-cmdline while planning for another machine needs that machine\'s tree: give --live-dtb=FILE (its /chosen/bootargs)');
    return withFile(o.liveDtb, () => chosenBootargs(inputs.live()));
  };
  const commandLine = commandLineFrom(o, runningLine, inputs.bootCmdline);
  const pageSize = o.pageSize ?? (native ? host.pageSize() : 0x1000);

  let hardbootPage = o.hardbootPage;
  let hardbootFlag: number | undefined;
  if (o.action === 'load-hardboot' && !o.dryRun) {
    const hb = host.hardboot();
    if (hb === undefined) {
      throw new SystemError(
        'this kernel cannot hardboot: /sys/kernel/kexec_hardboot is missing (build it with CONFIG_KEXEC_HARDBOOT=y; run: hardboot doctor)',
      );
    }
    if (hb.ready === false) {
      throw new SystemError(`this kernel cannot hardboot now: ${hb.reason ?? 'no reason given'} (/sys/kernel/kexec_hardboot/status; run: hardboot doctor)`);
    }
    if (hardbootPage !== undefined && hardbootPage !== hb.page) {
      throw new UsageError(`--hardboot-page=${hex(hardbootPage)} differs from the running kernel's page ${hex(hb.page)}`);
    }
    hardbootPage = hb.page;
    // The bit the running kernel says it takes: never assumed (mainline reuses 0x4).
    hardbootFlag = hb.flag;
  } else if (hardbootPage === undefined && native) {
    hardbootPage = host.hardboot()?.page;
  }

  const p = plan({
    kernel: kernelInput(kernel),
    ...(initrd ? { initrd } : {}),
    dtb,
    memory,
    options: {
      ...(commandLine !== undefined ? { commandLine } : {}),
      ...(o.memMin !== undefined ? { memMin: o.memMin } : {}),
      ...(o.memMax !== undefined ? { memMax: o.memMax } : {}),
      hardboot: o.action === 'load-hardboot',
      ...(hardbootPage !== undefined ? { hardbootPage } : {}),
      ...(hardbootFlag !== undefined ? { hardbootFlag } : {}),
      avoid: o.avoid.map((r) => ({ ...r, name: '--avoid' })),
      pageSize,
      entropy: host.entropy(ENTROPY_BYTES),
    },
  });

  const saved: string[] = [];
  if (o.saveSegments !== undefined) {
    const files = p.segments.map((s, i) => ({ name: `${i}-${s.kind}.bin`, bytes: s.bytes }));
    host.writeFiles(o.saveSegments, files);
    saved.push(...files.map((f) => `${o.saveSegments}/${f.name}`));
  }
  if (!o.dryRun) await host.kernel.load(p);
  return {
    plan: p,
    kernel: { path: kernelPath, format: inputs.kernelFrom, compression: kernel.compression },
    loaded: !o.dryRun,
    saved,
    notes,
    ...(hardbootPage !== undefined ? { hardbootPage } : {}),
  };
}

export async function exec(o: Pick<Options, 'noSync'>, host: Host): Promise<never> {
  if (!host.kexecLoaded()) throw new SystemError('no kernel is loaded: run hardboot -l KERNEL (or --load-hardboot) first');
  return host.kernel.exec({ sync: !o.noSync });
}

/** -S/--status: whether a kernel is loaded (kexec-tools' exit codes: 0 loaded, 1 not). */
export function status(host: Host): { loaded: boolean } {
  return { loaded: host.kexecLoaded() };
}

export async function unload(host: Host): Promise<{ unloaded: true }> {
  const arch = host.arch();
  if (!arch) throw new SystemError(`this machine is ${machineName()}: there is no arm or arm64 kexec image to unload`);
  await host.kernel.unload(arch);
  return { unloaded: true };
}

function kernelInput(k: KernelImage): KernelInput {
  if (k.kind === 'zimage') return { arch: 'arm', zimage: k };
  return { arch: 'arm64', image: k, bytes: k.image };
}

/**
 * RAM: --memory, else the running system's /proc/iomem, else the DTB's /memory
 * nodes (memoryMapFor). Reserved: /proc/iomem's on the running system, else the DTB's.
 */
function chooseMemory(o: Options, fdt: Fdt, host: Host, native: boolean): MemoryMap {
  if (native && !o.memory) return host.memory();
  return memoryMapFor(fdt, o.memory);
}

/** One file of `hardboot inspect`: what it is, or why it could not be read. */
export type InspectResult = { ok: true; inspection: Inspection } | { ok: false; name: string; error: HardbootError };

/** `hardboot inspect FILE…`: what each file is and holds; a bad file does not stop the others. */
export function inspect(o: Options, host: Host): InspectResult[] {
  return o.files.map((f): InspectResult => {
    try {
      const bytes = host.readFile(f, 'file');
      return { ok: true, inspection: withFile(f, () => describeFile(bytes, f)) };
    } catch (e) {
      if (e instanceof HardbootError) return { ok: false, name: f, error: e };
      throw e;
    }
  });
}


/**
 * `hardboot doctor`: is this kernel (running, or a .config / kernel image given)
 * ready for kexec-hardboot? Each finding says what, why, and the exact fix.
 */
export function doctor(o: Options, host: Host): { findings: Finding[]; inputs: Omit<DoctorInputs, 'config'> } {
  const text = (path: string): string | undefined => {
    const b = host.sysFile(path);
    return b === undefined ? undefined : new TextDecoder().decode(b);
  };
  let inputs: DoctorInputs;
  if (o.config !== undefined) {
    const path = o.config;
    const bytes = host.readFile(path, 'kernel config');
    inputs = { live: false, config: withFile(path, () => parseKernelConfig(configText(bytes))), configSource: path };
  } else if (o.doctorKernel !== undefined) {
    const path = o.doctorKernel;
    const bytes = host.readFile(path, 'kernel');
    const found = withFile(path, () => kernelIkconfig(bytes));
    inputs = { live: false, configSource: `IKCONFIG of ${path} (${found.path})`, ...(found.config ? { config: parseKernelConfig(found.config.text) } : {}) };
  } else {
    const gz = host.sysFile(PATHS.configGz);
    const arch = host.arch();
    inputs = {
      live: true,
      ...(gz ? { config: withFile(PATHS.configGz, () => parseKernelConfig(configText(gz))), configSource: PATHS.configGz } : {}),
      ...(arch ? { arch } : {}),
      ...liveHardboot(host),
      ...opt('kexecLoaded', text(PATHS.kexecLoaded)),
      firmwareFdt: host.sysFile(PATHS.fdt) !== undefined,
      ...opt('procStatus', text(PATHS.status)),
      ...opt('lockdown', text(PATHS.lockdown)),
      ...opt('kexecLoadDisabled', text(PATHS.loadDisabled)),
    };
  }
  const { config: _config, ...shown } = inputs;
  return { findings: runDoctor(inputs), inputs: shown };
}

/** The running kernel's hardboot facts for the doctor: what it says, or why it could not be read. */
function liveHardboot(host: Host): { hardboot?: HardbootSupport; hardbootError?: string } {
  try {
    const hb = host.hardboot();
    return hb ? { hardboot: hb } : {};
  } catch (e) {
    if (e instanceof FormatError || e instanceof SystemError) return { hardbootError: e.message };
    throw e;
  }
}

function opt<K extends string>(key: K, v: string | undefined): { [k in K]?: string } {
  return (v === undefined ? {} : { [key]: v }) as { [k in K]?: string };
}
