/**
 * Lab scenarios: what the guest is asked to do (hb.scenario= on its command line,
 * carried out by lab/guest/scenarios/<name>.sh) and which console markers prove it
 * worked. One scenario may boot QEMU more than once (variants).
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Arch, LabError, cacheDir, ensureDir, formatDuration } from './env.js';
import { GuestImage } from './guest.js';
import { DEFAULT_KERNEL_VERSION, KernelArtifacts } from './kernel.js';
import { benchInitrd, releaseInitrd } from './release.js';
import { type MarkerContext, QemuOptions, RunResult, qemuCommand, runQemu } from './qemu.js';
import { type DiskEntry, type DiskLayout, makeBootDisk } from './bootdisk.js';
import { existsSync, readFileSync as readFile, writeFileSync } from 'node:fs';
import { RUNNING_BOARD, runningPhoneDtb, storedDtb } from './phone.js';
import { ensureNode, setProp, u32Cells } from '../src/formats/fdt.js';
import boards from './boards.json' with { type: 'json' };
import { hex } from '../src/errors.js';

export interface Variant {
  /** '' for the only variant. */
  label: string;
  /** Words for the guest script (hb.args=a,b). */
  args: string[];
  markers: string[];
  forbidden: string[];
  timeoutMs: number;
  /** false: -M virt,dtb-randomness=off (no kaslr-seed/rng-seed in QEMU's DTB). */
  dtbRandomness: boolean;
  /** Whether a guest reset must reboot the machine (no -no-reboot). */
  reboot: boolean;
  /** More QEMU arguments (e.g. a loader device that damages memory at every reset). */
  qemuArgs?: string[];
  /** How many guest resets QMP must report (checked when set): proves a real reset happened. */
  resets?: number;
  /** After the last marker, wait for QEMU to exit (default) or stop it (the guest would go on). */
  waitForExit?: boolean;
  /** Boot this kernel instead of the lab's (e.g. Debian's, unpatched). */
  kernel?: string;
  /** Boot with this DTB instead of QEMU's own (-dtb). */
  dtb?: string;
  /** More words on the first kernel's command line (e.g. mem=). */
  append?: string[];
  /** More `virt` machine options (e.g. virtualization=on). */
  machine?: string[];
  /** Boot the second kernel's small initrd (busybox and second-init) instead of the lab guest. */
  secondInitrd?: boolean;
  /** A boot disk made fresh for the run (virtio, /dev/vda in the guest): the menu scenarios' boot root. */
  disk?: DiskLayout;
  /** Keys typed on the serial line (its socket) when a marker appears. */
  input?: { after: string; keys: string }[];
  /** Kernel panics the run provokes on purpose (an entry whose initrd is broken). */
  expectedPanics?: number;
  /** Boot through this firmware (-bios), which starts the kernel at every reset (hardboot-efi). */
  bios?: string;
}

export interface Scenario {
  name: string;
  /** The guest script, lab/guest/scenarios/<script>.sh (default: the name). */
  script?: string;
  summary: string;
  /** The guest needs /usr/bin/hardboot (dist/hardboot.mjs). */
  needsBundle: boolean;
  /** The arches it means something on (default: both); on the others it runs nothing. */
  arches?: readonly Arch[];
  /** Boot this initrd instead of the lab guest's (built on demand, e.g. the release's). */
  initrd?: (arch: Arch, guest: GuestImage) => Promise<string>;
  variants(arch: Arch): Variant[];
}

/** Markers printed by the second kernel's /init (lab/guest/second-init.sh). */
const SECOND_KERNEL = ['second-init', 'marker=second'];
/** The stored kernel of a hardboot: the second initrd, with the lab's stored DTB. */
const STORED_KERNEL = ['second-init', 'marker=stored', 'dtb=stored'];
const HARDBOOT_TIMEOUT_MS = 240_000;
/**
 * The hardboot page the lab kernels are built with (kernel/configs/<arch>.config):
 * on arm64 above QEMU's initrd and below the segments, where edk2 (hardboot-efi)
 * writes nothing either; on arm just below the initrd, in lowmem.
 */
export const HARDBOOT_PAGE: Record<Arch, number> = { arm64: 0x4ffff000, arm: 0x47fff000 };

/** Debian's own kernel for `arch` (unpatched), fetched by scripts/setup.mjs into the cache. */
export function debianKernel(arch: Arch): string {
  const manifest = join(cacheDir(), 'debian-kernels', 'manifest.json');
  try {
    return (JSON.parse(readFile(manifest, 'utf8')) as Record<Arch, { kernel: string }>)[arch].kernel;
  } catch {
    throw new LabError(`${manifest}: missing: node scripts/setup.mjs lab fetches Debian's kernels`);
  }
}

/** A run that hardboots: the guest may reset (no -no-reboot), QEMU's DTB randomness on, the hardboot timeout. */
function hardbootRun(v: Omit<Variant, 'timeoutMs' | 'dtbRandomness' | 'reboot'>): Variant {
  return { ...v, timeoutMs: HARDBOOT_TIMEOUT_MS, dtbRandomness: true, reboot: true };
}

/** Kernel messages that mean an oops: a scenario that provokes an edge case must not show them. */
const OOPS = ['Unable to handle kernel', 'Internal error: Oops', 'BUG: '];

/**
 * The hardboot record format of kernel/patches/linux-6.1 (version 2), built for a
 * planted record: the header words, `ranges`, and the checksum that makes the
 * 32-bit sum of its words 0. `version` and `nrRanges` may lie, to make a record
 * the boot code must refuse.
 */
export function hardbootRecord(o: { version: number; entry: number; ranges: { start: number; size: number; sum: number }[]; nrRanges?: number }): Uint8Array {
  const size = 0x40 + 0x18 * o.ranges.length;
  const b = new Uint8Array(size);
  const dv = new DataView(b.buffer);
  dv.setUint32(0x00, 0x4a5db007, true);
  dv.setUint32(0x04, o.version, true);
  dv.setUint32(0x08, size, true);
  dv.setBigUint64(0x10, BigInt(o.entry), true);
  dv.setUint32(0x38, o.nrRanges ?? o.ranges.length, true);
  o.ranges.forEach((r, i) => {
    dv.setBigUint64(0x40 + i * 0x18, BigInt(r.start), true);
    dv.setBigUint64(0x48 + i * 0x18, BigInt(r.size), true);
    dv.setUint32(0x50 + i * 0x18, r.sum, true);
  });
  let sum = 0;
  for (let i = 0; i < size; i += 4) sum = (sum + dv.getUint32(i, true)) >>> 0;
  dv.setUint32(0x0c, (0x1_0000_0000 - sum) >>> 0, true);
  return b;
}

/** A record written into the page before the first boot and at every reset (a QEMU loader device). */
function planted(arch: Arch, name: string, record: Uint8Array): string[] {
  const file = join(ensureDir(join(cacheDir(), 'lab')), `planted-${arch}-${name}.bin`);
  writeFileSync(file, record);
  return ['-device', `loader,file=${file},addr=${hex(HARDBOOT_PAGE[arch])},force-raw=on`];
}

/**
 * The lab machine's tree with the hardboot page inside a /reserved-memory region
 * marked no-map: how a board protects the page.
 */
function nomapDtb(arch: Arch): string {
  const out = join(ensureDir(join(cacheDir(), 'lab')), `nomap-${arch}.dtb`);
  writeFileSync(out, storedDtb(arch, cacheDir(), (fdt) => {
    const rm = ensureNode(fdt, '/reserved-memory');
    setProp(rm, '#address-cells', u32Cells(2));
    setProp(rm, '#size-cells', u32Cells(2));
    setProp(rm, 'ranges', new Uint8Array(0));
    const node = ensureNode(fdt, `/reserved-memory/hardboot@${HARDBOOT_PAGE[arch].toString(16)}`);
    setProp(node, 'reg', u32Cells(0, HARDBOOT_PAGE[arch], 0, 0x1000));
    setProp(node, 'no-map', new Uint8Array(0));
  }));
  return out;
}

/**
 * mem= on the boot kernel that leaves the page out of its RAM but keeps the
 * initrd QEMU puts at 0x48000000: arm64 keeps the first 0x7fff000 bytes (and
 * adds the initrd back itself); arm takes two banks around the page, each
 * ending on a 2 MiB boundary (a kernel without HIGHMEM drops all RAM above the
 * first bank end that is not).
 */
const MEM_BELOW_PAGE: Record<Arch, string[]> = {
  arm64: ['mem=0x7fff000'],
  arm: ['mem=0x7e00000@0x40000000', 'mem=0x38000000@0x48000000'],
};

/** --mem-min/--mem-max for the lab's QEMU virt (lab/boards.json says why). */
export function boardArgs(arch: Arch): string[] {
  const b = boards[arch];
  return [`memmin=${b.memMin}`, `memmax=${b.memMax}`];
}

/**
 * A QEMU loader device that writes `value` (32 bits) at `addr` on every reset —
 * after the running kernel wrote its hardboot record and before the boot kernel
 * reads it: a record damaged "after load".
 */
export function corruptAtReset(addr: number, value: number): string[] {
  return ['-device', `loader,addr=0x${addr.toString(16)},data=0x${value.toString(16)},data-len=4`];
}

/**
 * edk2 for QEMU virt (Debian's qemu-efi-aarch64, installed by scripts/setup.mjs lab).
 * With it as -bios, QEMU hands -kernel, -initrd and -append to the firmware through
 * fw_cfg, and at every reset edk2 runs again and starts the kernel through its EFI
 * stub: since Linux 6.3 the stub enters primary_entry with the MMU and caches on.
 */
export const EDK2_AARCH64 = '/usr/share/qemu-efi-aarch64/QEMU_EFI.fd';

/**
 * No ACPI tables from QEMU: with them edk2 hands the OS ACPI only, the EFI stub finds
 * no device tree and makes an empty one, and the lab kernel (no CONFIG_ACPI) boots
 * with no console and no memory it can use. Without them edk2 passes QEMU's DT on.
 */
const EDK2_MACHINE = ['acpi=off'];

// ---------------------------------------------------------------- the boot menu's scenarios

const MENU_TIMEOUT_MS = 300_000;

/** A run of the boot manager: the guest may reset (entries are hardbooted, broken ones panic). */
function menuRun(v: Omit<Variant, 'timeoutMs' | 'dtbRandomness' | 'reboot'>): Variant {
  return { ...v, timeoutMs: MENU_TIMEOUT_MS, dtbRandomness: true, reboot: true };
}

/** hardboot.conf for the lab board: every entry by hardboot, in the window lab/boards.json gives. */
function menuConf(arch: Arch, more = ''): string {
  const b = boards[arch];
  return `# The lab's QEMU virt: stored segments where a reset leaves them (lab/boards.json).\nmethod hardboot\nmem-min ${b.memMin}\nmem-max ${b.memMax}\n${more}`;
}

/** Entries a (version 2, the default) and b (version 1), both the second initrd with a marker. */
function twoEntries(bMore = ''): DiskEntry[] {
  return [
    { file: 'a.conf', title: 'Entry A', version: '2', initrd: 'second', options: 'console=ttyAMA0 panic=-1 hb.marker=entry-a' },
    { file: 'b.conf', title: 'Entry B', version: '1', initrd: 'second', options: `console=ttyAMA0 panic=-1 hb.marker=entry-b${bMore}` },
  ];
}

/** An extlinux.conf as u-boot-menu writes one, two labels (@KERNEL@: the lab kernel on the disk). */
const EXTLINUX = ['MENU TITLE lab', 'TIMEOUT 50', 'DEFAULT l1', '']
  .concat(
    ...[1, 2].map((n) => [`LABEL l${n}`, `\tMENU LABEL Extlinux ${n}`, '\tLINUX @KERNEL@', '\tINITRD /second.img', '\tFDT /stored.dtb', `\tAPPEND console=ttyAMA0 panic=-1 hb.marker=ext-l${n}`, '']),
  )
  .join('\n');

const BOOT_TIMEOUT_MS = 90_000;
const KEXEC_TIMEOUT_MS = 180_000;

export const SCENARIOS: readonly Scenario[] = [
  {
    name: 'boot',
    summary: 'the guest reaches its /init, runs Node with koffi, prints markers and powers off',
    needsBundle: false,
    variants: () => [
      { label: '', args: [], markers: ['init', 'boot-ok', 'node-ok', 'done'], forbidden: [], timeoutMs: BOOT_TIMEOUT_MS, dtbRandomness: true, reboot: false },
    ],
  },
  {
    name: 'kexec-tools',
    summary: "Debian's kexec -l the lab kernel with a marker on its command line, kexec -e; the second kernel sees the marker",
    needsBundle: false,
    variants: (arch) => [
      {
        label: '',
        args: [],
        markers: ['init', 'kexec-load', 'kexec-exec', ...SECOND_KERNEL],
        // The first kernel must not get past kexec -e.
        forbidden: ['done'],
        timeoutMs: KEXEC_TIMEOUT_MS,
        // Debian's kexec-tools 2.0.26 fails on arm64 with "setup_2nd_dtb failed" when the
        // DTB has a non-zero /chosen/kaslr-seed and the kernel (no RANDOMIZE_BASE) left it
        // there (docs/BACKGROUND.md §3). This reference run turns QEMU's DTB randomness off; our
        // own loader runs with it on and must cope.
        dtbRandomness: arch !== 'arm64',
        reboot: false,
      },
    ],
  },
  {
    name: 'kexec',
    summary: 'our hardboot -l / hardboot -e (plain kexec), with the running tree and with --dtb=<file>',
    needsBundle: true,
    variants: () =>
      [
        { label: 'running-tree', args: [] as string[] },
        { label: 'dtb-file', args: ['dtb-file'] },
      ].map((v) => ({
        ...v,
        markers: ['init', 'kexec-load', 'kexec-exec', ...SECOND_KERNEL],
        forbidden: ['done'],
        timeoutMs: KEXEC_TIMEOUT_MS,
        dtbRandomness: true,
        reboot: false,
      })),
  },
  {
    name: 'hardboot',
    summary: 'hardboot --load-hardboot a kernel, initrd and DTB, hardboot -e: a real reset, and the boot kernel jumps to the stored kernel',
    needsBundle: true,
    variants: (arch) => [
      hardbootRun({
        label: '',
        args: boardArgs(arch),
        markers: ['init', 'hardboot-page', 'hardboot-load', 'hardboot-exec', ...STORED_KERNEL],
        forbidden: ['done', 'hardboot-rejected'],
        resets: 1,
      }),
      hardbootRun({
        // The cheaper boot check: only each segment's first and last 4 KiB are summed;
        // first, the old hardboot bit 0x4 on a plain load (refused where the kernel's bit is another).
        label: 'edges',
        args: [...boardArgs(arch), 'edges', 'legacy'],
        markers: ['init', 'hardboot-check edges', 'hardboot-page', 'legacy-flag', 'hardboot-load', 'hardboot-exec', ...STORED_KERNEL],
        forbidden: ['done', 'hardboot-rejected'],
        resets: 1,
      }),
    ],
  },
  {
    name: 'hardboot-oneshot',
    script: 'hardboot',
    summary: 'after a hardboot, a reset from the stored kernel boots the normal kernel again (the record was used once)',
    needsBundle: true,
    variants: (arch) => [
      hardbootRun({
        label: '',
        args: [...boardArgs(arch), 'then=reboot'],
        // The last 'init' is the normal boot kernel's /init after the second reset.
        markers: ['init', 'hardboot-load', 'hardboot-exec', ...STORED_KERNEL, 'second-reboot', 'init'],
        forbidden: ['done', 'hardboot-rejected'],
        resets: 2,
        waitForExit: false,
      }),
    ],
  },
  {
    name: 'hardboot-corrupt',
    script: 'hardboot',
    summary: 'a hardboot record damaged between the reset and the boot kernel: a normal boot that logs the rejection, never a hang',
    needsBundle: true,
    variants: (arch) => [
      hardbootRun({
        label: 'record',
        args: boardArgs(arch),
        markers: ['init', 'hardboot-load', 'hardboot-exec', 'init', `hardboot-rejected rejected record at ${hex(HARDBOOT_PAGE[arch])}: bad checksum`],
        forbidden: ['second-init', 'done'],
        // The entry point's low word, inside the checksummed record.
        qemuArgs: corruptAtReset(HARDBOOT_PAGE[arch] + 0x10, 0xdeadbeef),
        resets: 1,
        waitForExit: false,
      }),
      hardbootRun({
        label: 'kernel',
        args: boardArgs(arch),
        markers: [
          'init',
          'hardboot-load',
          'hardboot-exec',
          'init',
          `hardboot-rejected rejected record at ${hex(HARDBOOT_PAGE[arch])}: segment at ${boards[arch].memMin} changed`,
        ],
        forbidden: ['second-init', 'done'],
        // A word of the stored kernel, which the planner puts first, at --mem-min: the
        // record is intact but the segment's sum no longer matches.
        qemuArgs: corruptAtReset(Number(boards[arch].memMin) + 0x100, 0xdeadbeef),
        resets: 1,
        waitForExit: false,
      }),
    ],
  },
  {
    name: 'hardboot-unload',
    script: 'hardboot',
    summary: 'hardboot --load-hardboot, hardboot -u, reset: the normal kernel boots',
    needsBundle: true,
    variants: (arch) => [
      hardbootRun({
        label: '',
        args: [...boardArgs(arch), 'unload'],
        markers: ['init', 'hardboot-load', 'hardboot-unload', 'done', 'init'],
        forbidden: ['second-init', 'hardboot-rejected', 'hardboot-exec'],
        resets: 1,
        waitForExit: false,
      }),
    ],
  },
  {
    name: 'hardboot-nomap',
    script: 'hardboot',
    summary: 'the page inside a /reserved-memory no-map region of the boot tree: no oops, the page is taken as the board protects it, and a hardboot works',
    needsBundle: true,
    variants: (arch) => [
      hardbootRun({
        label: '',
        args: boardArgs(arch),
        markers: [
          'init',
          `hardboot-boot page at ${hex(HARDBOOT_PAGE[arch])} (no-map reserved memory)`,
          `hardboot-page ${hex(HARDBOOT_PAGE[arch])} reset=psci-system-reset status=ready`,
          'hardboot-load',
          'hardboot-exec',
          ...STORED_KERNEL,
        ],
        forbidden: ['done', 'hardboot-rejected', ...OOPS],
        resets: 1,
        dtb: nomapDtb(arch),
      }),
    ],
  },
  {
    name: 'hardboot-mem',
    script: 'hardboot',
    summary: 'the boot kernel started with mem= below the page: no oops; the kernel says why it cannot hardboot (log, sysfs), and on arm --load-hardboot is refused with that reason before any kexec_load',
    needsBundle: true,
    variants: (arch) => [
      arch === 'arm'
        ? {
            label: '',
            args: [...boardArgs(arch), 'expect-refused'],
            append: MEM_BELOW_PAGE[arch],
            markers: [
              'init',
              `hardboot-boot page at ${hex(HARDBOOT_PAGE[arch])} unusable: the page is not in the RAM this kernel uses`,
              `hardboot-page ${hex(HARDBOOT_PAGE[arch])} reset=psci-system-reset status=unavailable: the page is not in the RAM`,
              'hardboot-refused this kernel cannot hardboot now: the page is not in the RAM this kernel uses',
              'done',
            ],
            forbidden: ['hardboot-load', ...OOPS],
            timeoutMs: HARDBOOT_TIMEOUT_MS,
            dtbRandomness: true,
            reboot: false,
          }
        : {
            // arm64's mem= is an upper limit: below the page it leaves 128 MiB, less than the
            // lab guest's 140 MB root, so the kernel boots the small second initrd instead.
            label: '',
            args: [],
            append: MEM_BELOW_PAGE[arch],
            secondInitrd: true,
            markers: [
              'second-init',
              `hardboot-boot page at ${hex(HARDBOOT_PAGE[arch])} unusable: the page is not in the RAM this kernel uses`,
              'hardboot-status unavailable: the page is not in the RAM this kernel uses',
            ],
            forbidden: OOPS,
            timeoutMs: BOOT_TIMEOUT_MS,
            dtbRandomness: true,
            reboot: false,
          },
    ],
  },
  {
    name: 'hardboot-stale',
    script: 'stale',
    summary: 'records planted before the boot kernel starts (wrong version, no ranges, entry outside its ranges, segments gone): a normal boot and one log line with the reason',
    needsBundle: false,
    variants: (arch) => {
      const start = Number(boards[arch].memMin);
      const cases: [string, Uint8Array, string][] = [
        ['version', hardbootRecord({ version: 3, entry: start, ranges: [{ start, size: 0x1000, sum: 0 }] }), 'unknown version (found 0x3, expected 0x2)'],
        ['no-ranges', hardbootRecord({ version: 2, entry: start, ranges: [] }), 'no ranges (found 0x0, expected 0x1)'],
        ['entry', hardbootRecord({ version: 2, entry: start + 0x2000, ranges: [{ start, size: 0x1000, sum: 0 }] }), `entry point outside every range (found ${hex(start + 0x2000)}, expected 0x0)`],
        ['gone', hardbootRecord({ version: 2, entry: start, ranges: [{ start, size: 0x1000, sum: 0xdeadbeef }] }), `segment at ${hex(start)} changed (sum 0x0, expected 0xdeadbeef)`],
      ];
      return cases.map(([label, record, reason]) => ({
        label,
        args: [],
        markers: ['init', `hardboot-rejected rejected record at ${hex(HARDBOOT_PAGE[arch])}: ${reason}`, 'stale-booted status=ready', 'done'],
        forbidden: ['second-init', ...OOPS],
        timeoutMs: BOOT_TIMEOUT_MS,
        dtbRandomness: true,
        reboot: false,
        qemuArgs: planted(arch, label, record),
      }));
    },
  },
  {
    name: 'hardboot-el2',
    script: 'hardboot',
    summary: 'QEMU virt with virtualization=on: both kernels entered at EL2 (HYP mode on arm), the reset through SMC; the hardboot works',
    needsBundle: true,
    variants: (arch) => [
      hardbootRun({
        label: '',
        // The stored kernel keeps the running tree: its PSCI method (smc at EL2) is the machine's.
        args: [...boardArgs(arch), 'running-dtb'],
        markers: ['init', 'hardboot-load', 'hardboot-exec', 'second-init', 'marker=stored'],
        forbidden: ['done', 'hardboot-rejected', ...OOPS],
        resets: 1,
        machine: ['virtualization=on'],
      }),
    ],
  },
  {
    name: 'hardboot-warm',
    script: 'hardboot',
    summary: 'which reset a hardboot uses is in the log and in sysfs: QEMU 7.2 has no PSCI SYSTEM_RESET2, so the fallback, SYSTEM_RESET, does the hardboot',
    needsBundle: true,
    variants: (arch) => [
      hardbootRun({
        label: '',
        args: boardArgs(arch),
        markers: [
          'init',
          'hardboot-reset reset by psci-system-reset',
          `hardboot-page ${hex(HARDBOOT_PAGE[arch])} reset=psci-system-reset status=ready`,
          'hardboot-load',
          'hardboot-exec',
          ...STORED_KERNEL,
        ],
        forbidden: ['done', 'hardboot-rejected', 'psci-system-reset2', ...OOPS],
        resets: 1,
      }),
    ],
  },
  {
    name: 'hardboot-efi',
    script: 'hardboot',
    summary:
      'arm64: edk2 (QEMU_EFI.fd) starts the kernel through its EFI stub at every reset, the hardboot reset included: the take-over runs with the MMU and caches on (6.12; off on 6.1, whose stub turns them off) and enters the stored kernel, or rejects a damaged one and boots on',
    needsBundle: true,
    arches: ['arm64'],
    variants: (arch) => [
      hardbootRun({
        label: '',
        // `efi`: the guest checks it was booted by UEFI; efi=debug puts the firmware's
        // memory map in the log (what edk2 holds around the page and the segments).
        args: [...boardArgs(arch), 'efi'],
        append: ['efi=debug'],
        markers: [
          'init',
          `hardboot-boot page at ${hex(HARDBOOT_PAGE[arch])} (reserved)`,
          'hardboot-uefi',
          `hardboot-page ${hex(HARDBOOT_PAGE[arch])} reset=psci-system-reset status=ready`,
          'hardboot-load',
          'hardboot-exec',
          // The stored kernel, entered by the take-over with its own DTB: no UEFI.
          'second-init',
          'marker=stored',
          'uefi=no',
          'dtb=stored',
        ],
        // A second `init`: the firmware booted the normal kernel after the reset (the
        // record was gone, as with edk2 and a page at 0x47fff000); fail at once, not
        // after the guest has hardbooted in a loop until the timeout.
        forbidden: ['done', 'init', 'hardboot-rejected', ...OOPS],
        resets: 1,
        bios: EDK2_AARCH64,
        machine: EDK2_MACHINE,
      }),
      hardbootRun({
        // A word of the stored kernel damaged at the reset: the take-over sums every
        // range (through the caches on 6.12), rejects the record, returns to the EFI
        // entry, and the boot kernel boots on.
        label: 'rejected',
        args: [...boardArgs(arch), 'efi'],
        markers: [
          'init',
          'hardboot-uefi',
          'hardboot-load',
          'hardboot-exec',
          'init',
          `hardboot-rejected rejected record at ${hex(HARDBOOT_PAGE[arch])}: segment at ${boards[arch].memMin} changed`,
          'hardboot-uefi',
        ],
        forbidden: ['second-init', 'done', ...OOPS],
        qemuArgs: corruptAtReset(Number(boards[arch].memMin) + 0x100, 0xdeadbeef),
        resets: 1,
        waitForExit: false,
        bios: EDK2_AARCH64,
        machine: EDK2_MACHINE,
      }),
    ],
  },
  {
    name: 'hardboot-bootimg',
    script: 'hardboot',
    summary: 'hardboot --load-hardboot an Android boot image made by mkbootimg: kernel, ramdisk, DTB and command line from the image',
    needsBundle: true,
    variants: (arch) => [
      hardbootRun({
        label: '',
        args: [...boardArgs(arch), 'bootimg'],
        markers: ['init', 'hardboot-load', 'hardboot-exec', 'second-init', 'marker=bootimg', 'dtb=stored'],
        forbidden: ['done', 'hardboot-rejected'],
        resets: 1,
      }),
    ],
  },
  {
    name: 'hardboot-dtimg',
    script: 'hardboot',
    summary: "a guest whose tree carries qcom,msm-id hardboots with a QCDT dt.img of three DTBs: only the running board's boots",
    needsBundle: true,
    variants: (arch) => [
      hardbootRun({
        label: '',
        args: [...boardArgs(arch), 'dtimg'],
        markers: ['init', 'hardboot-load', 'hardboot-exec', 'second-init', 'marker=dtimg', `dtb=${RUNNING_BOARD.name}`],
        forbidden: ['done', 'hardboot-rejected'],
        resets: 1,
        dtb: runningPhoneDtb(arch, cacheDir()),
      }),
    ],
  },
  {
    name: 'menu-default',
    script: 'menu',
    summary: "the boot menu, run by the guest's init over a boot disk: it counts loader.conf's timeout down and hardboots the default entry",
    needsBundle: true,
    variants: (arch) => [
      menuRun({
        label: '',
        args: [],
        disk: { entries: twoEntries(), loaderConf: 'timeout 2\n', hardbootConf: menuConf(arch) },
        markers: ['init', 'menu-root', 'menu Booting a in 2 s;', 'menu Booting a in 1 s;', 'menu hardboot: booting a (default) by hardboot', 'second-init', 'marker=entry-a', 'dtb=stored'],
        forbidden: ['done', 'hardboot-rejected'],
        resets: 1,
      }),
    ],
  },
  {
    name: 'menu-select',
    script: 'menu',
    summary: 'keys sent over the serial line (down arrow, Enter) stop the countdown and pick the second entry, which boots',
    needsBundle: true,
    variants: (arch) => [
      menuRun({
        label: '',
        args: [],
        disk: { entries: twoEntries(), loaderConf: 'timeout 30\n', hardbootConf: menuConf(arch) },
        input: [{ after: 'menu Booting a in 30 s;', keys: '\x1b[B\r' }],
        markers: ['init', 'menu-root', 'menu Booting a in 30 s;', 'menu hardboot: booting b (chosen) by hardboot', 'second-init', 'marker=entry-b'],
        forbidden: ['done', 'hardboot-rejected'],
        resets: 1,
      }),
    ],
  },
  {
    name: 'menu-oneshot',
    script: 'menu',
    summary: 'hardboot set-oneshot b: the next boot is b; b resets, and the boot after is the default again',
    needsBundle: true,
    variants: (arch) => [
      menuRun({
        label: '',
        args: ['oneshot=b'],
        disk: { entries: twoEntries(' hb.then=reboot'), loaderConf: 'timeout 1\n', hardbootConf: menuConf(arch) },
        markers: [
          'init',
          'menu-oneshot b',
          'menu hardboot: booting b (oneshot) by hardboot',
          'second-init',
          'marker=entry-b',
          'second-reboot',
          'init',
          'menu hardboot: booting a (default) by hardboot',
          'second-init',
          'marker=entry-a',
        ],
        forbidden: ['done', 'hardboot-rejected'],
        resets: 3,
      }),
    ],
  },
  {
    name: 'menu-fallback',
    script: 'menu',
    summary: 'the default entry (+2 tries) panics (its initrd is broken): after two attempts the device boots the good entry by itself, which blesses its boot; the counters on disk show it',
    needsBundle: true,
    variants: (arch) => [
      menuRun({
        label: '',
        args: [],
        disk: {
          entries: [
            { file: 'bad+2.conf', title: 'Broken', version: '3', initrd: 'broken', options: 'console=ttyAMA0 panic=-1' },
            { file: 'good+3.conf', title: 'Good', version: '2', initrd: 'guest', options: 'console=ttyAMA0 panic=-1 hb.scenario=menu-booted' },
          ],
          loaderConf: 'timeout 1\n',
          // The good entry is the whole lab guest (about 45 MiB): a plain kexec, anywhere in RAM.
          hardbootConf: menuConf(arch, 'entry good\nmethod kexec\nmem-min 0x40000000\nmem-max 0x7fffffff\n'),
        },
        expectedPanics: 2,
        markers: [
          'init',
          'menu-root bad+2.conf good+3.conf',
          'menu hardboot: booting bad (default) by hardboot',
          'init',
          'menu-root bad+1-1.conf good+3.conf',
          'menu hardboot: booting bad (default) by hardboot',
          'init',
          'menu-root bad+0-2.conf good+3.conf',
          'menu hardboot: booting good (default) by kexec',
          'init',
          'menu-booted',
          'blessed good+2-1.conf blessed: now good.conf',
          'entries bad+0-2.conf good.conf',
          'done',
        ],
        forbidden: ['hardboot-rejected'],
        resets: 4,
      }),
    ],
  },
  {
    name: 'menu-bls-extlinux',
    script: 'menu',
    summary: 'a boot disk with BLS entries and an extlinux.conf: hardboot entries lists both; an extlinux label boots',
    needsBundle: true,
    variants: (arch) => [
      menuRun({
        label: '',
        args: ['list', 'boot=l1'],
        disk: { entries: twoEntries(), extlinux: EXTLINUX, hardbootConf: menuConf(arch) },
        markers: ['init', 'menu-root', 'entry bls a', 'entry bls b', 'entry extlinux l1', 'entry extlinux l2', 'menu hardboot: booting l1 (chosen) by hardboot', 'second-init', 'marker=ext-l1', 'dtb=stored'],
        forbidden: ['done', 'hardboot-rejected'],
        resets: 1,
      }),
    ],
  },
  {
    name: 'doctor',
    summary: 'hardboot doctor: ready on the patched lab kernel; names CONFIG_KEXEC_HARDBOOT on an unpatched one (Debian\'s)',
    needsBundle: true,
    variants: (arch) => [
      {
        label: 'patched',
        args: ['expect=ready'],
        markers: ['init', 'doctor-ready', 'doctor-kernel-ready', 'done'],
        forbidden: [],
        timeoutMs: BOOT_TIMEOUT_MS,
        dtbRandomness: true,
        reboot: false,
      },
      {
        label: 'debian',
        args: ['expect=not-ready'],
        markers: ['init', 'doctor-not-ready names=CONFIG_KEXEC_HARDBOOT', 'done'],
        forbidden: [],
        timeoutMs: BOOT_TIMEOUT_MS,
        dtbRandomness: true,
        reboot: false,
        kernel: debianKernel(arch),
      },
    ],
  },
  {
    name: 'release',
    summary: 'the self-contained release (npm run release) unpacked at /data/hardboot on a busybox-only root with no C library: --version, doctor, then a hardboot',
    needsBundle: true,
    initrd: (arch, guest) => releaseInitrd(arch, guest),
    variants: (arch) => [
      hardbootRun({
        label: '',
        args: boardArgs(arch),
        markers: ['init', 'release-root', 'release-version', 'release-snapshot', 'release-doctor', 'hardboot-page', 'hardboot-load', 'hardboot-exec', ...STORED_KERNEL],
        forbidden: ['done', 'hardboot-rejected'],
        resets: 1,
      }),
      {
        label: 'kexec',
        args: ['kexec'],
        markers: ['init', 'release-root', 'release-version', 'release-snapshot', 'kexec-load', 'kexec-exec', ...SECOND_KERNEL],
        forbidden: ['done'],
        timeoutMs: KEXEC_TIMEOUT_MS,
        dtbRandomness: true,
        reboot: false,
      },
    ],
  },
  {
    name: 'bench',
    summary: 'wall time and peak RSS of hardboot -l (npm-style and the release) vs kexec-tools kexec -l in the guest (npm run bench:lab)',
    needsBundle: true,
    initrd: (arch, guest) => benchInitrd(arch, guest),
    variants: (arch) => [
      {
        label: '',
        args: [],
        markers: ['init', 'bench-done', 'done'],
        forbidden: [],
        timeoutMs: 10 * 60_000,
        // kexec-tools must run, so as in kexec-tools: no kaslr-seed on arm64 (both tools see the same DTB).
        dtbRandomness: arch !== 'arm64',
        reboot: false,
      },
    ],
  },
];

export function findScenario(name: string): Scenario | undefined {
  return SCENARIOS.find((s) => s.name === name);
}

/** The kernel command line of the first kernel for one variant. */
export function guestAppend(scenario: string, v: Variant): string {
  const words = ['console=ttyAMA0', 'earlycon', 'panic=-1', `hb.scenario=${scenario}`, ...(v.append ?? [])];
  if (v.args.length > 0) words.push(`hb.args=${v.args.join(',')}`);
  return words.join(' ');
}

export interface VariantResult {
  scenario: string;
  arch: Arch;
  variant: string;
  /** The kernel series' version, when not the default one. */
  kernel?: string;
  ok: boolean;
  durationMs: number;
  log: string;
  /** One line, when !ok. */
  reason?: string;
  markers?: RunResult['markers'];
  events?: RunResult['events'];
  lines?: RunResult['lines'];
}

export interface RunScenarioOptions {
  cache?: string;
  /** Replace the QEMU binary (tests). */
  qemuBinary?: string;
  timeoutScale?: number;
}

/** Boots every variant of `scenario` on `arch`; never throws for a failed run, returns it. */
export async function runScenario(
  scenario: Scenario,
  arch: Arch,
  kernel: KernelArtifacts,
  guest: GuestImage,
  opts: RunScenarioOptions = {},
): Promise<VariantResult[]> {
  const logs = ensureDir(join(opts.cache ?? cacheDir(), 'logs'));
  const results: VariantResult[] = [];
  // Runs on another kernel version than the default say so in their name and log.
  const other = kernel.version !== undefined && kernel.version !== DEFAULT_KERNEL_VERSION ? { kernel: kernel.version } : {};
  const tag = other.kernel ? [`linux-${other.kernel}`] : [];
  if (scenario.arches && !scenario.arches.includes(arch)) return [];
  let initrd = guest.initrd;
  if (scenario.initrd) {
    try {
      initrd = await scenario.initrd(arch, guest);
    } catch (e) {
      if (!(e instanceof LabError)) throw e;
      const log = e.log ?? join(logs, `lab-${[scenario.name, arch, ...tag].join('-')}.log`);
      return [{ scenario: scenario.name, arch, variant: '', ...other, log, ok: false, durationMs: 0, reason: e.message }];
    }
  }
  for (const v of scenario.variants(arch)) {
    const name = [scenario.name, arch, v.label, ...tag].filter(Boolean).join('-');
    const serialLog = join(logs, `lab-${name}.log`);
    const base = { scenario: scenario.name, arch, variant: v.label, ...other, log: serialLog };
    if (v.bios !== undefined && !existsSync(v.bios)) {
      results.push({ ...base, ok: false, durationMs: 0, reason: `no firmware at ${v.bios}: node scripts/setup.mjs lab installs it` });
      continue;
    }
    if (scenario.needsBundle && !guest.hasBundle) {
      results.push({
        ...base,
        ok: false,
        durationMs: 0,
        reason: `the guest has no /usr/bin/hardboot: ${guest.noBundleReason ?? 'no bundle'}`,
      });
      continue;
    }
    let disk: string | undefined;
    if (v.disk) {
      try {
        disk = makeBootDisk(arch, opts.cache ?? cacheDir(), kernel, guest, v.disk, join(ensureDir(join(opts.cache ?? cacheDir(), 'lab', 'disks')), `${name}.img`));
      } catch (e) {
        if (!(e instanceof LabError)) throw e;
        results.push({ ...base, ok: false, durationMs: 0, reason: e.message });
        continue;
      }
    }
    const qo: QemuOptions = {
      arch,
      kernel: v.kernel ?? kernel.image,
      initrd: v.secondInitrd ? guest.secondInitrd : initrd,
      ...(v.dtb ? { dtb: v.dtb } : {}),
      append: guestAppend(scenario.script ?? scenario.name, v),
      serialLog,
      // In /tmp: a unix socket path must stay under 108 bytes, whatever $HARDBOOT_CACHE is.
      qmpSocket: join(tmpdir(), `hb-qmp-${name}-${process.pid}.sock`),
      dtbRandomness: v.dtbRandomness,
      ...(v.machine ? { machineOptions: v.machine } : {}),
      ...(v.bios ? { bios: v.bios } : {}),
      reboot: v.reboot,
      ...(v.qemuArgs ? { extraArgs: v.qemuArgs } : {}),
      ...(disk ? { disk } : {}),
      ...(v.input ? { serialSocket: join(tmpdir(), `hb-serial-${name}-${process.pid}.sock`) } : {}),
    };
    const cmd = qemuCommand(qo);
    if (opts.qemuBinary) cmd.binary = opts.qemuBinary;
    const started = Date.now();
    try {
      const r = await runQemu({
        command: cmd,
        serialLog,
        qmpSocket: qo.qmpSocket,
        timeoutMs: v.timeoutMs * (opts.timeoutScale ?? 1),
        markers: v.markers,
        forbidden: v.forbidden,
        ...(v.waitForExit === false ? { waitForExit: false } : {}),
        ...(v.expectedPanics ? { expectedPanics: v.expectedPanics } : {}),
        ...(qo.serialSocket !== undefined ? { serialSocket: qo.serialSocket } : {}),
        ...(v.input
          ? {
              onMarker: (marker: string, ctx: MarkerContext) => {
                for (const i of v.input!) if (i.after === marker) ctx.type!(i.keys);
              },
            }
          : {}),
      });
      const resets = r.events.filter((e) => e.event === 'RESET').length;
      if (v.resets !== undefined && resets !== v.resets) {
        throw new LabError(`QMP reported ${resets} guest reset(s), expected ${v.resets}`, serialLog);
      }
      results.push({ ...base, ok: true, durationMs: r.durationMs, markers: r.markers, events: r.events, lines: r.lines });
    } catch (e) {
      if (!(e instanceof LabError)) throw e;
      results.push({ ...base, ok: false, durationMs: Date.now() - started, reason: e.message, log: e.log ?? serialLog });
    }
  }
  return results;
}

/**
 * The run as a timeline: markers, guest resets (QMP) and kernel starts, in time
 * order — e.g. hardboot-exec@10.1s RESET@10.6s kernel-start@10.7s second-init@14.8s.
 */
export function timeline(r: VariantResult): { name: string; atMs: number }[] {
  const all = [
    ...(r.markers ?? []).map((m) => ({ name: m.name, atMs: m.atMs })),
    ...(r.events ?? []).filter((e) => e.event === 'RESET').map((e) => ({ name: 'RESET', atMs: e.atMs })),
    ...(r.lines ?? []),
  ];
  return all.sort((a, b) => a.atMs - b.atMs);
}

export function describeResult(r: VariantResult): string {
  const name = [r.scenario, r.arch, r.variant, r.kernel ? `(Linux ${r.kernel})` : ''].filter(Boolean).join(' ');
  if (r.ok) {
    const steps = (r.markers ?? []).map((m) => `${m.name}@${formatDuration(m.atMs)}`).join(' ');
    return `PASS ${name} in ${formatDuration(r.durationMs)} (${steps})`;
  }
  return `FAIL ${name}: ${r.reason}`;
}
