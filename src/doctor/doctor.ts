/**
 * `hardboot doctor`: is this system (or this kernel) ready for kexec-hardboot?
 * Pure: every input is plain data that the CLI read from the running system or
 * from files; each finding says what was checked, why it matters and the exact
 * fix (a CONFIG_ line or a command).
 *
 * What the kernel requires, Linux 6.1:
 *  - kexec_load: CAP_SYS_BOOT and kernel.kexec_load_disabled = 0
 *    (kernel/kexec.c kexec_load_check), and no lockdown at `integrity` or above
 *    (security_locked_down(LOCKDOWN_KEXEC));
 *  - CONFIG_KEXEC; on arm64 it depends on PM_SLEEP_SMP, on arm on MMU and
 *    (!SMP || PM_SLEEP_SMP) (arch/{arm,arm64}/Kconfig);
 *  - the hardboot patch series: CONFIG_KEXEC_HARDBOOT, CONFIG_KEXEC_HARDBOOT_PAGE,
 *    and /sys/kernel/kexec_hardboot saying the kernel supports the flag;
 *  - hardboot reads /proc/iomem and /proc/cmdline (PROC_FS) and the running DTB
 *    from /sys/firmware/fdt (OF, with OF_EARLY_FLATTREE and SYSFS; drivers/of/fdt.c);
 *  - the capability bit: CAP_SYS_BOOT is 22 (include/uapi/linux/capability.h).
 */
import { hex } from '../errors.js';
import { configEnabled, configNumber, configValue, type KernelConfig } from '../formats/ikconfig.js';
import { type HardbootSupport, parseLockdown, parseProcStatus } from '../formats/proc.js';
import type { Arch } from '../plan/abi.js';

export const CAP_SYS_BOOT = 22;

export type Severity = 'error' | 'warning' | 'info';

export interface Finding {
  id: string;
  ok: boolean;
  severity: Severity;
  what: string;
  why: string;
  /** The CONFIG_ line(s) or command that fixes it; empty when there is nothing to do. */
  fix: string;
}

export interface DoctorInputs {
  /** The kernel's configuration (from /proc/config.gz, a .config, or a kernel's IKCONFIG); undefined if none was found. */
  config?: KernelConfig;
  /** Where `config` came from, for the report ("/proc/config.gz", "IKCONFIG of zImage", a path). */
  configSource?: string;
  /** The architecture, when known without the config (the running machine's). */
  arch?: Arch;
  /**
   * Whether the inputs describe the running system (sysfs, /proc) or only a
   * kernel to be booted (`--config`, `--kernel`): live checks are skipped for the latter.
   */
  live: boolean;
  /** What /sys/kernel/kexec_hardboot says, or undefined when absent. */
  hardboot?: HardbootSupport;
  /** Why /sys/kernel/kexec_hardboot could not be read, when it is there but unreadable. */
  hardbootError?: string;
  /** /sys/kernel/kexec_loaded. */
  kexecLoaded?: string;
  /** Whether /sys/firmware/fdt exists. */
  firmwareFdt?: boolean;
  /** /proc/self/status. */
  procStatus?: string;
  /** /sys/kernel/security/lockdown, undefined when absent (no lockdown LSM). */
  lockdown?: string;
  /** /proc/sys/kernel/kexec_load_disabled. */
  kexecLoadDisabled?: string;
}

/** The architecture a config was made for. */
export function configArch(config: KernelConfig): Arch | undefined {
  if (configEnabled(config, 'ARM64')) return 'arm64';
  if (configEnabled(config, 'ARM')) return 'arm';
  return undefined;
}

function finding(id: string, ok: boolean, severity: Severity, what: string, why: string, fix = ''): Finding {
  return { id, ok, severity: ok ? 'info' : severity, what, why, fix: ok ? '' : fix };
}

function option(config: KernelConfig, name: string): string {
  const v = configValue(config, name);
  return v === undefined ? `CONFIG_${name} absent` : v === 'n' ? `CONFIG_${name} is not set` : `CONFIG_${name}=${v}`;
}

/** Every check, in the order a person fixes them: the kernel's build, then the running system. */
export function doctor(inputs: DoctorInputs): Finding[] {
  const out: Finding[] = [];
  const c = inputs.config;
  const arch = inputs.arch ?? (c ? configArch(c) : undefined);

  if (!c) {
    out.push(
      finding(
        'config',
        false,
        'warning',
        'no kernel configuration to check',
        'a kernel built without CONFIG_KEXEC or CONFIG_KEXEC_HARDBOOT cannot hardboot; without this kernel\'s configuration, doctor cannot check for them',
        inputs.live
          ? 'CONFIG_IKCONFIG=y and CONFIG_IKCONFIG_PROC=y (gives /proc/config.gz), or: hardboot doctor --config <.config>'
          : 'hardboot doctor --config <.config>, or --kernel <image> built with CONFIG_IKCONFIG=y',
      ),
    );
  } else {
    out.push(finding('config', true, 'info', `kernel configuration from ${inputs.configSource ?? 'the given config'}${arch ? ` (${arch})` : ''}`, 'the checks below read it'));
    checkConfig(c, arch, out);
  }
  if (inputs.live) checkLive(inputs, out);
  return out;
}

function checkConfig(c: KernelConfig, arch: Arch | undefined, out: Finding[]): void {
  const need = (id: string, name: string, why: string, severity: Severity = 'error', fix = `CONFIG_${name}=y`) =>
    out.push(finding(id, configEnabled(c, name), severity, option(c, name), why, fix));

  need('kexec', 'KEXEC', 'kexec_load(2) exists only with CONFIG_KEXEC; hardboot loads through it');
  const hardboot = configEnabled(c, 'KEXEC_HARDBOOT');
  need(
    'kexec-hardboot',
    'KEXEC_HARDBOOT',
    'the kernel accepts the hardboot flag and checks the hardboot page at boot only with the patch series for its version (kernel/patches/linux-6.1 or linux-6.12) applied and this option on; the same kernel must be the one the bootloader starts',
    'error',
    'CONFIG_KEXEC_HARDBOOT=y (after applying kernel/patches/linux-6.1 or linux-6.12)',
  );
  if (hardboot) {
    const page = configNumber(c, 'KEXEC_HARDBOOT_PAGE');
    const ok = page !== undefined && page !== 0 && page % 0x1000 === 0;
    out.push(
      finding(
        'kexec-hardboot-page',
        ok,
        'error',
        page === undefined ? option(c, 'KEXEC_HARDBOOT_PAGE') : `CONFIG_KEXEC_HARDBOOT_PAGE=${hex(page)}`,
        'the physical page where the record survives the reset: page-aligned, in RAM the bootloader does not touch (docs/BACKGROUND.md §1 lists the historical boards\' pages)',
        'CONFIG_KEXEC_HARDBOOT_PAGE=0x… (a 4 KiB-aligned physical address your bootloader leaves alone)',
      ),
    );
    // The series' second version splits the boot side off; the first had no such option.
    if (configValue(c, 'KEXEC_HARDBOOT_TAKEOVER') !== undefined) {
      need(
        'kexec-hardboot-takeover',
        'KEXEC_HARDBOOT_TAKEOVER',
        'the boot side: without it this kernel, started by the boot loader after a hardboot reset, boots normally and never enters the stored kernel',
        'warning',
        'CONFIG_KEXEC_HARDBOOT_TAKEOVER=y on the kernel the boot loader starts (impossible with forced lockdown)',
      );
    }
  }
  need('proc-fs', 'PROC_FS', 'hardboot reads /proc/iomem (free RAM) and /proc/cmdline (the running command line)');
  need('of', 'OF', 'the running device tree (/sys/firmware/fdt) gives the memory map and the board ids a DTB is chosen by');
  need('sysfs', 'SYSFS', '/sys/kernel/kexec_hardboot and /sys/firmware/fdt are sysfs files');

  if (arch === 'arm64') {
    need('pm-sleep-smp', 'PM_SLEEP_SMP', 'arm64 CONFIG_KEXEC depends on PM_SLEEP_SMP: kexec takes the secondary CPUs offline (arch/arm64/Kconfig)', 'error', 'CONFIG_SUSPEND=y and CONFIG_PM_SLEEP_SMP=y');
    need('hotplug-cpu', 'HOTPLUG_CPU', 'secondary CPUs are hot-unplugged before the reset; without it kexec refuses on SMP machines', 'error', 'CONFIG_HOTPLUG_CPU=y');
  } else if (arch === 'arm') {
    if (configEnabled(c, 'SMP')) {
      need('pm-sleep-smp', 'PM_SLEEP_SMP', 'arm CONFIG_KEXEC depends on !SMP || PM_SLEEP_SMP (arch/arm/Kconfig)', 'error', 'CONFIG_SUSPEND=y and CONFIG_PM_SLEEP_SMP=y');
    }
    need('mmu', 'MMU', 'arm CONFIG_KEXEC depends on MMU (arch/arm/Kconfig)');
    out.push(
      finding(
        'auto-zreladdr',
        configEnabled(c, 'AUTO_ZRELADDR'),
        'info',
        option(c, 'AUTO_ZRELADDR'),
        'with AUTO_ZRELADDR a zImage decompresses to (its own address & 0xF8000000) + 0x8000: a zImage run from outside the first 128 MiB of RAM makes the kernel lose the RAM below it, so hardboot places it low (docs/BACKGROUND.md §2)',
        'nothing to change; for a fixed-address kernel (AUTO_ZRELADDR off) check ZRELADDR against the planned layout',
      ),
    );
    out.push(
      finding(
        'atags',
        true,
        'info',
        option(c, 'ATAGS'),
        configEnabled(c, 'ATAGS')
          ? 'ATAGS support is built in: a DTB-less (board-file) kernel can be booted with tags at entry − 0x8000 + 0x1000'
          : 'ATAGS is off: only device-tree kernels (r2 = DTB address) can be booted, which is what hardboot plans',
      ),
    );
  }

  const lockdownForced = configEnabled(c, 'LOCK_DOWN_KERNEL_FORCE_INTEGRITY') || configEnabled(c, 'LOCK_DOWN_KERNEL_FORCE_CONFIDENTIALITY');
  out.push(
    finding(
      'lockdown-config',
      !lockdownForced,
      'error',
      lockdownForced ? 'the kernel forces lockdown (LOCK_DOWN_KERNEL_FORCE_INTEGRITY or _CONFIDENTIALITY)' : 'lockdown is not forced by the build',
      'under lockdown kexec_load is refused (LOCKDOWN_KEXEC is an integrity reason)',
      'CONFIG_LOCK_DOWN_KERNEL_FORCE_NONE=y',
    ),
  );
  if (configValue(c, 'IKCONFIG') !== undefined) {
    out.push(
      finding(
        'ikconfig',
        configEnabled(c, 'IKCONFIG_PROC'),
        'info',
        option(c, 'IKCONFIG_PROC'),
        '/proc/config.gz lets `hardboot doctor` check the running kernel without its .config',
        'CONFIG_IKCONFIG=y and CONFIG_IKCONFIG_PROC=y',
      ),
    );
  }
}

function checkLive(i: DoctorInputs, out: Finding[]): void {
  // Privilege: kexec_load needs CAP_SYS_BOOT in the initial user namespace.
  if (i.procStatus !== undefined) {
    const s = parseProcStatus(i.procStatus);
    const has = s.capEff !== undefined && ((s.capEff >> BigInt(CAP_SYS_BOOT)) & 1n) === 1n;
    const euid = s.uid?.[1];
    out.push(
      finding(
        'cap-sys-boot',
        has,
        'error',
        has
          ? `CAP_SYS_BOOT is in the effective set${euid === 0 ? ' (root)' : ''}`
          : `CAP_SYS_BOOT (bit ${CAP_SYS_BOOT}) is not in CapEff ${s.capEff === undefined ? '(absent)' : hex(s.capEff)}${euid !== undefined ? `, euid ${euid}` : ''}`,
        'kexec_load returns EPERM without CAP_SYS_BOOT',
        'run it as root: sudo hardboot …  (or su -c "hardboot …" on Android)',
      ),
    );
  }
  if (i.kexecLoadDisabled !== undefined) {
    const v = i.kexecLoadDisabled.trim();
    out.push(
      finding(
        'kexec-load-disabled',
        v === '0',
        'error',
        `kernel.kexec_load_disabled = ${v}`,
        'once set to 1 the sysctl cannot be cleared: kexec_load returns EPERM until the next boot',
        'reboot, and keep kernel.kexec_load_disabled=1 out of sysctl.conf / init scripts until after hardboot has loaded',
      ),
    );
  }
  if (i.lockdown !== undefined) {
    const level = parseLockdown(i.lockdown) ?? i.lockdown.trim();
    out.push(
      finding(
        'lockdown',
        level === 'none',
        'error',
        `lockdown: ${level}`,
        'at integrity or confidentiality kexec_load is refused (LOCKDOWN_KEXEC)',
        'boot with lockdown=none on the kernel command line, or without Secure Boot enforcement (CONFIG_LOCK_DOWN_IN_EFI_SECURE_BOOT raises it)',
      ),
    );
  }
  const hb = i.hardboot;
  if (hb !== undefined) {
    const facts = [`page ${hex(hb.page)}`, `flag ${hex(hb.flag)}`];
    if (hb.recordVersion !== undefined) facts.push(`record version ${hb.recordVersion}`);
    out.push(
      finding(
        'hardboot-sysfs',
        true,
        'error',
        `/sys/kernel/kexec_hardboot: ${facts.join(', ')}${hb.interface === 'file' ? ' (the first series: a single file)' : ''}`,
        'the kernel says it accepts the hardboot flag, which bit it is, and where its page is',
        '',
      ),
    );
    if (hb.ready !== undefined) {
      out.push(
        finding(
          'hardboot-status',
          hb.ready,
          'error',
          hb.ready ? 'the kernel can hardboot now (status: ready)' : `the kernel cannot hardboot now: ${hb.reason ?? 'no reason given'}`,
          'the page must be RAM the kernel uses and that nothing else owns; kexec_load refuses hardboot images otherwise',
          'choose a CONFIG_KEXEC_HARDBOOT_PAGE inside the RAM this kernel uses (no mem= below it) and outside what the boot loader and the kernel reserve, or protect it with a /reserved-memory node marked no-map',
        ),
      );
    }
    if (hb.reset !== undefined) {
      const warm = hb.reset === 'psci-system-reset2-warm';
      out.push(
        finding(
          'hardboot-reset',
          hb.reset !== 'none',
          hb.reset === 'none' ? 'error' : 'info',
          `reset by ${hb.reset}`,
          warm
            ? 'a warm reset (PSCI SYSTEM_RESET2): the firmware is asked to keep memory'
            : hb.reset === 'none'
              ? 'without PSCI 0.2+ the kernel has no way to reset into the stored kernel'
              : 'a cold reset (PSCI SYSTEM_RESET): PSCI promises nothing about memory; the board must keep it (the boot check falls back to a normal boot if not)',
          hb.reset === 'none' ? 'boot with PSCI firmware, or add the board\'s reset to the kernel series (its Documentation says how)' : '',
        ),
      );
    }
    if (hb.takeover !== undefined) {
      out.push(
        finding(
          'hardboot-takeover',
          hb.takeover,
          'warning',
          hb.takeover ? 'this kernel takes hardboot records over at boot' : 'this kernel does not take hardboot records over (CONFIG_KEXEC_HARDBOOT_TAKEOVER is off)',
          'the kernel the boot loader starts after the reset must take the record over, or the stored kernel never runs',
          hb.takeover ? '' : 'boot a kernel built with CONFIG_KEXEC_HARDBOOT_TAKEOVER=y after the reset',
        ),
      );
    }
  } else if (i.hardbootError !== undefined) {
    out.push(finding('hardboot-sysfs', false, 'error', i.hardbootError, 'the kernel\'s hardboot interface is there but not in a form hardboot reads', 'a kernel built from kernel/patches/linux-6.1 or linux-6.12'));
  } else {
    out.push(
      finding(
        'hardboot-sysfs',
        false,
        'error',
        '/sys/kernel/kexec_hardboot is absent: the running kernel cannot hardboot',
        'hardboot sends the hardboot flag only to a kernel that says which bit it is: the 6.1 series uses 0x4, which later mainline kernels give another meaning (KEXEC_UPDATE_ELFCOREHDR); the 6.12 series uses 0x8000',
        'CONFIG_KEXEC_HARDBOOT=y (kernel/patches/linux-6.1 or linux-6.12), then boot that kernel',
      ),
    );
  }
  if (i.firmwareFdt !== undefined) {
    out.push(
      finding(
        'firmware-fdt',
        i.firmwareFdt,
        'warning',
        i.firmwareFdt ? '/sys/firmware/fdt is there' : '/sys/firmware/fdt is absent',
        'hardboot takes the running DTB (memory, /chosen, board ids) from it; without it, pass --dtb and --live-dtb',
        'CONFIG_OF=y with CONFIG_OF_EARLY_FLATTREE (a device-tree boot) and CONFIG_SYSFS=y',
      ),
    );
  }
  if (i.kexecLoaded !== undefined) {
    const loaded = i.kexecLoaded.trim() === '1';
    out.push(
      finding(
        'kexec-loaded',
        true,
        'info',
        loaded ? 'a kexec image is loaded already' : 'no kexec image is loaded',
        loaded ? 'loading again replaces it; `hardboot -u` unloads it' : 'nothing to unload',
      ),
    );
  }
}

/** True when no finding is an error. */
export function ready(findings: readonly Finding[]): boolean {
  return findings.every((f) => f.ok || f.severity !== 'error');
}
