/**
 * Lab kernels: Debian's linux-source-<version> tarball (6.1 or 6.12), our patch
 * series for that version (kernel/patches/linux-<version>/), allnoconfig + the
 * fragments in kernel/configs/ (and kernel/configs/linux-<version>/ where a version
 * needs its own), cross-built for arm (zImage) and arm64 (Image).
 *
 * Cache layout under $HARDBOOT_CACHE:
 *   linux/<version>/              the unpacked tarball, a git repository whose tag
 *                                 `pristine` is the tarball; patches go on with `git am`
 *   build/<arch>-<key>/           the O= build directory for one arch and key
 *   kernels/<arch>-<key>/         the results: Image|zImage, config, System.map, manifest.json
 *   kernels/.build.lock           held while a kernel builds (never two at once)
 *
 * key = sha256(tarball version, fragments, patches, BUILD_SCRIPT_VERSION, arch): a warm run
 * with nothing changed finds kernels/<arch>-<key>/manifest.json and returns at once. The
 * tarball's version (e.g. linux-source-6.12_6.12.117-1~deb12u1) tells the kernels apart.
 */
import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, join, relative } from 'node:path';
import { Arch, LabError, acquireLock, cacheDir, ensureDir, repoRoot, sha256 } from './env.js';
import { Progress, runLogged } from './progress.js';

/** Bump when this file changes how a kernel is configured or built. */
export const BUILD_SCRIPT_VERSION = 1;

/** The kernel versions the series exists for; the lab builds either. */
export const KERNEL_VERSIONS = ['6.1', '6.12'] as const;
export type KernelVersion = (typeof KERNEL_VERSIONS)[number];
export const DEFAULT_KERNEL_VERSION: KernelVersion = '6.1';

export function isKernelVersion(v: string): v is KernelVersion {
  return (KERNEL_VERSIONS as readonly string[]).includes(v);
}

/** Debian's source package and tarball for a version. */
export function kernelSource(version: KernelVersion): { package: string; tarball: string } {
  return { package: `linux-source-${version}`, tarball: `/usr/src/linux-source-${version}.tar.xz` };
}

export interface ArchBuild {
  cross: string;
  target: string;
  /** The image make leaves in arch/<dir>/boot/. */
  imagePath: string;
  kconfigArch: string;
}

export const ARCH_BUILD: Record<Arch, ArchBuild> = {
  arm64: { cross: 'aarch64-linux-gnu-', target: 'Image', imagePath: 'arch/arm64/boot/Image', kconfigArch: 'arm64' },
  arm: { cross: 'arm-linux-gnueabihf-', target: 'zImage', imagePath: 'arch/arm/boot/zImage', kconfigArch: 'arm' },
};

export interface KernelArtifacts {
  arch: Arch;
  /** The series' kernel version (6.1, 6.12). */
  version: KernelVersion;
  key: string;
  dir: string;
  /** Image (arm64) or zImage (arm). */
  image: string;
  config: string;
  systemMap: string;
  sourceVersion: string;
  /** False when the cache already held this kernel. */
  built: boolean;
}

// ---------------------------------------------------------------------------
// Pure parts: fragments and the check that they reached .config.

/** One option of a fragment: `value` is null for "# CONFIG_X is not set". */
export interface FragmentOption {
  name: string;
  value: string | null;
  /** 1-based line in its file, for messages. */
  line: number;
  file: string;
}

/**
 * Reads a Kconfig fragment: `CONFIG_X=value` lines and `# CONFIG_X is not set`
 * lines; other comments and blank lines are ignored. Anything else is an error,
 * so a typo cannot silently drop an option.
 */
export function parseFragment(text: string, file: string): FragmentOption[] {
  const out: FragmentOption[] = [];
  text.split('\n').forEach((raw, i) => {
    const l = raw.trim();
    const line = i + 1;
    if (l === '') return;
    const unset = /^# (CONFIG_[A-Za-z0-9_]+) is not set$/.exec(l);
    if (unset) {
      out.push({ name: unset[1]!, value: null, line, file });
      return;
    }
    if (l.startsWith('#')) return;
    const set = /^(CONFIG_[A-Za-z0-9_]+)=(.+)$/.exec(l);
    if (!set) throw new LabError(`${file}:${line}: expected CONFIG_X=value or "# CONFIG_X is not set", found "${l}"`);
    out.push({ name: set[1]!, value: set[2]!, line, file });
  });
  return out;
}

/** The fragment options the final .config does not honour, as "file:line: wanted, got" strings. */
export function missingFromConfig(options: readonly FragmentOption[], configText: string): string[] {
  const values = new Map<string, string>();
  for (const l of configText.split('\n')) {
    const m = /^(CONFIG_[A-Za-z0-9_]+)=(.*)$/.exec(l);
    if (m) values.set(m[1]!, m[2]!);
  }
  const missing: string[] = [];
  for (const o of options) {
    const got = values.get(o.name);
    if (o.value === null) {
      if (got !== undefined && got !== 'n') missing.push(`${o.file}:${o.line}: # ${o.name} is not set (got ${o.name}=${got})`);
    } else if (got !== o.value) {
      missing.push(`${o.file}:${o.line}: ${o.name}=${o.value} (got ${got === undefined ? 'not set' : got})`);
    }
  }
  return missing;
}

// ---------------------------------------------------------------------------
// The flag bit.

/**
 * The kexec_load() flags a patched include/uapi/linux/kexec.h defines (not the
 * KEXEC_FILE_* flags of kexec_file_load, the KEXEC_ARCH_* values or the segment
 * limit), and what is wrong with KEXEC_HARDBOOT among them: it must be defined
 * once, be one bit of the low 16 (bits 16–31 are the arch; higher ones do not
 * reach a 64-bit kernel) and share its bit with no other flag. The lab checks
 * this on every build, so a rebase onto a kernel that takes our bit for a new
 * flag fails before anything boots.
 */
export function checkKexecFlags(header: string): { flags: Map<string, number>; problems: string[] } {
  const flags = new Map<string, number>();
  const problems: string[] = [];
  for (const m of header.matchAll(/^#define\s+(KEXEC_\w+)\s+\(?\s*(0x[0-9a-fA-F]+|\d+)\s*\)?\s*$/gm)) {
    const name = m[1]!;
    if (/^KEXEC_(FILE_|ARCH_|SEGMENT_MAX$)/.test(name)) continue;
    if (flags.has(name)) problems.push(`${name} is defined twice`);
    flags.set(name, Number(m[2]));
  }
  const hb = flags.get('KEXEC_HARDBOOT');
  if (hb === undefined) return { flags, problems: [...problems, 'KEXEC_HARDBOOT is not defined'] };
  if (hb === 0 || hb > 0xffff || (hb & (hb - 1)) !== 0) problems.push(`KEXEC_HARDBOOT is 0x${hb.toString(16)}: expected one bit of the low 16`);
  for (const [name, v] of flags) {
    if (name !== 'KEXEC_HARDBOOT' && (v & hb) !== 0) problems.push(`KEXEC_HARDBOOT (0x${hb.toString(16)}) shares its bit with ${name} (0x${v.toString(16)})`);
  }
  return { flags, problems };
}

// ---------------------------------------------------------------------------
// Inputs and the cache key.

export interface KernelInputs {
  arch: Arch;
  version: KernelVersion;
  tarball: string;
  sourceVersion: string;
  fragments: { path: string; text: string }[];
  patches: { path: string; bytes: Uint8Array }[];
}

/**
 * The version of the source tarball: the Debian package's, else the file's size and
 * mtime. Asking dpkg costs two process starts, so the answer is remembered against
 * the file's size and mtime (a warm run must stay well under a second).
 */
export function tarballVersion(tarball: string, cache = cacheDir()): string {
  const st = statSync(tarball);
  const id = `${tarball} ${st.size} ${Math.floor(st.mtimeMs)}`;
  const memo = join(cache, 'linux', 'tarball-version');
  try {
    const [seen, version] = readFileSync(memo, 'utf8').split('\n');
    if (seen === id && version) return version;
  } catch {
    // no memo yet
  }
  const version = askTarballVersion(tarball, st.size, st.mtimeMs);
  ensureDir(join(cache, 'linux'));
  writeFileSync(memo, `${id}\n${version}\n`);
  return version;
}

function askTarballVersion(tarball: string, size: number, mtimeMs: number): string {
  try {
    const owner = execFileSync('dpkg-query', ['-S', tarball], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const pkg = owner.split(':')[0]!.trim();
    const v = execFileSync('dpkg-query', ['-W', '-f', '${Version}', pkg], { encoding: 'utf8' }).trim();
    if (v) return `${pkg}_${v}`;
  } catch {
    // not a Debian-owned file: fall through
  }
  return `${basename(tarball)}_${size}_${Math.floor(mtimeMs)}`;
}

/**
 * What goes into the kernel of `arch` and `version`. $HARDBOOT_LINUX_TARBALL and
 * $HARDBOOT_KERNEL_PATCHES stand in for the tarball and the series (to try a
 * series before it is committed).
 */
export function kernelInputs(arch: Arch, version: KernelVersion = DEFAULT_KERNEL_VERSION): KernelInputs {
  const src = kernelSource(version);
  const tarball = process.env['HARDBOOT_LINUX_TARBALL'] ?? src.tarball;
  if (!existsSync(tarball)) {
    throw new LabError(`${tarball}: missing (install ${src.package}: node scripts/setup.mjs lab)`);
  }
  const configs = join(repoRoot, 'kernel', 'configs');
  const fragments = [
    join(configs, 'common.config'),
    join(configs, `${arch}.config`),
    join(configs, `linux-${version}`, 'common.config'),
    join(configs, `linux-${version}`, `${arch}.config`),
  ]
    .filter((path, i) => i < 2 || existsSync(path))
    .map((path) => ({ path, text: readFileSync(path, 'utf8') }));
  const patches = patchSeries(process.env['HARDBOOT_KERNEL_PATCHES'] ?? join(repoRoot, 'kernel', 'patches', `linux-${version}`));
  if (patches.length === 0) throw new LabError(`no patch series for Linux ${version} (kernel/patches/linux-${version}/*.patch)`);
  return { arch, version, tarball, sourceVersion: tarballVersion(tarball), fragments, patches };
}

/** The series: the directory's *.patch in name order. */
export function patchSeries(dir: string): { path: string; bytes: Uint8Array }[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.patch'))
    .sort()
    .map((f) => ({ path: join(dir, f), bytes: readFileSync(join(dir, f)) }));
}

export function kernelKey(inp: KernelInputs): string {
  const parts: (string | Uint8Array)[] = [`build-script-${BUILD_SCRIPT_VERSION}`, inp.arch, inp.sourceVersion];
  // Named relative to kernel/configs ("common.config", "linux-6.12/arm.config").
  for (const f of inp.fragments) parts.push(relative(join(repoRoot, 'kernel', 'configs'), f.path), f.text);
  for (const p of inp.patches) parts.push(basename(p.path), p.bytes);
  return sha256(parts).slice(0, 16);
}

// ---------------------------------------------------------------------------
// The build.

export function kernelDir(arch: Arch, key: string, cache = cacheDir()): string {
  return join(cache, 'kernels', `${arch}-${key}`);
}

function readManifest(dir: string, version: KernelVersion): KernelArtifacts | undefined {
  const m = join(dir, 'manifest.json');
  if (!existsSync(m)) return undefined;
  // Manifests from before the version was recorded: the key already holds it.
  return { version, ...(JSON.parse(readFileSync(m, 'utf8')) as Partial<KernelArtifacts>), built: false } as KernelArtifacts;
}

export interface BuildOptions {
  cache?: string;
  jobs?: number;
  version?: KernelVersion;
}

/** Returns the kernel for `arch` (and version), building it (and unpacking the source) if the cache lacks it. */
export async function buildKernel(arch: Arch, opts: BuildOptions = {}): Promise<KernelArtifacts> {
  const cache = opts.cache ?? cacheDir();
  const inp = kernelInputs(arch, opts.version);
  const key = kernelKey(inp);
  const outDir = kernelDir(arch, key, cache);
  const hit = readManifest(outDir, inp.version);
  if (hit) return hit;

  const options = inp.fragments.flatMap((f) => parseFragment(f.text, f.path));
  const release = acquireLock(join(cache, 'kernels', '.build.lock'), 'a kernel build');
  try {
    const src = await unpackSource(inp, cache);
    const logDir = ensureDir(join(cache, 'logs'));
    const log = join(logDir, `kernel-${arch}-${key}.log`);
    writeFileSync(log, '');
    await applyPatches(src, inp.patches, log);
    const { problems } = checkKexecFlags(readFileSync(join(src, 'include', 'uapi', 'linux', 'kexec.h'), 'utf8'));
    if (problems.length > 0) throw new LabError(`Linux ${inp.version} with the series: include/uapi/linux/kexec.h: ${problems.join('; ')}`, log);

    const build = prepareBuildDir(cache, arch, key, inp.sourceVersion);
    const ab = ARCH_BUILD[arch];
    const make = (target: string[], progress?: Progress): Promise<void> =>
      runLogged('make', ['-C', src, `O=${build}`, `ARCH=${ab.kconfigArch}`, `CROSS_COMPILE=${ab.cross}`, ...target], {
        log,
        progress,
      });

    const fragment = join(build, 'hardboot.fragment');
    writeFileSync(fragment, inp.fragments.map((f) => `# ---- ${basename(f.path)}\n${f.text}`).join('\n'));
    const cfg = new Progress(`configure ${arch} kernel`);
    try {
      // allnoconfig honours KCONFIG_ALLCONFIG: every symbol off except what the fragment sets.
      await make([`KCONFIG_ALLCONFIG=${fragment}`, 'allnoconfig'], cfg);
      await make(['olddefconfig'], cfg);
    } catch (e) {
      cfg.end('failed');
      throw e;
    }
    const missing = missingFromConfig(options, readFileSync(join(build, '.config'), 'utf8'));
    if (missing.length > 0) {
      cfg.end('failed');
      throw new LabError(
        `${arch} .config lacks ${missing.length} fragment line(s) (unmet dependency or typo): ${missing.join('; ')}`,
        join(build, '.config'),
      );
    }
    cfg.end('done');

    const jobs = opts.jobs ?? availableParallelism();
    const p = new Progress(`build ${arch} ${ab.target} (-j${jobs})`);
    try {
      await make([`-j${jobs}`, ab.target], p);
    } catch (e) {
      p.end('failed');
      throw e;
    }
    p.end('done');

    const tmp = `${outDir}.tmp`;
    rmSync(tmp, { recursive: true, force: true });
    ensureDir(tmp);
    const result: KernelArtifacts = {
      arch,
      version: inp.version,
      key,
      dir: outDir,
      image: join(outDir, ab.target),
      config: join(outDir, 'config'),
      systemMap: join(outDir, 'System.map'),
      sourceVersion: inp.sourceVersion,
      built: true,
    };
    copyFileSync(join(build, ab.imagePath), join(tmp, ab.target));
    copyFileSync(join(build, '.config'), join(tmp, 'config'));
    copyFileSync(join(build, 'System.map'), join(tmp, 'System.map'));
    const { built: _built, ...manifest } = result;
    writeFileSync(
      join(tmp, 'manifest.json'),
      JSON.stringify({ ...manifest, patches: inp.patches.map((x) => basename(x.path)), log }, null, 2) + '\n',
    );
    rmSync(outDir, { recursive: true, force: true });
    renameSync(tmp, outDir);
    return result;
  } finally {
    release();
  }
}

const git = (src: string, args: string[], log?: string): Promise<void> =>
  runLogged('git', ['-c', 'user.name=hardboot lab', '-c', 'user.email=lab@hardboot.invalid', '-C', src, ...args], {
    log: log ?? join(src, '..', 'unpack.log'),
  });

/**
 * linux/<version>/: the tarball unpacked once, committed and tagged `pristine` so a
 * patch series can be (re)applied with git am and a build never sees leftovers.
 */
async function unpackSource(inp: KernelInputs, cache: string): Promise<string> {
  const src = join(cache, 'linux', inp.sourceVersion);
  if (existsSync(join(src, '.git', 'hardboot-ready'))) return src;
  const tmp = `${src}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  ensureDir(tmp);
  const log = join(cache, 'linux', `${inp.sourceVersion}.unpack.log`);
  writeFileSync(log, '');
  const p = new Progress(`unpack ${basename(inp.tarball)}`);
  try {
    p.line(`tar -xJf ${inp.tarball}`);
    await runLogged('tar', ['-xJf', inp.tarball, '-C', tmp, '--strip-components=1'], { log, progress: p });
    p.line('git init + add + commit (pristine)');
    await git(tmp, ['init', '-q'], log);
    // -f: Debian's tarball ships a .gitignore that ignores everything at the top level.
    await git(tmp, ['add', '-A', '-f'], log);
    await git(tmp, ['commit', '-q', '-m', `pristine ${inp.sourceVersion}`], log);
    await git(tmp, ['tag', 'pristine'], log);
  } catch (e) {
    p.end('failed');
    throw e;
  }
  writeFileSync(join(tmp, '.git', 'hardboot-ready'), `${inp.sourceVersion}\n`);
  rmSync(src, { recursive: true, force: true });
  renameSync(tmp, src);
  p.end('done');
  return src;
}

/**
 * Puts the tree at `pristine` + the series. Checking out only rewrites files that
 * differ, so unchanged sources keep their timestamps and builds stay incremental.
 * The applied series is recorded; the same series again touches nothing.
 */
async function applyPatches(src: string, patches: KernelInputs['patches'], log: string): Promise<void> {
  const stamp = join(src, '.git', 'hardboot-series');
  const want = sha256(patches.flatMap((p) => [basename(p.path), p.bytes]));
  const head = execFileSync('git', ['-C', src, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === `${want} ${head}`) return;
  if (existsSync(join(src, '.git', 'rebase-apply'))) await git(src, ['am', '--abort'], log);
  await git(src, ['checkout', '-q', '-f', '--detach', 'pristine'], log);
  for (const p of patches) {
    try {
      await git(src, ['am', '-q', p.path], log);
    } catch (e) {
      await git(src, ['am', '--abort'], log).catch(() => undefined);
      throw new LabError(`patch ${basename(p.path)} does not apply to ${basename(src)}`, log);
    }
  }
  const now = execFileSync('git', ['-C', src, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
  writeFileSync(stamp, `${want} ${now}`);
}

/**
 * build/<arch>-<key>/. A new key (a patch or fragment changed) starts from a copy of
 * the newest finished build directory of the same arch and source version, so make
 * rebuilds only what the change touches instead of the whole kernel (~6 min).
 */
function prepareBuildDir(cache: string, arch: Arch, key: string, sourceVersion: string): string {
  const root = ensureDir(join(cache, 'build'));
  const dir = join(root, `${arch}-${key}`);
  const stampName = '.hardboot-build.json';
  if (existsSync(join(dir, stampName))) return dir;
  rmSync(dir, { recursive: true, force: true });
  const seeds = readdirSync(root)
    .filter((d) => d.startsWith(`${arch}-`) && d !== `${arch}-${key}`)
    .map((d) => join(root, d))
    .filter((d) => {
      try {
        const s = JSON.parse(readFileSync(join(d, stampName), 'utf8')) as { sourceVersion?: string };
        return s.sourceVersion === sourceVersion;
      } catch {
        return false;
      }
    })
    .sort((a, b) => statSync(join(b, stampName)).mtimeMs - statSync(join(a, stampName)).mtimeMs);
  if (seeds[0]) execFileSync('cp', ['-a', seeds[0], dir]);
  else ensureDir(dir);
  writeFileSync(join(dir, stampName), JSON.stringify({ arch, key, sourceVersion, seed: seeds[0] ?? null }) + '\n');
  return dir;
}
