/**
 * The command line, as a table. Spelling follows kexec-tools (and MultiROM's
 * fork) so existing scripts work unchanged: `hardboot -l zImage --initrd=…`,
 * `hardboot --load-hardboot zImage --mem-min=0x20000000 --dtb`, `hardboot -e`.
 */
import { UsageError } from '../errors.js';
import type { Arch } from '../plan/abi.js';
import { parseRangeList, type Range } from '../util/memory.js';
import { parseCNumber } from '../util/number.js';

export type Action =
  | 'load'
  | 'load-hardboot'
  | 'exec'
  | 'unload'
  | 'status'
  | 'help'
  | 'version'
  | 'inspect'
  | 'doctor'
  | BootManagerAction;

/** The boot manager's commands: `hardboot entries|boot|menu|set-default|set-oneshot|bless`. */
export type BootManagerAction = 'entries' | 'boot' | 'menu' | 'set-default' | 'set-oneshot' | 'bless';
export const BOOT_MANAGER_ACTIONS: readonly BootManagerAction[] = ['entries', 'boot', 'menu', 'set-default', 'set-oneshot', 'bless'];
/** Sub-commands: the first word names the action. */
const SUBCOMMANDS: readonly Action[] = ['inspect', 'doctor', ...BOOT_MANAGER_ACTIONS];

/** What parseArgs returns: the options, with the one action always set. */
export type ParsedOptions = Options & { action: Action };

export interface Options {
  action?: Action;
  kernel?: string;
  initrd?: string;
  /** Several initrds, loaded as one (the boot manager's BLS entries; not a command-line option). */
  initrds?: string[];
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
  /** The boot manager: the boot root (default /boot). */
  root?: string;
  /** boot, set-default, set-oneshot: the entry (a number, an id, SOURCE:ID or a file name). */
  entry?: string;
  /** menu: seconds before the default boots (overrides loader.conf/extlinux.conf). */
  timeout?: number;
  /** -t/--type: the kernel type the user expects ('zimage', 'arm64-image'). */
  kernelType?: 'zimage' | 'arm64-image';
  debug: boolean;
  /** -f/--force: load, then execute at once (kexec-tools: no shutdown first). */
  force: boolean;
  /** -y/--no-sync: -e does not sync filesystems first. */
  noSync: boolean;
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
  /** The actions this option goes with; absent: any (the actions themselves, and what is accepted or refused for kexec-tools). */
  uses?: readonly Action[];
  apply: (o: Options, v: string | undefined, name: string) => void;
}

/** The options of a load: they shape the plan. */
const LOADING: readonly Action[] = ['load', 'load-hardboot'];

function action(a: Action) {
  return (o: Options, _v: string | undefined, name: string): void => {
    if (o.action && o.action !== a) throw new UsageError(`${name} cannot be combined with --${o.action} (one action per call)`);
    o.action = a;
  };
}

/**
 * Numbers as kexec-tools reads them, strtoull(…, 0) with nothing left over:
 * 0x… hexadecimal, 0… octal, anything else decimal. A number is never read
 * differently from kexec-tools: --mem-min=010000000000 is 0x40000000 in both.
 */
export function parseAddress(name: string, v: string): number {
  const n = parseCNumber(v);
  if (n === undefined) throw new UsageError(`${name}: '${v}' is not a number (0x… hexadecimal, 0… octal or decimal, as kexec-tools reads it)`);
  return n;
}

/** A kexec-tools option hardboot refuses: what it does there, and why not here. */
function refused(what: string, why: string) {
  return (_o: Options, _v: string | undefined, name: string): never => {
    throw new UsageError(`${name}: in kexec-tools this ${what}; hardboot does not, because ${why}`);
  };
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
  {
    long: 'force',
    short: 'f',
    kind: 'flag',
    help: 'With -l: load, then boot it at once (as kexec-tools -f; filesystems are still synced unless -y).',
    apply: (o) => (o.force = true),
  },
  { long: 'status', short: 'S', kind: 'flag', help: 'Exit 0 if a kernel is loaded, 1 if not (kexec-tools\' codes).', apply: action('status') },
  { long: 'no-sync', short: 'y', kind: 'flag', help: 'With -e, -f, boot or menu: do not sync filesystems first.', apply: (o) => (o.noSync = true) },
  { long: 'no-ifdown', short: 'x', kind: 'flag', help: 'Accepted for kexec-tools: hardboot never takes network interfaces down.', apply: () => undefined },
  { long: 'no-checks', short: 'i', kind: 'flag', help: 'Accepted for kexec-tools (no purgatory checksums): hardboot has no purgatory to skip.', apply: () => undefined },
  { long: 'kexec-syscall', short: 'c', kind: 'flag', help: 'Accepted for kexec-tools: hardboot always uses kexec_load(2).', apply: () => undefined },
  { long: 'kexec-syscall-auto', short: 'a', kind: 'flag', help: 'Accepted for kexec-tools: hardboot always uses kexec_load(2).', apply: () => undefined },
  {
    long: 'type',
    short: 't',
    kind: 'value',
    arg: 'TYPE',
    help: 'Accepted for kexec-tools: zImage or Image; hardboot reads the type from the file and refuses a mismatch.',
    apply: (o, v, n) => {
      const t = v!.toLowerCase();
      if (t !== 'zimage' && t !== 'image') throw new UsageError(`${n}: '${v}' is not a type hardboot loads (zImage, Image)`);
      o.kernelType = t === 'zimage' ? 'zimage' : 'arm64-image';
    },
  },
  {
    long: 'load-panic',
    short: 'p',
    kind: 'flag',
    help: 'Refused: crash kernels are kexec-tools\' job (kexec -p).',
    apply: refused('loads a crash kernel (kdump)', 'it boots kernels, it does not capture crashes: use kexec-tools for kdump'),
  },
  {
    long: 'kexec-file-syscall',
    short: 's',
    kind: 'flag',
    help: 'Refused: kexec_file_load(2) cannot carry the hardboot flag or a board DTB.',
    apply: refused('loads through kexec_file_load(2)', 'that call takes no hardboot flag and plans the layout itself; hardboot uses kexec_load(2)'),
  },
  { long: 'atags', kind: 'flag', help: 'Refused: hardboot boots device-tree kernels only.', apply: refused('boots an ARM kernel with ATAGs', 'it boots device-tree kernels only') },
  {
    long: 'image-size',
    kind: 'value',
    arg: 'SIZE',
    help: 'Refused: the unpacked size comes from the zImage itself.',
    apply: refused('sets the unpacked kernel size', "it reads the size from the zImage's KRNL_SIZE tag and keeps that room clear"),
  },
  {
    long: 'reuseinitrd',
    kind: 'flag',
    help: 'Refused: give the initrd with --initrd.',
    apply: refused('reuses the initrd the running kernel kept (retain_initrd)', 'it loads the initrd it is given: pass --initrd=FILE'),
  },
  { long: 'entry', kind: 'value', arg: 'ADDR', help: 'Refused: the entry point is planned.', apply: refused('sets the entry point', 'it plans the entry (the kernel, or the arm64 trampoline) with the layout') },
  {
    long: 'rd-addr',
    kind: 'value',
    arg: 'ADDR',
    help: 'Refused (MultiROM\'s fork): the initrd is placed by the planner.',
    apply: refused('(MultiROM\'s fork) puts the initrd at ADDR', 'it places every segment itself: bound them with --mem-min/--mem-max'),
  },
  {
    long: 'atags-addr',
    kind: 'value',
    arg: 'ADDR',
    help: 'Refused (MultiROM\'s fork): no ATAGs, the DTB is placed by the planner.',
    apply: refused("(MultiROM's fork) puts the ATAGs or DTB at ADDR", 'it boots device-tree kernels and places the DTB itself: bound it with --mem-min/--mem-max'),
  },
  { long: 'initrd', uses: LOADING, kind: 'value', arg: 'FILE', help: 'The initramfs for the new kernel.', apply: (o, v) => (o.initrd = v) },
  { long: 'ramdisk', uses: LOADING, kind: 'value', arg: 'FILE', help: 'Same as --initrd.', apply: (o, v) => (o.initrd = v) },
  {
    long: 'dtb',
    uses: LOADING,
    kind: 'optional',
    arg: 'FILE',
    help: 'Device tree to boot with. Without FILE: the DTB appended to the zImage, else the running tree. Not given: the running tree (/sys/firmware/fdt).',
    apply: (o, v, n) => {
      if (v === '') throw new UsageError(`${n}= names an empty path: give --dtb=FILE, or --dtb alone for the DTB appended to the kernel`);
      o.dtb = v ?? true;
    },
  },
  { long: 'command-line', uses: LOADING, kind: 'value', arg: 'TEXT', help: 'The new kernel command line.', apply: (o, v, n) => (o.commandLine = commandLineText(n, v!)) },
  {
    long: 'append',
    uses: LOADING,
    kind: 'value',
    arg: 'TEXT',
    help: 'Append TEXT to the command line (after --command-line or --reuse-cmdline; alone it is the whole line, as in kexec-tools).',
    apply: (o, v, n) => o.append.push(commandLineText(n, v!)),
  },
  { long: 'reuse-cmdline', uses: LOADING, kind: 'flag', help: 'Start from the running kernel\'s /proc/cmdline.', apply: (o) => (o.reuseCmdline = true) },
  { long: 'mem-min', uses: LOADING, kind: 'value', arg: 'ADDR', help: 'Lowest physical address a segment may use.', apply: (o, v, n) => (o.memMin = parseAddress(n, v!)) },
  { long: 'mem-max', uses: LOADING, kind: 'value', arg: 'ADDR', help: 'Highest physical address a segment may use (inclusive).', apply: (o, v, n) => (o.memMax = parseAddress(n, v!)) },
  {
    long: 'boardname',
    uses: LOADING,
    kind: 'value',
    arg: 'NAME',
    help: 'The board (hammerhead, shamu, …): how to pick its DTB from a table and what to copy from the running tree.',
    apply: (o, v) => (o.boardname = v),
  },
  { long: 'vendor-boot', uses: LOADING, kind: 'value', arg: 'FILE', help: 'The vendor_boot image that goes with a version 3/4 boot image.', apply: (o, v) => (o.vendorBoot = v) },
  {
    long: 'live-dtb',
    uses: LOADING,
    kind: 'value',
    arg: 'FILE',
    help: 'Stands in for the running tree (board ids, /memory) when planning for another machine.',
    apply: (o, v) => (o.liveDtb = v),
  },
  { long: 'config', uses: ['doctor'], kind: 'value', arg: 'FILE', help: 'doctor: check this kernel .config (plain or gzip).', apply: (o, v) => (o.config = v) },
  { long: 'kernel', uses: ['doctor'], kind: 'value', arg: 'FILE', help: 'doctor: check the configuration built into this kernel (IKCONFIG).', apply: (o, v) => (o.doctorKernel = v) },
  { long: 'dry-run', uses: [...LOADING, 'boot', 'menu'], kind: 'flag', help: 'Plan only: print the segments and a memory map; never call the kernel (boot, menu: nor change the boot root).', apply: (o) => (o.dryRun = true) },
  { long: 'json', uses: [...LOADING, 'inspect', 'doctor', 'entries', 'boot'], kind: 'flag', help: 'Print the result (plan, inspection, findings, entries) as JSON on stdout.', apply: (o) => (o.json = true) },
  {
    long: 'root',
    uses: BOOT_MANAGER_ACTIONS,
    kind: 'value',
    arg: 'DIR',
    help: 'The boot manager\'s boot root: loader/entries, loader/loader.conf, extlinux/extlinux.conf and hardboot/ (default /boot).',
    apply: (o, v, n) => {
      if (v === '') throw new UsageError(`${n} names an empty path`);
      o.root = v;
    },
  },
  {
    long: 'timeout',
    uses: ['menu'],
    kind: 'value',
    arg: 'SECONDS',
    help: 'menu: seconds to count down before the default boots (0: at once); overrides loader.conf and extlinux.conf.',
    apply: (o, v, n) => {
      if (!/^\d{1,6}$/.test(v!.trim())) throw new UsageError(`${n}: '${v}' is not a number of seconds (0 to 999999)`);
      o.timeout = Number(v!.trim());
    },
  },
  { long: 'save-segments', uses: LOADING, kind: 'value', arg: 'DIR', help: 'Write each segment\'s exact bytes to DIR/<index>-<kind>.bin.', apply: (o, v) => (o.saveSegments = v) },
  {
    long: 'arch',
    uses: LOADING,
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
    uses: LOADING,
    kind: 'value',
    arg: 'START-END[,…]',
    help: 'RAM to plan in (hex, inclusive END as /proc/iomem writes it) instead of the running system\'s.',
    apply: (o, v, n) => (o.memory = ranges(n, v!)),
  },
  { long: 'avoid', uses: LOADING, kind: 'value', arg: 'START-END[,…]', help: 'Memory no segment may touch (repeatable).', apply: (o, v, n) => o.avoid.push(...ranges(n, v!)) },
  {
    long: 'hardboot-page',
    uses: LOADING,
    kind: 'value',
    arg: 'ADDR',
    help: 'The hardboot page address (default: what the running kernel reports in /sys/kernel/kexec_hardboot).',
    apply: (o, v, n) => (o.hardbootPage = parseAddress(n, v!)),
  },
  {
    long: 'page-size',
    uses: LOADING,
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

/**
 * The long option `name` (without "--") names, as getopt_long(3) resolves it:
 * an exact match, else the one option it is a prefix of; a prefix of several
 * is ambiguous.
 */
function longOption(name: string, given: string): Spec {
  const exact = OPTIONS.find((s) => s.long === name);
  if (exact) return exact;
  const matches = OPTIONS.filter((s) => s.long.startsWith(name));
  if (matches.length === 1) return matches[0]!;
  if (matches.length > 1) {
    throw new UsageError(`option '${given}' is ambiguous; possibilities: ${matches.map((m) => `'--${m.long}'`).join(' ')}`);
  }
  throw new UsageError(`unknown option ${given} (see hardboot --help)`);
}

/**
 * The command line, with getopt_long(3)'s rules as kexec-tools uses them:
 * long options by any unambiguous prefix (--reuse, --command=…), their values
 * after "=" or as the next word (optional values only after "="); short
 * options bundled (-dl) and their values attached or next (-tzImage, -t zImage);
 * "--" ends the options; options and operands in any order.
 */
export function parseArgs(argv: readonly string[]): ParsedOptions {
  const o: Options = { append: [], reuseCmdline: false, debug: false, force: false, noSync: false, dryRun: false, json: false, avoid: [], files: [] };
  const positional: string[] = [];
  const used: Spec[] = [];
  let start = 0;
  if (argv[0] !== undefined && (SUBCOMMANDS as readonly string[]).includes(argv[0])) {
    o.action = argv[0] as Action;
    start = 1;
  }
  for (let i = start; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const given = eq < 0 ? a : a.slice(0, eq);
      let value = eq < 0 ? undefined : a.slice(eq + 1);
      const spec = longOption(given.slice(2), given);
      const name = `--${spec.long}`;
      if (spec.kind === 'flag' && value !== undefined) throw new UsageError(`${name} takes no value`);
      if (spec.kind === 'value' && value === undefined) {
        value = argv[++i];
        if (value === undefined) throw new UsageError(`${name} needs a value (${spec.arg})`);
      }
      spec.apply(o, value, name);
      used.push(spec);
    } else if (a.startsWith('-') && a.length > 1) {
      // A bundle of short options; one that takes a value takes the rest of the word, or the next word.
      for (let k = 1; k < a.length; k++) {
        const name = `-${a[k]}`;
        const spec = OPTIONS.find((s) => s.short === a[k]);
        if (!spec) throw new UsageError(`unknown option ${name} (see hardboot --help)`);
        used.push(spec);
        if (spec.kind === 'flag') {
          spec.apply(o, undefined, name);
          continue;
        }
        let value: string | undefined = a.slice(k + 1);
        if (value === '') value = spec.kind === 'value' ? argv[++i] : undefined;
        if (spec.kind === 'value' && value === undefined) throw new UsageError(`${name} needs a value (${spec.arg})`);
        spec.apply(o, value, name);
        break;
      }
    } else {
      positional.push(a);
    }
  }
  if (o.action === 'inspect') {
    if (positional.length === 0) throw new UsageError('inspect needs a FILE');
    o.files = positional;
    checkUses('inspect', used);
    return { ...o, action: 'inspect' };
  }
  if (o.action === 'doctor') {
    if (positional.length > 0) throw new UsageError(`doctor takes no FILE (use --config=FILE or --kernel=FILE); got '${positional[0]}'`);
    if (o.config !== undefined && o.doctorKernel !== undefined) throw new UsageError('doctor checks one thing: give --config or --kernel, not both');
    checkUses('doctor', used);
    return { ...o, action: 'doctor' };
  }
  if (o.action === 'entries' || o.action === 'menu' || o.action === 'bless') {
    if (positional.length > 0) throw new UsageError(`${o.action} takes no operand (use --root=DIR); got '${positional[0]}'`);
    checkUses(o.action, used);
    return { ...o, action: o.action };
  }
  if (o.action === 'boot' || o.action === 'set-default' || o.action === 'set-oneshot') {
    if (positional.length > 1) throw new UsageError(`${o.action} takes one ENTRY; got ${positional.map((p) => `'${p}'`).join(', ')}`);
    if (positional.length === 0 && o.action !== 'boot') throw new UsageError(`${o.action} needs an ENTRY (a number or an id, as hardboot entries lists them)`);
    if (positional[0] !== undefined) o.entry = positional[0];
    checkUses(o.action, used);
    return { ...o, action: o.action };
  }
  if (o.config !== undefined || o.doctorKernel !== undefined) throw new UsageError('--config and --kernel go with: hardboot doctor');
  if (positional.length > 1) throw new UsageError(`one kernel at a time; got ${positional.map((p) => `'${p}'`).join(', ')}`);
  if (positional[0] !== undefined) o.kernel = positional[0];
  return validate(o, used);
}

/**
 * Refuses the options that do not go with `action` (their `uses`), naming each
 * as its table row does. Help and version take anything: they do nothing with it.
 */
function checkUses(action: Action, used: readonly Spec[]): void {
  if (action === 'help' || action === 'version') return;
  const wrong = [...new Set(used.filter((s) => s.uses && !s.uses.includes(action)).map((s) => `--${s.long}`))];
  if (wrong.length > 0) throw new UsageError(`${SUBCOMMANDS.includes(action) ? action : `--${action}`} does not take ${wrong.join(', ')}`);
}

function validate(o: Options, used: readonly Spec[]): ParsedOptions {
  const loading = o.action !== undefined && LOADING.includes(o.action);
  if (o.kernel !== undefined && !o.action) throw new UsageError(`what to do with ${o.kernel}? add -l (load) or --load-hardboot`);
  if (loading && o.kernel === undefined) throw new UsageError(`--${o.action} needs a KERNEL file`);
  if (!loading && o.kernel !== undefined) throw new UsageError(`--${o.action} takes no KERNEL`);
  const action = o.action;
  if (!action) throw new UsageError('nothing to do: give -l KERNEL, --load-hardboot KERNEL, -e or -u (see hardboot --help)');
  if (o.force && (!loading || o.dryRun)) throw new UsageError('-f loads and boots at once: it goes with -l or --load-hardboot, without --dry-run');
  if (o.noSync && !(o.action === 'exec' || o.force)) throw new UsageError('-y (no sync) goes with -e or -f');
  if (o.kernelType !== undefined && !loading) throw new UsageError('--type goes with -l or --load-hardboot');
  if (o.action === 'load-hardboot' && o.memMin === undefined) {
    throw new UsageError('--load-hardboot needs --mem-min=ADDR: the lowest address the bootloader leaves untouched across a reset');
  }
  if (o.commandLine !== undefined && o.reuseCmdline) throw new UsageError('--command-line and --reuse-cmdline both set the start of the line; give one');
  checkUses(action, used);
  if (o.arch && !o.dryRun && o.action !== 'help') throw new UsageError('--arch plans for another machine: use it with --dry-run');
  // A real load plans over the running system's RAM, reservations and tree, never over ones
  // named on the command line (--avoid only adds constraints, so it stays allowed).
  for (const [key, flag] of [['memory', '--memory'], ['liveDtb', '--live-dtb']] as const) {
    if (loading && !o.dryRun && o[key] !== undefined) {
      throw new UsageError(`${flag} stands in for the running system when planning for another machine: use it with --dry-run`);
    }
  }
  return { ...o, action };
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
  hardboot -e [-y] | -u | -S
  hardboot inspect FILE… [--json]
  hardboot doctor [--config=FILE | --kernel=FILE] [--json]
  hardboot entries [--root=DIR] [--json]
  hardboot boot [ENTRY] [--root=DIR] [--dry-run] [--json] [-y]
  hardboot menu [--root=DIR] [--timeout=SECONDS] [--dry-run] [-y]
  hardboot set-default ENTRY | set-oneshot ENTRY | bless  [--root=DIR]
  hardboot --dry-run [--json] [--save-segments=DIR] [--arch=arm|arm64 --memory=START-END] -l KERNEL …

KERNEL is an ARM zImage or an arm64 Image, optionally gzip- or LZ4-compressed, or an Android boot image
holding one (with --vendor-boot for header versions 3 and 4). --dtb=FILE takes a DTB, several DTBs back to
back, a Qualcomm dt.img (QCDT) or an Android DT table; from several, the one for the running board is used.

The boot manager (entries, boot, menu, set-default, set-oneshot, bless) works over a boot root (--root,
default /boot): BLS entries (loader/entries/*.conf, loader/loader.conf) and extlinux/extlinux.conf, how
each entry boots in hardboot/hardboot.conf, and its state (default, one-shot, boot counters) in files.
ENTRY is a menu number, an entry id, or bls:ID / extlinux:ID.

Options are read as kexec-tools reads them (getopt_long): a long option by any unambiguous prefix
(--reuse, --command=…), short options bundled (-dl), "--" ends the options, and numbers as strtoull
base 0 (0x… hexadecimal, 0… octal, else decimal).

The command line: --command-line sets its start, or --reuse-cmdline (the running kernel's; with
--live-dtb, that tree's /chosen/bootargs); each --append adds to it, and alone the appends are the
whole line. (kexec-tools differs: there --append is another name for --command-line, and the last one
given wins.) --command-line twice: the last wins, as in kexec-tools.

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
  -S: 0 a kernel is loaded, 1 none (kexec-tools' codes)
`;
}
