import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UsageError } from '../src/errors.js';
import { parseArgs } from './cli.js';

describe('lab CLI arguments', () => {
  it('defaults to both arches and Linux 6.1', () => {
    assert.deepEqual(parseArgs(['boot']), { command: 'run', scenarios: ['boot'], arches: ['arm', 'arm64'], kernels: ['6.1'], timeoutScale: 1 });
  });
  it('runs several scenarios in order, and all but bench for `all`', () => {
    assert.deepEqual(parseArgs(['kexec', 'boot']).scenarios, ['kexec', 'boot']);
    assert.deepEqual(parseArgs(['all']).scenarios, ['boot', 'kexec-tools', 'kexec', 'hardboot', 'hardboot-oneshot', 'hardboot-corrupt', 'hardboot-unload', 'hardboot-nomap', 'hardboot-mem', 'hardboot-stale', 'hardboot-el2', 'hardboot-warm', 'hardboot-efi', 'hardboot-bootimg', 'hardboot-dtimg', 'menu-default', 'menu-select', 'menu-oneshot', 'menu-fallback', 'menu-bls-extlinux', 'doctor', 'release']);
    assert.deepEqual(parseArgs(['build']), { command: 'build', scenarios: [], arches: ['arm', 'arm64'], kernels: ['6.1'], timeoutScale: 1 });
    assert.deepEqual(parseArgs(['build-release', '--arch', 'arm']), { command: 'build-release', scenarios: [], arches: ['arm'], kernels: ['6.1'], timeoutScale: 1 });
    assert.deepEqual(parseArgs(['release']).scenarios, ['release']);
  });
  it('takes --arch repeated, comma-separated or with =', () => {
    assert.deepEqual(parseArgs(['kexec', '--arch', 'arm64']).arches, ['arm64']);
    assert.deepEqual(parseArgs(['kexec', '--arch=arm64,arm']).arches, ['arm64', 'arm']);
    assert.deepEqual(parseArgs(['--arch', 'arm', 'kexec-tools', '--arch', 'arm']).arches, ['arm']);
    assert.equal(parseArgs(['bench', '--timeout-scale', '2.5']).timeoutScale, 2.5);
  });
  it('takes --kernel the same way', () => {
    assert.deepEqual(parseArgs(['hardboot', '--kernel', '6.12']).kernels, ['6.12']);
    assert.deepEqual(parseArgs(['hardboot', '--kernel=6.12,6.1', '--kernel', '6.12']).kernels, ['6.12', '6.1']);
  });
  it('rejects bad input with a UsageError that says what was wrong', () => {
    const cases: [string[], RegExp][] = [
      [[], /no command given/],
      [['nosuch'], /unknown scenario 'nosuch' \(boot, kexec-tools, kexec, hardboot, hardboot-oneshot, hardboot-corrupt, hardboot-unload, hardboot-nomap, hardboot-mem, hardboot-stale, hardboot-el2, hardboot-warm, hardboot-efi, hardboot-bootimg, hardboot-dtimg, menu-default, menu-select, menu-oneshot, menu-fallback, menu-bls-extlinux, doctor, release, bench, or all\)/],
      [['boot', '--arch', 'x86'], /--arch: expected arm or arm64, found 'x86'/],
      [['boot', '--arch'], /--arch needs a value/],
      [['boot', '--kernel', '5.10'], /--kernel: expected 6\.1 or 6\.12, found '5\.10'/],
      [['boot', '--fast'], /unknown option --fast/],
      [['build', 'kexec'], /unexpected argument 'kexec'/],
      [['build-release', 'all'], /unexpected argument 'all'/],
      [['boot', '--timeout-scale', '0'], /--timeout-scale: expected a positive number/],
    ];
    for (const [argv, msg] of cases) {
      assert.throws(() => parseArgs(argv), (e: unknown) => e instanceof UsageError && msg.test(e.message), argv.join(' '));
    }
  });
});
