import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { FormatError } from '../errors.js';
import { fixture, readFixture } from '../../test/support.js';
import {
  type Fdt,
  FDT_MAX_DEPTH,
  cells,
  ensureNode,
  findNode,
  getProp,
  parseFdt,
  propOffset,
  readCells,
  readString,
  readStringList,
  readU32,
  readU64,
  removeProp,
  setProp,
  stringListValue,
  stringValue,
  u32Cells,
  u64Cells,
  walk,
  writeFdt,
} from './fdt.js';
import { dtbToDts, dtsToDtb, fdtdumpHeader } from '../../test/fdt-tools.js';

const FIXTURES = readdirSync(fixture('dtb'))
  .filter((f) => f.endsWith('.dtb'))
  .sort();
const QEMU = new Set(['qemu-virt-arm.dtb', 'qemu-virt-arm64.dtb']);

/** The first `totalsize` bytes: what a byte-exact round trip must give back. */
function blob(bytes: Uint8Array): Uint8Array {
  return bytes.subarray(0, parseFdt(bytes).totalSize);
}

function roundTrip(bytes: Uint8Array): Uint8Array {
  return writeFdt(parseFdt(bytes));
}

/** A copy of `bytes` with big-endian 32-bit words replaced: [offset, value]... */
function patched(bytes: Uint8Array, ...words: [number, number][]): Uint8Array {
  const out = bytes.slice();
  const dv = new DataView(out.buffer);
  for (const [off, v] of words) dv.setUint32(off, v, false);
  return out;
}

function header(bytes: Uint8Array): number[] {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Array.from({ length: 10 }, (_, i) => dv.getUint32(i * 4, false));
}

/**
 * Layout (checked below against fdtdump): header 0x0–0x28; reservation map 0x28
 * (one entry, terminator at 0x38); structure 0x48–0x84: 0x48 root, 0x50 PROP
 * model (len 0x54, nameoff 0x58, value 0x5c), 0x60 BEGIN_NODE "c", 0x68 PROP x,
 * 0x78 END_NODE, 0x7c END_NODE, 0x80 END; strings 0x84 "model\0x\0"; totalsize 0x8c.
 */
const TINY = `/dts-v1/;
/memreserve/ 0x1000 0x2000;
/ {
	model = "m";
	c { x = <1>; };
};
`;

/** A board-like source: labels and phandle references, /bits/ 64, byte strings, empty and deep nodes. */
const BOARD = `/dts-v1/;
/memreserve/ 0x10000000 0x4000;
/memreserve/ 0x20000000 0x100000;
/ {
	#address-cells = <2>;
	#size-cells = <1>;
	compatible = "acme,board", "acme,soc";
	model = "Acme Board";
	interrupt-parent = <&gic>;
	chosen {
		bootargs = "console=ttyAMA0 root=/dev/vda";
		kaslr-seed = /bits/ 64 <0x1122334455667788>;
		stdout-path = &uart0;
	};
	aliases { serial0 = &uart0; };
	memory@40000000 { device_type = "memory"; reg = <0x0 0x40000000 0x40000000>; };
	gic: interrupt-controller@8000000 {
		compatible = "arm,gic-400";
		#interrupt-cells = <3>;
		interrupt-controller;
		reg = <0x0 0x8000000 0x10000>;
	};
	soc {
		#address-cells = <1>;
		#size-cells = <1>;
		ranges;
		uart0: serial@9000000 {
			compatible = "arm,pl011", "arm,primecell";
			reg = <0x9000000 0x1000>;
			interrupts = <0 1 4>;
			clocks = <&clk>, <&clk>;
			mac-address = [00 11 22 33 44 55];
			status = "okay";
		};
		clk: clock { #clock-cells = <0>; clock-frequency = <24000000>; phandle-ish; };
		a { b { c { d { e { leaf = "deep"; }; }; }; }; };
	};
	empty {};
};
`;

describe('FDT round trip', () => {
  for (const name of FIXTURES) {
    it(`${name}: parse → write is byte-exact, also after structuredClone`, () => {
      const bytes = readFixture('dtb', name);
      const fdt = parseFdt(bytes);
      assert.equal(fdt.totalSize, bytes.length);
      assert.deepEqual(writeFdt(fdt), bytes);
      assert.deepEqual(writeFdt(structuredClone(fdt)), bytes);
    });
  }

  it('the fixtures dtc wrote are also what the writer lays out with no recorded layout', () => {
    for (const name of FIXTURES.filter((f) => !QEMU.has(f))) {
      const bytes = readFixture('dtb', name);
      const { layout: _, ...fresh } = parseFdt(bytes);
      assert.deepEqual(writeFdt(fresh), bytes, name);
    }
  });

  it("QEMU's blobs: map at 0x30, 1 MiB, stale padding bytes in the structure block kept verbatim", () => {
    const bytes = readFixture('dtb', 'qemu-virt-arm64.dtb');
    assert.deepEqual(header(bytes).slice(1, 5), [0x100000, 0x40, 0x1b90, 0x30]);
    // Bytes 0x75–0x77 pad /model's 17-byte value; libfdt left 00 00 02 there, not zeros.
    assert.deepEqual([...bytes.subarray(0x74, 0x78)], [0, 0, 0, 2]);
    const fdt = parseFdt(bytes);
    assert.deepEqual(fdt.layout?.blocks, [
      { block: 'rsvmap', gap: 8 },
      { block: 'struct', gap: 0 },
      { block: 'strings', gap: 0 },
    ]);
    assert.deepEqual(roundTrip(bytes).subarray(0x74, 0x78), bytes.subarray(0x74, 0x78));
    // Once the tree changes, the structure block is encoded afresh with zero padding.
    setProp(findNode(fdt, '/chosen')!, 'bootargs', stringValue('x'));
    assert.deepEqual([...writeFdt(fdt).subarray(0x74, 0x78)], [0, 0, 0, 0]);
  });

  it('bytes after totalsize are ignored and reported by totalSize', () => {
    const bytes = readFixture('dtb', 'vexpress-v2p-ca15-tc1.dtb');
    const padded = new Uint8Array(bytes.length + 100).fill(0xff);
    padded.set(bytes);
    const fdt = parseFdt(padded);
    assert.equal(fdt.totalSize, bytes.length);
    assert.deepEqual(writeFdt(fdt), bytes);
  });

  const options: string[][] = [[], ['-p', '4096'], ['-a', '64'], ['-R', '3'], ['-@'], ['-p', '100', '-R', '1', '-@']];
  for (const [name, dts] of [
    ['tiny', TINY],
    ['board', BOARD],
  ] as const) {
    for (const opts of options) {
      it(`dtc -I dts -O dtb ${opts.join(' ')} of the ${name} source round-trips byte-exact`, () => {
        const bytes = dtsToDtb(dts, ...opts);
        assert.deepEqual(roundTrip(bytes), bytes);
      });
    }
  }

  it('the tiny source has the layout the corpus below relies on (fdtdump)', () => {
    const bytes = dtsToDtb(TINY);
    assert.deepEqual(fdtdumpHeader(bytes), {
      magic: 0xd00dfeed,
      totalsize: 0x8c,
      off_dt_struct: 0x48,
      off_dt_strings: 0x84,
      off_mem_rsvmap: 0x28,
      version: 17,
      last_comp_version: 16,
      boot_cpuid_phys: 0,
      size_dt_strings: 0x8,
      size_dt_struct: 0x3c,
    });
    const fdt = parseFdt(bytes);
    assert.deepEqual(fdt.reservations, [{ address: 0x1000n, size: 0x2000n }]);
    assert.deepEqual(fdt.root, {
      name: '',
      props: [{ name: 'model', value: stringValue('m') }],
      children: [{ name: 'c', props: [{ name: 'x', value: u32Cells(1) }], children: [] }],
    });
  });

  it('the board source: values come back as dtc encoded them', () => {
    const fdt = parseFdt(dtsToDtb(BOARD));
    assert.equal(fdt.reservations.length, 2);
    const uart = findNode(fdt, '/soc/serial@9000000')!;
    const gic = findNode(fdt, '/interrupt-controller')!;
    const phandle = readU32(getProp(gic, 'phandle')!);
    assert.equal(readU32(getProp(fdt.root, 'interrupt-parent')!), phandle);
    assert.deepEqual(readStringList(getProp(uart, 'compatible')!), ['arm,pl011', 'arm,primecell']);
    assert.deepEqual(getProp(uart, 'mac-address')!.value, new Uint8Array([0, 0x11, 0x22, 0x33, 0x44, 0x55]));
    assert.equal(readU64(getProp(findNode(fdt, '/chosen')!, 'kaslr-seed')!), 0x1122334455667788n);
    assert.equal(readString(getProp(findNode(fdt, '/soc/a/b/c/d/e')!, 'leaf')!), 'deep');
    assert.deepEqual(getProp(findNode(fdt, '/soc/clock')!, 'phandle-ish')!.value, new Uint8Array(0));
  });

  it('a version 16 blob (dtc -V 16) parses and is written as the version 17 blob dtc writes', () => {
    const v16 = dtsToDtb(BOARD, '-V', '16');
    const fdt = parseFdt(v16);
    assert.equal(fdt.version, 16);
    assert.deepEqual(writeFdt(fdt), dtsToDtb(BOARD));
  });

  it('non-canonical input (an FDT_NOP where a property was) is written as the canonical equivalent', () => {
    const bytes = dtsToDtb(BOARD);
    const fdt = parseFdt(bytes);
    const model = getProp(fdt.root, 'model')!;
    const token = propOffset(model) - 12;
    const words = (12 + model.value.length + 3) >> 2; // "Acme Board\0" → 12 + 12 bytes
    const nopped = patched(bytes, ...Array.from({ length: words }, (_, i): [number, number] => [token + 4 * i, 4]));
    const out = roundTrip(nopped);
    // The structure block loses the NOPs, the strings move back, totalsize stays (free space at the end).
    const [h, o] = [header(bytes), header(out)];
    assert.deepEqual([o[1], o[3], o[8], o[9]], [h[1], h[3]! - words * 4, h[8], h[9]! - words * 4]);
    assert.ok(out.subarray(bytes.length - words * 4).every((b) => b === 0));
    const text = dtbToDts(out);
    assert.equal(text.nodes.get('/')!.has('model'), false);
    assert.equal(text.nodes.get('/')!.get('compatible'), '"acme,board\\0acme,soc"');
    removeProp(fdt.root, 'model');
    assert.deepEqual(parseFdt(out).root, fdt.root);
  });
});

describe('writeFdt after edits (checked with dtc and fdtdump)', () => {
  /** The planner's edits: bootargs, initrd cells, no kaslr-seed, one new node. */
  function edit(fdt: Fdt, width: 1 | 2): void {
    const chosen = ensureNode(fdt, '/chosen');
    setProp(chosen, 'bootargs', stringValue('console=ttyAMA0 hardboot=1'));
    setProp(chosen, 'linux,initrd-start', cells([0x48000000], width));
    setProp(chosen, 'linux,initrd-end', cells([0x48a00000], width));
    removeProp(chosen, 'kaslr-seed');
    setProp(ensureNode(fdt, '/hardboot'), 'compatible', stringValue('hardboot,test'));
  }

  it('QEMU arm64, 64-bit initrd cells: strings follow the grown structure block, 1 MiB kept', () => {
    const fdt = parseFdt(readFixture('dtb', 'qemu-virt-arm64.dtb'));
    edit(fdt, 2);
    const out = writeFdt(fdt);
    // Structure: +40 bootargs, +2×20 initrd, −20 kaslr-seed, +48 /hardboot = 0x1b50 + 0x6c.
    // Strings: +9 "bootargs", +19 "linux,initrd-start", +17 "linux,initrd-end" = 0x1c6 + 45.
    assert.deepEqual(fdtdumpHeader(out), {
      magic: 0xd00dfeed,
      totalsize: 0x100000,
      off_dt_struct: 0x40,
      off_dt_strings: 0x1bfc,
      off_mem_rsvmap: 0x30,
      version: 17,
      last_comp_version: 16,
      boot_cpuid_phys: 0,
      size_dt_strings: 0x1f3,
      size_dt_struct: 0x1bbc,
    });
    const chosen = dtbToDts(out).nodes.get('/chosen')!;
    assert.equal(chosen.get('bootargs'), '"console=ttyAMA0 hardboot=1"');
    assert.equal(chosen.get('linux,initrd-start'), '<0x00 0x48000000>');
    assert.equal(chosen.get('linux,initrd-end'), '<0x00 0x48a00000>');
    assert.equal(chosen.has('kaslr-seed'), false);
    assert.match(chosen.get('rng-seed')!, /^<(0x[0-9a-f]+ ){7}0x[0-9a-f]+>$/);
    assert.equal(dtbToDts(out).nodes.get('/hardboot')!.get('compatible'), '"hardboot,test"');
    assert.deepEqual(roundTrip(out), out);
  });

  it('QEMU arm, 32-bit initrd cells', () => {
    const fdt = parseFdt(readFixture('dtb', 'qemu-virt-arm.dtb'));
    edit(fdt, 1);
    const out = writeFdt(fdt);
    const h = fdtdumpHeader(out);
    assert.deepEqual([h['totalsize'], h['off_dt_strings'], h['size_dt_struct'], h['version']], [0x100000, 0x1bb0, 0x1b70, 17]);
    const chosen = dtbToDts(out).nodes.get('/chosen')!;
    assert.equal(chosen.get('linux,initrd-start'), '<0x48000000>');
    assert.equal(chosen.get('linux,initrd-end'), '<0x48a00000>');
  });

  it('a compact dtc blob grows, and padding leaves free space after the strings', () => {
    const fdt = parseFdt(readFixture('dtb', 'vexpress-v2p-ca15-tc1.dtb'));
    edit(fdt, 1);
    const out = writeFdt(fdt, { padding: 0x10000 });
    // Structure 0x2f6c + 40 + 32 + 48; strings 0x33c + 45 end at 0x301c + 0x369 = 0x3385.
    const h = fdtdumpHeader(out);
    assert.deepEqual(
      [h['totalsize'], h['off_dt_struct'], h['size_dt_struct'], h['off_dt_strings'], h['size_dt_strings']],
      [0x13385, 0x38, 0x2fe4, 0x301c, 0x369],
    );
    assert.ok(out.subarray(0x3385).every((b) => b === 0));
    assert.equal(dtbToDts(out).nodes.get('/chosen')!.get('bootargs'), '"console=ttyAMA0 hardboot=1"');
    // The padding is kept by the next round trip, as QEMU's free space is.
    assert.deepEqual(roundTrip(out), out);
    assert.equal(writeFdt(parseFdt(out), { minTotalSize: 0x20000 }).length, 0x20000);
  });

  it('a shrunk structure block pulls the strings back (QEMU without kaslr-seed)', () => {
    const fdt = parseFdt(readFixture('dtb', 'qemu-virt-arm64.dtb'));
    assert.ok(removeProp(findNode(fdt, '/chosen')!, 'kaslr-seed'));
    const h = fdtdumpHeader(writeFdt(fdt));
    assert.deepEqual([h['off_dt_strings'], h['size_dt_struct'], h['totalsize']], [0x40 + 0x1b50 - 20, 0x1b50 - 20, 0x100000]);
  });

  it('the gap dtc -R leaves after the reservation map is kept when blocks move', () => {
    const fdt = parseFdt(dtsToDtb(TINY, '-R', '2'));
    fdt.reservations.push({ address: 0x80000000n, size: 0x1000n });
    setProp(fdt.root, 'model', stringValue('a longer model'));
    const out = writeFdt(fdt);
    // Map 0x28–0x58 (two entries + terminator), then the original 0x20-byte gap.
    assert.equal(fdtdumpHeader(out)['off_dt_struct'], 0x78);
    assert.deepEqual(dtbToDts(out).memreserve, ['0x0000000000001000 0x0000000000002000', '0x0000000080000000 0x0000000000001000']);
  });

  it('names: existing offsets are reused (suffixes too), new ones appended once', () => {
    const bytes = dtsToDtb(TINY);
    const fdt = parseFdt(bytes);
    setProp(fdt.root, 'del', u32Cells(1)); // "model\0" ends in "del\0": no new string
    setProp(findNode(fdt, '/c')!, 'y', u32Cells(2));
    setProp(ensureNode(fdt, '/d'), 'y', u32Cells(3));
    const out = writeFdt(fdt);
    const [, , , strings, , , , , size] = header(out);
    assert.equal(Buffer.from(out.subarray(strings!, strings! + size!)).toString('latin1'), 'model\0x\0y\0');
    assert.equal(dtbToDts(out).nodes.get('/')!.get('del'), '<0x01>');
    assert.equal(dtbToDts(out).nodes.get('/d')!.get('y'), '<0x03>');
  });

  it('a tree built in code is laid out exactly as dtc lays out the same source', () => {
    const fdt: Fdt = {
      version: 17,
      lastCompVersion: 16,
      bootCpuidPhys: 0,
      reservations: [{ address: 0x1000n, size: 0x2000n }],
      totalSize: 0,
      root: { name: '', props: [], children: [] },
    };
    setProp(fdt.root, 'model', stringValue('m'));
    setProp(ensureNode(fdt, '/c'), 'x', u32Cells(1));
    assert.deepEqual(writeFdt(fdt), dtsToDtb(TINY));
    assert.deepEqual(writeFdt(fdt, { padding: 4096 }), dtsToDtb(TINY, '-p', '4096'));
  });

  it('refuses what it cannot encode, with FormatError', () => {
    const fdt = parseFdt(dtsToDtb(TINY));
    assert.throws(() => writeFdt(fdt, { padding: -1 }), {
      name: 'FormatError',
      message: '<FDT>: FDT at offset 0x0: expected a padding of 0 or more bytes, found -1',
    });
    fdt.reservations.push({ address: 0n, size: 0n });
    assert.throws(() => writeFdt(fdt), {
      message: '<FDT>: FDT at offset 0x0: expected reservation 1: a 64-bit (address, size) other than (0, 0), found (0x0, 0x0)',
    });
    fdt.reservations.pop();
    ensureNode(fdt, '/c').name = 'a\0b';
    assert.throws(() => writeFdt(fdt), {
      message: '<FDT>: FDT at offset 0x0: expected a node name without NUL, found "/a\\u0000b"',
    });
  });
});

describe('FDT editing helpers and value codecs', () => {
  const tree = (): Fdt => parseFdt(dtsToDtb(BOARD));

  it('findNode: exact names, unit addresses optional when unambiguous, undefined when missing', () => {
    const fdt = tree();
    assert.equal(findNode(fdt, '/'), fdt.root);
    assert.equal(findNode(fdt, '/memory')!.name, 'memory@40000000');
    assert.equal(findNode(fdt, '/memory@40000000')!.name, 'memory@40000000');
    assert.equal(findNode(fdt, '/soc/serial')!.name, 'serial@9000000');
    assert.equal(findNode(fdt, '/soc/serial@9000001'), undefined);
    assert.equal(findNode(fdt, '/nothing/here'), undefined);
    assert.equal(findNode(fdt, '//soc//a/'), findNode(fdt, '/soc/a'));
    ensureNode(fdt, '/soc/serial@a000000');
    assert.throws(() => findNode(fdt, '/soc/serial'), {
      name: 'FormatError',
      message: '<FDT>: FDT at offset 0x0: expected one node named serial under /soc, found serial@9000000, serial@a000000',
    });
    assert.throws(() => findNode(fdt, 'soc'), {
      message: '<FDT>: FDT at offset 0x0: expected an absolute node path, found "soc"',
    });
  });

  it('ensureNode creates what is missing and returns what exists', () => {
    const fdt = tree();
    const n = ensureNode(fdt, '/x/y');
    assert.equal(findNode(fdt, '/x/y'), n);
    assert.equal(ensureNode(fdt, '/x/y'), n);
    assert.equal(ensureNode(fdt, '/chosen'), findNode(fdt, '/chosen'));
    assert.deepEqual(fdt.root.children.at(-1), { name: 'x', props: [], children: [{ name: 'y', props: [], children: [] }] });
  });

  it('setProp replaces in place or appends; removeProp removes every copy', () => {
    const fdt = tree();
    const chosen = findNode(fdt, '/chosen')!;
    const names = (): string[] => chosen.props.map((p) => p.name);
    setProp(chosen, 'bootargs', stringValue('quiet'));
    setProp(chosen, 'rng-seed', new Uint8Array(8));
    assert.deepEqual(names(), ['bootargs', 'kaslr-seed', 'stdout-path', 'rng-seed']);
    assert.equal(readString(getProp(chosen, 'bootargs')!), 'quiet');
    chosen.props.push({ name: 'kaslr-seed', value: new Uint8Array(8) });
    assert.equal(removeProp(chosen, 'kaslr-seed'), true);
    assert.equal(removeProp(chosen, 'kaslr-seed'), false);
    assert.deepEqual(names(), ['bootargs', 'stdout-path', 'rng-seed']);
  });

  it('walk visits every node with its path, parents first', () => {
    const paths = [...walk(parseFdt(dtsToDtb(TINY)).root)].map((e) => e.path);
    assert.deepEqual(paths, ['/', '/c']);
    assert.equal([...walk(tree().root)].find((e) => e.node.name === 'e')!.path, '/soc/a/b/c/d/e');
  });

  it('value codecs encode big-endian cells and NUL-terminated strings', () => {
    assert.deepEqual([...u32Cells(1, 0xdeadbeef)], [0, 0, 0, 1, 0xde, 0xad, 0xbe, 0xef]);
    assert.deepEqual([...u64Cells(0x123456789n)], [0, 0, 0, 1, 0x23, 0x45, 0x67, 0x89]);
    assert.deepEqual(cells([0x40000000, 2 ** 40], 2), u64Cells(0x40000000, 2n ** 40n));
    assert.deepEqual([...stringValue('ab')], [0x61, 0x62, 0]);
    assert.deepEqual([...stringListValue(['a', 'b'])], [0x61, 0, 0x62, 0]);
    assert.deepEqual(readCells({ name: 'reg', value: u64Cells(1n, 2n ** 63n) }, 2), [1n, 2n ** 63n]);
    assert.deepEqual(readCells({ name: 'reg', value: u32Cells(1, 2, 3) }, 1), [1n, 2n, 3n]);
    assert.deepEqual(readStringList({ name: 'e', value: new Uint8Array(0) }), []);
    assert.throws(() => u32Cells(2 ** 32), { message: '<FDT>: FDT at offset 0x0: expected a value that fits one cell, found 0x100000000' });
    assert.throws(() => cells([-1], 2), { message: '<FDT>: FDT at offset 0x0: expected a value that fits two cells, found -1' });
    assert.throws(() => u64Cells(1n << 64n), { name: 'FormatError' });
    assert.throws(() => stringValue('a\0b'), { message: '<FDT>: FDT at offset 0x0: expected a string without NUL, found "a\\u0000b"' });
  });

  it('readers name the property path and, while the value is as parsed, its offset', () => {
    const fdt = parseFdt(readFixture('dtb', 'qemu-virt-arm64.dtb'));
    const seed = getProp(findNode(fdt, '/chosen')!, 'kaslr-seed')!;
    assert.equal(propOffset(seed), 0x1b7c);
    assert.throws(() => readU32(seed), {
      name: 'FormatError',
      message: '<FDT>: FDT at offset 0x1b7c: expected /chosen/kaslr-seed: 4 bytes (one cell), found 8 bytes',
    });
    const model = getProp(fdt.root, 'model')!;
    assert.throws(() => readU64(model), { message: /offset 0x64: expected \/model: 8 bytes \(two cells\), found 17 bytes$/ });
    assert.throws(() => readCells(model, 1), { message: /expected \/model: a multiple of 4 bytes \(1-cell values\), found 17 bytes$/ });
    assert.throws(() => readString(getProp(findNode(fdt, '/psci')!, 'compatible')!), {
      message: /expected \/psci\/compatible: one NUL-terminated string, found 3 strings$/,
    });
    // Edited, the value has no offset any more; built in code, the name is all there is.
    seed.value = new Uint8Array([1, 2, 3]);
    assert.throws(() => readStringList(seed), {
      message: '<FDT>: FDT at offset 0x0: expected /chosen/kaslr-seed: NUL-terminated strings, found last byte 0x3',
    });
    assert.throws(() => readU32({ name: 'x', value: new Uint8Array(1) }, '/a/x'), {
      message: '<FDT>: FDT at offset 0x0: expected /a/x: 4 bytes (one cell), found 1 bytes',
    });
  });
});

describe('parseFdt rejects bad input with the offset, what it expected and what it found', () => {
  const tiny = dtsToDtb(TINY);
  const at = (offset: number, expected: string, found: string): string =>
    `<FDT>: FDT at offset 0x${offset.toString(16)}: expected ${expected}, found ${found}`;
  const deep = (depth: number): string =>
    `/dts-v1/;\n/ {\n${'n {\n'.repeat(depth - 1)}${'};\n'.repeat(depth - 1)}};\n`;

  const corpus: [string, Uint8Array, string][] = [
    ['empty input', new Uint8Array(0), at(0, 'the FDT magic (4 bytes)', 'end of data at 0x0')],
    ['truncated header', tiny.subarray(0, 0x20), at(0, 'an FDT header (40 bytes)', 'end of data at 0x20')],
    ['wrong magic', patched(tiny, [0, 0xedfe0dd0]), at(0, 'magic 0xd00dfeed', '0xedfe0dd0')],
    ['totalsize past the end', patched(tiny, [4, 0x8d]), at(4, 'totalsize from 0x28 to the data length 0x8c', '0x8d')],
    ['totalsize inside the header', patched(tiny, [4, 0x10]), at(4, 'totalsize from 0x28 to the data length 0x8c', '0x10')],
    ['version 15', patched(tiny, [0x14, 15]), at(0x14, 'version 16 or 17', '15')],
    ['last_comp_version 17', patched(tiny, [0x18, 17]), at(0x18, 'last_comp_version 16 or lower', '17')],
    ['structure block past totalsize', patched(tiny, [0x24, 0x100]), at(8, 'the structure block within [0x28, 0x8c)', '[0x48, 0x148)')],
    ['strings block past totalsize', patched(tiny, [0x20, 9]), at(0xc, 'the strings block within [0x28, 0x8c)', '[0x84, 0x8d)')],
    ['reservation map inside the header', patched(tiny, [0x10, 0x20]), at(0x10, 'the reservation map within [0x28, 0x8c)', 'offset 0x20')],
    ['misaligned reservation map', patched(tiny, [0x10, 0x2c]), at(0x10, 'the reservation map aligned to 8 bytes', 'offset 0x2c')],
    ['misaligned structure block', patched(tiny, [8, 0x4a]), at(8, 'the structure block aligned to 4 bytes', 'offset 0x4a')],
    [
      'overlapping structure and strings',
      patched(tiny, [0xc, 0x80]),
      at(0xc, 'blocks that do not overlap', 'structure block [0x48, 0x84) and strings block starting at 0x80'),
    ],
    [
      'reservation map inside the structure block',
      patched(tiny, [0x10, 0x50]),
      at(0x10, 'blocks that do not overlap', 'structure block [0x48, 0x84) and reservation map starting at 0x50'),
    ],
    [
      'unterminated reservation map',
      patched(tiny, [0x3c, 1]),
      at(0x48, 'the (0, 0) terminator of the reservation map', 'no terminator before 0x48'),
    ],
    ['name offset past the strings block', patched(tiny, [0x58, 8]), at(0x58, 'a name offset below the strings block size 0x8', '0x8')],
    ['unterminated property name', patched(tiny, [0x20, 7]), at(0x8a, 'a NUL-terminated property name', 'no NUL before 0x8b')],
    ['unterminated node name', patched(tiny, [0x24, 0x1d]), at(0x64, 'a NUL-terminated node name', 'no NUL before 0x65')],
    [
      'property value past the structure block',
      patched(tiny, [0x54, 0x40]),
      at(0x54, "a property length of at most 0x28 (the structure block's end)", '0x40'),
    ],
    [
      'unknown token',
      patched(tiny, [0x80, 5]),
      at(0x80, 'a structure token (FDT_BEGIN_NODE, FDT_END_NODE, FDT_PROP, FDT_NOP or FDT_END)', '0x5'),
    ],
    ['BEGIN_NODE without END_NODE', patched(tiny, [0x7c, 4]), at(0x80, 'FDT_END_NODE closing /', 'FDT_END')],
    ['END_NODE without BEGIN_NODE', patched(tiny, [0x80, 2]), at(0x80, 'FDT_END after the root node', 'FDT_END_NODE with no open node')],
    ['two roots', patched(tiny, [0x80, 1]), at(0x80, 'FDT_END after the root node', 'a second root node (FDT_BEGIN_NODE)')],
    ['missing END', patched(tiny, [0x24, 0x38]), at(0x80, 'the FDT_END token', 'the end of the structure block at 0x80')],
    ['property outside any node', patched(tiny, [0x48, 3]), at(0x48, 'a property inside a node', 'FDT_PROP outside any node')],
    ['no root node', patched(tiny, [0x48, 9]), at(0x48, 'the root node (FDT_BEGIN_NODE)', 'FDT_END')],
    ['a named root', patched(tiny, [0x4c, 0x72000000]), at(0x4c, 'an empty root node name', '"r"')],
    [
      `nesting deeper than ${FDT_MAX_DEPTH}`,
      dtsToDtb(deep(FDT_MAX_DEPTH + 1)),
      at(0x38 + FDT_MAX_DEPTH * 8, `nodes nested at most ${FDT_MAX_DEPTH} deep`, `a node at depth ${FDT_MAX_DEPTH + 1}`),
    ],
  ];

  for (const [name, bytes, message] of corpus) {
    it(name, () => {
      assert.throws(
        () => parseFdt(bytes),
        (e: unknown) => e instanceof FormatError && e.message === message,
        `expected: ${message}\nfound: ${(() => {
          try {
            parseFdt(bytes);
            return 'no error';
          } catch (e) {
            return String((e as Error).message);
          }
        })()}`,
      );
    });
  }

  it(`nesting exactly ${FDT_MAX_DEPTH} deep is accepted and round-trips`, () => {
    const bytes = dtsToDtb(deep(FDT_MAX_DEPTH));
    assert.deepEqual(roundTrip(bytes), bytes);
  });
});

describe('parseFdt property tests (fast-check)', () => {
  /**
   * Only FormatError may come out of parseFdt; whatever it accepts, writeFdt
   * must write, and the result must parse back to the same tree.
   */
  function check(bytes: Uint8Array): boolean {
    let fdt: Fdt;
    try {
      fdt = parseFdt(bytes);
    } catch (e) {
      if (e instanceof FormatError) return false;
      throw e;
    }
    const out = writeFdt(fdt);
    const again = parseFdt(out);
    assert.deepEqual(again.root, fdt.root);
    assert.deepEqual(again.reservations, fdt.reservations);
    return true;
  }

  it('random bytes, with and without a valid magic', () => {
    const magic = new Uint8Array([0xd0, 0x0d, 0xfe, 0xed]);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.boolean(), (bytes, withMagic) => {
        if (withMagic && bytes.length >= 4) bytes.set(magic);
        check(bytes);
      }),
      { numRuns: 1500 },
    );
  });

  it('mutated valid blobs: byte flips, header words, truncation, or all three', () => {
    const bases = [dtsToDtb(TINY), dtsToDtb(BOARD), dtsToDtb(BOARD, '-p', '64', '-R', '1')];
    const interesting = fc.constantFrom(0, 1, 2, 3, 4, 8, 9, 16, 17, 0x28, 0x38, 0x48, 0x7fffffff, 0xffffffff);
    const flips = fc.array(fc.tuple(fc.nat(), fc.nat(255)), { minLength: 1, maxLength: 3 });
    const words = fc.array(fc.tuple(fc.nat(9), fc.oneof(interesting, fc.nat(0x400))), { minLength: 1, maxLength: 2 });
    const cut = fc.nat();
    const mutation = fc.oneof(
      fc.record({ flips, words: fc.constant([]), cut: fc.constant(null) }),
      fc.record({ flips: fc.constant([]), words, cut: fc.constant(null) }),
      fc.record({ flips: fc.constant([]), words: fc.constant([]), cut }),
      fc.record({ flips, words, cut: fc.option(cut) }),
    );
    let parsed = 0;
    fc.assert(
      fc.property(fc.nat(bases.length - 1), mutation, (which, m) => {
        let bytes = bases[which]!.slice();
        for (const [i, v] of m.flips) bytes[i % bytes.length] = v;
        const dv = new DataView(bytes.buffer);
        for (const [field, v] of m.words) dv.setUint32(field * 4, v, false);
        if (m.cut !== null) bytes = bytes.subarray(0, m.cut % (bytes.length + 1));
        if (check(bytes)) parsed++;
      }),
      { numRuns: 2500 },
    );
    assert.ok(parsed > 150, `only ${parsed} mutated blobs parsed: the write path was hardly exercised`);
  });
});
