import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { SystemError } from '../errors.js';
import { repoRoot } from '../../test/support.js';
import { KexecLoadError, explainErrno, formatKexecCall, koffiNativeIn, loadKoffiNative, loadLibc } from './kexec.js';

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
    const e = new KexecLoadError(explainErrno('kexec_load', 22, call.flags, 0x4), 22, call);
    assert.ok(e instanceof SystemError);
    assert.equal(e.errno, 22);
    assert.deepEqual(e.call, call);
    const [first, second] = e.message.split('\n');
    assert.match(first!, /^kexec_load: invalid argument \(EINVAL\): this kernel does not accept the hardboot flag 0x4/);
    assert.equal(second, `  the call: ${formatKexecCall(call)}`);
  });
  it("names the hardboot bit the call carried (0x8000 on the 6.12 series), and not for a plain kexec", () => {
    assert.match(explainErrno('kexec_load', 22, 0xb78000, 0x8000), /does not accept the hardboot flag 0x8000/);
    assert.match(explainErrno('kexec_load', 22, 0xb70004), /rejected the flags 0xb70004/);
  });
});

describe("koffi's native module, found and loaded without koffi's index", () => {
  it('finds the one build, and it works as koffi does', () => {
    // As the release holds it: npm's install has the musl build beside it, which the release drops.
    const pkg = join(repoRoot, 'node_modules', '@koromix', `koffi-linux-${process.arch}`);
    const triplet = `linux_${process.arch}`;
    const dir = mkdtempSync(join(tmpdir(), 'hb-koffi-'));
    try {
      mkdirSync(join(dir, '@koromix', `koffi-linux-${process.arch}`), { recursive: true });
      symlinkSync(join(pkg, triplet), join(dir, '@koromix', `koffi-linux-${process.arch}`, triplet));
      const native = koffiNativeIn(dir);
      assert.equal(native, join(dir, '@koromix', `koffi-linux-${process.arch}`, triplet, 'koffi.node'));
      const k = loadKoffiNative(native!) as { load: (n: null) => { func: (s: string) => () => number }; version: string };
      assert.equal(k.load(null).func('int getpid(void)')(), process.pid);
      assert.equal(k.version, (JSON.parse(readFileSync(join(repoRoot, 'node_modules', 'koffi', 'package.json'), 'utf8')) as { version: string }).version);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it('none, or more than one: undefined (the caller falls back to koffi itself)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hb-koffi-'));
    try {
      assert.equal(koffiNativeIn(dir), undefined);
      for (const t of ['linux_arm64', 'musl_arm64']) {
        mkdirSync(join(dir, '@koromix', 'koffi-linux-arm64', t), { recursive: true });
        writeFileSync(join(dir, '@koromix', 'koffi-linux-arm64', t, 'koffi.node'), '');
      }
      assert.equal(koffiNativeIn(dir), undefined);
      rmSync(join(dir, '@koromix', 'koffi-linux-arm64', 'musl_arm64'), { recursive: true });
      assert.equal(koffiNativeIn(dir), join(dir, '@koromix', 'koffi-linux-arm64', 'linux_arm64', 'koffi.node'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the C library through koffi', () => {
  it("reads errno from the C library right after a failed call (ENOSYS for a syscall number no kernel has)", async () => {
    const c = await loadLibc();
    assert.equal(Number(c.syscall(100000, 'long', 0)), -1);
    assert.equal(c.errno(), 38);
    // A call that fails differently: the value is the last call's, not a stale one.
    const close = ({ x64: 3, arm64: 57, arm: 6 } as Record<string, number>)[process.arch];
    assert.ok(close !== undefined, `no close(2) number for ${process.arch}`);
    assert.equal(Number(c.syscall(close, 'long', -1)), -1);
    assert.equal(c.errno(), 9, 'close(-1): EBADF');
  });
});
