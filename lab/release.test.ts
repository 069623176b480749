import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { CHDIR_PRELOAD, DEBIAN_BUILTINS, LOADER, RELEASE_BUILTINS, launcher, neededOf, relocateBuiltins } from './release.js';

describe('release launcher', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hb-release-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  // A release tree whose "loader" is a script that prints what it was asked to run.
  const root = join(dir, 'data', 'hardboot');
  for (const d of ['bin', 'lib']) mkdirSync(join(root, d), { recursive: true });
  writeFileSync(join(root, 'bin', 'hardboot'), launcher('arm64'));
  chmodSync(join(root, 'bin', 'hardboot'), 0o755);
  writeFileSync(join(root, 'lib', LOADER.arm64), '#!/bin/sh\necho "cwd=$(pwd) HARDBOOT_CWD=$HARDBOOT_CWD"\nfor a in "$@"; do echo "$a"; done\n');
  chmodSync(join(root, 'lib', LOADER.arm64), 0o755);
  const expected = (cwd: string, ...args: string[]) =>
    [`cwd=${root} HARDBOOT_CWD=${cwd}`, '--library-path', `${root}/lib`, `${root}/node/bin/node`, '--require', `${root}/node/chdir.cjs`, `${root}/hardboot.mjs`, ...args].join('\n') + '\n';
  const run = (cmd: string, env: NodeJS.ProcessEnv = process.env) => execFileSync('sh', ['-c', cmd], { encoding: 'utf8', env, cwd: dir });

  it('runs the bundled loader on the bundled Node in its own directory, arguments and the caller\'s directory intact', () => {
    assert.equal(run(`${root}/bin/hardboot -l 'a b' --append=\\"x\\"`), expected(dir, '-l', 'a b', '--append="x"'));
  });
  it('finds its directory from a relative path', () => {
    assert.equal(run('./data/hardboot/bin/hardboot --version'), expected(dir, '--version'));
  });
  it('finds its directory through PATH and a chain of symlinks (absolute and relative)', () => {
    mkdirSync(join(dir, 'usr', 'bin'), { recursive: true });
    mkdirSync(join(dir, 'system', 'bin'), { recursive: true });
    symlinkSync(join(root, 'bin', 'hardboot'), join(dir, 'system', 'bin', 'hardboot'));
    symlinkSync('../../system/bin/hardboot', join(dir, 'usr', 'bin', 'hardboot'));
    assert.equal(run('cd usr && hardboot doctor', { ...process.env, PATH: `${dir}/usr/bin:/usr/bin:/bin` }), expected(`${dir}/usr`, 'doctor'));
  });
  it("the preload returns Node to the caller's directory, or exits 1 saying why", () => {
    writeFileSync(join(dir, 'chdir.cjs'), CHDIR_PRELOAD);
    const node = (cwd: string) =>
      spawnSync(process.execPath, ['--require', join(dir, 'chdir.cjs'), '-e', 'console.log(process.cwd(), process.env.HARDBOOT_CWD)'], {
        cwd: root,
        encoding: 'utf8',
        env: { ...process.env, HARDBOOT_CWD: cwd },
      });
    const ok = node(join(dir, 'usr'));
    assert.equal(ok.stdout, `${join(dir, 'usr')} undefined\n`);
    const bad = node(join(dir, 'gone'));
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /^hardboot: cannot return to .*gone: ENOENT/);
  });
  it('has the right loader for each arch', () => {
    assert.match(launcher('arm'), /\/lib\/ld-linux-armhf\.so\.3" --library-path/);
    assert.match(launcher('arm64'), /\/lib\/ld-linux-aarch64\.so\.1" --library-path/);
  });
});

describe('neededOf', () => {
  it("reads DT_NEEDED from readelf's real output", () => {
    const needed = neededOf(execFileSync('readelf', ['-d', '-W', process.execPath], { encoding: 'utf8' }));
    assert.ok(needed.includes('libc.so.6'), needed.join(' '));
    const ldd = execFileSync('sh', ['-c', `ldd ${process.execPath}`], { encoding: 'utf8' });
    for (const so of needed) assert.ok(ldd.includes(so), `${so} is not in ldd's answer`);
  });
  it('is empty for a static binary', () => {
    assert.deepEqual(neededOf('There is no dynamic section in this file.\n'), []);
  });
});

describe('relocateBuiltins', () => {
  it("rewrites each builtin's path to the release's, same length, and nothing else", () => {
    const parts = ['\0x\0', `${DEBIAN_BUILTINS}acorn/dist/acorn.js`, '\0', `${DEBIAN_BUILTINS}undici/undici-fetch.js`, '\0',
      // inside the build configuration string: left alone
      `"PATH=${DEBIAN_BUILTINS}acorn/dist/acorn.js"`, '\0',
      // not a .js file: left alone
      `${DEBIAN_BUILTINS}`, '\0'];
    const lib = Buffer.from(parts.join(''), 'latin1');
    const r = relocateBuiltins(lib);
    assert.deepEqual(r.paths, [`${DEBIAN_BUILTINS}acorn/dist/acorn.js`, `${DEBIAN_BUILTINS}undici/undici-fetch.js`]);
    assert.equal(r.lib.length, lib.length);
    assert.equal(Buffer.from(r.lib).toString('latin1'), parts.join('').replace(`\0${DEBIAN_BUILTINS}acorn`, `\0${RELEASE_BUILTINS}acorn`).replace(`\0${DEBIAN_BUILTINS}undici`, `\0${RELEASE_BUILTINS}undici`));
    assert.equal(lib.toString('latin1'), parts.join(''), 'the input is not changed');
  });
});
