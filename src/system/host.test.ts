import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readInputFile, readSysFile, urandom } from './host.js';

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
});
