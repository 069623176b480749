/**
 * What a phone user types: boot images, vendor_boot, DTB tables picked by the
 * running board's ids, --boardname's live copies, inspect and doctor — through
 * the CLI, with reference tools building and reading the inputs.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, describe, it } from 'node:test';
import { fixture } from '../../test/support.js';
import { fakeHost, run } from '../../test/host.js';
import { makeArm64Image } from '../../test/kernels.js';
import { findNode, getProp, parseFdt, readString, writeFdt } from '../formats/fdt.js';
import { memoryFromFdt, setMemoryReg } from '../formats/fdt-memory.js';
import { qcdtIdsFromFdt, writeQcdt } from '../formats/qcdt.js';

const tmp = mkdtempSync(join(tmpdir(), 'hb-phone-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const file = (name: string, bytes: Uint8Array | string) => {
  const p = join(tmp, name);
  writeFileSync(p, bytes);
  return p;
};
const dts = (path: string) => execFileSync('dtc', ['-q', '-I', 'dtb', '-O', 'dts', path], { encoding: 'utf8' });

const image = file('Image', makeArm64Image({ textOffset: 0, imageSize: 0x400000, fileSize: 0x300000 }));
const ramdisk = file('ramdisk.cpio.gz', gzipSync(Buffer.alloc(0x20000, 7)));
const virt64 = fixture('dtb', 'qemu-virt-arm64.dtb');
const MEM = '--memory=0x40000000-0x7fffffff';

describe('an Android boot image as the kernel', () => {
  it('takes kernel, ramdisk, DTB and command line from a v2 image made by mkbootimg', async () => {
    const img = join(tmp, 'boot-v2.img');
    execFileSync('mkbootimg', ['--header_version', '2', '--kernel', image, '--ramdisk', ramdisk, '--dtb', virt64, '--cmdline', 'console=ttyAMA0 hb.marker=bootimg', '-o', img]);
    const dir = join(tmp, 'v2');
    const r = await run(['--dry-run', '--json', '--arch=arm64', MEM, '-l', img, '--append=extra', `--save-segments=${dir}`], fakeHost());
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    assert.equal(j.kernel.format, 'Android boot image v2, kernel: arm64-image');
    assert.equal(j.commandLine, 'console=ttyAMA0 hb.marker=bootimg extra');
    assert.equal(j.dtb.source, `from ${img}`);
    assert.deepEqual(readFileSync(join(dir, '0-kernel.bin')), readFileSync(image));
    assert.deepEqual(readFileSync(join(dir, '1-initrd.bin')), readFileSync(ramdisk));
    assert.match(dts(join(dir, '2-dtb.bin')), /bootargs = "console=ttyAMA0 hb\.marker=bootimg extra";/);
  });

  it('lets --initrd, --dtb and --command-line override each part', async () => {
    const img = join(tmp, 'boot-v0.img');
    execFileSync('mkbootimg', ['--header_version', '0', '--kernel', image, '--ramdisk', ramdisk, '--cmdline', 'from-bootimg', '-o', img]);
    const other = file('other-initrd', new Uint8Array(0x3000).fill(1));
    const r = await run(['--dry-run', '--json', '--arch=arm64', MEM, '-l', img, `--initrd=${other}`, `--dtb=${virt64}`, '--command-line=mine'], fakeHost());
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    assert.equal(j.commandLine, 'mine');
    assert.equal(j.segments[1].bufsz, '0x3000');
    assert.equal(j.dtb.source, virt64);
  });

  it('puts the running line first with --reuse-cmdline (MultiROM)', async () => {
    const img = join(tmp, 'boot-v1.img');
    execFileSync('mkbootimg', ['--header_version', '1', '--kernel', image, '--ramdisk', ramdisk, '--cmdline', 'rom=secondary', '-o', img]);
    // On the phone itself: the running line is its /proc/cmdline.
    const h = fakeHost({ arch: 'arm64', fdt: virt64, cmdline: 'BOOT_IMAGE=x androidboot.serialno=42 console=ttyAMA0\n' });
    const r = await run(['--dry-run', '--json', `--dtb=${virt64}`, '-l', img, '--reuse-cmdline'], h);
    assert.equal(r.code, 0, r.err);
    assert.equal(JSON.parse(r.out).commandLine, 'androidboot.serialno=42 console=ttyAMA0 rom=secondary');
  });

  it('merges a v3 boot image with its vendor_boot', async () => {
    const boot = join(tmp, 'boot-v3.img');
    const vendor = join(tmp, 'vendor_boot.img');
    const vramdisk = file('vendor-ramdisk', new Uint8Array(0x5000).fill(9));
    execFileSync('mkbootimg', ['--header_version', '3', '--kernel', image, '--ramdisk', ramdisk, '--cmdline', 'generic', '-o', boot]);
    execFileSync('mkbootimg', ['--header_version', '3', '--vendor_ramdisk', vramdisk, '--dtb', virt64, '--vendor_cmdline', 'vendor', '--vendor_boot', vendor]);
    const dir = join(tmp, 'v3');
    const r = await run(['--dry-run', '--json', '--arch=arm64', MEM, '-l', boot, `--vendor-boot=${vendor}`, `--save-segments=${dir}`], fakeHost());
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    assert.equal(j.kernel.format, 'Android boot image v3 + vendor_boot v3, kernel: arm64-image');
    assert.equal(j.commandLine, 'generic vendor');
    // The bootloader's initrd: the vendor ramdisk, then the generic one.
    assert.deepEqual(readFileSync(join(dir, '1-initrd.bin')), Buffer.concat([readFileSync(vramdisk), readFileSync(ramdisk)]));
    const noVendor = await run(['--dry-run', '--arch=arm64', MEM, '-l', image, `--vendor-boot=${vendor}`], fakeHost());
    assert.equal(noVendor.code, 2);
    assert.match(noVendor.err, /--vendor-boot goes with a boot image/);
  });
});

describe('a QCDT dt.img and the running board', () => {
  const q = (name: string) => new Uint8Array(readFileSync(fixture('qcom', name)));
  const dtbs = ['msm8992-lg-bullhead-rev-10.dtb', 'msm8992-lg-bullhead-rev-101.dtb', 'msm8992-xiaomi-libra.dtb'].map(q);
  const table = file(
    'dt.img',
    writeQcdt({ version: 3, entries: dtbs.flatMap((dtb) => qcdtIdsFromFdt(parseFdt(dtb)).ids.map((ids) => ({ ...ids, dtb }))) }),
  );
  // The phone's running tree: bullhead rev 1.01 as its bootloader filled it in (3 GiB of RAM).
  const running = parseFdt(q('msm8992-lg-bullhead-rev-101.dtb'));
  setMemoryReg(running, [{ start: 0, size: 0xc0000000 }]);
  const live = file('live.dtb', writeFdt(running));

  it('boots the DTB whose ids match the running ones and copies the running RAM into it', async () => {
    const dir = join(tmp, 'qcdt');
    const r = await run(
      ['--dry-run', '--json', '--arch=arm64', '--memory=0x0-0xbfffffff', `--dtb=${table}`, `--live-dtb=${live}`, '--boardname=bullhead', '-l', image, `--save-segments=${dir}`],
      fakeHost(),
    );
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    assert.match(j.dtb.source, /^QCDT entry \d+ \(exact match\)$/);
    const chosen = parseFdt(readFileSync(join(dir, '1-dtb.bin')));
    assert.equal(readString(getProp(chosen.root, 'model')!), 'LG Nexus 5X rev 1.01'); // not rev 1.0, not the Mi 4C
    assert.deepEqual([...getProp(chosen.root, 'qcom,board-id')!.value], [0, 0, 0x0b, 0x64, 0, 0, 0, 0]); // <0xb64 0>: rev 1.01
    assert.deepEqual(memoryFromFdt(chosen).memory, [{ start: 0, size: 0xc0000000 }]);
    assert.match(r.err, /board bullhead: copied \/memory@0\/reg from the running tree|board bullhead: copied \/memory[^ ]*\/reg/);
    assert.ok(findNode(chosen, '/chosen'));
  });

  it('lists every candidate and the running ids when nothing matches', async () => {
    const r = await run(
      ['--dry-run', '--arch=arm64', '--memory=0x0-0xbfffffff', `--dtb=${table}`, `--live-dtb=${fixture('dtb', 'msm8994-huawei-angler-rev-101.dtb')}`, '-l', image],
      fakeHost(),
    );
    assert.equal(r.code, 4);
    assert.match(r.err, /platform 0xcf/);
    assert.match(r.err, /QCDT entry 0/);
  });

  it('refuses an unknown --boardname and names the known ones', async () => {
    const r = await run(['--dry-run', '--arch=arm64', MEM, `--dtb=${virt64}`, '--boardname=nokia3310', '-l', image], fakeHost());
    assert.equal(r.code, 2);
    assert.match(r.err, /--boardname=nokia3310: unknown board; known: hammerhead, .*shamu/);
  });

  it('inspect lists the table entries with their ids and models', async () => {
    const r = await run(['inspect', table, '--json'], fakeHost());
    assert.equal(r.code, 0, r.err);
    const [ins] = JSON.parse(r.out);
    assert.match(ins.format, /QCDT/);
    assert.ok(ins.items.length >= 3);
    assert.ok(ins.items.some((i: { dtb?: { model?: string } }) => i.dtb?.model === 'Xiaomi Mi 4C'));
    const text = await run(['inspect', table], fakeHost());
    assert.match(text.out, /LG Nexus 5X rev 1.0\b/);
  });
});

describe('hardboot doctor', () => {
  const good = [
    'CONFIG_ARM64=y',
    'CONFIG_KEXEC=y',
    'CONFIG_KEXEC_HARDBOOT=y',
    'CONFIG_KEXEC_HARDBOOT_PAGE=0x47fff000',
    'CONFIG_PROC_FS=y',
    'CONFIG_OF=y',
    'CONFIG_SYSFS=y',
    'CONFIG_PM_SLEEP_SMP=y',
    'CONFIG_HOTPLUG_CPU=y',
    'CONFIG_IKCONFIG=y',
    'CONFIG_IKCONFIG_PROC=y',
    '',
  ].join('\n');

  it('names the missing option in a .config, with its fix, and exits 6', async () => {
    const cfg = file('bad.config', good.replace('CONFIG_KEXEC_HARDBOOT=y\n', '# CONFIG_KEXEC_HARDBOOT is not set\n'));
    const r = await run(['doctor', `--config=${cfg}`, '--json'], fakeHost());
    assert.equal(r.code, 6);
    const j = JSON.parse(r.out);
    assert.equal(j.ready, false);
    const f = j.findings.find((x: { id: string }) => x.id === 'kexec-hardboot');
    assert.equal(f.ok, false);
    assert.match(f.fix, /^CONFIG_KEXEC_HARDBOOT=y/);
  });

  it('reports a running patched kernel ready, from /proc/config.gz and sysfs, with the kernel\'s hardboot facts', async () => {
    const h = fakeHost({
      arch: 'arm64',
      hardboot: { interface: 'directory', page: 0x47fff000, flag: 0x4, recordVersion: 2, reset: 'psci-system-reset', ready: true, takeover: true, check: 'full' },
      sys: {
        '/proc/config.gz': gzipSync(good),
        '/sys/kernel/kexec_loaded': '0\n',
        '/sys/firmware/fdt': readFileSync(virt64),
        '/proc/self/status': 'Name:\tnode\nUid:\t0\t0\t0\t0\nCapEff:\t000001ffffffffff\n',
        '/proc/sys/kernel/kexec_load_disabled': '0\n',
      },
    });
    const r = await run(['doctor'], h);
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(r.out, /ready for kexec-hardboot/);
    assert.match(r.out, /^\[ok {3}\] hardboot-sysfs +\/sys\/kernel\/kexec_hardboot: page 0x47fff000, flag 0x4, record version 2$/m);
    assert.match(r.out, /^\[ok {3}\] hardboot-status +the kernel can hardboot now \(status: ready\)$/m);
    assert.match(r.out, /^\[ok {3}\] hardboot-reset +reset by psci-system-reset$/m);
    assert.match(r.out, /^\[ok {3}\] hardboot-takeover +this kernel takes hardboot records over at boot$/m);
  });

  it('says a kernel without the patch is not ready', async () => {
    const h = fakeHost({
      arch: 'arm64',
      sys: { '/proc/config.gz': gzipSync(good.replace(/CONFIG_KEXEC_HARDBOOT.*\n/g, '')), '/sys/kernel/kexec_loaded': '0\n', '/proc/self/status': 'Uid:\t0\t0\t0\t0\nCapEff:\t000001ffffffffff\n' },
    });
    const r = await run(['doctor', '--json'], h);
    assert.equal(r.code, 6);
    const ids = JSON.parse(r.out).findings.filter((f: { ok: boolean }) => !f.ok).map((f: { id: string }) => f.id);
    assert.ok(ids.includes('kexec-hardboot'), ids.join());
  });

  it('takes only its own options', async () => {
    const r = await run(['doctor', '--initrd=x'], fakeHost());
    assert.equal(r.code, 2);
    assert.equal(r.err, 'hardboot: doctor does not take --initrd\n');
  });
});
