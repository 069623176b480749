#!/usr/bin/env node
// Installs what a purpose needs, on a fresh Debian 12 machine, before anything else runs.
//   node scripts/setup.mjs test   npm packages, reference tools, Debian's arm/arm64 kernels
//   node scripts/setup.mjs lab    the same plus the QEMU lab's toolchain (npm run lab, npm run demo)
// As root it installs missing Debian packages itself; otherwise it prints the exact
// apt-get line and stops. Uses only Node built-ins: it runs before `npm ci`.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readdirSync, realpathSync, rmSync, writeFileSync, renameSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { attempts, retrySync } from './retry.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const purpose = process.argv[2] ?? 'test';
const cache = process.env.HARDBOOT_CACHE ?? join(homedir(), '.cache', 'hardboot');

/** Debian packages each purpose needs, with one command (or file) that proves each is there. */
const PACKAGES = {
  test: [
    ['device-tree-compiler', 'dtc'],
    ['lz4', 'lz4'],
    ['mkbootimg', 'mkbootimg'],
    ['qemu-system-arm', 'qemu-system-aarch64'],
    ['xz-utils', 'xz'],
    ['cpio', 'cpio'],
    ['binutils-aarch64-linux-gnu', 'aarch64-linux-gnu-as'],
    ['file', 'file'],
    ['gzip', 'gzip'],
    // systemd-analyze compare-versions: the reference for the UAPI version order (src/formats/bls.test.ts).
    ['systemd', 'systemd-analyze'],
  ],
  lab: [
    ['gcc-aarch64-linux-gnu', 'aarch64-linux-gnu-gcc'],
    ['gcc-arm-linux-gnueabihf', 'arm-linux-gnueabihf-gcc'],
    ['libc6-dev-arm64-cross', '/usr/aarch64-linux-gnu/include/stdio.h'],
    ['libc6-dev-armhf-cross', '/usr/arm-linux-gnueabihf/include/stdio.h'],
    ['linux-source-6.1', '/usr/src/linux-source-6.1.tar.xz'],
    ['linux-source-6.12', '/usr/src/linux-source-6.12.tar.xz'],
    ['bc', 'bc'],
    ['flex', 'flex'],
    ['bison', 'bison'],
    ['libssl-dev', '/usr/include/openssl/ssl.h'],
    ['libelf-dev', '/usr/include/libelf.h'],
    ['make', 'make'],
    ['gcc', 'gcc'],
    ['kmod', 'depmod'],
    // the lab keeps the unpacked kernel source as a git tree and applies patches with git am
    ['git', 'git'],
    // mke2fs -d: the menu scenarios' boot disk, an ext4 image made from a directory
    ['e2fsprogs', 'mke2fs'],
    // edk2 for QEMU virt: the hardboot-efi scenario boots the arm64 kernel through its EFI stub
    ['qemu-efi-aarch64', '/usr/share/qemu-efi-aarch64/QEMU_EFI.fd'],
  ],
};

function log(msg) {
  process.stderr.write(`setup: ${msg}\n`);
}

function have(probe) {
  if (probe.startsWith('/')) return existsSync(probe);
  return spawnSync('sh', ['-c', `command -v ${probe}`], { stdio: 'ignore' }).status === 0;
}

function isRoot() {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'], ...opts });
  return r.status ?? 1;
}

let aptUpdated = false;
function aptUpdate() {
  if (aptUpdated) return;
  aptUpdated = true;
  // A mirror sync sometimes breaks one armhf security index; the packages we need still
  // resolve from the others, so a last non-zero exit here is tolerated and checked later.
  let status = 0;
  const ok = retrySync('apt-get update', () => (status = run('apt-get', ['update', '-q'], { stdio: ['ignore', 'ignore', 'inherit'] })) === 0, log);
  if (!ok) log(`apt-get update exited ${status} ${attempts()} times; continuing with the indexes it did fetch`);
}

function ensureForeignArchitectures() {
  const arches = execFileSync('dpkg', ['--print-foreign-architectures'], { encoding: 'utf8' }).split('\n');
  const missing = ['arm64', 'armhf'].filter((a) => !arches.includes(a));
  if (missing.length === 0) return;
  if (!isRoot()) {
    log(`run as root: ${missing.map((a) => `dpkg --add-architecture ${a}`).join(' && ')} && apt-get update`);
    process.exit(1);
  }
  for (const a of missing) execFileSync('dpkg', ['--add-architecture', a]);
  aptUpdated = false;
}

function ensurePackages(list) {
  const missing = list.filter(([, probe]) => !have(probe)).map(([pkg]) => pkg);
  if (missing.length === 0) return;
  const line = `apt-get install -y --no-install-recommends ${missing.join(' ')}`;
  if (!isRoot()) {
    log(`missing Debian packages; run as root:\n  apt-get update && ${line}`);
    process.exit(1);
  }
  log(`installing ${missing.join(' ')}`);
  aptUpdate();
  let status = 0;
  const install = () =>
    (status = run('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...missing], {
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    })) === 0;
  if (!retrySync(`apt-get install ${missing.join(' ')}`, install, log)) {
    log(`could not install ${missing.join(', ')}: apt-get failed ${attempts()} times (last exit ${status}); is the Debian mirror reachable? (${line})`);
    process.exit(1);
  }
}

function ensureNodeModules() {
  const stamp = join(root, 'node_modules', '.package-lock.json');
  // node_modules linked from another checkout (a second working copy of the same tree): npm ci
  // would empty the directory the link points to, under that checkout's feet. Use it as it is.
  const link = join(root, 'node_modules');
  if (existsSync(stamp) && lstatSync(link).isSymbolicLink()) {
    log(`node_modules links to ${realpathSync(link)}: using it as it is (run npm ci there to refresh it)`);
    return;
  }
  if (existsSync(stamp) && statSync(stamp).mtimeMs >= statSync(join(root, 'package-lock.json')).mtimeMs) return;
  log('installing npm packages (npm ci)');
  let status = 0;
  if (!retrySync('npm ci', () => (status = run('npm', ['ci', '--no-audit', '--no-fund'], { cwd: root })) === 0, log)) {
    log(`could not install the npm packages of package-lock.json: npm ci failed ${attempts()} times (last exit ${status}); is the npm registry reachable?`);
    process.exit(1);
  }
}

/**
 * Debian's own arm64 and armhf kernels, the real-world inputs the tests plan with.
 * The current package names come from the meta-packages, so a new Debian point
 * release is picked up without editing anything.
 */
function ensureDebianKernels() {
  const dir = join(cache, 'debian-kernels');
  const manifest = join(dir, 'manifest.json');
  if (existsSync(manifest)) return;
  ensureForeignArchitectures();
  aptUpdate();
  const result = {};
  for (const [arch, meta, debArch] of [
    ['arm64', 'linux-image-arm64', 'arm64'],
    ['arm', 'linux-image-armmp', 'armhf'],
  ]) {
    const deps = execFileSync('apt-cache', ['depends', `${meta}:${debArch}`], { encoding: 'utf8' });
    const m = /Depends: (linux-image-[0-9][^\s:]*)/.exec(deps);
    if (!m) throw new Error(`cannot resolve ${meta}:${debArch} to a kernel package:\n${deps}`);
    const pkg = m[1];
    const work = join(dir, `${pkg}.tmp`);
    rmSync(work, { recursive: true, force: true });
    mkdirSync(work, { recursive: true });
    log(`fetching ${pkg}:${debArch}`);
    if (!retrySync(`apt-get download ${pkg}:${debArch}`, () => run('apt-get', ['download', '-q', `${pkg}:${debArch}`], { cwd: work }) === 0, log)) {
      log(`could not download ${pkg}:${debArch} (the tests' reference kernel) after ${attempts()} attempts: is the Debian mirror reachable?`);
      process.exit(1);
    }
    const deb = readdirSync(work).find((f) => f.endsWith('.deb'));
    const x = join(work, 'x');
    execFileSync('dpkg-deb', ['-x', join(work, deb), x]);
    const out = join(dir, arch);
    rmSync(out, { recursive: true, force: true });
    renameSync(join(x, 'boot'), out);
    rmSync(work, { recursive: true, force: true });
    const vmlinuz = readdirSync(out).find((f) => f.startsWith('vmlinuz-'));
    const config = readdirSync(out).find((f) => f.startsWith('config-'));
    result[arch] = { package: pkg, kernel: join(out, vmlinuz), config: join(out, config) };
  }
  writeFileSync(manifest, JSON.stringify(result, null, 2) + '\n');
}

const needs = { test: ['test'], lab: ['test', 'lab'] }[purpose];
if (!needs) {
  log(`unknown purpose '${purpose}' (test, lab)`);
  process.exit(2);
}
for (const n of needs) ensurePackages(PACKAGES[n]);
ensureNodeModules();
if (needs.includes('test')) ensureDebianKernels();
