import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { FormatError } from '../errors.js';
import { fixture } from '../../test/support.js';
import { hardbootFromFile, memoryFromIomem, parseHardbootDirectory, parseHardbootSysfs, parseIomem, parseKernelPageSize, parseLockdown, parseProcCmdline, parseProcStatus } from './proc.js';

const text = (name: string) => readFileSync(fixture('proc', name), 'utf8');

describe('/proc/iomem', () => {
  it('reads nesting, names and inclusive ends', () => {
    const es = parseIomem(text('iomem-x86_64-vm.txt'));
    const ram = es.find((e) => e.start === 0x100000)!;
    assert.equal(ram.name, 'System RAM');
    assert.equal(ram.end, 0xc0000000);
    assert.deepEqual(ram.children.map((c) => c.name), ['Kernel code', 'Kernel rodata', 'Kernel data', 'Kernel bss']);
    const pci = es.find((e) => e.name === 'Reserved' && e.start === 0xeec00000)!;
    assert.equal(pci.children[0]!.children[0]!.name, 'PCI Bus 0000:00');
  });

  it('takes RAM from top-level System RAM and keeps the kernel image usable', () => {
    const m = memoryFromIomem(text('iomem-x86_64-vm.txt'));
    assert.deepEqual(m.ram, [
      { start: 0x1000, end: 0xa0000 - 0x400 },
      { start: 0x100000, end: 0xc0000000 },
      { start: 0x100000000, end: 0x640000000 },
    ]);
    assert.deepEqual(m.reserved.map((r) => [r.start, r.end]), [
      [0x0, 0x1000],
      [0x9fc00, 0x100000],
      [0xeec00000, 0xfec00000],
    ]);
    assert.equal(m.source, '/proc/iomem');
  });

  it('reads reserved regions nested in RAM (arm64)', () => {
    const m = memoryFromIomem(
      ['40000000-7fffffff : System RAM', '  40210000-41a0ffff : Kernel code', '  41a10000-41bfffff : reserved', '  7fe00000-7fffffff : reserved', ''].join('\n'),
    );
    assert.deepEqual(m.ram, [{ start: 0x40000000, end: 0x80000000 }]);
    assert.deepEqual(m.reserved, [
      { start: 0x41a10000, end: 0x41c00000, name: 'reserved' },
      { start: 0x7fe00000, end: 0x80000000, name: 'reserved' },
    ]);
  });

  it('refuses the zeroed view a non-root reader gets', () => {
    assert.throws(() => memoryFromIomem(text('iomem-nonroot.txt')), {
      message: '</proc/iomem>: /proc/iomem at offset 0x0: expected real addresses, found all zero (read as root to see addresses)',
    });
  });

  it('names the line offset of a malformed line', () => {
    assert.throws(() => parseIomem('40000000-7fffffff : System RAM\nnot a line\n'), {
      message: `</proc/iomem>: /proc/iomem at offset 0x1f: expected 'START-END : NAME', found "not a line"`,
    });
    assert.throws(() => parseIomem('    40000000-7fffffff : System RAM\n'), { message: /expected nesting depth ≤ 0, found 2/ });
    assert.throws(() => parseIomem('7fffffff-40000000 : System RAM\n'), { message: /expected START ≤ END below 2\^53, found 7fffffff-40000000/ });
    assert.throws(() => memoryFromIomem('00000000-0000ffff : Reserved\n'), { message: /expected a 'System RAM' entry, found none/ });
  });

  it('throws only FormatError on any text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (s) => {
        try {
          memoryFromIomem(s);
        } catch (e) {
          if (!(e instanceof FormatError)) throw e;
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('/proc/cmdline', () => {
  it('drops the trailing newline and BOOT_IMAGE=', () => {
    assert.equal(parseProcCmdline('BOOT_IMAGE=/vmlinuz root=/dev/vda ro  quiet\n'), 'root=/dev/vda ro quiet');
    assert.equal(parseProcCmdline('\n'), '');
  });
});

describe('/proc/self/smaps', () => {
  it('reads the kernel page size of this very process', () => {
    assert.equal(parseKernelPageSize(readFileSync('/proc/self/smaps', 'utf8')), 4096);
    assert.equal(parseKernelPageSize('7f00-7f01 r--p 0 0:0 0\nKernelPageSize:       64 kB\n'), 65536);
    assert.throws(() => parseKernelPageSize('Size: 4 kB\n'), { message: "</proc/self/smaps>: /proc/self/smaps at offset 0x0: expected a 'KernelPageSize: N kB' line, found none" });
    assert.throws(() => parseKernelPageSize('KernelPageSize: 3 kB\n'), { message: /expected a power-of-two page size ≥ 4 kB, found 3 kB/ });
  });
});

describe('/sys/kernel/kexec_hardboot', () => {
  // The files as the kernel series' second version writes them (kernel/kexec_hardboot.c).
  const v2 = { page: '0x47fff000\n', flag: '0x4\n', record_version: '2\n', reset: 'psci-system-reset\n', status: 'ready\n', takeover: '1\n', check: 'full\n' };

  it('reads the directory: every fact, and the reason when the kernel cannot hardboot now', () => {
    assert.deepEqual(parseHardbootDirectory(v2, '/sys/kernel/kexec_hardboot'), {
      interface: 'directory',
      page: 0x47fff000,
      flag: 0x4,
      recordVersion: 2,
      reset: 'psci-system-reset',
      ready: true,
      takeover: true,
      check: 'full',
    });
    const why = 'the page is not in the RAM this kernel uses (a mem= limit, or not RAM)';
    const off = parseHardbootDirectory({ ...v2, status: `unavailable: ${why}\n`, takeover: '0\n' }, '/s');
    assert.deepEqual([off.ready, off.reason, off.takeover], [false, why, false]);
    // Only page and flag are required; a port to a newer kernel may advertise another bit.
    assert.deepEqual(parseHardbootDirectory({ page: '0x80000000', flag: '0x40' }, '/s'), { interface: 'directory', page: 0x80000000, flag: 0x40 });
  });

  it('refuses what it cannot trust, naming the file', () => {
    const bad = (files: Record<string, string>, message: string) => assert.throws(() => parseHardbootDirectory(files, '/sys/kernel/kexec_hardboot'), { message });
    bad({ flag: '0x4' }, '/sys/kernel/kexec_hardboot/page: sysfs at offset 0x0: expected a hex address such as 0x47fff000, found no such file');
    bad({ ...v2, page: '0x47fff800\n' }, '/sys/kernel/kexec_hardboot/page: sysfs at offset 0x0: expected a 4 KiB-aligned address, found "0x47fff800"');
    for (const flag of ['0x1', '0x2', '0x6', '0x10000', '0', 'four']) {
      assert.throws(() => parseHardbootDirectory({ ...v2, flag }, '/s'), { message: /\/s\/flag: sysfs at offset 0x0: expected (one kexec_load\(\) flag bit between 0x4 and 0x8000|a hex flag such as 0x4)/ }, flag);
    }
    bad({ ...v2, status: 'maybe\n' }, '/sys/kernel/kexec_hardboot/status: sysfs at offset 0x0: expected "ready" or "unavailable: <reason>", found "maybe"');
    bad({ ...v2, takeover: 'yes' }, '/sys/kernel/kexec_hardboot/takeover: sysfs at offset 0x0: expected 0 or 1, found "yes"');
  });

  it('reads the first series\' single file as flag 0x4', () => {
    assert.deepEqual(hardbootFromFile('0x47fff000\n', '/sys/kernel/kexec_hardboot'), { interface: 'file', page: 0x47fff000, flag: 0x4 });
    assert.throws(() => hardbootFromFile('page 1', '/x'), { message: '/x: sysfs at offset 0x0: expected a hex address such as 0x47fff000, found "page 1"' });
  });
});

describe('/proc/self/status and the lockdown file', () => {
  it("this test process's own /proc/self/status parses", () => {
    const s = parseProcStatus(readFileSync('/proc/self/status', 'utf8'));
    assert.equal(s.uid?.length, 4);
    assert.equal(typeof s.capEff, 'bigint');
    assert.equal(s.uid![1], process.geteuid!());
  });

  it('the small parsers', () => {
    assert.equal(parseLockdown('[none] integrity confidentiality'), 'none');
    assert.equal(parseLockdown('none integrity [confidentiality]\n'), 'confidentiality');
    assert.equal(parseHardbootSysfs('0x5f000000\n'), 0x5f000000);
    assert.equal(parseHardbootSysfs('page: 4096'), undefined); // not the kernel's format
    assert.equal(parseHardbootSysfs('unsupported'), undefined);
  });
});
