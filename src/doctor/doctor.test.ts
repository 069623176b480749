import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { debianKernels, fixture } from '../../test/support.js';
import { renderFindings } from '../cli/doctor-render.js';
import { parseKernelConfig } from '../formats/ikconfig.js';
import { configArch, doctor, type Finding, ready } from './doctor.js';

const k = debianKernels();
const debianArm64 = parseKernelConfig(readFileSync(k.arm64.config, 'utf8'));
const debianArm = parseKernelConfig(readFileSync(k.arm.config, 'utf8'));
const labText = readFileSync(fixture('ikconfig', 'lab-arm64.config'), 'utf8');
const lab = parseKernelConfig(labText);
const patched = parseKernelConfig(`${labText}CONFIG_KEXEC_HARDBOOT=y\nCONFIG_KEXEC_HARDBOOT_PAGE=0x5f000000\n`);

const byId = (fs: Finding[]) => new Map(fs.map((f) => [f.id, f]));
const problems = (fs: Finding[]) => fs.filter((f) => !f.ok).map((f) => `${f.severity} ${f.id}`);

/** A /proc/self/status as Linux 6.1 prints it (fs/proc/array.c), trimmed to the lines read. */
const status = (uid: number, capEff: string) => `Name:\thardboot\nUmask:\t0022\nState:\tR (running)\nUid:\t${uid}\t${uid}\t${uid}\t${uid}\nGid:\t0\t0\t0\t0\nCapInh:\t0000000000000000\nCapPrm:\t${capEff}\nCapEff:\t${capEff}\nCapBnd:\t000001ffffffffff\n`;

describe('doctor: kernel configurations', () => {
  it("Debian's arm64 kernel: everything but the hardboot option (an unpatched kernel)", () => {
    const f = doctor({ config: debianArm64, configSource: k.arm64.config, live: false });
    assert.equal(configArch(debianArm64), 'arm64');
    assert.deepEqual(problems(f), ['error kexec-hardboot', 'info ikconfig']);
    const m = byId(f);
    assert.equal(m.get('kexec-hardboot')!.what, 'CONFIG_KEXEC_HARDBOOT absent');
    assert.equal(m.get('kexec-hardboot')!.fix, 'CONFIG_KEXEC_HARDBOOT=y (after applying kernel/patches/linux-6.1 or linux-6.12)');
    assert.equal(m.get('kexec')!.what, 'CONFIG_KEXEC=y');
    assert.equal(m.get('pm-sleep-smp')!.what, 'CONFIG_PM_SLEEP_SMP=y');
    assert.equal(m.get('ikconfig')!.what, 'CONFIG_IKCONFIG_PROC absent');
    assert.ok(!ready(f));
  });

  it("Debian's armhf kernel: the arm checks (MMU, PM_SLEEP_SMP under SMP, AUTO_ZRELADDR and ATAGS notes)", () => {
    const f = doctor({ config: debianArm, live: false });
    assert.equal(configArch(debianArm), 'arm');
    const m = byId(f);
    assert.ok(m.get('mmu')!.ok && m.get('pm-sleep-smp')!.ok);
    assert.equal(m.get('auto-zreladdr')!.what, 'CONFIG_AUTO_ZRELADDR=y');
    assert.match(m.get('atags')!.why, /ATAGS support is built in/);
    assert.equal(m.get('hotplug-cpu'), undefined, 'an arm64 check');
    assert.deepEqual(problems(f), ['error kexec-hardboot', 'info ikconfig']);
  });

  it('the lab kernel (IKCONFIG fixture) before the patch series, and with the options it adds', () => {
    assert.deepEqual(problems(doctor({ config: lab, live: false })), ['error kexec-hardboot']);
    const f = doctor({ config: patched, live: false });
    assert.deepEqual(problems(f), []);
    assert.equal(byId(f).get('kexec-hardboot-page')!.what, 'CONFIG_KEXEC_HARDBOOT_PAGE=0x5f000000');
    assert.ok(ready(f));
  });

  it('a page that is missing or not page-aligned; KEXEC off; lockdown forced by the build', () => {
    const bad = parseKernelConfig('CONFIG_ARM64=y\n# CONFIG_KEXEC is not set\nCONFIG_KEXEC_HARDBOOT=y\nCONFIG_KEXEC_HARDBOOT_PAGE=0x5f000800\nCONFIG_LOCK_DOWN_KERNEL_FORCE_INTEGRITY=y\n');
    const m = byId(doctor({ config: bad, live: false }));
    assert.equal(m.get('kexec')!.what, 'CONFIG_KEXEC is not set');
    assert.equal(m.get('kexec')!.fix, 'CONFIG_KEXEC=y');
    assert.equal(m.get('kexec-hardboot-page')!.ok, false);
    assert.equal(m.get('kexec-hardboot-page')!.what, 'CONFIG_KEXEC_HARDBOOT_PAGE=0x5f000800');
    assert.equal(m.get('lockdown-config')!.fix, 'CONFIG_LOCK_DOWN_KERNEL_FORCE_NONE=y');
    assert.equal(m.get('pm-sleep-smp')!.fix, 'CONFIG_SUSPEND=y and CONFIG_PM_SLEEP_SMP=y');
    const none = byId(doctor({ config: parseKernelConfig('CONFIG_ARM64=y\nCONFIG_KEXEC_HARDBOOT=y\n'), live: false }));
    assert.equal(none.get('kexec-hardboot-page')!.what, 'CONFIG_KEXEC_HARDBOOT_PAGE absent');
  });

  it('no configuration at all: one warning with the way to get one', () => {
    const f = doctor({ live: false });
    assert.deepEqual(f.map((x) => [x.id, x.severity, x.ok]), [['config', 'warning', false]]);
    assert.equal(f[0]!.fix, 'hardboot doctor --config <.config>, or --kernel <image> built with CONFIG_IKCONFIG=y');
    assert.match(doctor({ live: true }).find((x) => x.id === 'config')!.fix, /CONFIG_IKCONFIG_PROC=y \(gives \/proc\/config\.gz\)/);
  });
});

describe('doctor: the running system', () => {
  const ok = { live: true, config: patched, configSource: '/proc/config.gz', procStatus: status(0, '000001ffffffffff'), kexecLoadDisabled: '0\n', lockdown: '[none] integrity confidentiality\n', hardboot: { interface: 'directory' as const, page: 0x5f000000, flag: 0x4, recordVersion: 2, reset: 'psci-system-reset', ready: true, takeover: true, check: 'full' }, firmwareFdt: true, kexecLoaded: '0\n' };

  it('a ready system', () => {
    const f = doctor(ok);
    assert.deepEqual(problems(f), []);
    const m = byId(f);
    assert.equal(m.get('cap-sys-boot')!.what, 'CAP_SYS_BOOT is in the effective set (root)');
    assert.equal(m.get('hardboot-sysfs')!.what, '/sys/kernel/kexec_hardboot: page 0x5f000000, flag 0x4, record version 2');
    assert.equal(m.get('hardboot-reset')!.what, 'reset by psci-system-reset');
    assert.match(m.get('hardboot-reset')!.why, /a cold reset/);
    assert.ok(ready(f));
  });

  it('each live problem, with its fix', () => {
    const f = doctor({ ...ok, procStatus: status(1000, '0000000000000000'), kexecLoadDisabled: '1', lockdown: 'none [integrity] confidentiality', hardboot: undefined, firmwareFdt: false, kexecLoaded: '1' });
    assert.deepEqual(problems(f), ['error cap-sys-boot', 'error kexec-load-disabled', 'error lockdown', 'error hardboot-sysfs', 'warning firmware-fdt']);
    const m = byId(f);
    assert.equal(m.get('cap-sys-boot')!.what, 'CAP_SYS_BOOT (bit 22) is not in CapEff 0x0, euid 1000');
    assert.equal(m.get('lockdown')!.what, 'lockdown: integrity');
    assert.equal(m.get('kexec-load-disabled')!.what, 'kernel.kexec_load_disabled = 1');
    assert.equal(m.get('hardboot-sysfs')!.fix, 'CONFIG_KEXEC_HARDBOOT=y (kernel/patches/linux-6.1 or linux-6.12), then boot that kernel');
    assert.equal(m.get('kexec-loaded')!.what, 'a kexec image is loaded already');
  });

  it('CAP_SYS_BOOT alone (bit 22) is enough, root or not', () => {
    const f = byId(doctor({ ...ok, procStatus: status(1000, (1n << 22n).toString(16).padStart(16, '0')) }));
    assert.equal(f.get('cap-sys-boot')!.ok, true);
    assert.equal(f.get('cap-sys-boot')!.what, 'CAP_SYS_BOOT is in the effective set');
  });

});

describe('renderFindings', () => {
  it('one line per finding; why and fix under each problem; a verdict', () => {
    const text = renderFindings(doctor({ config: parseKernelConfig('CONFIG_ARM64=y\nCONFIG_KEXEC=y\nCONFIG_PROC_FS=y\nCONFIG_OF=y\nCONFIG_SYSFS=y\nCONFIG_PM_SLEEP_SMP=y\nCONFIG_HOTPLUG_CPU=y\n'), configSource: 'x.config', live: false }));
    const lines = text.split('\n');
    assert.equal(lines[0], '[ok   ] config           kernel configuration from x.config (arm64)');
    assert.equal(lines[2], '[ERROR] kexec-hardboot   CONFIG_KEXEC_HARDBOOT absent');
    assert.match(lines[3]!, /^ {25}why: the kernel accepts the hardboot flag/);
    assert.equal(lines[4], `${' '.repeat(25)}fix: CONFIG_KEXEC_HARDBOOT=y (after applying kernel/patches/linux-6.1 or linux-6.12)`);
    assert.equal(lines.at(-2), 'not ready: 1 error, 0 warnings');
    assert.match(renderFindings(doctor({ config: patched, live: false })), /\nready for kexec-hardboot \(0 warnings\)\n$/);
  });
});
