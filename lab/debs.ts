/**
 * The guest's Debian packages and koffi's native builds: which packages (the
 * closure `apt-cache depends` gives, following only the chosen alternatives),
 * the exact .deb files, and their downloads (retried), shared by the lab guest
 * and the release (lab/release.ts).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Arch, DEB_ARCH, LabError, cacheDir, ensureDir, repoRoot } from './env.js';
import { Progress, runLogged } from './progress.js';

/** Bumped when the resolution changes what a cached package list holds. */
const PACKAGE_LIST_VERSION = 4;

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
    if (c.stamp === stamp && c.version === PACKAGE_LIST_VERSION) return c.debs;
  }
  const pkgs = resolvePackages(arch, roots);
  const text = execFileSync('apt-get', [...aptArchOptions(arch), 'download', '--print-uris', ...pkgs], { encoding: 'utf8' });
  const debs = parsePrintUris(text).sort((a, b) => a.file.localeCompare(b.file));
  if (debs.length !== pkgs.length) {
    throw new LabError(`apt-get download --print-uris gave ${debs.length} files for ${pkgs.length} packages`);
  }
  const foreign = debs.filter((d) => !d.file.endsWith(`_${DEB_ARCH[arch]}.deb`) && !d.file.endsWith('_all.deb'));
  if (foreign.length > 0) throw new LabError(`wrong-architecture packages for ${arch}: ${foreign.map((d) => d.file).join(' ')}`);
  writeFileSync(file, JSON.stringify({ stamp, version: PACKAGE_LIST_VERSION, packages: pkgs, debs }, null, 2) + '\n');
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
