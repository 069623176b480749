import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as zlib from 'node:zlib';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { FormatError } from '../errors.js';
import { concatBytes } from '../util/bytes.js';
import { debianKernels, readFixture } from '../../test/support.js';
import { onlyFormatErrors } from '../../test/assert.js';
import { writeBootImage, writeVendorBootImage } from '../formats/bootimg.js';
import { writeDtTable } from '../formats/dttable.js';
import { parseFdt } from '../formats/fdt.js';
import { qcdtIdsFromFdt, writeQcdt } from '../formats/qcdt.js';
import { describeFile, type Inspection, renderInspection } from './inspect.js';

const work = mkdtempSync(join(tmpdir(), 'hardboot-inspect-'));
after(() => rmSync(work, { recursive: true, force: true }));

const k = debianKernels();
const zImage = new Uint8Array(readFileSync(k.arm.kernel));
const arm64Image = new Uint8Array(readFileSync(k.arm64.kernel));
const angler = readFixture('dtb', 'msm8994-huawei-angler-rev-101.dtb');
const bullhead10 = readFixture('qcom', 'msm8992-lg-bullhead-rev-10.dtb');
const libra = readFixture('qcom', 'msm8992-xiaomi-libra.dtb');
const rk = readFixture('dtb', 'rk3399-pinebook-pro.dtb');

const fact = (i: Inspection, key: string) => i.facts.find((f) => f.key === key)?.value;
const labels = (i: Inspection) => i.items.map((x) => x.label);

describe('describeFile: every format hardboot reads', () => {
  it('a v2 boot.img made by mkbootimg: its fields, the kernel inside (xz zImage: IKCONFIG unreadable, said so), the DTB', () => {
    const p = (name: string, b: Uint8Array) => (writeFileSync(join(work, name), b), join(work, name));
    const out = join(work, 'boot.img');
    execFileSync('mkbootimg', ['--kernel', p('zImage', zImage), '--ramdisk', p('rd', new Uint8Array(3000)), '--dtb', p('a.dtb', angler), '--cmdline', 'console=ttyMSM0', '--header_version', '2', '--board', 'angler', '-o', out]);
    const i = describeFile(new Uint8Array(readFileSync(out)), 'boot.img');
    assert.equal(i.format, 'Android boot image, header version 2');
    assert.equal(fact(i, 'command line'), '"console=ttyMSM0"');
    assert.equal(fact(i, 'name'), 'angler');
    assert.equal(fact(i, 'page size'), '2048');
    assert.deepEqual(labels(i), ['kernel', 'ramdisk', 'dtb']);
    assert.equal(i.items[0]!.offset, 0x800);
    // Derived from the zImage itself (Debian's changes with every point release): its size, and
    // where the first xz stream (FD '7zXZ' 00) starts inside it.
    assert.deepEqual(i.items[0]!.detail.slice(0, 2), ['ARM zImage', `${(zImage.length / 2 ** 20).toFixed(1)} MiB zImage`]);
    // The decompressor quotes the magic in a string table first: the real stream is the one whose
    // stream flags (0, check type) carry their CRC-32 (the .xz format, 2.1.1).
    const z = Buffer.from(zImage);
    const magic = Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]);
    let xzAt = z.indexOf(magic);
    while (xzAt >= 0 && !(z[xzAt + 6] === 0 && zlib.crc32(z.subarray(xzAt + 6, xzAt + 8)) === z.readUInt32LE(xzAt + 8))) xzAt = z.indexOf(magic, xzAt + 1);
    assert.ok(xzAt > 0, 'the armmp zImage is xz-compressed');
    assert.match(i.items[0]!.detail.at(-1)!, new RegExp(`^IKCONFIG: not readable \\(xz-compressed data at 0x${xzAt.toString(16)}\\b`));
    assert.equal(i.items[2]!.dtb?.model, 'Huawei Nexus 6P');
    assert.deepEqual(i.items[2]!.dtb?.qcomIds, ['platform 0xcf variant 0x1f5a subtype 0x0 soc-rev 0x20000 pmic 0x10009 0x1000a 0x0 0x0']);
  });

  it('a pre-Android-9 boot.img carrying a Qualcomm dt.img after the second stage (its size in the header_version word)', () => {
    const dt = writeQcdt({ version: 2, pageSize: 2048, entries: qcdtIdsFromFdt(parseFdt(libra)).ids.map((ids) => ({ ...ids, pmic: [0, 0, 0, 0], dtb: libra })) });
    const img = concatBytes([writeBootImage({ version: 0, kernel: zImage.subarray(0, 10000), ramdisk: new Uint8Array(100) }), dt]);
    new DataView(img.buffer).setUint32(40, dt.length, true);
    const i = describeFile(img, 'boot.img');
    assert.equal(i.format, 'Android boot image, header version 0 (pre-Android-9 layout with a Qualcomm dt.img)');
    assert.deepEqual(labels(i), ['kernel', 'ramdisk', 'Qualcomm dt.img', 'dt.img entry 0', 'dt.img entry 1']);
    assert.equal(i.items[3]!.dtb?.model, 'Xiaomi Mi 4C');
  });

  it('a v4 vendor_boot: each ramdisk fragment with its type and board id, the DTB, the bootconfig', () => {
    const v = writeVendorBootImage({
      version: 4,
      ramdisks: [{ data: new Uint8Array(100), name: 'platform', type: 'platform', boardId: [0xcf] }, { data: new Uint8Array(50), name: 'dlkm', type: 3 }],
      dtb: angler,
      bootconfig: new TextEncoder().encode('androidboot.x=1\n'),
      cmdline: 'androidboot.hardware=angler',
    });
    const i = describeFile(v, 'vendor_boot.img');
    assert.equal(i.format, 'Android vendor_boot image, header version 4');
    assert.deepEqual(labels(i), ['vendor ramdisk "platform"', 'vendor ramdisk "dlkm"', 'dtb', 'bootconfig']);
    assert.deepEqual(i.items[0]!.detail, ['type platform', 'board_id 0xcf 0x0 0x0 0x0 0x0 0x0 0x0 0x0 0x0 0x0 0x0 0x0 0x0 0x0 0x0 0x0']);
    assert.equal(i.items[1]!.offset, 4096 + 100);
    assert.equal(fact(i, 'vendor command line'), '"androidboot.hardware=angler"');
  });

  it('a QCDT dt.img: every entry with its ids, and its DTB\'s model', () => {
    const q = writeQcdt({ version: 2, entries: [bullhead10, libra].flatMap((dtb) => qcdtIdsFromFdt(parseFdt(dtb)).ids.map((ids) => ({ ...ids, pmic: [0, 0, 0, 0], dtb }))) });
    const i = describeFile(q, 'dt.img');
    assert.equal(i.format, 'Qualcomm device tree table (QCDT) version 2');
    assert.equal(fact(i, 'entries'), '4');
    assert.equal(fact(i, 'distinct DTBs'), '2');
    assert.deepEqual(
      i.items.map((x) => [x.label, x.detail[0], x.dtb?.model]),
      [
        ['entry 0', 'platform 0xfb variant 0xc subtype 0x0 soc-rev 0x0', 'Xiaomi Mi 4C'],
        ['entry 1', 'platform 0xfb variant 0xa64 subtype 0x0 soc-rev 0x0', 'LG Nexus 5X rev 1.0'],
        ['entry 2', 'platform 0xfc variant 0xc subtype 0x0 soc-rev 0x0', 'Xiaomi Mi 4C'],
        ['entry 3', 'platform 0xfc variant 0xa64 subtype 0x0 soc-rev 0x0', 'LG Nexus 5X rev 1.0'],
      ],
    );
  });

  it('an Android DT table, with a compressed entry', () => {
    const t = writeDtTable({ version: 1, entries: [{ dtb: rk, id: 7, rev: 2 }, { dtb: angler, id: 8, compression: 'gzip' }] });
    const i = describeFile(t, 'dtb.img');
    assert.equal(i.format, 'Android DT table (dtb.img/dtbo.img) version 1');
    assert.deepEqual(i.items.map((x) => [x.label, x.detail, x.dtb?.model]), [
      ['entry 0', ['id 0x7 rev 0x2'], 'Pine64 Pinebook Pro'],
      ['entry 1', ['id 0x8 rev 0x0', 'gzip-compressed'], 'Huawei Nexus 6P'],
    ]);
  });

  it('one DTB, and DTBs one after another', () => {
    const one = describeFile(rk, 'rk.dtb');
    assert.equal(one.format, 'flattened device tree (DTB)');
    assert.deepEqual(one.items[0]!.dtb?.compatible, ['pine64,pinebook-pro', 'rockchip,rk3399']);
    assert.deepEqual(one.items[0]!.dtb?.memory, undefined);
    const two = describeFile(concatBytes([rk, new Uint8Array(16), angler]), 'dtbs');
    assert.equal(two.format, '2 flattened device trees, one after another');
    assert.deepEqual(two.items.map((x) => x.dtb?.model), ['Pine64 Pinebook Pro', 'Huawei Nexus 6P']);
  });

  it("Debian's arm64 Image (no IKCONFIG), and as Image.gz-dtb with two DTBs appended", () => {
    const i = describeFile(arm64Image, 'Image');
    assert.equal(i.format, 'arm64 Image kernel');
    assert.equal(i.items[0]!.detail.at(-1), 'IKCONFIG: none (built without CONFIG_IKCONFIG)');
    const gz = new Uint8Array(execFileSync('gzip', ['-1', '-c'], { input: arm64Image, maxBuffer: 1 << 30 }));
    const j = describeFile(concatBytes([gz, bullhead10, libra]), 'Image.gz-dtb');
    assert.equal(j.format, 'arm64 Image kernel (gzip)');
    assert.deepEqual(labels(j), ['kernel', 'kernel: appended DTB 0', 'kernel: appended DTB 1']);
    assert.deepEqual(j.items.slice(1).map((x) => x.dtb?.model), ['LG Nexus 5X rev 1.0', 'Xiaomi Mi 4C']);
  });

  it('a .config, plain and gzipped as /proc/config.gz', () => {
    const text = readFixture('ikconfig', 'lab-arm64.config');
    for (const [bytes, format] of [
      [text, 'kernel configuration'],
      [readFixture('ikconfig', 'lab-arm64-config_data.gz'), 'kernel configuration (gzipped, as /proc/config.gz)'],
    ] as const) {
      const i = describeFile(bytes, 'config');
      assert.equal(i.format, format);
      assert.equal(fact(i, 'architecture'), 'arm64');
      assert.equal(fact(i, 'CONFIG_KEXEC'), 'y');
      assert.equal(fact(i, 'CONFIG_KEXEC_HARDBOOT'), 'absent');
    }
  });

  it('anything else: a FormatError listing what we read', () => {
    assert.throws(
      () => describeFile(new TextEncoder().encode('{"name": "hardboot"}\n'), 'package.json'),
      (e: unknown) =>
        e instanceof FormatError &&
        e.message ===
          '<file>: file at offset 0x0: expected an Android boot or vendor_boot image, a QCDT dt.img, an Android DT table, a DTB (or several), a kernel (an ARM zImage (0x016f2818 at 0x24) or an arm64 Image ("ARM\\x64" at 0x38), uncompressed or in gzip or an LZ4 legacy frame), or a kernel .config (plain or gzipped), found 0x15 bytes starting 7b 22 6e 61 6d 65 22 3a',
    );
  });

  it('the result is plain data (JSON round-trips) and renders as text', () => {
    const i = describeFile(rk, 'rk.dtb');
    assert.deepEqual(JSON.parse(JSON.stringify(i)), i);
    assert.equal(
      renderInspection(i),
      [
        `rk.dtb: flattened device tree (DTB), 63.1 KiB (${rk.length} bytes)`,
        '  version     17',
        `  total size  0x${rk.length.toString(16)}`,
        '  contents:',
        '    dtb (63.1 KiB)',
        '      model "Pine64 Pinebook Pro"',
        '      compatible "pine64,pinebook-pro", "rockchip,rk3399"',
        '      DTB 63.1 KiB',
        '',
      ].join('\n'),
    );
  });

  it('random bytes behind each magic: only FormatError', () => {
    const magics = [new TextEncoder().encode('ANDROID!'), new TextEncoder().encode('VNDRBOOT'), new TextEncoder().encode('QCDT'), Uint8Array.of(0xd7, 0xb7, 0xab, 0x1e), Uint8Array.of(0xd0, 0x0d, 0xfe, 0xed), Uint8Array.of(0x1f, 0x8b, 8, 0), new Uint8Array(0)];
    fc.assert(
      fc.property(fc.nat(magics.length - 1), fc.uint8Array({ maxLength: 3000 }), (m, bytes) => onlyFormatErrors(() => describeFile(concatBytes([magics[m]!, bytes]), 'x'))),
      { numRuns: 2000 },
    );
  });
});
