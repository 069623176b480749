import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { FormatError } from '../errors.js';
import { BOOT_CONF_MAX_SECTIONS, bootOptionsFor, parseBootConf, parseStateFile, stateFileText } from './hardboot-conf.js';

const SAMPLE = `# every entry: hardboot above 512 MiB
method hardboot
mem-min 0x20000000

entry pmos-*
board shamu
vendor-boot /android/vendor_boot.img
mem-max 01000000000
entry rescue
method kexec
`;

describe('hardboot.conf', () => {
  it('reads global lines and entry sections, later sections winning key by key', () => {
    const conf = parseBootConf(SAMPLE);
    assert.equal(conf.sections.length, 3);
    assert.deepEqual(conf.sections[0], { options: { method: 'hardboot', memMin: 0x20000000 }, line: 0 });
    assert.deepEqual(bootOptionsFor(conf, 'pmos-edge'), { method: 'hardboot', memMin: 0x20000000, board: 'shamu', vendorBoot: '/android/vendor_boot.img', memMax: 0o1000000000 });
    assert.deepEqual(bootOptionsFor(conf, 'rescue'), { method: 'kexec', memMin: 0x20000000 });
    assert.deepEqual(bootOptionsFor(conf, 'debian'), { method: 'hardboot', memMin: 0x20000000 });
    assert.deepEqual(bootOptionsFor(undefined, 'x'), {});
  });

  it('reads numbers as kexec-tools does (hex, octal, decimal)', () => {
    for (const [text, n] of [['0x10', 16], ['010', 8], ['10', 10], ['0', 0]] as const) {
      assert.equal(bootOptionsFor(parseBootConf(`mem-min ${text}\n`), 'a').memMin, n);
    }
  });

  const refuses = (text: string, offset: number, expected: RegExp) => {
    assert.throws(
      () => parseBootConf(text),
      (e: unknown) => e instanceof FormatError && e.offset === offset && expected.test(e.message),
      text,
    );
  };

  it('refuses what it cannot read, naming the line and its offset', () => {
    refuses('method hardboot\nmethd kexec\n', 16, /expected one of 'entry', 'method'.*found "methd" \(line 2\)/);
    refuses('method hardboot\nmethod kexec\n', 16, /'method' once per section.*first is on line 1/);
    refuses('method fast\n', 0, /'hardboot' or 'kexec'/);
    refuses('mem-min 0x\n', 0, /an address/);
    refuses('mem-min 08\n', 0, /an address/);
    refuses('board\n', 0, /a value after 'board'/);
    refuses('entry\n', 0, /a value after 'entry'/);
    refuses('mem-max 0x1000\nmem-min 0x2000\n', 15, /mem-min at or below mem-max/);
    refuses('a\0b\n', 1, /NUL/);
    refuses(`${'entry a\n'.repeat(BOOT_CONF_MAX_SECTIONS)}entry b\n`, BOOT_CONF_MAX_SECTIONS * 8, /at most 256 'entry' sections/);
  });

  it('takes a key again in a new section', () => {
    const conf = parseBootConf('entry a\nboard x\nentry a\nboard y\n');
    assert.equal(bootOptionsFor(conf, 'a').board, 'y');
  });

  it('either parses or throws a FormatError, on any text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (s) => {
        try {
          parseBootConf(s);
        } catch (e) {
          assert.ok(e instanceof FormatError, String(e));
        }
      }),
      { numRuns: 300, seed: 5 },
    );
  });
});

describe('state files', () => {
  it('reads one name, with spaces and blank lines around it', () => {
    assert.equal(parseStateFile('\n  debian-6.1+2-1.conf \n\n', 'hardboot/booted'), 'debian-6.1+2-1.conf');
    assert.equal(parseStateFile(new TextEncoder().encode(stateFileText('rescue', 'x')), 'x'), 'rescue');
  });

  it('refuses an empty file, two names, a path and a name with spaces around it to write', () => {
    assert.throws(() => parseStateFile('\n \n', 'hardboot/default'), /hardboot\/default at offset 0x0: expected an entry name, found an empty file/);
    assert.throws(() => parseStateFile('a\nb\n', 'hardboot/default'), /offset 0x2: expected one line, found a second line \(line 2\)/);
    assert.throws(() => parseStateFile('../x\n', 'hardboot/default'), /expected an entry name \(no \/\)/);
    assert.throws(() => stateFileText(' a', 'hardboot/default'), /without spaces around it/);
    assert.throws(() => parseStateFile('x'.repeat(5000), 'hardboot/default'), /at most 4096 bytes/);
  });
});
