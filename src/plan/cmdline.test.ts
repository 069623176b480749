import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { commandLineFrom } from './cmdline.js';

describe('commandLineFrom', () => {
  const running = () => 'console=ttyMSM0 root=/dev/sda1';
  const c = (o: { commandLine?: string; reuseCmdline?: boolean; append?: string[] }) => ({ reuseCmdline: false, append: [], ...o });
  it('keeps the DTB\'s line when nothing is asked (undefined)', () => {
    assert.equal(commandLineFrom(c({}), running), undefined);
  });
  it('--command-line, then each --append', () => {
    assert.equal(commandLineFrom(c({ commandLine: 'quiet', append: ['a=1', 'b'] }), running), 'quiet a=1 b');
    assert.equal(commandLineFrom(c({ commandLine: '' }), running), '', 'an empty --command-line is an empty line, not the DTB\'s');
  });
  it('--reuse-cmdline: the running line, then the boot image\'s, then --append', () => {
    assert.equal(commandLineFrom(c({ reuseCmdline: true, append: ['x'] }), running, 'androidboot.mode=normal'), 'console=ttyMSM0 root=/dev/sda1 androidboot.mode=normal x');
  });
  it('a boot image\'s own line, --append after it; the running line is read only when asked for', () => {
    const never = () => assert.fail('read the running line');
    assert.equal(commandLineFrom(c({ append: ['x'] }), never, 'bootimg'), 'bootimg x');
    assert.equal(commandLineFrom(c({ append: ['alone'] }), never), 'alone');
  });
});
