import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { repoRoot } from './env.js';
import { DEBIAN_BUILTINS, LOADER, RELEASE_BUILTINS, launcher, neededOf, relocateBuiltins } from './release.js';

/**
 * A release tree for the host: the "loader" is a script that logs what it was
 * asked to run and runs it with this Node, so the launcher, the entry
 * (dist/hardboot.cjs) and the start-up snapshot all run for real.
 */
function fakeRelease(dir: string, opts: { failBuild?: boolean } = {}): { root: string; calls: () => string[] } {
  const root = join(dir, 'data', 'hardboot');
  for (const d of ['bin', 'lib']) mkdirSync(join(root, d), { recursive: true });
  writeFileSync(join(root, 'bin', 'hardboot'), launcher('arm64', 'c0ffee'));
  chmodSync(join(root, 'bin', 'hardboot'), 0o755);
  copyFileSync(join(repoRoot, 'dist', 'hardboot.cjs'), join(root, 'hardboot.cjs'));
  const log = join(dir, 'calls.log');
  const fail = opts.failBuild ? 'case "$*" in *--build-snapshot*) exit 1 ;; esac\n' : '';
  // argv: --library-path LIB NODE args… (the launcher's form, checked here).
  writeFileSync(
    join(root, 'lib', LOADER.arm64),
    `#!/bin/sh\n[ "$1" = --library-path ] && [ "$2" = "${root}/lib" ] && [ "$3" = "${root}/node/bin/node" ] || { echo "bad loader args: $*" >&2; exit 99; }\nshift 3\necho "cwd=$(pwd) $*" >>"${log}"\n${fail}exec "${process.execPath}" "$@"\n`,
  );
  chmodSync(join(root, 'lib', LOADER.arm64), 0o755);
  const calls = () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : []);
  return { root, calls };
}

describe('release launcher (with this Node standing in for the bundled one)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hb-release-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const { root, calls } = fakeRelease(dir);
  const run = (cmd: string, env: NodeJS.ProcessEnv = {}) =>
    spawnSync('sh', ['-c', cmd], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '--max-old-space-size=64', ...env }, cwd: dir });
  const blobs = () => readdirSync(join(root, 'snapshot'));

  it("the first run makes the start-up snapshot for this CPU, checks it, runs from it, and drops other builds' snapshots", () => {
    mkdirSync(join(root, 'snapshot'));
    writeFileSync(join(root, 'snapshot', 'beef-123.blob'), 'an earlier release');
    writeFileSync(join(root, 'snapshot', 'beef-456.blob.failed'), '');
    const r = run(`${root}/bin/hardboot --version`);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^hardboot \d+\.\d+\.\d+\n$/);
    assert.equal(r.stderr, '');
    const [blob, ...others] = blobs();
    assert.deepEqual(others, []);
    assert.match(blob!, /^c0ffee-\d+\.blob$/);
    const c = calls();
    assert.equal(c.length, 3, c.join('\n'));
    assert.match(c[0]!, new RegExp(`^cwd=${root} --no-warnings --snapshot-blob ${root}/snapshot/c0ffee-\\d+\\.blob\\.\\d+ --build-snapshot ${root}/hardboot\\.cjs$`));
    assert.match(c[1]!, new RegExp(`--snapshot-blob ${root}/snapshot/c0ffee-\\d+\\.blob\\.\\d+ -- --version$`));
    assert.equal(c[2], `cwd=${root} --snapshot-blob ${root}/snapshot/${blob} -- --version`);
  });
  it("later runs use it, with the arguments and the caller's directory intact (NODE_OPTIONS dropped)", () => {
    const before = calls().length;
    mkdirSync(join(dir, 'usr'), { recursive: true });
    writeFileSync(join(dir, 'usr', 'a b.dtb'), execFileSync('dtc', ['-I', 'dts', '-O', 'dtb'], { input: '/dts-v1/; / { model = "caller"; };' }));
    const r = run(`cd usr && ${root}/bin/hardboot inspect 'a b.dtb'`);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /"caller"/);
    assert.deepEqual(calls().slice(before), [`cwd=${root} --snapshot-blob ${root}/snapshot/${blobs()[0]} -- inspect a b.dtb`]);
  });
  it('finds its directory from a relative path, and through PATH and a chain of symlinks', () => {
    mkdirSync(join(dir, 'system', 'bin'), { recursive: true });
    mkdirSync(join(dir, 'usr', 'bin'), { recursive: true });
    symlinkSync(join(root, 'bin', 'hardboot'), join(dir, 'system', 'bin', 'hardboot'));
    symlinkSync('../../system/bin/hardboot', join(dir, 'usr', 'bin', 'hardboot'));
    for (const cmd of ['./data/hardboot/bin/hardboot --version', 'cd usr && hardboot --version']) {
      const r = run(cmd, { PATH: `${dir}/usr/bin:/usr/bin:/bin` });
      assert.equal(r.status, 0, `${cmd}: ${r.stderr}`);
      assert.match(r.stdout, /^hardboot /, cmd);
    }
  });
  it('has the right loader for each arch, and a hex build id', () => {
    assert.match(launcher('arm', 'ab'), /\/lib\/ld-linux-armhf\.so\.3" --library-path/);
    assert.match(launcher('arm64', 'ab'), /\/lib\/ld-linux-aarch64\.so\.1" --library-path/);
    assert.throws(() => launcher('arm64', '$(reboot)'), /hex/);
  });
});

describe('release launcher without a snapshot', () => {
  it('runs the plain script where snapshot/ cannot be made', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hb-release-'));
    try {
      const { root, calls } = fakeRelease(dir);
      writeFileSync(join(root, 'snapshot'), 'a file, not a directory');
      const r = spawnSync(join(root, 'bin', 'hardboot'), ['--version'], { encoding: 'utf8', cwd: dir });
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /^hardboot /);
      assert.deepEqual(calls(), [`cwd=${root} ${root}/hardboot.cjs --version`]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it('a failed build is recorded and not tried again; the plain script runs', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hb-release-'));
    try {
      const { root, calls } = fakeRelease(dir, { failBuild: true });
      for (let i = 0; i < 2; i++) {
        const r = spawnSync(join(root, 'bin', 'hardboot'), ['--version'], { encoding: 'utf8', cwd: dir });
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.stdout, /^hardboot /);
      }
      assert.match(readdirSync(join(root, 'snapshot')).join(' '), /^c0ffee-\d+\.blob\.failed$/);
      const c = calls();
      assert.equal(c.filter((l) => l.includes('--build-snapshot')).length, 1, c.join('\n'));
      assert.deepEqual(c.filter((l) => !l.includes('--build-snapshot')), [`cwd=${root} ${root}/hardboot.cjs --version`, `cwd=${root} ${root}/hardboot.cjs --version`]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the release entry (dist/hardboot.cjs), with this Node', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hb-entry-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const blob = join(dir, 'hardboot.blob');
  const root = join(dir, 'release');
  const caller = join(dir, 'caller');
  mkdirSync(root);
  mkdirSync(caller);
  const entry = join(repoRoot, 'dist', 'hardboot.cjs');
  const built = spawnSync(process.execPath, ['--no-warnings', '--snapshot-blob', blob, '--build-snapshot', entry], { cwd: root, encoding: 'utf8' });
  const ways = {
    snapshot: (args: string[]) => ['--snapshot-blob', blob, '--', ...args],
    script: (args: string[]) => [entry, ...args],
  };
  for (const [way, argv] of Object.entries(ways)) {
    const hardboot = (args: string[], env: NodeJS.ProcessEnv) => spawnSync(process.execPath, argv(args), { cwd: root, encoding: 'utf8', env: { ...process.env, ...env } });
    it(`${way}: returns to the caller's directory (HARDBOOT_CWD) before it reads a path, or exits 1 saying why`, () => {
      assert.equal(built.status, 0, built.stderr);
      // A relative path only the caller's directory holds.
      writeFileSync(join(caller, 'board.dtb'), execFileSync('dtc', ['-I', 'dts', '-O', 'dtb'], { input: '/dts-v1/; / { model = "caller"; };' }));
      const ok = hardboot(['inspect', 'board.dtb'], { HARDBOOT_CWD: caller });
      assert.equal(ok.status, 0, ok.stderr);
      assert.match(ok.stdout, /"caller"/);
      const none = hardboot(['inspect', 'board.dtb'], { HARDBOOT_CWD: '' });
      assert.equal(none.status, 5, none.stdout);
      assert.match(none.stderr, /board\.dtb.*ENOENT/);
      const bad = hardboot(['--version'], { HARDBOOT_CWD: join(dir, 'gone') });
      assert.equal(bad.status, 1);
      assert.match(bad.stderr, /^hardboot: cannot return to .*gone: ENOENT/);
    });
  }
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
