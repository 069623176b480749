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
import { Arch, LabError, acquireLock, cacheDir, ensureDir, repoRoot, sha256 } from './env.js';
import { CpioEntry, entriesFromDir, gzipCpio } from './cpio.js';
import { KernelArtifacts } from './kernel.js';
import { Progress } from './progress.js';
import { DebFile, fetchDebs, fetchKoffi, guestPackages, installKoffi, koffiVersion } from './debs.js';
import { PHONE_BOARDS, phoneFiles, storedDtb } from './phone.js';

/** Bump when this file (or lab/cpio.ts) changes what goes into any layer: it is in every layer's key. */
export const GUEST_SCRIPT_VERSION = 4;

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

/**
 * `<kind>-<key>.cpio.gz` in `dir`: the layers at `paths` concatenated (the kernel
 * unpacks them in order), named by `keys`, made once; the other concatenations
 * of that kind are removed.
 */
export function concatLayers(dir: string, kind: string, paths: readonly string[], keys: readonly string[]): string {
  const out = join(dir, `${kind}-${sha256(keys).slice(0, 16)}.cpio.gz`);
  if (!existsSync(out)) {
    pruneLayers(dir, kind, out);
    const tmp = `${out}.tmp`;
    copyFileSync(paths[0]!, tmp);
    for (const p of paths.slice(1)) writeFileSync(tmp, readFileSync(p), { flag: 'a' });
    renameSync(tmp, out);
  }
  return out;
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

  const initrd = concatLayers(dir, 'initrd', layers.map((l) => l.path), layers.map((l) => l.key));
  return { arch, initrd, secondInitrd: second, layers, hasBundle, noBundleReason };
}
