import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { FormatError } from '../errors.js';
import { fixture } from '../../test/support.js';
import {
  BOOT_COUNTER_MAX,
  attemptedEntryName,
  blessedEntryName,
  compareAlphanumerical,
  compareVersions,
  globMatch,
  parseBlsEntry,
  parseEntryName,
  parseLoaderConf,
  readBlsMenuEntry,
  selectDefaultBlsEntry,
  sortBlsEntries,
  type BlsMenuEntry,
} from './bls.js';

const boot = (name: string) => readFileSync(fixture('boot', name));

/** The complete drop-in file the specification gives as its example (UAPI.1, "Type #1 Boot Loader Entry Keys"). */
const SPEC_EXAMPLE = `# /boot/loader/entries/6a9857a393724b7a981ebb5b8495b9ea-3.8.0-2.fc19.x86_64.conf
title        Fedora 19 (Rawhide)
sort-key     fedora
machine-id   6a9857a393724b7a981ebb5b8495b9ea
version      3.8.0-2.fc19.x86_64
options      root=UUID=6d3376e4-fc93-4509-95ec-a21d68011da2 quiet
architecture x64
linux        /6a9857a393724b7a981ebb5b8495b9ea/3.8.0-2.fc19.x86_64/linux
initrd       /6a9857a393724b7a981ebb5b8495b9ea/3.8.0-2.fc19.x86_64/initrd
`;

describe('BLS Type #1 entries', () => {
  it("reads the specification's example entry", () => {
    assert.deepEqual(parseBlsEntry(SPEC_EXAMPLE), {
      title: 'Fedora 19 (Rawhide)',
      sortKey: 'fedora',
      machineId: '6a9857a393724b7a981ebb5b8495b9ea',
      version: '3.8.0-2.fc19.x86_64',
      options: 'root=UUID=6d3376e4-fc93-4509-95ec-a21d68011da2 quiet',
      architecture: 'x64',
      linux: '/6a9857a393724b7a981ebb5b8495b9ea/3.8.0-2.fc19.x86_64/linux',
      initrd: ['/6a9857a393724b7a981ebb5b8495b9ea/3.8.0-2.fc19.x86_64/initrd'],
      devicetreeOverlay: [],
      other: [],
    });
  });

  it("reads the entries Debian 12's kernel-install writes, and their names", () => {
    const files = readdirSync(fixture('boot')).filter((f) => f.endsWith('.conf') && !f.startsWith('extlinux'));
    assert.equal(files.length, 2);
    const [plain, counted] = files.sort().map((f) => readBlsMenuEntry(f, new Uint8Array(boot(f))));
    assert.equal(plain!.id, '4c1f0b6e2d3a49e8b7f5a6c9d0e1f2a3-6.1.0-28-arm64');
    assert.equal(plain!.triesLeft, undefined);
    assert.equal(plain!.title, 'Debian GNU/Linux 12 (bookworm)');
    assert.equal(plain!.sortKey, 'debian');
    assert.equal(plain!.linux, '/4c1f0b6e2d3a49e8b7f5a6c9d0e1f2a3/6.1.0-28-arm64/linux');
    assert.deepEqual(plain!.initrd, ['/4c1f0b6e2d3a49e8b7f5a6c9d0e1f2a3/6.1.0-28-arm64/initrd.img-6.1.0-28-arm64']);
    assert.equal(plain!.options, 'root=UUID=6d3376e4-fc93-4509-95ec-a21d68011da2 ro quiet systemd.machine_id=4c1f0b6e2d3a49e8b7f5a6c9d0e1f2a3');
    assert.deepEqual([counted!.id, counted!.triesLeft, counted!.triesDone], ['4c1f0b6e2d3a49e8b7f5a6c9d0e1f2a3-6.1.0-30-arm64', 3, 0]);
    // Same sort key and machine id: the newer version sorts first.
    assert.deepEqual(sortBlsEntries([plain!, counted!]).map((e) => e.version), ['6.1.0-30-arm64', '6.1.0-28-arm64']);
  });

  it('keeps the order of initrds, joins options, splits overlays, keeps unknown keys', () => {
    const e = parseBlsEntry(
      [
        '  # indented comment',
        'linux /vmlinuz',
        'initrd /a.img',
        'options root=/dev/sda1',
        '\tinitrd\t/b.img  ',
        'options  quiet # not a comment',
        'options',
        'devicetree /board.dtb',
        'devicetree-overlay /o1.dtbo  /o2.dtbo',
        'devicetree-overlay /o3.dtbo',
        'grub_users $grub_users',
        'title "Quoted title"',
        'x-flag',
        '',
      ].join('\r\n'),
    );
    assert.deepEqual(e.initrd, ['/a.img', '/b.img']);
    assert.equal(e.options, 'root=/dev/sda1 quiet # not a comment');
    assert.deepEqual(e.devicetreeOverlay, ['/o1.dtbo', '/o2.dtbo', '/o3.dtbo']);
    assert.equal(e.title, 'Quoted title');
    assert.deepEqual(e.other, [
      { key: 'grub_users', value: '$grub_users', offset: 227, line: 11 },
      { key: 'x-flag', value: '', offset: 273, line: 13 },
    ]);
    assert.equal(parseBlsEntry('efi /EFI/tool.efi\n').efi, '/EFI/tool.efi');
    assert.equal(parseBlsEntry('\ufefflinux /k\n').linux, '/k');
  });

  it('refuses what is ambiguous or incomplete, naming the line', () => {
    const bad = (text: string, message: string) => assert.throws(() => parseBlsEntry(text), { message });
    bad('title A\nlinux /k\ntitle B\n', "<BLS entry>: BLS entry at offset 0x11: expected 'title' once, found a second 'title' (the first is on line 1) (line 3)");
    bad('linux /k\ninitrd\n', "<BLS entry>: BLS entry at offset 0x9: expected a value after 'initrd', found none (line 2)");
    bad('linux\n', "<BLS entry>: BLS entry at offset 0x0: expected a value after 'linux', found none (line 1)");
    bad('title only\noptions quiet\n', "<BLS entry>: BLS entry at offset 0x0: expected a 'linux' or an 'efi' key, found neither");
    bad('', "<BLS entry>: BLS entry at offset 0x0: expected a 'linux' or an 'efi' key, found neither");
  });

  it('reads bytes as UTF-8 and refuses NUL, bad UTF-8 and oversized input at their offsets', () => {
    const enc = new TextEncoder();
    assert.equal(parseBlsEntry(enc.encode('title Débian ✓ 𝄞\nlinux /k\n')).title, 'Débian ✓ 𝄞');
    // Offsets count bytes: the second line starts after 1 + 5 + 1 + 2 bytes.
    assert.throws(() => parseBlsEntry(enc.encode('title é\nlinux\n')), { message: /at offset 0x9: expected a value after 'linux'/ });
    const withNul = enc.encode('linux /k\ntitle a\0b\n');
    assert.throws(() => parseBlsEntry(withNul), { message: '<BLS entry>: BLS entry at offset 0x10: expected text without NUL bytes, found a NUL byte' });
    assert.throws(() => parseBlsEntry('linux /k\0'), { message: /at offset 0x8: expected text without NUL bytes/ });
    for (const [bytes, at, byte] of [
      [[0x6c, 0xc3], 1, '0xc3'], // cut sequence
      [[0xc0, 0x80], 0, '0xc0'], // overlong NUL
      [[0x61, 0xed, 0xa0, 0x80], 1, '0xed'], // a surrogate
      [[0xf4, 0x90, 0x80, 0x80], 0, '0xf4'], // above U+10FFFF
      [[0x61, 0x62, 0x80], 2, '0x80'], // a stray continuation byte
    ] as const) {
      assert.throws(() => parseBlsEntry(new Uint8Array(bytes)), { message: `<BLS entry>: BLS entry at offset 0x${at.toString(16)}: expected UTF-8 text, found byte ${byte}` });
    }
    assert.throws(() => parseBlsEntry(new Uint8Array(64 * 1024 + 1).fill(0x20)), { message: '<BLS entry>: BLS entry at offset 0x0: expected a text of at most 65536 bytes, found 65537 bytes' });
    assert.throws(() => parseBlsEntry('é'.repeat(32 * 1024 + 1)), { message: /expected a text of at most 65536 bytes, found 65538 bytes or more/ });
    assert.throws(() => parseBlsEntry('\n'.repeat(4097)), { message: '<BLS entry>: BLS entry at offset 0x1000: expected at most 4096 lines, found more (line 4097 starts here)' });
    assert.equal(parseBlsEntry(`${'#\n'.repeat(4095)}linux /k`).linux, '/k');
  });

  it('throws only FormatError on any text or bytes', () => {
    const keys = fc.constantFrom('linux', 'efi', 'initrd', 'options', 'title', 'devicetree-overlay', 'version', '#', '"', ' ', '\t', '\r', '\n', '+');
    const text = fc.oneof(fc.string({ maxLength: 300, unit: 'binary' }), fc.array(fc.oneof(keys, fc.string({ maxLength: 8 })), { maxLength: 60 }).map((a) => a.join('')));
    fc.assert(
      fc.property(fc.oneof(text, fc.uint8Array({ maxLength: 300 })), (input) => {
        for (const parse of [parseBlsEntry, parseLoaderConf]) {
          try {
            parse(input);
          } catch (e) {
            if (!(e instanceof FormatError)) throw e;
          }
        }
      }),
      { numRuns: 3000 },
    );
  });
});

describe('boot counting in entry file names', () => {
  it('reads the counters the spec and systemd-boot read', () => {
    assert.deepEqual(parseEntryName('fedora-6.1.conf'), { fileName: 'fedora-6.1.conf', id: 'fedora-6.1', suffix: '.conf' });
    assert.deepEqual(parseEntryName('fedora-6.1+3.conf'), { fileName: 'fedora-6.1+3.conf', id: 'fedora-6.1', suffix: '.conf', triesLeft: 3, triesDone: 0 });
    assert.deepEqual(parseEntryName('a+b+0-7.EFI'), { fileName: 'a+b+0-7.EFI', id: 'a+b', suffix: '.EFI', triesLeft: 0, triesDone: 7 });
    assert.deepEqual(parseEntryName('x+03-010.conf'), { fileName: 'x+03-010.conf', id: 'x', suffix: '.conf', triesLeft: 3, triesDone: 10 });
  });

  it('treats a malformed counter as part of the id (not counted)', () => {
    for (const name of ['a+b.conf', 'a+1-.conf', 'a+-1.conf', 'a+1-2-3.conf', 'a+1x.conf', 'a+.conf', '+3.conf', `a+${BOOT_COUNTER_MAX + 1}.conf`, `a+1-${BOOT_COUNTER_MAX + 1}.conf`, 'a+3.conf.bak.conf']) {
      const n = parseEntryName(name);
      assert.equal(n.triesLeft, undefined, name);
      assert.equal(n.id, name.slice(0, -'.conf'.length), name);
    }
  });

  it('refuses what is not an entry file name', () => {
    for (const name of ['', '.conf', 'a.txt', 'dir/a.conf', 'a\0.conf', 'a.conf~']) {
      assert.throws(() => parseEntryName(name), FormatError, JSON.stringify(name));
    }
  });

  it('counts an attempt down to +0 and blesses to the plain name', () => {
    const series: string[] = ['foo+3.conf'];
    for (let n = attemptedEntryName(series.at(-1)!); n !== series.at(-1) && series.length < 6; n = attemptedEntryName(series.at(-1)!)) series.push(n!);
    assert.deepEqual(series, ['foo+3.conf', 'foo+2-1.conf', 'foo+1-2.conf', 'foo+0-3.conf', 'foo+0-4.conf', 'foo+0-5.conf']);
    assert.equal(attemptedEntryName('foo.conf'), undefined);
    assert.equal(attemptedEntryName(`foo+0-${BOOT_COUNTER_MAX}.conf`), `foo+0-${BOOT_COUNTER_MAX}.conf`);
    assert.equal(blessedEntryName('foo+0-5.conf'), 'foo.conf');
    assert.equal(blessedEntryName('foo+bar.conf'), 'foo+bar.conf');
  });

  it('round-trips: every counted name keeps its id through attempts and blessing', () => {
    const id = fc.stringMatching(/^[A-Za-z0-9._+-]{1,20}$/).filter((s) => !/\+\d+(-\d+)?$/.test(s));
    fc.assert(
      fc.property(id, fc.nat(BOOT_COUNTER_MAX), fc.option(fc.nat(BOOT_COUNTER_MAX)), fc.constantFrom('.conf', '.efi'), (id, left, done, suffix) => {
        const name = `${id}+${left}${done === null ? '' : `-${done}`}${suffix}`;
        const n = parseEntryName(name);
        assert.deepEqual([n.id, n.triesLeft, n.triesDone, n.suffix], [id, left, done ?? 0, suffix]);
        const next = parseEntryName(attemptedEntryName(name)!);
        assert.deepEqual([next.id, next.triesLeft, next.triesDone], [id, Math.max(left - 1, 0), Math.min((done ?? 0) + 1, BOOT_COUNTER_MAX)]);
        assert.deepEqual(parseEntryName(blessedEntryName(name)), { fileName: `${id}${suffix}`, id, suffix });
      }),
      { numRuns: 2000 },
    );
  });
});

describe('version order (UAPI Version Format Specification)', () => {
  const sign = (a: string, b: string) => Math.sign(compareVersions(a, b));

  it("gives the specification's examples", () => {
    const cases: [string, '<' | '==' | '>', string][] = [
      ['11', '==', '11'],
      ['systemd-123', '==', 'systemd-123'],
      ['bar-123', '<', 'foo-123'],
      ['123a', '>', '123'],
      ['123.a', '>', '123'],
      ['123.a', '<', '123.b'],
      ['123a', '>', '123.a'],
      ['11α', '==', '11β'],
      ['A', '<', 'a'],
      ['', '<', '0'],
      ['0.', '>', '0'],
      ['0.0', '>', '0'],
      ['1_', '==', '1'],
      ['_1', '==', '1'],
      ['1_', '<', '1.2'],
      ['1_2_3', '>', '1.3.3'],
      ['1+', '==', '1'],
      ['+1', '==', '1'],
      ['1+', '<', '1.2'],
      ['1+2+3', '>', '1.3.3'],
      // The two examples the spec's prose orders differently from its implementation (see compareVersions):
      ['0', '>', '~'],
      ['', '>', '~'],
    ];
    for (const [a, op, b] of cases) assert.equal(sign(a, b), { '<': -1, '==': 0, '>': 1 }[op], `${a} ${op} ${b}`);
  });

  it('orders a ladder of versions, each older than the next', () => {
    const ladder = ['~', '~~', '~1', '', 'A', 'a', 'aa', 'b', '1~beta', '1', '1-rc', '1-1', '1-1.1', '1^fix', '1^fix.2', '1.0', '1.0.1', '1a', '1a.2', '2', '6.1.0-28-arm64', '6.1.0-30-arm64', '6.12.1', '010', '10.0.0', '10a', '100'];
    for (let i = 0; i < ladder.length; i++) {
      for (let j = 0; j < ladder.length; j++) assert.equal(sign(ladder[i]!, ladder[j]!), Math.sign(i - j), `${ladder[i]} vs ${ladder[j]}`);
    }
  });

  const versionText = fc.array(fc.constantFrom('0', '00', '1', '2', '9', '10', 'a', 'b', 'A', 'z', '~', '-', '^', '.', '_', '+', 'α', '𝄞'), { maxLength: 8 }).map((p) => p.join(''));

  it('is a total order: reflexive, antisymmetric, transitive', () => {
    fc.assert(
      fc.property(versionText, versionText, versionText, (a, b, c) => {
        assert.equal(sign(a, a), 0);
        assert.equal(sign(a, b) + sign(b, a), 0);
        const s = [a, b, c].sort(compareVersions);
        assert.ok(sign(s[0]!, s[1]!) <= 0 && sign(s[1]!, s[2]!) <= 0 && sign(s[0]!, s[2]!) <= 0, JSON.stringify(s));
        // Equal strings are interchangeable.
        if (sign(a, b) === 0) assert.equal(sign(a, c), sign(b, c));
      }),
      { numRuns: 5000 },
    );
  });

  it('agrees with systemd-analyze compare-versions', () => {
    const word = versionText.filter((s) => !s.includes('𝄞'));
    const samples = fc.sample(fc.tuple(word, word), { numRuns: 150, seed: 7 });
    for (const [a, b] of samples) {
      let theirs: number;
      try {
        execFileSync('systemd-analyze', ['compare-versions', '--', a, b], { stdio: 'pipe' });
        theirs = 0;
      } catch (e) {
        const status = (e as { status?: number }).status;
        // systemd-analyze exits 11 for a > b and 12 for a < b.
        if (status !== 11 && status !== 12) throw e;
        theirs = status === 11 ? 1 : -1;
      }
      assert.equal(sign(a, b), theirs, `${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
    }
  });

  it('compares free-form strings as strcmp on UTF-8 does, empty first', () => {
    assert.equal(compareAlphanumerical(undefined, ''), 0);
    assert.equal(compareAlphanumerical('', 'a'), -1);
    assert.equal(compareAlphanumerical('B', 'a'), -1);
    // U+FF5E sorts before U+1D11E in UTF-8, though not in UTF-16.
    assert.equal(compareAlphanumerical('\uff5e', '𝄞'), -1);
    assert.equal(compareAlphanumerical('ab', 'a'), 1);
  });
});

const entry = (fileName: string, fields: Partial<BlsMenuEntry> = {}): BlsMenuEntry => ({ ...readBlsMenuEntry(fileName, 'linux /k'), ...fields });

describe("the specification's menu order", () => {
  it('puts sort-key entries first (sort-key, machine-id ascending, version newest first), the rest by file name, bad entries last', () => {
    const entries = [
      entry('zzz-no-key.conf'),
      entry('fedora-6.1.conf', { sortKey: 'fedora', machineId: 'bb', version: '6.1' }),
      entry('arch-old+0-3.conf', { sortKey: 'arch', version: '1.0' }),
      entry('fedora-6.12.conf', { sortKey: 'fedora', machineId: 'bb', version: '6.12' }),
      entry('fedora-other.conf', { sortKey: 'fedora', machineId: 'aa', version: '5.0' }),
      entry('debian.conf', { sortKey: 'debian' }),
      entry('arch.conf', { sortKey: 'arch', version: '6.6' }),
      entry('linux-6.9.conf'),
      entry('linux-6.10.conf'),
      entry('linux-6.10+1-1.conf'),
      entry('linux-6.10+0-2.conf'),
      entry('linux-6.10+0-1.conf'),
    ];
    assert.deepEqual(sortBlsEntries(entries).map((e) => e.fileName), [
      'arch.conf',
      'debian.conf',
      'fedora-other.conf',
      'fedora-6.12.conf',
      'fedora-6.1.conf',
      'zzz-no-key.conf',
      'linux-6.10+1-1.conf',
      'linux-6.10.conf',
      'linux-6.9.conf',
      'arch-old+0-3.conf',
      // Bad entries differing only in their counters: by the counter, as the spec's note has it.
      'linux-6.10+0-2.conf',
      'linux-6.10+0-1.conf',
    ]);
  });

  it('is a consistent order on random entries', () => {
    const fields = fc.record({
      name: fc.stringMatching(/^[a-c0-2.+-]{1,6}$/),
      sortKey: fc.option(fc.constantFrom('a', 'b', 'é'), { nil: undefined }),
      machineId: fc.option(fc.constantFrom('1', '2'), { nil: undefined }),
      version: fc.option(fc.constantFrom('1', '1.0', '2~rc', '2'), { nil: undefined }),
    });
    fc.assert(
      fc.property(fc.array(fields, { minLength: 1, maxLength: 8 }), (list) => {
        const es = list.map((f) => entry(`${f.name}.conf`, { sortKey: f.sortKey, machineId: f.machineId, version: f.version }));
        const once = sortBlsEntries(es);
        assert.deepEqual(sortBlsEntries([...es].reverse()).map((e) => e.fileName).sort(), once.map((e) => e.fileName).sort());
        assert.deepEqual(sortBlsEntries(once), once);
      }),
      { numRuns: 500 },
    );
  });
});

describe('loader.conf and the default entry', () => {
  it('reads default, timeout and keeps the rest', () => {
    const c = parseLoaderConf('# written by hand\ndefault  fedora-*\ntimeout 5\nconsole-mode keep\neditor no\n');
    assert.deepEqual(c, {
      default: 'fedora-*',
      timeout: { seconds: 5 },
      other: [
        { key: 'console-mode', value: 'keep', offset: 0x2e, line: 4 },
        { key: 'editor', value: 'no', offset: 0x40, line: 5 },
      ],
    });
    assert.deepEqual(parseLoaderConf('timeout menu-force').timeout, { menu: 'force' });
    assert.deepEqual(parseLoaderConf('timeout menu-hidden').timeout, { menu: 'hidden' });
    assert.deepEqual(parseLoaderConf('timeout menu-disabled').timeout, { menu: 'disabled' });
    assert.deepEqual(parseLoaderConf('timeout 0\ndefault @SAVED').timeout, { seconds: 0 });
    assert.deepEqual(parseLoaderConf(''), { other: [] });
  });

  it('refuses bad values of the keys it uses', () => {
    const bad = (text: string, message: RegExp) => assert.throws(() => parseLoaderConf(text), { message });
    bad('timeout 3s', /<loader.conf>: loader.conf at offset 0x0: expected seconds \(0 to 4294967295\), 'menu-force', 'menu-hidden' or 'menu-disabled', found "3s" \(line 1\)/);
    bad('timeout 4294967296', /found "4294967296"/);
    bad('timeout -1', /found "-1"/);
    bad('default @current', /expected a glob pattern over entry ids, or '@saved', found "@current" \(line 1\)/);
    bad('default a\ndefault b', /at offset 0xa: expected 'default' once/);
    bad('timeout\n', /expected a value after 'timeout', found none/);
  });

  it('matches globs as systemd-boot does: case-insensitive, * ? [ranges], no negation', () => {
    assert.ok(globMatch('fedora-*', 'Fedora-6.1'));
    assert.ok(globMatch('*', ''));
    assert.ok(globMatch('a?c', 'abc'));
    assert.ok(!globMatch('a?c', 'ac'));
    assert.ok(globMatch('linux-6.[0-9]*', 'linux-6.10'));
    assert.ok(!globMatch('linux-6.[0-8]', 'linux-6.9'));
    assert.ok(globMatch('[!a]', '!'));
    assert.ok(globMatch('a\\*', 'a*'));
    assert.ok(!globMatch('a\\*', 'ab'));
    assert.ok(globMatch('a[b', 'a[b'));
    assert.ok(globMatch('*a*b*c*', 'xxaxxbxxcxx'));
    assert.ok(!globMatch('*a*b*c*d', 'xxaxxbxxcxx'));
    // One backtrack point: no exponential time on a pathological pattern.
    const t = Date.now();
    assert.ok(!globMatch(`${'*a'.repeat(30)}b`, 'a'.repeat(5000)));
    assert.ok(Date.now() - t < 1000);
  });

  it('chooses the default: the glob, else the first; never a bad entry; @saved from the caller', () => {
    const sorted = sortBlsEntries([
      entry('debian-6.1+0-3.conf', { sortKey: 'debian', version: '6.1' }),
      entry('debian-6.0.conf', { sortKey: 'debian', version: '6.0' }),
      entry('fedora-40.conf', { sortKey: 'fedora', version: '40' }),
    ]);
    assert.deepEqual(sorted.map((e) => e.fileName), ['debian-6.0.conf', 'fedora-40.conf', 'debian-6.1+0-3.conf']);
    const pick = (conf?: { default?: string }, saved?: string) => {
      const c = selectDefaultBlsEntry(sorted, conf, saved);
      return [c.entry?.fileName, c.index, c.reason, c.note];
    };
    assert.deepEqual(pick(), ['debian-6.0.conf', 0, 'first', undefined]);
    assert.deepEqual(pick({ default: 'FEDORA-*' }), ['fedora-40.conf', 1, 'pattern', undefined]);
    assert.deepEqual(pick({ default: 'fedora-40.conf' }), ['fedora-40.conf', 1, 'pattern', undefined]);
    // The only match is out of tries: the first usable entry, and why.
    assert.deepEqual(pick({ default: 'debian-6.1*' }), ['debian-6.0.conf', 0, 'first', "'default debian-6.1*' names no usable entry"]);
    assert.deepEqual(pick({ default: '@saved' }, 'fedora-40'), ['fedora-40.conf', 1, 'saved', undefined]);
    assert.deepEqual(pick({ default: '@saved' }), ['debian-6.0.conf', 0, 'first', "'default @saved' needs a saved entry, and none is kept"]);
    assert.deepEqual(pick({ default: '@saved' }, 'gone'), ['debian-6.0.conf', 0, 'first', "the saved entry 'gone' is not among the usable entries"]);
    const allBad = selectDefaultBlsEntry([entry('a+0.conf'), entry('b+0-2.conf')]);
    assert.deepEqual([allBad.entry, allBad.index, allBad.reason, allBad.note], [undefined, -1, 'none', 'every entry has used up its boot tries']);
    assert.equal(selectDefaultBlsEntry([]).note, 'there are no entries');
  });
});
