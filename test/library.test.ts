/**
 * The library's documented example (README "Library", src/index.ts), run
 * against the package's entry point: the public API alone plans a load from
 * files, and what is internal is not exported.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { fixture, repoRoot } from './support.js';
import { makeArm64Image } from './kernels.js';

const tmp = mkdtempSync(join(tmpdir(), 'hb-lib-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

describe("the library's public API (import … from 'hardboot')", () => {
  it('plans an arm64 load from files, as the README example does', async () => {
    const entry = join(repoRoot, JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')).exports['.'].default);
    const hb = (await import(entry)) as typeof import('../src/index.js');
    writeFileSync(join(tmp, 'Image.gz'), gzipSync(makeArm64Image({ textOffset: 0, imageSize: 0x1400000, fileSize: 0x1000000 })));
    writeFileSync(join(tmp, 'initrd.img'), new Uint8Array(0x100000));
    const board = fixture('dtb', 'qemu-virt-arm64.dtb');

    // The example, as written in the README.
    const kernel = hb.readKernel(readFileSync(join(tmp, 'Image.gz')));
    if (kernel.kind !== 'arm64-image') throw new Error('not an arm64 Image');
    const fdt = hb.parseFdt(readFileSync(board));
    const m = hb.memoryFromFdt(fdt);
    const p = hb.plan({
      kernel: { arch: 'arm64', image: kernel, bytes: kernel.image },
      initrd: readFileSync(join(tmp, 'initrd.img')),
      dtb: { fdt, source: 'board.dtb' },
      memory: { ram: m.memory.map((r) => ({ start: r.start, end: r.start + r.size })), reserved: [], source: 'board.dtb' },
      options: { commandLine: 'console=ttyAMA0', entropy: new Uint8Array(64) },
    });
    const j = hb.planJson(p);

    assert.deepEqual(j.segments.map((s) => s.kind), ['kernel', 'initrd', 'dtb', 'trampoline']);
    assert.equal(j.flags, '0xb70000');
    assert.equal(j.commandLine, 'console=ttyAMA0');
  });

  it('exports the documented names and not the internals', async () => {
    const hb = (await import('../src/index.js')) as Record<string, unknown>;
    for (const name of ['readKernel', 'parseFdt', 'writeFdt', 'plan', 'selectBoard', 'describeFile', 'doctor', 'main', 'realHost', 'FormatError', 'VERSION', 'loadJson']) {
      assert.ok(name in hb, name);
    }
    for (const internal of ['ByteReader', 'decodeLz4BlockInto', 'crc32Portable', 'findOverlap', 'buildTrampoline', 'prepareDtb']) {
      assert.ok(!(internal in hb), internal);
    }
  });
});
