import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { FormatError } from '../errors.js';
import { fixture } from '../../test/support.js';
import { defaultExtlinuxEntry, parseExtlinux } from './extlinux.js';

describe('extlinux.conf', () => {
  it("reads the file Debian 12's u-boot-update writes", () => {
    const conf = parseExtlinux(new Uint8Array(readFileSync(fixture('boot', 'extlinux-u-boot-menu.conf'))));
    assert.equal(conf.default, 'l0');
    assert.equal(conf.timeoutMs, 5000);
    assert.equal(conf.prompt, false);
    assert.equal(conf.menuTitle, 'U-Boot menu');
    assert.deepEqual(conf.other, []);
    assert.deepEqual(conf.entries.map((e) => e.label), ['l0', 'l0r', 'l1', 'l1r']);
    const l0 = conf.entries[0]!;
    assert.deepEqual({ ...l0, other: l0.other.length }, {
      label: 'l0',
      menuLabel: 'Debian GNU/Linux 12 (bookworm) 6.1.0-30-arm64',
      kernel: '/vmlinuz-6.1.0-30-arm64',
      initrd: ['/initrd.img-6.1.0-30-arm64'],
      fdtdir: '/usr/lib/linux-image-6.1.0-30-arm64/',
      fdtoverlays: ['/dtbo/pinebook-pro-uart.dtbo'],
      append: 'root=UUID=6d3376e4-fc93-4509-95ec-a21d68011da2 ro quiet console=ttyS2,1500000',
      other: 0,
      offset: 0xe8,
      line: 14,
    });
    assert.equal(conf.entries[1]!.append, 'root=UUID=6d3376e4-fc93-4509-95ec-a21d68011da2 ro console=ttyS2,1500000 single');
    assert.deepEqual(conf.entries[1]!.fdtoverlays, []);
    assert.equal(defaultExtlinuxEntry(conf), l0);
  });

  it('reads a postmarketOS-style file: upper case, synonyms, MENU DEFAULT, no DEFAULT', () => {
    const conf = parseExtlinux(
      [
        '# generated for a phone',
        'TIMEOUT 10',
        'MENU TITLE Boot menu',
        '',
        'LABEL edge',
        '  MENU LABEL postmarketOS edge',
        '  LINUX /vmlinuz',
        '  DEVICETREE /sun50i-a64-pinephone-1.2.dtb',
        '  INITRD /initramfs',
        '  APPEND console=ttyS0,115200 quiet #literal',
        'LABEL fallback',
        '  MENU DEFAULT',
        '  KERNEL /vmlinuz.old',
        '  DEVICETREEDIR /dtbs/',
        '  DEVICETREE-OVERLAY /a.dtbo /b.dtbo',
        '  APPEND initrd=/initramfs.old root=/dev/mmcblk0p2',
        '  KASLRSEED',
        '  XEN /xen.efi',
      ].join('\n'),
    );
    assert.equal(conf.timeoutMs, 1000);
    assert.equal(conf.prompt, undefined);
    assert.equal(conf.default, 'fallback');
    const [edge, fallback] = conf.entries;
    assert.equal(edge!.kernel, '/vmlinuz');
    assert.equal(edge!.fdt, '/sun50i-a64-pinephone-1.2.dtb');
    assert.equal(edge!.append, 'console=ttyS0,115200 quiet #literal');
    assert.equal(fallback!.kernel, '/vmlinuz.old');
    assert.equal(fallback!.fdtdir, '/dtbs/');
    assert.deepEqual(fallback!.fdtoverlays, ['/a.dtbo', '/b.dtbo']);
    // No INITRD line: APPEND's initrd= word, as U-Boot reads it.
    assert.deepEqual(fallback!.initrd, ['/initramfs.old']);
    assert.deepEqual(fallback!.other.map((l) => [l.keyword, l.value, l.line]), [
      ['menu default', '', 12],
      ['kaslrseed', '', 17],
      ['xen', '/xen.efi', 18],
    ]);
    assert.equal(defaultExtlinuxEntry(conf), fallback);
  });

  it('keeps one initrd per label, comma and all, and DEFAULT over MENU DEFAULT', () => {
    const conf = parseExtlinux('label a\n menu default\n kernel /k\n initrd /i1,/i2\nlabel b\n kernel /k2\ndefault b\nontimeout a\ninclude other.conf\n');
    assert.deepEqual(conf.entries[0]!.initrd, ['/i1,/i2']);
    assert.equal(conf.default, 'a'); // ONTIMEOUT came last
    assert.deepEqual(conf.other.map((l) => l.keyword), ['include']);
    assert.deepEqual(defaultExtlinuxEntry(parseExtlinux('label x\nkernel /k\nlabel y\nkernel /k')), parseExtlinux('label x\nkernel /k\nlabel y\nkernel /k').entries[0]);
    assert.equal(defaultExtlinuxEntry(parseExtlinux('timeout 0')), undefined);
    assert.equal(parseExtlinux('timeout 0').timeoutMs, 0);
  });

  it('refuses what U-Boot would read differently or not at all, naming the line', () => {
    const bad = (text: string, message: string) => assert.throws(() => parseExtlinux(text), { message });
    bad('label a\nkernel /k\nkernel /k2\n', "<extlinux.conf>: extlinux.conf at offset 0x12: expected one 'kernel' per LABEL, found another on line 2 (line 3)");
    bad('label a\nlinux /k\nKERNEL /k2\n', "<extlinux.conf>: extlinux.conf at offset 0x11: expected one 'kernel' per LABEL, found another on line 2 (line 3)");
    bad('label a\ninitrd /a\ninitrd /b\n', "<extlinux.conf>: extlinux.conf at offset 0x12: expected one 'initrd' per LABEL, found another on line 2 (line 3)");
    bad('kernel /k\n', "<extlinux.conf>: extlinux.conf at offset 0x0: expected 'kernel' under a LABEL, found no LABEL before it (line 1)");
    bad('label a\nkernel /k\ntimeout 5\nappend quiet\n', "<extlinux.conf>: extlinux.conf at offset 0x1c: expected 'append' before any top-level keyword in its LABEL, found after 'timeout 5' on line 3, which ends the label for U-Boot (line 4)");
    bad('label a\nappend\n', "<extlinux.conf>: extlinux.conf at offset 0x8: expected a value after 'append', found none (line 2)");
    bad('label a\nappend #quiet\n', "<extlinux.conf>: extlinux.conf at offset 0x8: expected a value after 'append', found a comment (line 2)");
    bad('label\n', "<extlinux.conf>: extlinux.conf at offset 0x0: expected a value after 'label', found none (line 1)");
    bad('timeout 5s\n', '<extlinux.conf>: extlinux.conf at offset 0x0: expected tenths of a second (0 to 2147483647), found "5s" (line 1)');
    bad('timeout 2147483648\n', '<extlinux.conf>: extlinux.conf at offset 0x0: expected tenths of a second (0 to 2147483647), found "2147483648" (line 1)');
    bad('default L0\nlabel l0\nkernel /k\n', '<extlinux.conf>: extlinux.conf at offset 0x0: expected a LABEL named "L0", found none (line 1)');
    bad('menu title\n', "<extlinux.conf>: extlinux.conf at offset 0x0: expected a value after 'menu title', found none (line 1)");
  });

  it('keeps a PROMPT that is not a number, as U-Boot does', () => {
    const conf = parseExtlinux('prompt yes\nprompt\n');
    assert.equal(conf.prompt, undefined);
    assert.deepEqual(conf.other.map((l) => [l.keyword, l.value]), [['prompt', 'yes'], ['prompt', '']]);
    assert.equal(parseExtlinux('PROMPT 1').prompt, true);
  });

  it('refuses NUL, bad UTF-8, more than 64 KiB and more than 4096 lines', () => {
    assert.throws(() => parseExtlinux(new Uint8Array([0x6c, 0x61, 0x62, 0x65, 0x6c, 0x20, 0xff])), { message: '<extlinux.conf>: extlinux.conf at offset 0x6: expected UTF-8 text, found byte 0xff' });
    assert.throws(() => parseExtlinux('label a\0'), { message: /at offset 0x7: expected text without NUL bytes/ });
    assert.throws(() => parseExtlinux('#'.repeat(65537)), { message: /expected a text of at most 65536 bytes/ });
    assert.throws(() => parseExtlinux('\n'.repeat(4097)), { message: /expected at most 4096 lines/ });
  });

  it('throws only FormatError on any text or bytes', () => {
    const words = fc.constantFrom('label ', 'LABEL x', 'kernel /k', 'linux ', 'initrd ', 'append ', 'menu ', 'label ', 'default ', 'timeout ', 'prompt ', 'fdtoverlays ', '#', ' ', '\t', '\n', '\r\n', 'x');
    const text = fc.oneof(fc.string({ maxLength: 300, unit: 'binary' }), fc.array(fc.oneof(words, fc.string({ maxLength: 6 })), { maxLength: 60 }).map((a) => a.join('')));
    fc.assert(
      fc.property(fc.oneof(text, fc.uint8Array({ maxLength: 300 })), (input) => {
        try {
          const conf = parseExtlinux(input);
          const d = defaultExtlinuxEntry(conf);
          if (conf.default !== undefined) assert.equal(d?.label, conf.default);
        } catch (e) {
          if (!(e instanceof FormatError)) throw e;
        }
      }),
      { numRuns: 3000 },
    );
  });
});
