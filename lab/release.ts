/**
 * The self-contained release: `release/hardboot-<version>-linux-<arch>.tar.gz`,
 * one directory that runs on any Linux userland of that architecture, whatever
 * its C library or lack of one (Android's bionic, musl, a busybox initramfs):
 *
 *   bin/hardboot      POSIX sh launcher: the bundled loader runs the bundled Node
 *                     with the bundled libraries, so nothing of the host's /lib is used
 *   node/bin/node     Debian's Node (the same packages the lab guest runs)
 *   lib/              the dynamic loader and exactly the libraries Node and koffi need
 *                     (the DT_NEEDED closure), stripped
 *   node_modules/     koffi and its native build for the architecture
 *   hardboot.cjs      the tool (dist/hardboot.cjs, from src/cli/release-entry.ts)
 *   snapshot/         made on the device by its first run: the tool as a V8 start-up
 *                     snapshot for that CPU (see launcher())
 *   LICENSE, licenses/  hardboot's licence, and the copyright file of every package
 *
 * The packages come from Debian through the lab's own resolution and download
 * (lab/guest.ts), so the release and the lab guest run the same Node.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { Arch, LabError, cacheDir, ensureDir, repoRoot, sha256 } from './env.js';
import { entriesFromDir, gzipCpio } from './cpio.js';
import { fetchDebs, fetchKoffi, guestPackages, installKoffi } from './debs.js';
import { GuestImage, concatLayers, pruneLayers, writeAtomic } from './guest.js';
import { Progress } from './progress.js';

/** Bumped when the release's layout changes: part of the cache key. */
const RELEASE_FORMAT = 3;

/** The roots of the release's package closure: Node, and what it links. */
const RELEASE_ROOTS = ['nodejs'] as const;

/** Debian's multiarch triplet and glibc's dynamic loader for each arch. */
const TRIPLET: Record<Arch, string> = { arm64: 'aarch64-linux-gnu', arm: 'arm-linux-gnueabihf' };
export const LOADER: Record<Arch, string> = { arm64: 'ld-linux-aarch64.so.1', arm: 'ld-linux-armhf.so.3' };

/**
 * Debian builds Node with some builtins kept outside libnode (acorn, undici,
 * cjs-module-lexer), at absolute paths under /usr/share/nodejs/ that Node reads
 * when it starts, before any script runs. A phone has no /usr. The release
 * rewrites each of those paths in libnode to one of the same length relative
 * to the release's directory (the launcher starts Node there) and ships the files.
 */
export const DEBIAN_BUILTINS = '/usr/share/nodejs/';
export const RELEASE_BUILTINS = 'node/share/nodejs/';

/**
 * `lib` with every NUL-terminated string that starts with DEBIAN_BUILTINS and
 * names a .js file rewritten to start with RELEASE_BUILTINS (the same length,
 * so nothing moves); returns the rewritten copy and the original paths.
 */
export function relocateBuiltins(lib: Uint8Array): { lib: Uint8Array; paths: string[] } {
  const from = Buffer.from(DEBIAN_BUILTINS, 'latin1');
  const to = Buffer.from(RELEASE_BUILTINS, 'latin1');
  if (from.length !== to.length) throw new Error('relocateBuiltins: the prefixes must be the same length');
  const out = Buffer.from(lib);
  const paths: string[] = [];
  for (let i = out.indexOf(from); i >= 0; i = out.indexOf(from, i + 1)) {
    if (i > 0 && out[i - 1] !== 0) continue; // inside a longer string (e.g. the build configuration)
    const end = out.indexOf(0, i);
    if (end < 0) break;
    const path = out.subarray(i, end).toString('latin1');
    if (!/^[\x21-\x7e]+\.js$/.test(path)) continue;
    paths.push(path);
    to.copy(out, i);
  }
  return { lib: out, paths };
}

/**
 * The launcher for `arch`: plain POSIX sh, as busybox, toybox/mksh and dash run it.
 * It finds its directory through PATH and symlinks (a link in /system/bin or
 * /usr/local/bin to it works), then has the bundled loader run the bundled Node
 * in that directory; the tool returns to the caller's directory (HARDBOOT_CWD)
 * before it reads any argument.
 *
 * Start-up: Node deserialises the tool from a V8 start-up snapshot when there is
 * one for this CPU. V8 accepts a snapshot only on the CPU features it was built
 * with (they are part of its check), so no blob made elsewhere can be shipped:
 * the first run on a device builds one (`--build-snapshot`, a few seconds),
 * checks that it loads, and keeps it in `snapshot/`, named by the release's
 * `build` id and a checksum of the CPU lines of /proc/cpuinfo (what V8 reads its
 * features from), and removes the snapshots of any other build there. Where that
 * directory cannot be written, or the build fails
 * (recorded, so it is tried once), the tool runs as a plain script: slower,
 * the same tool. NODE_OPTIONS is for the host's Node, not this one.
 */
export function launcher(arch: Arch, build: string): string {
  if (!/^[0-9a-f]+$/.test(build)) throw new Error(`launcher: the build id must be hex, not '${build}'`);
  return `#!/bin/sh
# hardboot, self-contained: the bundled dynamic loader runs the bundled Node with
# the bundled libraries (nothing of the host's /lib is used), on the tool's start-up
# snapshot for this CPU (made by the first run), else on hardboot.cjs.
case "$0" in
*/*) self=$0 ;;
*) self=$(command -v -- "$0") || exit 127 ;;
esac
while [ -L "$self" ]; do
	link=$(readlink "$self") || exit 1
	case "$link" in
	/*) self=$link ;;
	*) self=\${self%/*}/$link ;;
	esac
done
HARDBOOT_CWD=$(pwd) || exit 1
export HARDBOOT_CWD
unset NODE_OPTIONS
cd "\${self%/*}/.." || exit 1
root=$(pwd) || exit 1
node() {
	"$root/lib/${LOADER[arch]}" --library-path "$root/lib" "$root/node/bin/node" "$@"
}
cpu=$(grep -E '^(Features|CPU implementer|CPU architecture|CPU variant|CPU part)' /proc/cpuinfo 2>/dev/null | sort -u | cksum)
blob=$root/snapshot/${build}-\${cpu%% *}.blob
if [ ! -f "$blob" ] && [ ! -f "$blob.failed" ] && mkdir -p "$root/snapshot" 2>/dev/null; then
	if node --no-warnings --snapshot-blob "$blob.$$" --build-snapshot "$root/hardboot.cjs" >/dev/null 2>&1 &&
		node --snapshot-blob "$blob.$$" -- --version >/dev/null 2>&1; then
		mv -f "$blob.$$" "$blob"
		# Snapshots of an earlier release unpacked here are of no use to this one.
		for old in "$root"/snapshot/*; do
			case $old in "$root/snapshot/${build}-"*) ;; *) rm -f "$old" ;; esac
		done
	else
		rm -f "$blob.$$"
		: >"$blob.failed"
	fi
fi
if [ -f "$blob" ]; then
	exec "$root/lib/${LOADER[arch]}" --library-path "$root/lib" "$root/node/bin/node" --snapshot-blob "$blob" -- "$@"
fi
exec "$root/lib/${LOADER[arch]}" --library-path "$root/lib" "$root/node/bin/node" "$root/hardboot.cjs" "$@"
`;
}

/** The DT_NEEDED entries of an ELF file, as `readelf -d` prints them. */
export function neededOf(readelfOutput: string): string[] {
  return [...readelfOutput.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]!);
}

function readelfNeeded(file: string): string[] {
  return neededOf(execFileSync('readelf', ['-d', '-W', file], { encoding: 'utf8' }));
}

export interface Release {
  arch: Arch;
  tarball: string;
  /** Bytes of the .tar.gz, and of the unpacked directory. */
  compressed: number;
  unpacked: number;
  libraries: string[];
  /** A hash of everything that went into it. */
  key: string;
  /** false: the cached tarball of the same inputs was used. */
  built: boolean;
}

function dirSize(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) n += dirSize(p);
    else if (e.isFile()) n += statSync(p).size;
  }
  return n;
}

export function releaseVersion(): string {
  return (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;
}

/** Builds (or finds, when its inputs are unchanged) the release for `arch` in `outDir`. */
export async function buildRelease(arch: Arch, outDir = join(repoRoot, 'release'), cache = cacheDir()): Promise<Release> {
  const version = releaseVersion();
  const name = `hardboot-${version}-linux-${arch}`;
  const bundle = join(repoRoot, 'dist', 'hardboot.cjs');
  if (!existsSync(bundle)) throw new LabError(`${bundle} is missing: npm run build makes it`);
  const log = join(ensureDir(join(cache, 'logs')), `release-${arch}.log`);
  const debs = guestPackages(arch, cache, RELEASE_ROOTS);
  const debDir = await fetchDebs(arch, debs, cache, log);
  const koffiTgz = await fetchKoffi(arch, cache, log);

  // The build id names the snapshots a device makes (a new tool or Node never uses an old one);
  // the cached tarball is keyed by everything that goes into it.
  const build = sha256([arch, version, readFileSync(bundle), ...debs.map((d) => `${d.file} ${d.sha256}`)]).slice(0, 16);
  const key = sha256([`release-${RELEASE_FORMAT}`, launcher(arch, build), basename(koffiTgz), build]).slice(0, 16);
  const cached = join(ensureDir(join(cache, 'release', arch)), `${name}-${key}.tar.gz`);
  mkdirSync(outDir, { recursive: true });
  const tarball = join(outDir, `${name}.tar.gz`);
  // What the tarball holds, recorded beside it when it was made.
  const manifest = `${cached}.json`;
  if (existsSync(cached) && existsSync(manifest)) {
    copyFileSync(cached, tarball);
    const m = JSON.parse(readFileSync(manifest, 'utf8')) as Pick<Release, 'unpacked' | 'libraries'>;
    return { arch, tarball, key, compressed: statSync(tarball).size, unpacked: m.unpacked, libraries: m.libraries, built: false };
  }

  const p = new Progress(`release ${name}`);
  const work = mkdtempSync(join(ensureDir(join(cache, 'release')), `.${arch}-`));
  try {
    const x = join(work, 'debs');
    for (const d of debs) execFileSync('dpkg-deb', ['-x', join(debDir, d.file), x]);
    const r = join(work, name);
    for (const d of ['bin', 'node/bin', 'lib', 'node_modules', 'licenses']) mkdirSync(join(r, d), { recursive: true });

    copyFileSync(join(x, 'usr', 'bin', 'node'), join(r, 'node', 'bin', 'node'));
    installKoffi(arch, koffiTgz, join(r, 'node_modules'));
    // The bundled C library is glibc: koffi's musl build would never load.
    execFileSync('find', [join(r, 'node_modules'), '-depth', '-type', 'd', '-name', 'musl_*', '-exec', 'rm', '-rf', '{}', ';']);
    copyFileSync(bundle, join(r, 'hardboot.cjs'));
    writeFileSync(join(r, 'bin', 'hardboot'), launcher(arch, build));
    chmodSync(join(r, 'bin', 'hardboot'), 0o755);

    // The libraries: the loader, then the DT_NEEDED closure of Node and koffi's native module.
    const dirs = [join(x, 'lib', TRIPLET[arch]), join(x, 'usr', 'lib', TRIPLET[arch])];
    const find = (soname: string): string => {
      for (const d of dirs) if (existsSync(join(d, soname))) return join(d, soname);
      throw new LabError(`no ${soname} in the ${arch} packages (${debs.map((d) => d.file.replace(/_.*/, '')).join(' ')})`, log);
    };
    const koffiNative = execFileSync('find', [join(r, 'node_modules'), '-name', '*.node'], { encoding: 'utf8' }).trim().split('\n').filter(Boolean);
    if (koffiNative.length === 0) throw new LabError(`koffi's native module for ${arch} is missing`, log);
    const libraries = new Set<string>([LOADER[arch]]);
    const todo = [join(r, 'node', 'bin', 'node'), ...koffiNative];
    for (let f = todo.pop(); f !== undefined; f = todo.pop()) {
      for (const so of readelfNeeded(f)) {
        if (libraries.has(so)) continue;
        libraries.add(so);
        todo.push(find(so));
      }
    }
    for (const so of libraries) copyFileSync(find(so), join(r, 'lib', so)); // copyFileSync follows symlinks
    const libnode = [...libraries].find((so) => so.startsWith('libnode.so'));
    if (libnode) {
      const { lib, paths } = relocateBuiltins(readFileSync(join(r, 'lib', libnode)));
      writeFileSync(join(r, 'lib', libnode), lib);
      for (const path of paths) {
        const src = join(x, path);
        if (!existsSync(src)) throw new LabError(`${libnode} loads ${path} at start-up, and no package of the closure has it`, log);
        const dst = join(r, RELEASE_BUILTINS, path.slice(DEBIAN_BUILTINS.length));
        mkdirSync(dirname(dst), { recursive: true });
        copyFileSync(src, dst);
      }
    }
    const cross = arch === 'arm64' ? 'aarch64-linux-gnu-strip' : 'arm-linux-gnueabihf-strip';
    for (const f of [join(r, 'node', 'bin', 'node'), ...[...libraries].filter((so) => so !== LOADER[arch]).map((so) => join(r, 'lib', so))]) {
      execFileSync(cross, ['--strip-unneeded', f], { stdio: 'ignore' });
    }

    // Licences: hardboot's, koffi's, and every package's copyright file.
    copyFileSync(join(repoRoot, 'LICENSE'), join(r, 'LICENSE'));
    copyFileSync(join(repoRoot, 'node_modules', 'koffi', 'LICENSE.txt'), join(r, 'licenses', 'koffi.txt'));
    for (const d of readdirSync(join(x, 'usr', 'share', 'doc'))) {
      const c = join(x, 'usr', 'share', 'doc', d, 'copyright');
      if (existsSync(c)) copyFileSync(c, join(r, 'licenses', `${d}.copyright`));
    }

    for (const f of readdirSync(join(cache, 'release', arch))) rmSync(join(cache, 'release', arch, f), { force: true });
    execFileSync('tar', ['-czf', `${cached}.tmp`, '--owner=0', '--group=0', '--sort=name', '-C', work, name]);
    const out: Release = { arch, tarball, key, compressed: statSync(`${cached}.tmp`).size, unpacked: dirSize(r), libraries: [...libraries].sort(), built: true };
    writeFileSync(manifest, `${JSON.stringify({ unpacked: out.unpacked, libraries: out.libraries })}\n`);
    renameSync(`${cached}.tmp`, cached);
    copyFileSync(cached, tarball);
    p.end(`done: ${basename(tarball)} ${(out.compressed / 1e6).toFixed(1)} MB (${(out.unpacked / 1e6).toFixed(1)} MB unpacked)`);
    return out;
  } catch (e) {
    p.end('failed');
    throw e;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Where the release is unpacked in the lab guest: an Android-like /data. */
export const RELEASE_GUEST_DIR = 'data/hardboot';

/**
 * The initrd of the release scenario: the second initrd (busybox, and no C
 * library at all), the boot layer (kernels, initrd, DTBs), the lab layer (/init
 * and the scenario scripts) and the release unpacked at /data/hardboot. Nothing
 * in it but the release can run Node.
 */
/** The release for `arch` unpacked at RELEASE_GUEST_DIR, as one cpio layer (cached by the release's key). */
async function releaseLayer(arch: Arch, cache: string): Promise<string> {
  const release = await buildRelease(arch, join(cache, 'release', 'out'), cache);
  const dir = ensureDir(join(cache, 'guest', arch));
  const layer = join(dir, `release-${release.key}.cpio.gz`);
  if (!existsSync(layer)) {
    const work = mkdtempSync(join(dir, '.release-'));
    try {
      execFileSync('tar', ['-xzf', release.tarball, '-C', work, '--strip-components=1']);
      writeAtomic(layer, gzipCpio(entriesFromDir(work, RELEASE_GUEST_DIR)));
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
    pruneLayers(dir, 'release', layer);
  }
  return layer;
}

export async function releaseInitrd(arch: Arch, guest: GuestImage, cache = cacheDir()): Promise<string> {
  const layer = await releaseLayer(arch, cache);
  const parts = [guest.secondInitrd, ...['boot', 'lab'].map((n) => {
    const l = guest.layers.find((x) => x.name === n);
    if (!l) throw new LabError(`the ${arch} guest has no ${n} layer`);
    return l.path;
  }), layer];
  // Each part's name holds its key. Not 'initrd' nor 'release': those prefixes are other kinds.
  return concatLayers(join(cache, 'guest', arch), 'releaseinitrd', parts, parts);
}

/**
 * The bench's initrd: the whole lab guest (Debian's Node, kexec-tools, the
 * npm-style /usr/bin/hardboot) with the release beside it at /data/hardboot,
 * so one boot measures every way of starting the tool.
 */
export async function benchInitrd(arch: Arch, guest: GuestImage, cache = cacheDir()): Promise<string> {
  const parts = [guest.initrd, await releaseLayer(arch, cache)];
  return concatLayers(join(cache, 'guest', arch), 'benchinitrd', parts, parts);
}
