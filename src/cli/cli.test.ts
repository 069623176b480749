import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { debianKernels, fixture, repoRoot } from '../../test/support.js';
import { fakeHost, run } from '../../test/host.js';
import { makeArm64Image } from '../../test/kernels.js';
import { OPTIONS } from './args.js';
import { hex } from '../errors.js';
import { parseFdt } from '../formats/fdt.js';
import { memoryFromFdt } from '../formats/fdt-memory.js';

const tmp = mkdtempSync(join(tmpdir(), 'hb-cli-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const file = (name: string, bytes: Uint8Array | string) => {
  const p = join(tmp, name);
  writeFileSync(p, bytes);
  return p;
};

const deb = debianKernels();
/** TEXT_OFFSET as the armhf zImage's KRNL_SIZE tag states it (the tag table's first tag, payload word 2), read raw. */
const armTextOffset = (() => {
  const z = readFileSync(deb.arm.kernel);
  const tag = z.readUInt32LE(0x38);
  assert.equal(z.readUInt32LE(tag + 4), 0x5a534c4b, 'the first tag is KRNL_SIZE');
  return z.readUInt32LE(tag + 16);
})();
const virt64 = fixture('dtb', 'qemu-virt-arm64.dtb');
const virt32 = fixture('dtb', 'qemu-virt-arm.dtb');
const initrd = file('initrd.img', new Uint8Array(0x123456).fill(0x5a));
const image = file('Image', makeArm64Image({ textOffset: 0, imageSize: 0x1400000, fileSize: 0x1000000 }));

/** Reads a DTB back with the reference compiler. */
function dts(path: string): string {
  return execFileSync('dtc', ['-q', '-I', 'dtb', '-O', 'dts', path], { encoding: 'utf8' });
}

describe('hardboot --help', () => {
  it('documents every option and the exit codes', async () => {
    const r = await run(['--help'], fakeHost());
    assert.equal(r.code, 0);
    for (const o of OPTIONS) assert.match(r.out, new RegExp(`--${o.long}\\b`));
    assert.match(r.out, /Exit codes:\n {2}0 success {3}1 internal error {3}2 usage error {3}3 invalid input file/);
  });
});

describe('hardboot --dry-run on Debian kernels', () => {
  it('plans Debian\'s arm64 Image on QEMU virt and prints the table and the map', async () => {
    const r = await run(
      ['--dry-run', '--arch=arm64', `--dtb=${virt64}`, '-l', deb.arm64.kernel, `--initrd=${initrd}`, '--append=console=ttyAMA0 hb.marker=two'],
      fakeHost(),
    );
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^arch arm64 {3}flags 0xb70000 {3}entry 0x4[0-9a-f]+$/m);
    assert.match(r.out, /^0 +kernel +0x40000000 /m);
    assert.match(r.out, /^3 +trampoline /m);
    assert.match(r.out, /^ {2}0x40000000 \|K+I?D?T?\.+\| 0x80000000 {2}1 GiB RAM$/m);
    assert.match(r.out, /command line: "console=ttyAMA0 hb\.marker=two"/);
    assert.match(r.out, /memory \(DTB \/memory and \/reserved-memory\)/);
  });

  it('plans Debian\'s armhf zImage with --json, and saves the exact segment bytes', async () => {
    const dir = join(tmp, 'segs-arm');
    const r = await run(
      ['--dry-run', '--json', '--arch=arm', `--dtb=${virt32}`, '-l', deb.arm.kernel, `--initrd=${initrd}`, '--command-line=console=ttyAMA0', `--save-segments=${dir}`],
      fakeHost(),
    );
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    assert.equal(j.arch, 'arm');
    assert.equal(j.flags, '0x280000');
    assert.deepEqual(j.segments.map((s: { kind: string }) => s.kind), ['kernel', 'initrd', 'dtb']);
    for (const s of j.segments) {
      assert.match(s.mem, /^0x[0-9a-f]+$/);
      assert.match(s.memsz, /^0x[0-9a-f]+000$/);
    }
    // The zImage runs at its 128 MiB window base + TEXT_OFFSET (0x208000 in Debian's armmp today).
    assert.equal(j.entry, hex(0x40000000 + armTextOffset));
    assert.equal(j.segments[0].mem, j.entry);
    assert.deepEqual(readdirSync(dir).sort(), ['0-kernel.bin', '1-initrd.bin', '2-dtb.bin']);
    assert.deepEqual(readFileSync(join(dir, '0-kernel.bin')), readFileSync(deb.arm.kernel));
    assert.deepEqual(readFileSync(join(dir, '1-initrd.bin')), readFileSync(initrd));
    const src = dts(join(dir, '2-dtb.bin'));
    const start = Number(j.segments[1].mem);
    assert.match(src, /bootargs = "console=ttyAMA0";/);
    assert.match(src, new RegExp(`linux,initrd-start = <0x${start.toString(16)}>;`));
    assert.match(src, new RegExp(`linux,initrd-end = <0x${(start + 0x123456).toString(16)}>;`));
    assert.equal(j.dtb.mem, j.segments[2].mem);
    assert.equal(j.loaded, false);
  });

  it('saves an arm64 trampoline that points at the saved DTB and kernel', async () => {
    const dir = join(tmp, 'segs-arm64');
    const r = await run(['--dry-run', '--json', '--arch=arm64', `--dtb=${virt64}`, '-l', image, `--save-segments=${dir}`], fakeHost());
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    const tb = readFileSync(join(dir, '2-trampoline.bin'));
    const t = new DataView(tb.buffer, tb.byteOffset, tb.byteLength);
    assert.equal(t.getBigUint64(0x18, true), BigInt(j.segments[1].mem));
    assert.equal(t.getBigUint64(0x20, true), BigInt(j.segments[0].mem));
    assert.equal(j.entry, j.segments[2].mem);
    // No --command-line: QEMU's own /chosen/bootargs (none) stays; seeds are refreshed, not kept.
    const src = dts(join(dir, '1-dtb.bin'));
    assert.doesNotMatch(src, /linux,initrd-start/);
    assert.match(src, /kaslr-seed = <0x1080f16 0x1d242b32>;/);
  });
});

describe('hardboot --dry-run on board DTBs', () => {
  it('takes RAM and reserved regions from a board DTB (vexpress, armhf zImage)', async () => {
    const r = await run(['--dry-run', '--json', '--arch=arm', `--dtb=${fixture('dtb', 'vexpress-v2p-ca15-tc1.dtb')}`, '-l', deb.arm.kernel, `--initrd=${initrd}`], fakeHost());
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    // vexpress: 1 GiB at 0x80000000 (its /memory); the zImage runs at the window base + TEXT_OFFSET.
    assert.equal(j.entry, hex(0x80000000 + armTextOffset));
    assert.equal(j.dtb.source.endsWith('vexpress-v2p-ca15-tc1.dtb'), true);
  });

  it('keeps clear of every /reserved-memory region of the Nexus 6P tree', async () => {
    const angler = fixture('dtb', 'msm8994-huawei-angler-rev-101.dtb');
    const h = fakeHost();
    // The 6P's /memory reg is left for the bootloader to fill (size 0): RAM comes from --memory.
    const noRam = await run(['--dry-run', '--arch=arm64', `--dtb=${angler}`, '-l', image], h);
    assert.equal(noRam.code, 3);
    assert.match(noRam.err, /expected a \/memory node with a non-empty reg, found none \(the bootloader fills it in\? give --memory=START-END\)/);
    const r = await run(['--dry-run', '--json', '--arch=arm64', `--dtb=${angler}`, '--memory=0x0-0xbfffffff', '-l', deb.arm64.kernel, `--initrd=${initrd}`], h);
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    const reserved = memoryFromFdt(parseFdt(readFileSync(angler))).reserved;
    assert.ok(reserved.length > 5);
    for (const s of j.segments) {
      const a = Number(s.mem);
      const b = a + Number(s.memsz);
      for (const x of reserved) assert.ok(b <= x.start || a >= x.start + x.size, `${s.kind} overlaps ${x.name}`);
    }
    assert.deepEqual(h.calls, []);
  });
});

describe('hardboot -l on a (fake) arm64 machine', () => {
  const iomem = readFileSync(fixture('proc', 'iomem-arm64-virt.txt'), 'utf8');
  const host = () => fakeHost({ arch: 'arm64', iomem, fdt: virt64, cmdline: 'BOOT_IMAGE=x console=ttyAMA0 hb.scenario=kexec\n' });

  it('loads the plan once, with the running tree and --reuse-cmdline + --append', async () => {
    const h = host();
    const r = await run(['-l', image, `--initrd=${initrd}`, '--reuse-cmdline', '--append=hb.marker=second'], h);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, '');
    assert.equal(h.calls.length, 1);
    const p = h.calls[0]!.plan!;
    assert.equal(p.flags, 0xb70000);
    assert.equal(p.commandLine, 'console=ttyAMA0 hb.scenario=kexec hb.marker=second');
    assert.equal(p.dtb.source, 'running (/sys/firmware/fdt)');
    assert.equal(p.memory.source, '/proc/iomem');
  });

  it('loads with the hardboot flag where the kernel reports a page', async () => {
    const h = fakeHost({ arch: 'arm64', iomem, fdt: virt64, hardbootPage: 0x7fff0000 });
    const r = await run(['--load-hardboot', image, '--mem-min=0x50000000', '--append=x'], h);
    assert.equal(r.code, 0, r.err);
    assert.equal(h.calls[0]!.plan!.flags, 0xb70004);
    assert.ok(h.calls[0]!.plan!.segments.every((s) => s.mem >= 0x50000000));
  });

  it('sends the flag bit the kernel advertises in /sys/kernel/kexec_hardboot/flag, never an assumed 0x4', async () => {
    const hardboot = { interface: 'directory' as const, page: 0x7fff0000, flag: 0x40, recordVersion: 2, reset: 'psci-system-reset', ready: true, takeover: true };
    const h = fakeHost({ arch: 'arm64', iomem, fdt: virt64, hardboot });
    const r = await run(['--load-hardboot', image, '--mem-min=0x50000000'], h);
    assert.equal(r.code, 0, r.err);
    assert.equal(h.calls[0]!.plan!.flags, 0xb70040);
  });

  it('refuses, before any kexec_load, a hardboot the kernel says it cannot do now', async () => {
    const why = 'the page is not in the RAM this kernel uses (a mem= limit, or not RAM)';
    const h = fakeHost({ arch: 'arm64', iomem, fdt: virt64, hardboot: { interface: 'directory', page: 0x7fff0000, flag: 0x4, ready: false, reason: why } });
    const r = await run(['--load-hardboot', image, '--mem-min=0x50000000'], h);
    assert.equal(r.code, 5);
    assert.equal(r.err, `hardboot: this kernel cannot hardboot now: ${why} (/sys/kernel/kexec_hardboot/status; run: hardboot doctor)\n`);
    assert.deepEqual(h.calls, []);
  });

  it('runs -e only when an image is loaded, and -u', async () => {
    const idle = host();
    const r = await run(['-e'], idle);
    assert.equal(r.code, 5);
    assert.equal(r.err, 'hardboot: no kernel is loaded: run hardboot -l KERNEL (or --load-hardboot) first\n');
    assert.deepEqual(idle.calls, []);
    const loaded = fakeHost({ arch: 'arm64', loaded: true });
    await run(['-e'], loaded);
    assert.deepEqual(loaded.calls, [{ call: 'exec' }]);
    const u = host();
    assert.equal((await run(['-u'], u)).code, 0);
    assert.deepEqual(u.calls, [{ call: 'unload', arch: 'arm64' }]);
  });
});

describe('bad input: a clear error, a non-zero exit, and no kexec_load', () => {
  const iomem = readFileSync(fixture('proc', 'iomem-arm64-virt.txt'), 'utf8');
  const trunc = file('truncated', readFileSync(deb.arm64.kernel).subarray(0, 0x30));
  const notKernel = file('notkernel', new TextEncoder().encode('#!/bin/sh\necho not a kernel\n'.repeat(4)));
  const badDtb = file('bad.dtb', readFileSync(virt64).subarray(0, 0x20));
  // The zImage's own length, read from its header (end − start at 0x2c and 0x28): Debian's changes
  // with every point release, so the expectation comes from the file, not from a constant.
  const zImageSize = (() => {
    const h = readFileSync(deb.arm.kernel).subarray(0, 0x30);
    return h.readUInt32LE(0x2c) - h.readUInt32LE(0x28);
  })();
  const shortZ = (() => {
    const z = new Uint8Array(readFileSync(deb.arm.kernel).subarray(0, 0x10000));
    return file('zImage-cut', z);
  })();
  const big = file('big-initrd', new Uint8Array(0x4000000));

  const cases: [string, string[], number, RegExp | string][] = [
    ['truncated Image', ['-l', trunc], 3, `hardboot: ${trunc}: kernel at offset 0x0: expected an ARM zImage (0x016f2818 at 0x24) or an arm64 Image ("ARM\\x64" at 0x38), uncompressed or in gzip or an LZ4 legacy frame, found an unknown format (0x30 bytes starting ${[...readFileSync(trunc).subarray(0, 8)].map((b) => b.toString(16).padStart(2, '0')).join(' ')})\n`],
    ['not a kernel', ['-l', notKernel], 3, /notkernel: kernel at offset 0x0: expected an ARM zImage .* found an unknown format/],
    ['zImage cut short', ['-l', shortZ], 3, new RegExp(`zImage-cut: zimage at offset 0x2c: expected end − start \\(0x${zImageSize.toString(16)} bytes\\) within the 0x10000-byte input, found a longer zImage \\(truncated file\\?\\)`)],
    ['corrupt DTB', ['-l', image, `--dtb=${badDtb}`], 3, /bad\.dtb: DTB list at offset 0x4: expected a totalsize from 0x28 to the 0x20 bytes left, found 0x100000/],
    ['missing initrd', ['-l', image, '--initrd=/nonexistent/initrd'], 5, 'hardboot: /nonexistent/initrd: cannot read the initrd: ENOENT\n'],
    ['initrd larger than RAM', ['-l', image, `--initrd=${big}`, '--mem-max=0x43ffffff'], 4, /no room for the initrd \(64 MiB\)/],
    ['mem-min above mem-max', ['-l', image, '--mem-min=0x60000000', '--mem-max=0x50000000'], 4, 'hardboot: --mem-min 0x60000000 is above --mem-max 0x50000000\n'],
    ['absurd mem-min', ['-l', image, '--mem-min=0xffffffffffff'], 4, /no usable RAM in \[0xffffffffffff, /],
    ['command line too long', ['-l', image, `--command-line=${'y'.repeat(2048)}`], 4, /the command line is 2048 bytes; arm64 kernels take at most 2047/],
    ['arm kernel on arm64', ['-l', deb.arm.kernel], 4, /is an arm kernel \(zimage\); this plan is for arm64/],
    ['hardboot on a kernel without it', ['--load-hardboot', image, '--mem-min=0x50000000'], 5, /this kernel cannot hardboot: \/sys\/kernel\/kexec_hardboot is missing/],
    ['hardboot without --mem-min', ['--load-hardboot', image], 2, /--load-hardboot needs --mem-min=ADDR/],
    ['unknown option', ['-l', image, '--frobnicate'], 2, 'hardboot: unknown option --frobnicate (see hardboot --help)\n'],
    ['no kernel', ['-l'], 2, 'hardboot: --load needs a KERNEL file\n'],
    ['two kernels', ['-l', image, image], 2, /one kernel at a time/],
    ['bad address', ['-l', image, '--mem-min=lots'], 2, "hardboot: --mem-min: 'lots' is not a number (0x… hexadecimal, 0… octal or decimal, as kexec-tools reads it)\n"],
    ['conflicting command lines', ['-l', image, '--command-line=a', '--reuse-cmdline'], 2, /give one/],
    ['--arch without --dry-run', ['-l', image, '--arch=arm64'], 2, /use it with --dry-run/],
    ['bad --memory', ['-l', image, '--dry-run', '--memory=0x40000000'], 2, /is not START-END in hex/],
    ['-e with a kernel', ['-e', image], 2, /--exec takes no KERNEL/],
    ['nothing to do', [], 2, /nothing to do/],
  ];
  for (const [name, argv, code, message] of cases) {
    it(name, async () => {
      const h = fakeHost({ arch: 'arm64', iomem, fdt: virt64 });
      const r = await run(argv, h);
      assert.equal(r.code, code, r.err);
      if (typeof message === 'string') assert.equal(r.err, message);
      else assert.match(r.err, message);
      assert.equal(r.out, '');
      assert.deepEqual(h.calls, [], 'nothing may reach the kernel');
    });
  }
});

describe('the hardboot process', () => {
  const bin = join(repoRoot, 'build', 'src', 'cli', 'bin.js');
  it('exits 0 for --help and 2 for a usage error', () => {
    const ok = spawnSync(process.execPath, [bin, '--help'], { encoding: 'utf8' });
    assert.equal(ok.status, 0);
    assert.match(ok.stdout, /^hardboot: load a Linux kernel/);
    const bad = spawnSync(process.execPath, [bin, '-l'], { encoding: 'utf8' });
    assert.equal(bad.status, 2);
    assert.equal(bad.stdout, '');
    assert.equal(bad.stderr, 'hardboot: --load needs a KERNEL file\n');
  });
});
