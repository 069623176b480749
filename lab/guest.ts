/**
 * The lab guest: an initramfs per arch, made of concatenated gzip'd newc archives
 * (the kernel unpacks them in order, later files replacing earlier ones):
 *
 *   base.cpio.gz    busybox, Debian's Node 18 + libraries, kexec-tools, koffi's native
 *                   build. Big (~35 MB) and slow to make; keyed by the exact .deb files,
 *                   the koffi version and GUEST_SCRIPT_VERSION.
 *   boot.cpio.gz    /boot/<Image|zImage> and /boot/initrd (the second kernel's small
 *                   busybox initrd), keyed by the kernel and that initrd.
 *   lab.cpio.gz     /init and the in-guest scenario scripts from lab/guest/: tiny,
 *                   rebuilt whenever they change.
 *   bundle.cpio.gz  /opt/hardboot/hardboot.mjs (dist/, built by `npm run build`) and the
 *                   /usr/bin/hardboot wrapper; rebuilt whenever the bundle changes, so
 *                   a new bundle never rebuilds the base.
 *
 * Cache layout under $HARDBOOT_CACHE/guest/:
 *   debs/<debarch>/*.deb            apt-get download, reused across keys
 *   npm/*.tgz                        npm pack of @koromix/koffi-linux-<arch>
 *   <arch>/packages.json             resolved package list + URIs, keyed by apt's lists
 *   <arch>/base-<key>.cpio.gz  second-<key>.cpio.gz  boot-<key>.cpio.gz  lab-<key>.cpio.gz
 *   <arch>/initrd-<key>.cpio.gz      the concatenation QEMU boots
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Arch, DEB_ARCH, LabError, acquireLock, cacheDir, ensureDir, repoRoot, sha256 } from './env.js';
import { CpioEntry, entriesFromDir, gzipCpio } from './cpio.js';
import { KernelArtifacts } from './kernel.js';
import { Progress, runLogged } from './progress.js';
import { qemuCommand } from './qemu.js';
import { ensureNode, parseFdt, setProp, stringValue, u32Cells, writeFdt } from '../src/formats/fdt.js';
import { writeQcdt } from '../src/formats/qcdt.js';

/** Bump when this file (or lab/cpio.ts) changes what goes into any layer: it is in every layer's key. */
export const GUEST_SCRIPT_VERSION = 4;

/** What the guest needs; apt-cache resolves the rest. */
export const ROOT_PACKAGES = ['busybox-static', 'nodejs', 'kexec-tools'] as const;

/**
 * Dependencies an initramfs does not need: package-manager plumbing pulled in by
 * maintainer scripts (kexec-tools asks debconf questions on install).
 */
export const DENIED_PACKAGES: ReadonlySet<string> = new Set([
  'debconf',
  'cdebconf',
  'debconf-2.0',
  'perl-base',
  'dpkg',
  'install-info',
]);

/** Paths dropped from the extracted packages: documentation, not needed to run. */
const PRUNE = ['usr/share/doc', 'usr/share/man', 'usr/share/info', 'usr/share/lintian', 'usr/share/locale', 'usr/share/bug', 'usr/include', 'etc/init.d', 'etc/default', 'lib/systemd', 'usr/lib/systemd'];

export const GUEST_PATHS = {
  kernel: (arch: Arch) => (arch === 'arm64' ? '/boot/Image' : '/boot/zImage'),
  secondInitrd: '/boot/initrd',
  /** The DTB the hardboot scenarios store with the kernel: QEMU's own, marked /chosen/hb,dtb = "stored". */
  storedDtb: '/boot/stored.dtb',
  /** An Android boot image (mkbootimg, header v2): the lab kernel, the second initrd, stored.dtb, its own command line. */
  bootImg: '/boot/boot.img',
  /** A Qualcomm dt.img (QCDT v3) of QEMU's tree under three sets of ids (PHONE_BOARDS). */
  dtImg: '/boot/dt.img',
  bundle: '/opt/hardboot/hardboot.mjs',
  wrapper: '/usr/bin/hardboot',
};

// ---------------------------------------------------------------------------
// Dependency resolution (pure parsing of `apt-cache depends` output).

/** One `Depends:` line: the package or virtual package, and who provides a virtual one. */
export interface DepAlternative {
  name: string;
  virtual: boolean;
  providers: string[];
}

/**
 * Parses `apt-cache depends --no-recommends ... pkg...` output into, for each queried
 * package, its dependency groups; a group lists alternatives ("a | b"), first preferred.
 */
export function parseAptDepends(text: string): Map<string, DepAlternative[][]> {
  const out = new Map<string, DepAlternative[][]>();
  let groups: DepAlternative[][] | undefined;
  let open: DepAlternative[] | undefined; // group still taking alternatives
  let last: DepAlternative | undefined;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    if (!/^\s/.test(line)) {
      groups = [];
      out.set(line.trim(), groups);
      open = undefined;
      last = undefined;
      continue;
    }
    const dep = /^\s+(\|?)(?:Pre)?Depends: (.+)$/.exec(line);
    if (dep && groups) {
      const raw = dep[2]!.trim();
      const virtual = raw.startsWith('<');
      last = { name: raw.replace(/^<|>$/g, ''), virtual, providers: [] };
      if (!open) {
        open = [];
        groups.push(open);
      }
      open.push(last);
      if (dep[1] !== '|') open = undefined;
      continue;
    }
    const provider = /^\s{4,}(\S+)$/.exec(line);
    if (provider && last) {
      last.providers.push(provider[1]!);
      continue;
    }
    // Other relation kinds (Recommends, Breaks...) are excluded by the flags; ignore if present.
  }
  return out;
}

/** `libc6:arm64` → `libc6`. */
export function basePackage(name: string): string {
  return name.replace(/:.*$/, '');
}

/**
 * The package each group settles on: its first alternative; a virtual one through
 * the provider built for `debArch` if there is one, else its first provider. A group
 * whose choice is denied is dropped whole: it is plumbing like debconf, not
 * something the guest runs. Names come back as apt printed them.
 */
export function chooseDependencies(groups: readonly DepAlternative[][], deny: ReadonlySet<string>, debArch: string): string[] {
  const chosen: string[] = [];
  for (const g of groups) {
    const first = g[0];
    if (!first) continue;
    const pkg = first.virtual ? (first.providers.find((p) => p.endsWith(`:${debArch}`)) ?? first.providers[0]) : first.name;
    if (pkg === undefined) throw new LabError(`no package provides ${first.name}`);
    if (deny.has(basePackage(pkg)) || deny.has(basePackage(first.name))) continue;
    chosen.push(pkg);
  }
  return chosen;
}

const APT_DEPENDS_FLAGS = ['depends', '--no-recommends', '--no-suggests', '--no-conflicts', '--no-breaks', '--no-replaces', '--no-enhances'];

/**
 * apt options that make `debArch` the native (and only) architecture. Then a bare
 * name means that architecture's package, including the dependencies of
 * Architecture: all packages (node-acorn → nodejs), which apt would otherwise read
 * as the host's.
 */
export function aptArchOptions(arch: Arch): string[] {
  return ['-o', `APT::Architecture=${DEB_ARCH[arch]}`, '-o', `APT::Architectures=${DEB_ARCH[arch]}`];
}

/**
 * The package closure for `arch`: one `apt-cache depends --recurse` from the roots,
 * then a walk of its answer that follows only the chosen alternatives and skips
 * DENIED_PACKAGES (apt's own recursion also wanders into debconf's dependencies).
 */
export function resolvePackages(arch: Arch, roots: readonly string[] = ROOT_PACKAGES): string[] {
  let text: string;
  try {
    text = execFileSync('apt-cache', [...aptArchOptions(arch), ...APT_DEPENDS_FLAGS, '--recurse', ...roots], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      maxBuffer: 64 << 20,
    });
  } catch (e) {
    throw new LabError(`apt-cache cannot resolve ${roots.join(' ')} for ${DEB_ARCH[arch]} (run apt-get update?): ${String((e as { stderr?: string }).stderr ?? e).trim()}`);
  }
  return closure(parseAptDepends(text), roots, DEB_ARCH[arch]);
}

/** The packages reachable from `roots` in a parsed `apt-cache depends --recurse` answer. */
export function closure(graph: Map<string, DepAlternative[][]>, roots: readonly string[], debArch: string): string[] {
  const seen = new Set<string>();
  const todo = [...roots];
  for (let name = todo.pop(); name !== undefined; name = todo.pop()) {
    const pkg = basePackage(name);
    if (seen.has(pkg)) continue;
    seen.add(pkg);
    const groups = graph.get(pkg) ?? graph.get(name);
    if (!groups) throw new LabError(`apt-cache gave no dependencies for ${pkg} (${debArch})`);
    todo.push(...chooseDependencies(groups, DENIED_PACKAGES, debArch));
  }
  return [...seen].sort();
}

export interface DebFile {
  url: string;
  file: string;
  size: number;
  sha256: string;
}

/** Parses `apt-get download --print-uris` lines: 'URL' FILE SIZE SHA256:HASH. */
export function parsePrintUris(text: string): DebFile[] {
  const out: DebFile[] = [];
  for (const line of text.split('\n')) {
    const m = /^'([^']+)' (\S+) (\d+) SHA256:([0-9a-f]{64})$/.exec(line.trim());
    if (m) out.push({ url: m[1]!, file: m[2]!, size: Number(m[3]), sha256: m[4]! });
  }
  return out;
}

/**
 * The exact .deb files for `arch`. apt's answer only changes when its lists do, so it
 * is cached against the lists directory's mtime (apt-get update renames into it).
 */
export function guestPackages(arch: Arch, cache = cacheDir(), roots: readonly string[] = ROOT_PACKAGES): DebFile[] {
  const stampPath = '/var/lib/apt/lists';
  const stamp = existsSync(stampPath) ? String(statSync(stampPath).mtimeMs) : 'none';
  const name = roots === ROOT_PACKAGES ? 'packages.json' : `packages-${roots.join('+')}.json`;
  const file = join(ensureDir(join(cache, 'guest', arch)), name);
  if (existsSync(file)) {
    const c = JSON.parse(readFileSync(file, 'utf8')) as { stamp: string; version: number; debs: DebFile[] };
    if (c.stamp === stamp && c.version === GUEST_SCRIPT_VERSION) return c.debs;
  }
  const pkgs = resolvePackages(arch, roots);
  const text = execFileSync('apt-get', [...aptArchOptions(arch), 'download', '--print-uris', ...pkgs], { encoding: 'utf8' });
  const debs = parsePrintUris(text).sort((a, b) => a.file.localeCompare(b.file));
  if (debs.length !== pkgs.length) {
    throw new LabError(`apt-get download --print-uris gave ${debs.length} files for ${pkgs.length} packages`);
  }
  const foreign = debs.filter((d) => !d.file.endsWith(`_${DEB_ARCH[arch]}.deb`) && !d.file.endsWith('_all.deb'));
  if (foreign.length > 0) throw new LabError(`wrong-architecture packages for ${arch}: ${foreign.map((d) => d.file).join(' ')}`);
  writeFileSync(file, JSON.stringify({ stamp, version: GUEST_SCRIPT_VERSION, packages: pkgs, debs }, null, 2) + '\n');
  return debs;
}

export function koffiVersion(): string {
  const lock = JSON.parse(readFileSync(join(repoRoot, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { version?: string }>;
  };
  const v = lock.packages['node_modules/koffi']?.version;
  if (!v) throw new LabError('package-lock.json has no node_modules/koffi entry');
  return v;
}

export const KOFFI_PACKAGE: Record<Arch, string> = { arm64: '@koromix/koffi-linux-arm64', arm: '@koromix/koffi-linux-arm' };

// ---------------------------------------------------------------------------
// Layers.

export interface GuestImage {
  arch: Arch;
  /** The concatenated initramfs QEMU boots. */
  initrd: string;
  /** The second kernel's small initrd (busybox and second-init), also at /boot/initrd in the guest. */
  secondInitrd: string;
  layers: { name: string; path: string; key: string; built: boolean }[];
  /** True when the bundle layer is present (dist/hardboot.mjs existed). */
  hasBundle: boolean;
  /** Why there is no bundle layer, for the scenarios that need one. */
  noBundleReason?: string;
}

function guestDir(arch: Arch, cache: string): string {
  return ensureDir(join(cache, 'guest', arch));
}

/** The static files of the guest (init, scenarios) from lab/guest/ in the repository. */
function labFiles(): { rel: string; data: Buffer; mode: number }[] {
  const root = join(repoRoot, 'lab', 'guest');
  const out: { rel: string; data: Buffer; mode: number }[] = [];
  const walk = (rel: string): void => {
    for (const name of readdirSync(join(root, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const st = statSync(join(root, r));
      if (st.isDirectory()) walk(r);
      else out.push({ rel: r, data: readFileSync(join(root, r)), mode: r.endsWith('.sh') || !r.includes('.') ? 0o755 : 0o644 });
    }
  };
  walk('');
  return out;
}

/** Writes `data` to `path` atomically. */
export function writeAtomic(path: string, data: Uint8Array): void {
  writeFileSync(`${path}.tmp`, data);
  renameSync(`${path}.tmp`, path);
}

/** Removes the other `<kind>-<key>.cpio.gz` files beside `keep`: old layers are never reused. */
export function pruneLayers(dir: string, kind: string, keep: string): void {
  for (const f of readdirSync(dir)) {
    if (f.startsWith(`${kind}-`) && f.endsWith('.cpio.gz') && join(dir, f) !== keep) rmSync(join(dir, f), { force: true });
  }
}

const DEV_NODES: CpioEntry[] = [
  { type: 'dir', path: 'dev' },
  // The kernel opens /dev/console for /init before anything can mount devtmpfs.
  { type: 'char', path: 'dev/console', mode: 0o600, major: 5, minor: 1 },
];

/**
 * Runs a download with scripts/retry.mjs's backoff; when every attempt failed,
 * one LabError says what could not be fetched, from where, and the last error.
 */
export async function fromMirror(what: string, mirror: string, log: string, attempt: () => Promise<void>): Promise<void> {
  const { attempts, retryAsync } = (await import(pathToFileURL(join(repoRoot, 'scripts', 'retry.mjs')).href)) as typeof import('../scripts/retry.mjs');
  let last = '';
  const ok = await retryAsync(what, async () => {
    try {
      await attempt();
      return true;
    } catch (e) {
      if (!(e instanceof LabError)) throw e;
      last = e.message;
      return false;
    }
  });
  if (!ok) throw new LabError(`${what} failed ${attempts()} times: is ${mirror} reachable? (last: ${last})`, log);
}

export async function fetchDebs(arch: Arch, debs: DebFile[], cache: string, log: string): Promise<string> {
  const dir = ensureDir(join(cache, 'guest', 'debs', DEB_ARCH[arch]));
  const missing = debs.filter((d) => !existsSync(join(dir, d.file)));
  if (missing.length > 0) {
    const p = new Progress(`download ${missing.length} ${DEB_ARCH[arch]} packages`);
    const tmp = mkdtempSync(join(dir, '.dl-'));
    try {
      // apt-get download checks each file against the hash in the signed index.
      const names = missing.map((d) => d.file.replace(/_.*$/, ''));
      await fromMirror(`apt-get download of ${names.join(' ')} (${DEB_ARCH[arch]})`, 'the Debian mirror', log, () =>
        runLogged('apt-get', [...aptArchOptions(arch), 'download', '-q', ...names], { cwd: tmp, log, progress: p }),
      );
      for (const f of readdirSync(tmp)) renameSync(join(tmp, f), join(dir, f));
    } catch (e) {
      p.end('failed');
      throw e;
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
    p.end('done');
    const still = debs.filter((d) => !existsSync(join(dir, d.file)));
    if (still.length > 0) throw new LabError(`apt-get download did not fetch ${still.map((d) => d.file).join(' ')}`, log);
  }
  return dir;
}

export async function fetchKoffi(arch: Arch, cache: string, log: string): Promise<string> {
  const version = koffiVersion();
  const dir = ensureDir(join(cache, 'guest', 'npm'));
  const name = `${KOFFI_PACKAGE[arch].replace('@', '').replace('/', '-')}-${version}.tgz`;
  const tgz = join(dir, name);
  if (!existsSync(tgz)) {
    const p = new Progress(`npm pack ${KOFFI_PACKAGE[arch]}@${version}`);
    try {
      await fromMirror(`npm pack ${KOFFI_PACKAGE[arch]}@${version}`, 'the npm registry', log, () =>
        runLogged('npm', ['pack', '--silent', `${KOFFI_PACKAGE[arch]}@${version}`, '--pack-destination', dir], { log, progress: p, cwd: dir }),
      );
    } catch (e) {
      p.end('failed');
      throw e;
    }
    p.end('done');
    if (!existsSync(tgz)) throw new LabError(`npm pack did not produce ${tgz}`, log);
  }
  return tgz;
}

/**
 * koffi for `arch` in `nodeModules`: its JavaScript from the host's node_modules
 * (less what it does not run with), and its native build for `arch` beside it,
 * where koffi's loader requires it (@koromix/koffi-linux-<arch>).
 */
export function installKoffi(arch: Arch, koffiTgz: string, nodeModules: string): void {
  execFileSync('cp', ['-a', join(repoRoot, 'node_modules', 'koffi'), join(nodeModules, 'koffi')]);
  for (const sub of ['doc', 'vendor', 'src/koffi/src/abi']) rmSync(join(nodeModules, 'koffi', sub), { recursive: true, force: true });
  const native = ensureDir(join(nodeModules, KOFFI_PACKAGE[arch]));
  execFileSync('tar', ['-xzf', koffiTgz, '-C', native, '--strip-components=1']);
}

/** base layer: packages unpacked with dpkg-deb, pruned, plus koffi. */
async function buildBase(arch: Arch, key: string, debs: DebFile[], out: string, cache: string, log: string): Promise<void> {
  const debDir = await fetchDebs(arch, debs, cache, log);
  const koffiTgz = await fetchKoffi(arch, cache, log);
  const p = new Progress(`assemble ${arch} guest base`);
  const root = mkdtempSync(join(cache, 'guest', `.root-${arch}-`));
  try {
    for (const d of debs) {
      p.line(d.file);
      execFileSync('dpkg-deb', ['-x', join(debDir, d.file), root]);
    }
    for (const x of PRUNE) rmSync(join(root, x), { recursive: true, force: true });
    const opt = ensureDir(join(root, 'opt', 'hardboot', 'node_modules'));
    // koffi's JS from the host's node_modules, and its native build for this arch
    // beside it, where koffi's loader requires it (@koromix/koffi-linux-<arch>).
    installKoffi(arch, koffiTgz, opt);
    const entries: CpioEntry[] = [
      ...DEV_NODES,
      ...entriesFromDir(root),
      // (after the package tree, so their parents exist: the kernel does not mkdir -p)
      ...['proc', 'sys', 'tmp', 'run', 'mnt', 'root', 'sbin', 'usr/sbin'].filter((d) => !existsSync(join(root, d))).map((path): CpioEntry => ({ type: 'dir', path })),
      // /init is a busybox shell script; the rest of busybox's applets are linked at boot.
      { type: 'symlink', path: 'bin/sh', target: 'busybox' },
    ];
    if (!existsSync(join(root, 'bin', 'busybox'))) throw new LabError(`busybox-static did not provide /bin/busybox`, log);
    p.line('gzip');
    writeAtomic(out, gzipCpio(entries));
  } catch (e) {
    p.end('failed');
    throw e;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  p.end(`done (${(statSync(out).size / 1e6).toFixed(1)} MB)`);
}

/**
 * The second kernel's initrd: busybox only, with an /init that reports its command
 * line and powers off. Small, so kexec loads it quickly.
 */
function buildSecond(arch: Arch, debs: DebFile[], debDir: string, out: string, cache: string): void {
  const bb = debs.find((d) => d.file.startsWith('busybox-static_'));
  if (!bb) throw new LabError(`no busybox-static package for ${arch}`);
  const root = mkdtempSync(join(cache, 'guest', `.second-${arch}-`));
  try {
    execFileSync('sh', ['-c', 'dpkg-deb --fsys-tarfile "$1" | tar -x -C "$2" ./bin/busybox', 'sh', join(debDir, bb.file), root]);
    const init = readFileSync(join(repoRoot, 'lab', 'guest', 'second-init.sh'));
    writeAtomic(
      out,
      gzipCpio([
        ...DEV_NODES,
        ...['proc', 'sys', 'tmp', 'bin', 'sbin', 'usr', 'usr/bin', 'usr/sbin'].map((path): CpioEntry => ({ type: 'dir', path })),
        { type: 'file', path: 'bin/busybox', mode: 0o755, data: readFileSync(join(root, 'bin', 'busybox')) },
        { type: 'symlink', path: 'bin/sh', target: 'busybox' },
        { type: 'file', path: 'init', mode: 0o755, data: init },
      ]),
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

export interface GuestOptions {
  cache?: string;
  /** The bundle to put at /opt/hardboot (default dist/hardboot.mjs); null: none. */
  bundle?: string | null;
  /** With bundle: null, the reason reported to scenarios that need it. */
  noBundleReason?: string;
}

/**
 * The device tree the hardboot scenarios hand to `--load-hardboot --dtb=`: the
 * one QEMU `virt` makes for the lab's machine (same CPU, RAM and CPUs as the
 * runner's defaults, seeds off so the bytes are stable), with
 * /chosen/hb,dtb = "stored" so the stored kernel can show it booted with it.
 */
export function storedDtb(arch: Arch, cache: string, edit: (fdt: ReturnType<typeof parseFdt>) => void = () => undefined): Uint8Array {
  const out = join(ensureDir(join(cache, 'guest', arch)), 'qemu-virt.dtb');
  const cmd = qemuCommand({ arch, kernel: '/dev/null', append: '', serialLog: '/dev/null', reboot: false, dtbRandomness: false });
  const args = cmd.args.filter((a, i, all) => !['-kernel', '-append', '-serial'].includes(a) && !['-kernel', '-append', '-serial'].includes(all[i - 1]!));
  const m = args.indexOf('-M');
  args[m + 1] = `${args[m + 1]},dumpdtb=${out}`;
  execFileSync(cmd.binary, args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 30_000 });
  const fdt = parseFdt(new Uint8Array(readFileSync(out)));
  delete fdt.layout;
  setProp(ensureNode(fdt, '/chosen'), 'hb,dtb', stringValue('stored'));
  edit(fdt);
  return writeFdt(fdt, { padding: 0x1000 });
}

/**
 * The phone boards of the hardboot-dtimg scenario: QEMU's tree under three sets
 * of Qualcomm ids (qcom,msm-id = <platform soc_rev>), each marked with its name
 * in /chosen/hb,dtb. The guest boots with RUNNING's ids, so only that entry of
 * dt.img may be chosen; its name on the stored kernel's console proves which.
 */
export const PHONE_BOARDS = [
  { name: 'board-a', platform: 0xcf, socRev: 0x20000 },
  { name: 'board-b', platform: 0xcf, socRev: 0x20001 },
  { name: 'board-c', platform: 0xfb, socRev: 0x0 },
] as const;
export const RUNNING_BOARD = PHONE_BOARDS[1];

function withMsmId(b: { name: string; platform: number; socRev: number }) {
  return (fdt: ReturnType<typeof parseFdt>): void => {
    setProp(fdt.root, 'qcom,msm-id', u32Cells(b.platform, b.socRev));
    setProp(ensureNode(fdt, '/chosen'), 'hb,dtb', stringValue(b.name));
  };
}

/** The tree QEMU boots the hardboot-dtimg guest with (-dtb): the running board's ids. */
export function runningPhoneDtb(arch: Arch, cache: string): string {
  const out = join(ensureDir(join(cache, 'guest', arch)), 'running-phone.dtb');
  writeFileSync(out, storedDtb(arch, cache, (fdt) => {
    setProp(fdt.root, 'qcom,msm-id', u32Cells(RUNNING_BOARD.platform, RUNNING_BOARD.socRev));
  }));
  return out;
}

function phoneFiles(arch: Arch, cache: string, kernel: Uint8Array, initrd: Uint8Array, stored: Uint8Array): { bootImg: Uint8Array; dtImg: Uint8Array } {
  const dtImg = writeQcdt({
    version: 3,
    entries: PHONE_BOARDS.map((b) => ({ platformId: b.platform, variantId: 0, socRev: b.socRev, dtb: storedDtb(arch, cache, withMsmId(b)) })),
  });
  // mkbootimg, the reference tool, writes the boot image.
  const dir = mkdtempSync(join(cache, 'guest', `.bootimg-${arch}-`));
  try {
    const f = (name: string, data: Uint8Array) => {
      writeFileSync(join(dir, name), data);
      return join(dir, name);
    };
    const out = join(dir, 'boot.img');
    execFileSync('mkbootimg', [
      '--header_version', '2',
      '--kernel', f('kernel', kernel),
      '--ramdisk', f('ramdisk', initrd),
      '--dtb', f('dtb', stored),
      '--cmdline', 'console=ttyAMA0 panic=-1 hb.marker=bootimg',
      '-o', out,
    ]);
    return { bootImg: new Uint8Array(readFileSync(out)), dtImg };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Builds (or finds) every layer for `arch` and the concatenated initrd.
 * `kernel` is the lab kernel placed at /boot for in-guest kexec.
 */
export async function buildGuest(arch: Arch, kernel: KernelArtifacts, opts: GuestOptions = {}): Promise<GuestImage> {
  const cache = opts.cache ?? cacheDir();
  const dir = guestDir(arch, cache);
  const debs = guestPackages(arch, cache);
  const layers: GuestImage['layers'] = [];
  const log = join(ensureDir(join(cache, 'logs')), `guest-${arch}.log`);

  // base
  const baseKey = sha256([`guest-${GUEST_SCRIPT_VERSION}`, arch, koffiVersion(), ...debs.map((d) => `${d.file} ${d.sha256}`)]).slice(0, 16);
  const base = join(dir, `base-${baseKey}.cpio.gz`);
  let built = false;
  if (!existsSync(base)) {
    const release = acquireLock(join(cache, 'guest', `.${arch}.lock`), `a ${arch} guest build`);
    try {
      writeFileSync(log, '');
      await buildBase(arch, baseKey, debs, base, cache, log);
      pruneLayers(dir, 'base', base);
      built = true;
    } finally {
      release();
    }
  }
  layers.push({ name: 'base', path: base, key: baseKey, built });

  // boot: the kernel and the second initrd
  const secondInit = readFileSync(join(repoRoot, 'lab', 'guest', 'second-init.sh'));
  const bb = debs.find((d) => d.file.startsWith('busybox-static_'));
  const secondKey = sha256([`second-${GUEST_SCRIPT_VERSION}`, arch, bb?.sha256 ?? '', secondInit]).slice(0, 16);
  const second = join(dir, `second-${secondKey}.cpio.gz`);
  if (!existsSync(second)) {
    buildSecond(arch, debs, await fetchDebs(arch, debs, cache, log), second, cache);
    pruneLayers(dir, 'second', second);
  }
  const stored = storedDtb(arch, cache);
  const bootKey = sha256([`boot-${GUEST_SCRIPT_VERSION}`, kernel.key, secondKey, stored, JSON.stringify(PHONE_BOARDS)]).slice(0, 16);
  const boot = join(dir, `boot-${bootKey}.cpio.gz`);
  built = false;
  if (!existsSync(boot)) {
    const phone = phoneFiles(arch, cache, readFileSync(kernel.image), readFileSync(second), stored);
    writeAtomic(
      boot,
      gzipCpio(
        [
          { type: 'dir', path: 'boot' },
          { type: 'file', path: GUEST_PATHS.bootImg, data: phone.bootImg },
          { type: 'file', path: GUEST_PATHS.dtImg, data: phone.dtImg },
          { type: 'file', path: GUEST_PATHS.kernel(arch), data: readFileSync(kernel.image) },
          { type: 'file', path: GUEST_PATHS.secondInitrd, data: readFileSync(second) },
          { type: 'file', path: GUEST_PATHS.storedDtb, data: stored },
        ],
        1, // the kernel image and the initrd are already compressed
      ),
    );
    pruneLayers(dir, 'boot', boot);
    built = true;
  }
  layers.push({ name: 'boot', path: boot, key: bootKey, built });

  // lab: /init and scenario scripts
  const files = labFiles().filter((f) => f.rel !== 'second-init.sh');
  const labKey = sha256([`lab-${GUEST_SCRIPT_VERSION}`, ...files.flatMap((f) => [f.rel, f.data])]).slice(0, 16);
  const lab = join(dir, `lab-${labKey}.cpio.gz`);
  built = false;
  if (!existsSync(lab)) {
    const entries: CpioEntry[] = [{ type: 'dir', path: 'lab' }];
    for (const f of files) {
      if (f.rel === 'init.sh') entries.push({ type: 'file', path: 'init', mode: 0o755, data: f.data });
      else entries.push({ type: 'file', path: `lab/${f.rel}`, mode: f.mode, data: f.data });
    }
    writeAtomic(lab, gzipCpio(entries));
    pruneLayers(dir, 'lab', lab);
    built = true;
  }
  layers.push({ name: 'lab', path: lab, key: labKey, built });

  // bundle
  const bundleSrc = opts.bundle === undefined ? join(repoRoot, 'dist', 'hardboot.mjs') : opts.bundle;
  let hasBundle = false;
  if (bundleSrc !== null && existsSync(bundleSrc)) {
    const data = readFileSync(bundleSrc);
    const wrapper = Buffer.from(`#!/bin/sh\n# The hardboot CLI: our bundle run by Debian's Node.\nexec /usr/bin/node ${GUEST_PATHS.bundle} "$@"\n`);
    const bundleKey = sha256([`bundle-${GUEST_SCRIPT_VERSION}`, data, wrapper]).slice(0, 16);
    const bundle = join(dir, `bundle-${bundleKey}.cpio.gz`);
    built = false;
    if (!existsSync(bundle)) {
      writeAtomic(
        bundle,
        gzipCpio([
          { type: 'file', path: GUEST_PATHS.bundle, data },
          { type: 'file', path: GUEST_PATHS.wrapper, mode: 0o755, data: wrapper },
        ]),
      );
      pruneLayers(dir, 'bundle', bundle);
      built = true;
    }
    layers.push({ name: 'bundle', path: bundle, key: bundleKey, built });
    hasBundle = true;
  }
  const noBundleReason = hasBundle
    ? undefined
    : bundleSrc === null
      ? (opts.noBundleReason ?? 'no bundle was asked for')
      : `${bundleSrc} is missing (\`npm run build\` makes it)`;

  // The concatenation. Named by its layers' keys; old ones are removed.
  const key = sha256(layers.map((l) => l.key)).slice(0, 16);
  const initrd = join(dir, `initrd-${key}.cpio.gz`);
  if (!existsSync(initrd)) {
    pruneLayers(dir, 'initrd', initrd);
    const tmp = `${initrd}.tmp`;
    copyFileSync(layers[0]!.path, tmp);
    for (const l of layers.slice(1)) writeFileSync(tmp, readFileSync(l.path), { flag: 'a' });
    renameSync(tmp, initrd);
  }
  return { arch, initrd, secondInitrd: second, layers, hasBundle, noBundleReason };
}
