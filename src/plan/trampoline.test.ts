import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { buildTrampoline, trampolineCode } from './trampoline.js';

/** The same routine written as assembly, assembled by binutils: the reference for our encoder. */
const REFERENCE = `
	.text
	ldr	x0, dtb
	mov	x1, xzr
	mov	x2, xzr
	mov	x3, xzr
	ldr	x4, kernel
	br	x4
dtb:	.quad	0x41580000
kernel:	.quad	0x40200000
`;

function assemble(src: string): Uint8Array {
  const dir = mkdtempSync(join(tmpdir(), 'hb-as-'));
  try {
    writeFileSync(join(dir, 't.S'), src);
    execFileSync('aarch64-linux-gnu-as', ['-o', join(dir, 't.o'), join(dir, 't.S')]);
    execFileSync('aarch64-linux-gnu-objcopy', ['-O', 'binary', '-j', '.text', join(dir, 't.o'), join(dir, 't.bin')]);
    return new Uint8Array(readFileSync(join(dir, 't.bin')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('arm64 trampoline', () => {
  it('is byte-identical to what the GNU assembler makes of the same code', () => {
    assert.deepEqual(buildTrampoline(0x41580000, 0x40200000), assemble(REFERENCE));
  });

  it('disassembles to the documented instructions', () => {
    const words = trampolineCode().map((c) => c.asm);
    assert.deepEqual(words, ['ldr x0, dtb', 'mov x1, xzr', 'mov x2, xzr', 'mov x3, xzr', 'ldr x4, kernel', 'br x4']);
    const dir = mkdtempSync(join(tmpdir(), 'hb-objdump-'));
    try {
      writeFileSync(join(dir, 't.bin'), buildTrampoline(0x1234_5678_9000, 0x40080000));
      const out = execFileSync('aarch64-linux-gnu-objdump', ['-D', '-b', 'binary', '-m', 'aarch64', join(dir, 't.bin')], { encoding: 'utf8' });
      const insns = [...out.matchAll(/^\s+[0-9a-f]+:\s+[0-9a-f]{8}\s+(\S+)\s*([^/\n]*)/gm)].slice(0, 6).map((m) => `${m[1]} ${m[2]!.trim()}`);
      assert.deepEqual(insns, ['ldr x0, 0x18', 'mov x1, xzr', 'mov x2, xzr', 'mov x3, xzr', 'ldr x4, 0x20', 'br x4']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('stores both addresses as little-endian 64-bit literals', () => {
    const b = buildTrampoline(0x1234_5678_9000, 0x40080000);
    const dv = new DataView(b.buffer);
    assert.equal(dv.getBigUint64(0x18, true), 0x1234_5678_9000n);
    assert.equal(dv.getBigUint64(0x20, true), 0x40080000n);
    assert.equal(b.length, 0x28);
  });
});
