import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { FormatError } from '../errors.js';
import { concatBytes, view } from '../util/bytes.js';
import { debianKernels, fixture, readFixture } from '../../test/support.js';
import { onlyFormatErrors, same } from '../../test/assert.js';
import {
  configEnabled,
  configNumber,
  configText,
  configValue,
  findIkconfig,
  kernelIkconfig,
  looksLikeKernelConfig,
  parseKernelConfig,
  zImagePayload,
} from './ikconfig.js';
import { parseZImage, ZIMAGE_TAG_KRNL_SIZE } from './zimage.js';

const work = mkdtempSync(join(tmpdir(), 'hardboot-ikconfig-'));
after(() => rmSync(work, { recursive: true, force: true }));

const kernels = debianKernels();
const arm64Image = new Uint8Array(readFileSync(kernels.arm64.kernel));
const zImage = new Uint8Array(readFileSync(kernels.arm.kernel));
const debianConfig = readFileSync(kernels.arm64.config, 'utf8');
const labGz = readFixture('ikconfig', 'lab-arm64-config_data.gz');
const labConfig = readFileSync(fixture('ikconfig', 'lab-arm64.config'), 'utf8');

function tool(cmd: string, args: string[], input?: Uint8Array): Uint8Array {
  return new Uint8Array(execFileSync(cmd, args, { input, maxBuffer: 1 << 30 }));
}

const enc = new TextEncoder();

/**
 * The .rodata bytes Linux 6.1 kernel/configs.c produces: its asm block ('.ascii "IKCFG_ST"',
 * '.incbin "kernel/config_data.gz"', '.ascii "IKCFG_ED"'), assembled by GNU as and cut out with objcopy;
 * config_data.gz made as kernel/Makefile does (gzip -n -f -9).
 */
function configsRodata(configTextToEmbed: string): Uint8Array {
  const dir = mkdtempSync(join(work, 'configs-'));
  writeFileSync(join(dir, 'config_data.gz'), tool('gzip', ['-n', '-f', '-9', '-c'], enc.encode(configTextToEmbed)));
  writeFileSync(
    join(dir, 'configs.S'),
    '\t.pushsection .rodata, "a"\n\t.ascii "IKCFG_ST"\n\t.global kernel_config_data\nkernel_config_data:\n\t.incbin "config_data.gz"\n\t.global kernel_config_data_end\nkernel_config_data_end:\n\t.ascii "IKCFG_ED"\n\t.popsection\n',
  );
  execFileSync('aarch64-linux-gnu-as', ['-o', 'configs.o', 'configs.S'], { cwd: dir });
  execFileSync('aarch64-linux-gnu-objcopy', ['-O', 'binary', '-j', '.rodata', 'configs.o', 'configs.bin'], { cwd: dir });
  return new Uint8Array(readFileSync(join(dir, 'configs.bin')));
}

/** `image` with `block` written over it at `at` (same length: header fields stay right). */
function spliceAt(image: Uint8Array, block: Uint8Array, at: number): Uint8Array {
  const out = image.slice();
  out.set(block, at);
  return out;
}

const marked = (gz: Uint8Array) => concatBytes([enc.encode('IKCFG_ST'), gz, enc.encode('IKCFG_ED')]);

describe('parseKernelConfig', () => {
  it("reads Debian's arm64 config: every CONFIG_ line and every 'is not set' line", () => {
    const c = parseKernelConfig(debianConfig);
    const set = debianConfig.split('\n').filter((l) => /^CONFIG_\w+=/.test(l)).length;
    const unset = debianConfig.split('\n').filter((l) => /^# CONFIG_\w+ is not set$/.test(l)).length;
    assert.equal(c.size, set + unset);
    assert.equal(configValue(c, 'KEXEC'), 'y');
    assert.equal(configValue(c, 'CONFIG_IKCONFIG'), 'n');
    assert.ok(configEnabled(c, 'ARM64') && configEnabled(c, 'PM_SLEEP_SMP'));
    assert.equal(configNumber(c, 'NR_CPUS'), Number(/^CONFIG_NR_CPUS=(\d+)$/m.exec(debianConfig)![1]));
    assert.equal(configValue(c, 'LOCALVERSION'), '""');
    assert.ok(looksLikeKernelConfig(debianConfig));
    assert.ok(!looksLikeKernelConfig('hello\nworld\n'));
  });
  it('a later line wins; CRLF and indentation are tolerated', () => {
    const c = parseKernelConfig('CONFIG_A=y\r\n  CONFIG_A=m\n# CONFIG_B is not set\nCONFIG_HEX=0x10000\n');
    assert.equal(configValue(c, 'A'), 'm');
    assert.equal(configValue(c, 'B'), 'n');
    assert.equal(configNumber(c, 'HEX'), 0x10000);
  });
  it('names the offending line', () => {
    assert.throws(
      () => parseKernelConfig('CONFIG_A=y\nCONFIG_B y\n'),
      (e: unknown) => e instanceof FormatError && e.message === '<kernel config>: kernel config at offset 0xb: expected CONFIG_NAME=value, "# CONFIG_NAME is not set" or a comment, found "CONFIG_B y"',
    );
  });
});

describe('IKCONFIG: the configuration inside a kernel', () => {
  it('the lab kernel\'s embedded config (fixture) gunzips, with the gzip tool, to its .config', () => {
    assert.equal(new TextDecoder().decode(tool('gzip', ['-dc'], labGz)), labConfig);
    assert.equal(configText(labGz), labConfig);
  });

  it("Debian's arm64 Image has none (CONFIG_IKCONFIG is not set): searched, reported absent", () => {
    const r = kernelIkconfig(arm64Image);
    assert.equal(r.config, undefined);
    assert.equal(r.searched, arm64Image.length);
    assert.equal(r.path, 'arm64 Image');
  });

  it("the lab kernel's config block spliced into Debian's arm64 Image, plain, gzipped and LZ4 (lz4 -l) compressed", () => {
    const img = spliceAt(arm64Image, marked(labGz), 0x1000000);
    const plain = kernelIkconfig(img);
    assert.equal(plain.config?.text, labConfig);
    assert.equal(plain.config?.offset, 0x1000000);
    const gz = kernelIkconfig(tool('gzip', ['-1', '-c'], img));
    assert.equal(gz.path, 'arm64 Image (gzip)');
    assert.equal(gz.config?.text, labConfig);
    assert.equal(kernelIkconfig(tool('lz4', ['-l', '-c'], img)).config?.text, labConfig);
  });

  it("kernel/configs.c's block assembled by GNU as, holding Debian's config, found in the Image", () => {
    const block = configsRodata(debianConfig);
    const r = findIkconfig(spliceAt(arm64Image, block, 0x800000));
    assert.equal(r?.text, debianConfig);
    assert.ok(same(r!.gz, block.subarray(8, block.length - 8)));
  });

  it('a stray "IKCFG_ST" without gzip data after it is skipped', () => {
    const img = spliceAt(spliceAt(arm64Image, enc.encode('IKCFG_ST is the marker'), 0x400000), marked(labGz), 0x500000);
    assert.equal(findIkconfig(img)?.offset, 0x500000);
  });

  it("Debian's armhf zImage: the payload is xz, which is named and refused", () => {
    const z = parseZImage(zImage);
    const p = zImagePayload(z);
    assert.equal(p.compression, 'xz');
    const krnl = z.tags.find((t) => t.tag === ZIMAGE_TAG_KRNL_SIZE)!;
    assert.equal(p.end, krnl.payload[0]! + 4, 'the payload ends at the KRNL_SIZE word');
    // xz itself agrees that a whole stream starts there and decompresses to the size KRNL_SIZE records.
    const arm = tool('xz', ['-dc', '--single-stream'], zImage.subarray(p.offset, p.end));
    assert.equal(arm.length, z.decompressedSize);
    assert.throws(
      () => kernelIkconfig(zImage),
      (e: unknown) =>
        e instanceof FormatError &&
        e.message ===
          `<zimage>: zimage at offset 0x${p.offset.toString(16)}: expected a gzip or LZ4 compressed kernel inside the zImage (the compressions hardboot reads), found xz-compressed data at 0x${p.offset.toString(16)}: extract the config with the kernel's scripts/extract-ikconfig, or build with CONFIG_KERNEL_GZIP=y`,
    );
  });

  it("a gzip zImage rebuilt from Debian's (its kernel recompressed as the kernel's cmd_gzip does): payload found through KRNL_SIZE, IKCONFIG read", () => {
    const z = parseZImage(zImage);
    const p = zImagePayload(z);
    const krnl = z.tags.find((t) => t.tag === ZIMAGE_TAG_KRNL_SIZE)!;
    const arm = tool('xz', ['-dc', '--single-stream'], zImage.subarray(p.offset, p.end));
    const withConfig = spliceAt(arm, configsRodata(labConfig), 0x300000);
    const gz = tool('gzip', ['-n', '-f', '-9', '-c'], withConfig);
    // piggy_data is the gzip stream alone (its trailer's ISIZE is the size word KRNL_SIZE points at).
    const rebuilt = concatBytes([zImage.subarray(0, p.offset), gz, zImage.subarray(p.end, z.size)]);
    const dv = view(rebuilt);
    const delta = gz.length - (p.end - p.offset);
    dv.setUint32(0x2c, z.end + delta, true);
    dv.setUint32(krnl.offset + 8, p.offset + gz.length - 4, true);
    const z2 = parseZImage(rebuilt);
    assert.equal(z2.decompressedSize, arm.length);
    const p2 = zImagePayload(z2);
    assert.equal(p2.compression, 'gzip');
    assert.equal(p2.offset, p.offset);
    assert.ok(p2.data && same(p2.data, withConfig));
    const r = kernelIkconfig(rebuilt);
    assert.equal(r.path, `zImage, gzip payload at 0x${p.offset.toString(16)}`);
    assert.equal(r.config?.text, labConfig);
  });

  it('random bytes and mutated kernels: only FormatError', () => {
    const head = arm64Image.subarray(0, 4096);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), fc.nat(3), (bytes, kind) => {
        const prefix = [new Uint8Array(0), head, enc.encode('IKCFG_ST'), Uint8Array.of(0x1f, 0x8b, 8, 0)][kind]!;
        onlyFormatErrors(() => kernelIkconfig(concatBytes([prefix, bytes])));
        onlyFormatErrors(() => findIkconfig(concatBytes([prefix, bytes])));
        onlyFormatErrors(() => configText(concatBytes([prefix, bytes])));
      }),
      { numRuns: 1000 },
    );
  });
});
