import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { FormatError } from '../errors.js';
import { fixture, readFixture } from '../../test/support.js';
import { parseFdt, writeFdt } from './fdt.js';
import { type MemoryRange, type ReservedRange, cellCounts, memoryFromFdt, memoryMapFromFdt, memoryNodes, setMemoryReg } from './fdt-memory.js';
import { type DtsText, dtbToDts, dtsToDtb } from '../../test/fdt-tools.js';

const FIXTURES = readdirSync(fixture('dtb'))
  .filter((f) => f.endsWith('.dtb'))
  .sort();

const fromFixture = (name: string) => memoryFromFdt(parseFdt(readFixture('dtb', name)));
const fromDts = (body: string) => memoryFromFdt(parseFdt(dtsToDtb(`/dts-v1/;\n${body}`)));

/** `<0x00 0x40000000 …>` as printed by dtc, split into (address, size) pairs of the given cell counts. */
function dtcReg(text: string | undefined, ac: number, sc: number): MemoryRange[] {
  const words = /^<(.*)>$/.exec(text ?? '')![1]!.split(' ').map((w) => BigInt(w));
  const out: MemoryRange[] = [];
  const num = (ws: bigint[]): number => Number(ws.reduce((v, w) => (v << 32n) | w, 0n));
  for (let i = 0; i < words.length; i += ac + sc) {
    const r = { start: num(words.slice(i, i + ac)), size: num(words.slice(i + ac, i + ac + sc)) };
    if (r.size > 0) out.push(r);
  }
  return out;
}

/** The same view of RAM, read from dtc's decompiled text instead of our parser. */
function memoryFromDtcText(t: DtsText): { memory: MemoryRange[]; reserved: ReservedRange[] } {
  const root = t.nodes.get('/')!;
  const cellsOf = (props: Map<string, string>, a: number, s: number): [number, number] => [
    props.has('#address-cells') ? Number(/<(\S+)>/.exec(props.get('#address-cells')!)![1]) : a,
    props.has('#size-cells') ? Number(/<(\S+)>/.exec(props.get('#size-cells')!)![1]) : s,
  ];
  const ok = (p: Map<string, string>) => !p.has('status') || ['"okay"', '"ok"'].includes(p.get('status')!);
  const [ac, sc] = cellsOf(root, 2, 1);
  const memory: MemoryRange[] = [];
  const reserved: ReservedRange[] = t.memreserve.map((line) => {
    const [a, s] = line.split(' ').map((w) => Number(BigInt(w)));
    return { start: a!, size: s! };
  });
  const rm = t.nodes.get('/reserved-memory');
  const [rac, rsc] = rm ? cellsOf(rm, ac, sc) : [ac, sc];
  for (const [path, props] of t.nodes) {
    const parts = path.split('/');
    if (parts.length === 2 && props.get('device_type') === '"memory"' && ok(props) && props.has('reg')) {
      memory.push(...dtcReg(props.get('reg'), ac, sc));
    }
    if (parts.length === 3 && parts[1] === 'reserved-memory' && ok(props) && props.has('reg')) {
      reserved.push(...dtcReg(props.get('reg'), rac, rsc).map((r) => ({ ...r, name: parts[2]! })));
    }
  }
  return { memory, reserved };
}

describe('memoryMapFromFdt', () => {
  it('gives dtc\'s ranges as [start, end), reserved ones named by node or /memreserve/', () => {
    for (const name of FIXTURES) {
      const fromDtc = memoryFromDtcText(dtbToDts(readFixture('dtb', name)));
      assert.deepEqual(memoryMapFromFdt(parseFdt(readFixture('dtb', name))), {
        ram: fromDtc.memory.map((r) => ({ start: r.start, end: r.start + r.size })),
        reserved: fromDtc.reserved.map((r) => ({ start: r.start, end: r.start + r.size, name: r.name ?? '/memreserve/' })),
      }, name);
    }
    assert.deepEqual(memoryMapFromFdt(parseFdt(readFixture('dtb', 'qemu-virt-arm64.dtb'))), { ram: [{ start: 0x40000000, end: 0x80000000 }], reserved: [] });
  });
});

describe('memoryFromFdt', () => {
  for (const name of FIXTURES) {
    it(`${name}: agrees with what dtc decompiles`, () => {
      const bytes = readFixture('dtb', name);
      assert.deepEqual(memoryFromFdt(parseFdt(bytes)), memoryFromDtcText(dtbToDts(bytes)));
    });
  }

  it('QEMU virt: 1 GiB at 0x40000000, nothing reserved', () => {
    for (const name of ['qemu-virt-arm64.dtb', 'qemu-virt-arm.dtb']) {
      assert.deepEqual(fromFixture(name), { memory: [{ start: 0x40000000, size: 0x40000000 }], reserved: [] });
    }
  });

  it('msm8916 (Galaxy J5): the bootloader fills memory; /reserved-memory has 12 ranges', () => {
    const m = fromFixture('msm8916-samsung-j5.dtb');
    // dtc: memory@80000000 { device_type = "memory"; reg = <0x00 0x80000000 0x00 0x00>; }
    assert.deepEqual(m.memory, []);
    assert.equal(m.reserved.length, 12);
    assert.deepEqual(m.reserved[0], { start: 0x86000000, size: 0x300000, name: 'tz-apps@86000000' });
    // dtc: mpss@86800000 { reg = <0x00 0x86800000 0x00 0x2b00000>; no-map; phandle = <0x55>; }
    assert.deepEqual(m.reserved[7], { start: 0x86800000, size: 0x2b00000, name: 'mpss@86800000' });
    assert.deepEqual(m.reserved[11], { start: 0x85500000, size: 0xb00000, name: 'tz-apps@85500000' });
  });

  it('msm8994 (Nexus 6P): reserved children named memory@… are reserved, not RAM', () => {
    const m = fromFixture('msm8994-huawei-angler-rev-101.dtb');
    assert.deepEqual(m.memory, []);
    assert.equal(m.reserved.length, 12);
    assert.deepEqual(m.reserved[0], { start: 0x3400000, size: 0x1000, name: 'dfps_data_mem@3400000' });
    assert.deepEqual(m.reserved[1], { start: 0x3401000, size: 0x1000000, name: 'memory@3401000' });
    assert.deepEqual(m.reserved[8], { start: 0xc9400000, size: 0x3f00000, name: 'memory@c9400000' });
  });

  it('Raspberry Pi 3: one-cell reg, a /memreserve/ entry, a size-only CMA pool skipped', () => {
    assert.deepEqual(fromFixture('bcm2837-rpi-3-b.dtb'), {
      memory: [{ start: 0, size: 0x40000000 }],
      reserved: [{ start: 0, size: 0x1000 }],
    });
  });

  it('Versatile Express: RAM at 0x80000000 and the vram carve-out', () => {
    assert.deepEqual(fromFixture('vexpress-v2p-ca15-tc1.dtb'), {
      memory: [{ start: 0x80000000, size: 0x40000000 }],
      reserved: [{ start: 0x18000000, size: 0x800000, name: 'vram@18000000' }],
    });
  });

  it('cell counts: defaults 2/1 when missing, /reserved-memory falls back to the root', () => {
    const m = fromDts(`/ {
      memory@80000000 { device_type = "memory"; reg = <0 0x80000000 0x1000 0x1 0x0 0x2000>; };
      reserved-memory { r@80000000 { reg = <0 0x80000000 0x100>; }; };
    };`);
    assert.deepEqual(m.memory, [
      { start: 0x80000000, size: 0x1000 },
      { start: 0x100000000, size: 0x2000 },
    ]);
    assert.deepEqual(m.reserved, [{ start: 0x80000000, size: 0x100, name: 'r@80000000' }]);
    const fdt = parseFdt(dtsToDtb('/dts-v1/;\n/ { #address-cells = <1>; #size-cells = <2>; };'));
    assert.deepEqual(cellCounts(fdt.root, '/'), { address: 1, size: 2 });
  });

  it('which nodes are RAM: device_type "memory", or a memory@ name without device_type; status honoured', () => {
    const m = fromDts(`/ {
      #address-cells = <1>; #size-cells = <1>;
      memory@1000 { reg = <0x1000 0x1000>; };
      ram@2000 { device_type = "memory"; reg = <0x2000 0x1000>; };
      memory@3000 { device_type = "memory"; status = "disabled"; reg = <0x3000 0x1000>; };
      memory@4000 { device_type = "other"; reg = <0x4000 0x1000>; };
      memory@5000 { device_type = "memory"; status = "okay"; reg = <0x5000 0x1000 0x6000 0>; };
      soc { memory@7000 { device_type = "memory"; reg = <0x7000 0x1000>; }; };
      odd { device_type = <1>; status = [ff]; reg = <0x7000 0x1000>; };
      memory@8000 { device_type = "memory", "x"; status = "ok", "?"; reg = <0x8000 0x1000>; };
      reserved-memory {
        #address-cells = <1>; #size-cells = <1>;
        a@8000 { reg = <0x8000 0x100>; status = "disabled"; };
        b@9000 { reg = <0x9000 0x100 0xa000 0x200>; status = "ok"; };
        pool { size = <0x100000>; };
      };
    };`);
    assert.deepEqual(m.memory, [
      { start: 0x1000, size: 0x1000 },
      { start: 0x2000, size: 0x1000 },
      { start: 0x5000, size: 0x1000 },
      { start: 0x8000, size: 0x1000 },
    ]);
    assert.deepEqual(m.reserved, [
      { start: 0x9000, size: 0x100, name: 'b@9000' },
      { start: 0xa000, size: 0x200, name: 'b@9000' },
    ]);
  });

  it('errors name the property path and its offset in the blob', () => {
    // Map 0x28–0x38, root FDT_BEGIN_NODE at 0x38, its first FDT_PROP at 0x40: the value at 0x4c.
    assert.throws(() => fromDts('/ { #address-cells = [00 02]; memory { device_type = "memory"; reg = <0 0>; }; };'), {
      name: 'FormatError',
      message: '<FDT>: FDT at offset 0x4c: expected /#address-cells: 4 bytes (one cell), found 2 bytes',
    });
    assert.throws(() => fromDts('/ { #size-cells = <3>; };'), {
      message: /: expected \/#size-cells: 1 or 2, found 3$/,
    });
    assert.throws(() => fromDts('/ { memory@0 { device_type = "memory"; reg = <0 0>; }; };'), {
      message: /: expected \/memory@0\/reg: a multiple of 12 bytes \(2 address \+ 1 size cells\), found 8 bytes$/,
    });
    // Root at 0x38, memory@0 at 0x40 (name to 0x50), device_type at 0x50, reg at 0x64: its value at 0x70.
    assert.throws(() => fromDts('/ { memory@0 { device_type = "memory"; reg = <0 0x1000 0x1000 0x200000 0 0x1000>; }; };'), {
      message: '<FDT>: FDT at offset 0x7c: expected /memory@0/reg entry 1 address below 2^53, found 0x20000000000000',
    });
  });

  it('/memreserve/ entries past 2^53 are a FormatError too', () => {
    assert.throws(() => fromDts('/memreserve/ 0xffffffffffff0000 0x1000;\n/ { };'), {
      message: '<FDT>: FDT at offset 0x0: expected /memreserve/ entry 0 address below 2^53, found 0xffffffffffff0000',
    });
  });
});

describe('setMemoryReg', () => {
  it('QEMU arm64 (2+2 cells): replaces /memory/reg, checked with dtc', () => {
    const fdt = parseFdt(readFixture('dtb', 'qemu-virt-arm64.dtb'));
    const ranges = [
      { start: 0x40000000, size: 0x20000000 },
      { start: 0x100000000, size: 0x10000000 },
    ];
    const node = setMemoryReg(fdt, ranges);
    assert.equal(node.name, 'memory@40000000');
    const out = writeFdt(fdt);
    const text = dtbToDts(out).nodes.get('/memory@40000000')!;
    assert.equal(text.get('reg'), '<0x00 0x40000000 0x00 0x20000000 0x01 0x00 0x00 0x10000000>');
    assert.equal(text.get('device_type'), '"memory"');
    assert.deepEqual(memoryFromFdt(parseFdt(out)).memory, ranges);
  });

  it('Raspberry Pi 3 (1+1 cells): encodes one cell each, refuses an address past 4 GiB', () => {
    const fdt = parseFdt(readFixture('dtb', 'bcm2837-rpi-3-b.dtb'));
    setMemoryReg(fdt, [{ start: 0, size: 0x3b400000 }]);
    assert.equal(dtbToDts(writeFdt(fdt)).nodes.get('/memory@0')!.get('reg'), '<0x00 0x3b400000>');
    assert.throws(() => setMemoryReg(fdt, [{ start: 0x100000000, size: 0x1000 }]), {
      name: 'FormatError',
      message: '<FDT>: FDT at offset 0x0: expected /memory@0/reg: range 0 address that fits 1 cell(s), found 0x100000000',
    });
    assert.throws(() => setMemoryReg(fdt, [{ start: 0, size: 2 ** 32 }]), {
      message: '<FDT>: FDT at offset 0x0: expected /memory@0/reg: range 0 size that fits 1 cell(s), found 0x100000000',
    });
  });

  it("msm8916: fills the bootloader's empty memory node (the MultiROM copy of the live /memory/reg)", () => {
    const fdt = parseFdt(readFixture('dtb', 'msm8916-samsung-j5.dtb'));
    setMemoryReg(fdt, [
      { start: 0x80000000, size: 0x5000000 },
      { start: 0x90000000, size: 0x30000000 },
    ]);
    const m = memoryFromFdt(parseFdt(writeFdt(fdt)));
    assert.deepEqual(m.memory, [
      { start: 0x80000000, size: 0x5000000 },
      { start: 0x90000000, size: 0x30000000 },
    ]);
    assert.equal(m.reserved.length, 12);
  });

  it('keeps one memory node, and adds one when the tree has none', () => {
    const two = parseFdt(
      dtsToDtb(`/dts-v1/;\n/ { #address-cells = <1>; #size-cells = <1>;
        memory@0 { device_type = "memory"; reg = <0 0x1000>; };
        memory@8000 { device_type = "memory"; reg = <0x8000 0x1000>; };
        memory@9000 { device_type = "memory"; status = "disabled"; reg = <0x9000 0x1000>; }; };`),
    );
    setMemoryReg(two, [{ start: 0x4000, size: 0x2000 }]);
    assert.deepEqual(
      two.root.children.map((n) => n.name),
      ['memory@0', 'memory@9000'],
    );
    assert.deepEqual(memoryFromFdt(two).memory, [{ start: 0x4000, size: 0x2000 }]);

    const none = parseFdt(dtsToDtb('/dts-v1/;\n/ { #address-cells = <2>; #size-cells = <2>; chosen { }; };'));
    setMemoryReg(none, [{ start: 0x80000000, size: 0x40000000 }]);
    assert.deepEqual(memoryNodes(none).map((n) => n.path), ['/memory@80000000']);
    const text = dtbToDts(writeFdt(none)).nodes.get('/memory@80000000')!;
    assert.deepEqual([...text], [
      ['device_type', '"memory"'],
      ['reg', '<0x00 0x80000000 0x00 0x40000000>'],
    ]);
  });
});

describe('memoryFromFdt property test (fast-check)', () => {
  it('on mutated trees that still parse, only FormatError comes out', () => {
    const base = dtsToDtb(`/dts-v1/;\n/memreserve/ 0x1000 0x1000;\n/ { #address-cells = <1>; #size-cells = <1>;
      memory@0 { device_type = "memory"; reg = <0 0x1000 0x2000 0x1000>; };
      reserved-memory { #address-cells = <2>; #size-cells = <1>; r@0 { reg = <0 0x100 0x10>; status = "okay"; }; };
    };`);
    let parsed = 0;
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(base.length - 1), fc.nat(255)), { minLength: 1, maxLength: 4 }), (flips) => {
        const bytes = base.slice();
        for (const [i, v] of flips) bytes[i] = v;
        let fdt;
        try {
          fdt = parseFdt(bytes);
        } catch (e) {
          if (e instanceof FormatError) return;
          throw e;
        }
        parsed++;
        try {
          memoryFromFdt(fdt);
        } catch (e) {
          if (!(e instanceof FormatError)) throw e;
        }
      }),
      { numRuns: 1500 },
    );
    assert.ok(parsed > 100, `only ${parsed} mutated trees parsed`);
  });
});
