import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { GuestImage } from './guest.js';
import { KernelArtifacts } from './kernel.js';
import { EDK2_AARCH64, HARDBOOT_PAGE, SCENARIOS, describeResult, findScenario, guestAppend, hardbootRecord, runScenario } from './scenarios.js';
import { qemuCommand } from './qemu.js';

describe('planted hardboot records (hardboot-stale)', () => {
  it('lay the record out as the kernel series documents it, with a checksum that makes its words sum to 0', () => {
    const r = hardbootRecord({ version: 2, entry: 0x50000000, ranges: [{ start: 0x50000000, size: 0x1000, sum: 0xdeadbeef }] });
    const dv = new DataView(r.buffer);
    assert.equal(r.length, 0x40 + 0x18);
    assert.deepEqual([dv.getUint32(0, true), dv.getUint32(4, true), dv.getUint32(8, true), dv.getUint32(0x38, true)], [0x4a5db007, 2, 0x58, 1]);
    assert.equal(dv.getBigUint64(0x10, true), 0x50000000n);
    assert.deepEqual([dv.getBigUint64(0x40, true), dv.getBigUint64(0x48, true), dv.getUint32(0x50, true)], [0x50000000n, 0x1000n, 0xdeadbeef]);
    let sum = 0;
    for (let i = 0; i < r.length; i += 4) sum = (sum + dv.getUint32(i, true)) >>> 0;
    assert.equal(sum, 0);
    assert.equal(hardbootRecord({ version: 2, entry: 0, ranges: [] }).length, 0x40);
  });
  it('are written at the page by a QEMU loader device, and the machine options and mem= reach QEMU', () => {
    const stale = findScenario('hardboot-stale')!.variants('arm64');
    assert.deepEqual(stale.map((v) => v.label), ['version', 'no-ranges', 'entry', 'gone']);
    assert.match(stale[0]!.qemuArgs!.join(' '), new RegExp(`^-device loader,file=.*planted-arm64-version\\.bin,addr=0x${HARDBOOT_PAGE.arm64.toString(16)},force-raw=on$`));
    const el2 = findScenario('hardboot-el2')!.variants('arm64')[0]!;
    const cmd = qemuCommand({ arch: 'arm64', kernel: 'k', append: '', serialLog: '/s', reboot: true, machineOptions: el2.machine! });
    assert.equal(cmd.args[cmd.args.indexOf('-M') + 1], 'virt,virtualization=on');
    const mem = findScenario('hardboot-mem')!.variants('arm')[0]!;
    assert.match(guestAppend('hardboot', mem), / mem=0x7e00000@0x40000000 mem=0x38000000@0x48000000 hb\.args=/);
  });
});

describe('scenarios', () => {
  it('put the scenario and its words on the first kernel command line', () => {
    const kexec = findScenario('kexec')!;
    const [tree, file] = kexec.variants('arm64');
    assert.equal(guestAppend('kexec', tree!), 'console=ttyAMA0 earlycon panic=-1 hb.scenario=kexec');
    assert.equal(guestAppend('kexec', file!), 'console=ttyAMA0 earlycon panic=-1 hb.scenario=kexec hb.args=dtb-file');
  });
  it('expect the second kernel to show the marker, and the first never to finish', () => {
    for (const name of ['kexec', 'kexec-tools']) {
      for (const v of findScenario(name)!.variants('arm')) {
        assert.deepEqual(v.markers.slice(-2), ['second-init', 'marker=second']);
        assert.deepEqual(v.forbidden, ['done']);
        assert.equal(v.reboot, false);
      }
    }
  });
  it('turn QEMU DTB randomness off only where Debian kexec-tools needs it (arm64)', () => {
    assert.equal(findScenario('kexec-tools')!.variants('arm64')[0]!.dtbRandomness, false);
    assert.equal(findScenario('kexec-tools')!.variants('arm')[0]!.dtbRandomness, true);
    for (const v of findScenario('kexec')!.variants('arm64')) assert.equal(v.dtbRandomness, true);
  });
  it('boot hardboot-efi through edk2 on arm64 only, and expect the stored kernel without UEFI', async () => {
    const efi = findScenario('hardboot-efi')!;
    assert.deepEqual(efi.arches, ['arm64']);
    const [main, rejected] = efi.variants('arm64');
    for (const v of [main!, rejected!]) {
      assert.equal(v.bios, EDK2_AARCH64);
      assert.equal(v.reboot, true);
      assert.equal(v.resets, 1);
      assert.ok(v.args.includes('efi'));
      const cmd = qemuCommand({ arch: 'arm64', kernel: 'k', append: '', serialLog: '/s', reboot: true, bios: v.bios! });
      assert.deepEqual(cmd.args.slice(cmd.args.indexOf('-bios'), cmd.args.indexOf('-bios') + 3), ['-bios', EDK2_AARCH64, '-kernel']);
    }
    assert.deepEqual(main!.markers.slice(-4), ['second-init', 'marker=stored', 'uefi=no', 'dtb=stored']);
    assert.ok(main!.forbidden.includes('hardboot-rejected') && main!.forbidden.includes('init'));
    assert.match(rejected!.markers.join('|'), /init\|hardboot-rejected rejected record at 0x4ffff000: segment at 0x50000000 changed\|hardboot-uefi$/);
    assert.ok(rejected!.forbidden.includes('second-init'));
    // On arm it runs nothing, and says so through the CLI.
    const kernel = { image: '/nonexistent/zImage' } as KernelArtifacts;
    const guest: GuestImage = { arch: 'arm', initrd: '/n/i', secondInitrd: '/n/s', layers: [], hasBundle: true };
    assert.deepEqual(await runScenario(efi, 'arm', kernel, guest, { cache: dir, qemuBinary: '/nonexistent/qemu' }), []);
  });
  it('have a guest script each', async () => {
    const { existsSync } = await import('node:fs');
    const { repoRoot } = await import('./env.js');
    for (const s of SCENARIOS) assert.ok(existsSync(join(repoRoot, 'lab', 'guest', 'scenarios', `${s.script ?? s.name}.sh`)), s.name);
  });

  const dir = mkdtempSync(join(tmpdir(), 'hb-scen-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  it('fail the hardboot scenario clearly, without booting, when the guest has no bundle', async () => {
    const kernel = { image: '/nonexistent/Image' } as KernelArtifacts;
    const guest: GuestImage = { arch: 'arm64', initrd: '/nonexistent/initrd', secondInitrd: '/r/second.cpio.gz', layers: [], hasBundle: false, noBundleReason: '/r/dist/hardboot.mjs is missing (`npm run build` makes it)' };
    const rs = await runScenario(findScenario('kexec')!, 'arm64', kernel, guest, { cache: dir, qemuBinary: '/nonexistent/qemu' });
    assert.equal(rs.length, 2);
    for (const r of rs) {
      assert.equal(r.ok, false);
      assert.equal(r.durationMs, 0);
    }
    assert.equal(describeResult(rs[0]!), 'FAIL kexec arm64 running-tree: the guest has no /usr/bin/hardboot: /r/dist/hardboot.mjs is missing (`npm run build` makes it)');
    assert.equal(rs[0]!.log, join(dir, 'logs', 'lab-kexec-arm64-running-tree.log'));
  });
  it('report a QEMU that cannot start as a failed run with its log', async () => {
    const kernel = { image: '/nonexistent/Image' } as KernelArtifacts;
    const guest: GuestImage = { arch: 'arm', initrd: '/nonexistent/initrd', secondInitrd: '/r/second.cpio.gz', layers: [], hasBundle: false };
    const [r] = await runScenario(findScenario('boot')!, 'arm', kernel, guest, { cache: dir, qemuBinary: join(dir, 'no-qemu') });
    assert.equal(r!.ok, false);
    assert.match(r!.reason!, /^cannot start .*no-qemu: spawn .* ENOENT/);
    assert.equal(r!.log, join(dir, 'logs', 'lab-boot-arm.log'));
  });
});
