import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { readHardbootSupport, readInputFile, readSysFile, urandom } from './host.js';
import { kexecLoaded } from './live.js';

describe('the real host', () => {
  it('reads entropy from the kernel', () => {
    const a = urandom(128);
    const b = urandom(128);
    assert.equal(a.length, 128);
    assert.notDeepEqual(a, b);
  });

  it('tells a missing /sys file from an unreadable one', () => {
    assert.equal(readSysFile('/sys/kernel/no_such_hardboot_file'), undefined);
    assert.ok(readSysFile('/proc/self/status')!.length > 0);
    assert.throws(() => readSysFile('/proc/self/mem'), { name: 'SystemError', message: /^\/proc\/self\/mem: cannot read: / });
  });

  it('names the file and the reason when an input cannot be read', () => {
    assert.throws(() => readInputFile('/nonexistent/zImage', 'kernel'), { name: 'SystemError', message: '/nonexistent/zImage: cannot read the kernel: ENOENT' });
  });

  it('reads /sys/kernel/kexec_hardboot as a directory (series v2) or a single file (v1), and its absence', () => {
    const root = mkdtempSync(join(tmpdir(), 'hb-sysfs-'));
    try {
      const dir = join(root, 'kexec_hardboot');
      mkdirSync(dir);
      writeFileSync(join(dir, 'page'), '0x47fff000\n');
      writeFileSync(join(dir, 'flag'), '0x4\n');
      writeFileSync(join(dir, 'status'), 'unavailable: the page overlaps memory reserved at boot\n');
      assert.deepEqual(readHardbootSupport(dir), { interface: 'directory', page: 0x47fff000, flag: 4, ready: false, reason: 'the page overlaps memory reserved at boot' });
      const file = join(root, 'kexec_hardboot_v1');
      writeFileSync(file, '0x5f000000\n');
      assert.deepEqual(readHardbootSupport(file), { interface: 'file', page: 0x5f000000, flag: 4 });
      assert.equal(readHardbootSupport(join(root, 'absent')), undefined);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('says a kernel without /sys/kernel/kexec_loaded has no kexec, and points to the doctor', () => {
    assert.throws(() => kexecLoaded('/nonexistent/kexec_loaded'), {
      name: 'SystemError',
      message: 'this kernel has no kexec: /nonexistent/kexec_loaded is missing (it needs CONFIG_KEXEC); run: hardboot doctor',
    });
  });
});
