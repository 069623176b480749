import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseLoaderConf, readBlsMenuEntry } from '../formats/bls.js';
import { parseExtlinux } from '../formats/extlinux.js';
import { buildMenu } from './menu.js';

const bls = (fileName: string, text: string) => ({ file: `loader/entries/${fileName}`, entry: readBlsMenuEntry(fileName, text) });

describe('buildMenu', () => {
  it('an EFI-only entry is listed, not bootable, and never the default; the next usable entry is', () => {
    const m = buildMenu({
      bls: [bls('a.conf', 'title A\nsort-key a\nefi /EFI/a.efi\n'), bls('b.conf', 'title B\nsort-key b\nlinux /b\n')],
      loaderConf: parseLoaderConf('default a\n'),
    });
    assert.deepEqual(m.entries.map((e) => [e.id, e.unbootable !== undefined]), [['a', true], ['b', false]]);
    assert.equal(m.defaultIndex, 1);
    assert.match(m.notes.join('\n'), /the default, a, cannot be booted by hardboot: an EFI program/);
  });
  it("extlinux: DEFAULT is the default; an FDTDIR label is not bootable here; TIMEOUT 0 waits for ever", () => {
    const m = buildMenu({
      bls: [],
      extlinux: { file: 'extlinux/extlinux.conf', conf: parseExtlinux('default b\ntimeout 0\nlabel a\n linux /a\n fdtdir /dtbs\nlabel b\n menu label Bee\n linux /b\n fdt /b.dtb\n append x=1\n') },
    });
    assert.deepEqual(m.entries.map((e) => [e.id, e.title, e.devicetree ?? null, e.commandLine ?? null, e.unbootable !== undefined]), [
      ['a', 'a', null, null, true],
      ['b', 'Bee', '/b.dtb', 'x=1', false],
    ]);
    assert.equal(m.defaultIndex, 1);
    assert.equal(m.timeout, 'forever');
  });
  it('device-tree overlays (BLS devicetree-overlay, extlinux FDTOVERLAYS): listed, not bootable, never booted without them', () => {
    const m = buildMenu({
      bls: [bls('o.conf', 'linux /k\ndevicetree /b.dtb\ndevicetree-overlay /x.dtbo /y.dtbo\n')],
      extlinux: { file: 'extlinux/extlinux.conf', conf: parseExtlinux('label e\n linux /k\n fdt /b.dtb\n fdtoverlays /x.dtbo\n') },
    });
    assert.deepEqual(m.entries.map((e) => e.unbootable), [
      'devicetree-overlay /x.dtbo /y.dtbo: hardboot does not apply overlays; merge them into the devicetree',
      'FDTOVERLAYS /x.dtbo: hardboot does not apply overlays; merge them into the FDT',
    ]);
    assert.equal(m.defaultIndex, undefined);
  });
  it('loader.conf menu words: menu-force waits, menu-hidden boots at once', () => {
    const one = [bls('a.conf', 'linux /a\n')];
    assert.equal(buildMenu({ bls: one, loaderConf: parseLoaderConf('timeout menu-force\n') }).timeout, 'forever');
    assert.equal(buildMenu({ bls: one, loaderConf: parseLoaderConf('timeout menu-hidden\n') }).timeout, 0);
    assert.equal(buildMenu({ bls: [], loaderConf: parseLoaderConf('timeout 5\n') }).timeout, undefined);
  });
  it('every entry out of tries: no default, a person must choose', () => {
    const m = buildMenu({ bls: [bls('a+0-2.conf', 'linux /a\n'), bls('b+0.conf', 'linux /b\n')] });
    assert.equal(m.defaultIndex, undefined);
    assert.ok(m.entries.every((e) => e.bad));
  });
});
