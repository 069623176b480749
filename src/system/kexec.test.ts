import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SystemError } from '../errors.js';
import { KexecLoadError, explainErrno, formatKexecCall } from './kexec.js';

describe('a refused kexec_load', () => {
  const call = {
    entry: 0x40036000,
    flags: 0xb70004,
    segments: [
      { mem: 0x40000000, memsz: 0x20000, bufsz: 0x10000 },
      { mem: 0x40036000, memsz: 0x1000, bufsz: 24 },
    ],
  };
  it('describes the whole call on one line', () => {
    assert.equal(
      formatKexecCall(call),
      'kexec_load(entry 0x40036000, 2 segments [0x40000000+0x20000 (65536 bytes), 0x40036000+0x1000 (24 bytes)], flags 0xb70004)',
    );
  });
  it('is a SystemError with the reason first, the call after, and the call as data', () => {
    const e = new KexecLoadError(explainErrno('kexec_load', 22, call.flags), 22, call);
    assert.ok(e instanceof SystemError);
    assert.equal(e.errno, 22);
    assert.deepEqual(e.call, call);
    const [first, second] = e.message.split('\n');
    assert.match(first!, /^kexec_load: invalid argument \(EINVAL\): this kernel does not accept the hardboot flag 0x4/);
    assert.equal(second, `  the call: ${formatKexecCall(call)}`);
  });
});
