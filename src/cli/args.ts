/**
 * The command line, as a table. Spelling follows kexec-tools (and MultiROM's
 * fork) so existing scripts work unchanged: `hardboot -l zImage --initrd=…`,
 * `hardboot --load-hardboot zImage --mem-min=0x20000000 --dtb`, `hardboot -e`.
 */
import { UsageError } from '../errors.js';
import type { Arch } from '../plan/abi.js';
import { parseRangeList, type Range } from '../plan/memory.js';

export type Action = 'load' | 'load-hardboot' | 'exec' | 'unload' | 'help' | 'version' | 'inspect' | 'doctor';

export interface Options {
  action?: Action;
  kernel?: string;
  initrd?: string;
  /** undefined: not given; true: `--dtb` with no file; string: a file. */
  dtb?: string | true;
  memMin?: number;
  memMax?: number;
  commandLine?: string;
  append: string[];
  reuseCmdline: boolean;
  boardname?: string;
  vendorBoot?: string;
  liveDtb?: string;
  /** inspect: the files to describe. */
  files: string[];
  /** doctor: a .config to check instead of the running kernel. */
  config?: string;
  /** doctor: a kernel image whose IKCONFIG to check. */
  doctorKernel?: string;
  debug: boolean;
  dryRun: boolean;
  json: boolean;
  saveSegments?: string;
  arch?: Arch;
  memory?: Range[];
  avoid: Range[];
  hardbootPage?: number;
  pageSize?: number;
}

type Kind = 'flag' | 'value' | 'optional';

interface Spec {
  long: string;
  short?: string;
  kind: Kind;
  arg?: string;
  help: string;
  apply: (o: Options, v: string | undefined, name: string) => void;
}

function action(a: Action) {
  return (o: Options, _v: string | undefined, name: string): void => {
    if (o.action && o.action !== a) throw new UsageError(`${name} cannot be combined with --${o.action} (one action per call)`);
    o.action = a;
  };
}

/** Addresses as kexec-tools reads them (strtoull base 0): 0x… hex, 0… octal is not accepted, decimal. */
export function parseAddress(name: string, v: string): number {
  const t = v.trim();
  const n = /^0x[0-9a-f]+$/i.test(t) ? parseInt(t, 16) : /^[0-9]+$/.test(t) ? parseInt(t, 10) : NaN;
  if (!Number.isSafeInteger(n)) throw new UsageError(`${name}: '${v}' is not an address (0x… hex or decimal)`);
  return n;
}

/** Command-line text: the kernel reads /chosen/bootargs as one C string, so a NUL would cut it short. */
function commandLineText(name: string, v: string): string {
  const nul = v.indexOf('\0');
  if (nul >= 0) throw new UsageError(`${name}: the text has a NUL byte at ${nul}; a kernel command line is one C string`);
  return v;
}

function ranges(name: string, v: string): Range[] {
  const r = parseRangeList(v);
  if (typeof r === 'string') throw new UsageError(`${name}: ${r}`);
  return r;
}

export const OPTIONS: readonly Spec[] = [
  { long: 'load', short: 'l', kind: 'flag', help: 'Load KERNEL for a later -e (plain kexec).', apply: action('load') },
  {
    long: 'load-hardboot',
    kind: 'flag',
    help: 'Load KERNEL for a hardboot: -e stores it, resets the machine, and the boot kernel jumps to it. Needs --mem-min.',
    apply: action('load-hardboot'),
  },
  { long: 'exec', short: 'e', kind: 'flag', help: 'Boot the loaded kernel now (syncs filesystems first).', apply: action('exec') },
  { long: 'unload', short: 'u', kind: 'flag', help: 'Unload the loaded kernel.', apply: action('unload') },
  { long: 'initrd', kind: 'value', arg: 'FILE', help: 'The initramfs for the new kernel.', apply: (o, v) => (o.initrd = v) },
  { long: 'ramdisk', kind: 'value', arg: 'FILE', help: 'Same as --initrd.', apply: (o, v) => (o.initrd = v) },
  {
    long: 'dtb',
    kind: 'optional',
    arg: 'FILE',
    help: 'Device tree to boot with. Without FILE: the DTB appended to the zImage, else the running tree. Not given: the running tree (/sys/firmware/fdt).',
    apply: (o, v) => (o.dtb = v ?? true),
  },
  { long: 'command-line', kind: 'value', arg: 'TEXT', help: 'The new kernel command line.', apply: (o, v, n) => (o.commandLine = commandLineText(n, v!)) },
  {
    long: 'append',
    kind: 'value',
    arg: 'TEXT',
    help: 'Append TEXT to the command line (after --command-line or --reuse-cmdline; alone it is the whole line, as in kexec-tools).',
    apply: (o, v, n) => o.append.push(commandLineText(n, v!)),
  },
  { long: 'reuse-cmdline', kind: 'flag', help: 'Start from the running kernel\'s /proc/cmdline.', apply: (o) => (o.reuseCmdline = true) },
  { long: 'mem-min', kind: 'value', arg: 'ADDR', help: 'Lowest physical address a segment may use.', apply: (o, v, n) => (o.memMin = parseAddress(n, v!)) },
  { long: 'mem-max', kind: 'value', arg: 'ADDR', help: 'Highest physical address a segment may use (inclusive).', apply: (o, v, n) => (o.memMax = parseAddress(n, v!)) },
  {
    long: 'boardname',
    kind: 'value',
    arg: 'NAME',
    help: 'The board (hammerhead, shamu, …): how to pick its DTB from a table and what to copy from the running tree.',
    apply: (o, v) => (o.boardname = v),
  },
  { long: 'vendor-boot', kind: 'value', arg: 'FILE', help: 'The vendor_boot image that goes with a version 3/4 boot image.', apply: (o, v) => (o.vendorBoot = v) },
  {
    long: 'live-dtb',
    kind: 'value',
    arg: 'FILE',
    help: 'Stands in for the running tree (board ids, /memory) when planning for another machine.',
    apply: (o, v) => (o.liveDtb = v),
  },
  { long: 'config', kind: 'value', arg: 'FILE', help: 'doctor: check this kernel .config (plain or gzip).', apply: (o, v) => (o.config = v) },
  { long: 'kernel', kind: 'value', arg: 'FILE', help: 'doctor: check the configuration built into this kernel (IKCONFIG).', apply: (o, v) => (o.doctorKernel = v) },
  { long: 'dry-run', kind: 'flag', help: 'Plan only: print the segments and a memory map; never call the kernel.', apply: (o) => (o.dryRun = true) },
  { long: 'json', kind: 'flag', help: 'Print the plan as JSON on stdout.', apply: (o) => (o.json = true) },
  { long: 'save-segments', kind: 'value', arg: 'DIR', help: 'Write each segment\'s exact bytes to DIR/<index>-<kind>.bin.', apply: (o, v) => (o.saveSegments = v) },
  {
    long: 'arch',
    kind: 'value',
    arg: 'arm|arm64',
    help: 'Plan for this architecture instead of the running one (with --dry-run).',
    apply: (o, v, n) => {
      if (v !== 'arm' && v !== 'arm64') throw new UsageError(`${n}: '${v}' is not arm or arm64`);
      o.arch = v;
    },
  },
  {
    long: 'memory',
    kind: 'value',
    arg: 'START-END[,…]',
    help: 'RAM to plan in (hex, inclusive END as /proc/iomem writes it) instead of the running system\'s.',
    apply: (o, v, n) => (o.memory = ranges(n, v!)),
  },
  { long: 'avoid', kind: 'value', arg: 'START-END[,…]', help: 'Memory no segment may touch (repeatable).', apply: (o, v, n) => o.avoid.push(...ranges(n, v!)) },
  {
    long: 'hardboot-page',
    kind: 'value',
    arg: 'ADDR',
    help: 'The hardboot page address (default: what the running kernel reports in /sys/kernel/kexec_hardboot).',
    apply: (o, v, n) => (o.hardbootPage = parseAddress(n, v!)),
  },
  {
    long: 'page-size',
    kind: 'value',
    arg: 'BYTES',
    help: 'Page size of the kernel that will load the plan (default: the running one, else 4096).',
    apply: (o, v, n) => {
      const p = parseAddress(n, v!);
      // The page sizes ARM kernels are built with: 4 KiB (arm, arm64), 16 KiB and 64 KiB (arm64).
      if (p !== 4096 && p !== 16384 && p !== 65536) throw new UsageError(`${n}: ${v} is not a page size (4096, 16384 or 65536)`);
      o.pageSize = p;
    },
  },
  { long: 'debug', short: 'd', kind: 'flag', help: 'Print the plan on stderr before loading.', apply: (o) => (o.debug = true) },
  { long: 'help', short: 'h', kind: 'flag', help: 'Show this help.', apply: action('help') },
  { long: 'version', short: 'v', kind: 'flag', help: 'Print the version.', apply: action('version') },
];

export function parseArgs(argv: readonly string[]): Options {
  const o: Options = { append: [], reuseCmdline: false, debug: false, dryRun: false, json: false, avoid: [], files: [] };
  const positional: string[] = [];
  let start = 0;
  if (argv[0] === 'inspect' || argv[0] === 'doctor') {
    o.action = argv[0];
    start = 1;
  }
  for (let i = start; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    }
    let spec: Spec | undefined;
    let value: string | undefined;
    let name = a;
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      name = eq < 0 ? a : a.slice(0, eq);
      value = eq < 0 ? undefined : a.slice(eq + 1);
      spec = OPTIONS.find((s) => `--${s.long}` === name);
    } else if (a.startsWith('-') && a.length > 1) {
      name = a.slice(0, 2);
      spec = OPTIONS.find((s) => s.short && `-${s.short}` === name);
      if (a.length > 2) value = a.slice(2);
    } else {
      positional.push(a);
      continue;
    }
    if (!spec) throw new UsageError(`unknown option ${name} (see hardboot --help)`);
    if (spec.kind === 'flag' && value !== undefined) throw new UsageError(`${name} takes no value`);
    if (spec.kind === 'value' && value === undefined) {
      value = argv[++i];
      if (value === undefined) throw new UsageError(`${name} needs a value (${spec.arg})`);
    }
    spec.apply(o, value, name);
  }
  if (o.action === 'inspect') {
    if (positional.length === 0) throw new UsageError('inspect needs a FILE');
    o.files = positional;
    return validateSubcommand(o, ['json']);
  }
  if (o.action === 'doctor') {
    if (positional.length > 0) throw new UsageError(`doctor takes no FILE (use --config=FILE or --kernel=FILE); got '${positional[0]}'`);
    if (o.config !== undefined && o.doctorKernel !== undefined) throw new UsageError('doctor checks one thing: give --config or --kernel, not both');
    return validateSubcommand(o, ['json', 'config', 'doctorKernel']);
  }
  if (o.config !== undefined || o.doctorKernel !== undefined) throw new UsageError('--config and --kernel go with: hardboot doctor');
  if (positional.length > 1) throw new UsageError(`one kernel at a time; got ${positional.map((p) => `'${p}'`).join(', ')}`);
  if (positional[0] !== undefined) o.kernel = positional[0];
  return validate(o);
}

/** A subcommand takes only its own options. */
function validateSubcommand(o: Options, allowed: (keyof Options)[]): Options {
  const given = (['dryRun', 'saveSegments', 'initrd', 'dtb', 'memory', 'memMin', 'memMax', 'commandLine', 'boardname', 'vendorBoot', 'liveDtb', 'arch', 'hardbootPage', 'pageSize', 'config', 'doctorKernel', 'json'] as const).filter(
    (k) => o[k] !== undefined && o[k] !== false && !allowed.includes(k),
  );
  if (o.append.length || o.reuseCmdline || o.avoid.length) given.push('commandLine');
  if (given.length > 0) throw new UsageError(`${o.action} does not take ${given.map(flagName).join(', ')}`);
  return o;
}

function flagName(key: string): string {
  if (key === 'doctorKernel') return '--kernel';
  const spec = OPTIONS.find((s) => s.long.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase()) === key);
  return `--${spec?.long ?? key.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())}`;
}

function validate(o: Options): Options {
  const loading = o.action === 'load' || o.action === 'load-hardboot';
  if (o.kernel !== undefined && !o.action) throw new UsageError(`what to do with ${o.kernel}? add -l (load) or --load-hardboot`);
  if (loading && o.kernel === undefined) throw new UsageError(`--${o.action} needs a KERNEL file`);
  if (!loading && o.kernel !== undefined) throw new UsageError(`--${o.action} takes no KERNEL`);
  if (!o.action) throw new UsageError('nothing to do: give -l KERNEL, --load-hardboot KERNEL, -e or -u (see hardboot --help)');
  if (o.action === 'load-hardboot' && o.memMin === undefined) {
    throw new UsageError('--load-hardboot needs --mem-min=ADDR: the lowest address the bootloader leaves untouched across a reset');
  }
  if (o.commandLine !== undefined && o.reuseCmdline) throw new UsageError('--command-line and --reuse-cmdline both set the start of the line; give one');
  if (!loading) {
    const planOnly = (['dryRun', 'json', 'saveSegments', 'initrd', 'dtb', 'memory'] as const).filter((k) => o[k] !== undefined && o[k] !== false);
    if (planOnly.length > 0) throw new UsageError(`--${o.action} does not take ${planOnly.map(flagName).join(', ')}`);
  }
  if (o.arch && !o.dryRun && o.action !== 'help') throw new UsageError('--arch plans for another machine: use it with --dry-run');
  // A real load plans over the running system's RAM, reservations and tree, never over ones
  // named on the command line (--avoid only adds constraints, so it stays allowed).
  for (const [key, flag] of [['memory', '--memory'], ['liveDtb', '--live-dtb']] as const) {
    if (loading && !o.dryRun && o[key] !== undefined) {
      throw new UsageError(`${flag} stands in for the running system when planning for another machine: use it with --dry-run`);
    }
  }
  return o;
}

/**
 * The command line the new kernel gets, or undefined to keep the DTB's. The
 * base is --command-line, else the running line (--reuse-cmdline) followed by
 * the boot image's own line, else the boot image's line; --append adds to it.
 */
export function commandLineFrom(o: Options, running: () => string, bootImage?: string): string | undefined {
  const base = o.commandLine !== undefined ? [o.commandLine] : o.reuseCmdline ? [running(), bootImage] : [bootImage];
  const parts = [...base, ...o.append].filter((s): s is string => s !== undefined && s !== '');
  if (parts.length === 0 && o.commandLine === undefined && !o.reuseCmdline && bootImage === undefined) return undefined;
  return parts.join(' ');
}

export function helpText(): string {
  const rows = OPTIONS.map((s) => {
    const flag = `${s.short ? `-${s.short}, ` : '    '}--${s.long}${s.kind === 'value' ? `=${s.arg}` : s.kind === 'optional' ? `[=${s.arg}]` : ''}`;
    return `  ${flag.padEnd(32)} ${s.help}`;
  });
  return `hardboot: load a Linux kernel and boot it with kexec, or across a real reset (kexec-hardboot).

Usage:
  hardboot -l KERNEL [--initrd=FILE] [--dtb[=FILE]] [--command-line=TEXT | --reuse-cmdline] [--append=TEXT]
  hardboot --load-hardboot KERNEL --mem-min=ADDR [same options]
  hardboot -e | -u
  hardboot inspect FILE… [--json]
  hardboot doctor [--config=FILE | --kernel=FILE] [--json]
  hardboot --dry-run [--json] [--save-segments=DIR] [--arch=arm|arm64 --memory=START-END] -l KERNEL …

KERNEL is an ARM zImage or an arm64 Image, optionally gzip- or LZ4-compressed, or an Android boot image
holding one (with --vendor-boot for header versions 3 and 4). --dtb=FILE takes a DTB, several DTBs back to
back, a Qualcomm dt.img (QCDT) or an Android DT table; from several, the one for the running board is used.

Options:
${rows.join('\n')}

Examples:
  hardboot -l /boot/Image --initrd=/boot/initrd.img --reuse-cmdline && hardboot -e
  hardboot --load-hardboot zImage --initrd=initrd.img --mem-min=0x20000000 --dtb --command-line="$(cat /proc/cmdline)"
  hardboot --dry-run --arch=arm64 --memory=0x40000000-0x7fffffff --dtb=virt.dtb -l Image --append=console=ttyAMA0

Exit codes:
  0 success   1 internal error   2 usage error   3 invalid input file
  4 the plan cannot be satisfied (no room, limits)   5 the system or kernel refused
  6 doctor: the kernel is not ready for kexec-hardboot
`;
}
