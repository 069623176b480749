/**
 * The boot disk of the menu scenarios: an ext4 image (made from a directory
 * with `mke2fs -d`, no root or loop device needed) holding a boot root — the
 * lab kernel, initrds, the stored DTB, BLS entries, loader.conf,
 * extlinux.conf and hardboot/hardboot.conf — that the guest mounts at /mnt
 * and the boot manager reads and changes (boot counters, one-shot) across
 * resets. A fresh image is made for every run.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { type Arch, LabError, ensureDir } from './env.js';
import type { GuestImage } from './guest.js';
import type { KernelArtifacts } from './kernel.js';
import { storedDtb } from './phone.js';

/** The initrds an entry may boot. */
export type DiskInitrd =
  /** The second kernel's busybox initrd: reports its command line (hb.marker=) and powers off or resets. */
  | 'second'
  /** The whole lab guest (Node and hardboot): runs the hb.scenario= on its command line. */
  | 'guest'
  /** 4 KiB that are no initramfs: the kernel finds no init and panics. */
  | 'broken';

export interface DiskEntry {
  /** The file name in loader/entries (with a boot counter, e.g. `bad+2.conf`). */
  file: string;
  title: string;
  version?: string;
  initrd: DiskInitrd;
  /** The kernel command line. */
  options: string;
}

export interface DiskLayout {
  entries: DiskEntry[];
  loaderConf?: string;
  /** extlinux/extlinux.conf; `@KERNEL@` stands for the kernel's path on the disk. */
  extlinux?: string;
  hardbootConf: string;
}

const INITRD_FILES: Record<DiskInitrd, string> = { second: 'second.img', guest: 'guest.img', broken: 'broken.img' };

/** The kernel's path on the disk (`/Image` or `/zImage`). */
export function diskKernelPath(kernel: KernelArtifacts): string {
  return `/${basename(kernel.image)}`;
}

/** A BLS entry's text. */
export function entryText(e: DiskEntry, kernelPath: string): string {
  const lines = [`title ${e.title}`, ...(e.version !== undefined ? [`version ${e.version}`] : []), 'sort-key lab', `linux ${kernelPath}`, `initrd /${INITRD_FILES[e.initrd]}`, 'devicetree /stored.dtb', `options ${e.options}`];
  return `${lines.join('\n')}\n`;
}

/** Makes `out` (a raw ext4 image) holding the layout; returns its path. */
export function makeBootDisk(arch: Arch, cache: string, kernel: KernelArtifacts, guest: GuestImage, layout: DiskLayout, out: string): string {
  const dir = `${out}.d`;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'loader', 'entries'), { recursive: true });
  const kernelPath = diskKernelPath(kernel);
  copyFileSync(kernel.image, join(dir, kernelPath));
  writeFileSync(join(dir, 'stored.dtb'), storedDtb(arch, cache));
  const used = new Set(layout.entries.map((e) => e.initrd));
  if (layout.extlinux !== undefined) used.add('second');
  if (used.has('second')) copyFileSync(guest.secondInitrd, join(dir, INITRD_FILES.second));
  if (used.has('guest')) copyFileSync(guest.initrd, join(dir, INITRD_FILES.guest));
  if (used.has('broken')) writeFileSync(join(dir, INITRD_FILES.broken), Buffer.alloc(4096, 0x5a));
  for (const e of layout.entries) writeFileSync(join(dir, 'loader', 'entries', e.file), entryText(e, kernelPath));
  if (layout.loaderConf !== undefined) writeFileSync(join(dir, 'loader', 'loader.conf'), layout.loaderConf);
  if (layout.extlinux !== undefined) {
    mkdirSync(join(dir, 'extlinux'));
    writeFileSync(join(dir, 'extlinux', 'extlinux.conf'), layout.extlinux.replaceAll('@KERNEL@', kernelPath));
  }
  mkdirSync(join(dir, 'hardboot'));
  writeFileSync(join(dir, 'hardboot', 'hardboot.conf'), layout.hardbootConf);
  // Room for the files and for ext4's own structures, in KiB.
  let bytes = 0;
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name));
      else bytes += statSync(join(d, e.name)).size;
    }
  };
  walk(dir);
  const kib = Math.ceil(bytes / 1024) + 32 * 1024;
  ensureDir(dirname(out));
  rmSync(out, { force: true });
  try {
    execFileSync('mke2fs', ['-q', '-F', '-t', 'ext4', '-L', 'hbboot', '-d', dir, out, `${kib}k`], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (e) {
    throw new LabError(`mke2fs could not make the boot disk ${out}: ${(e as { stderr?: Buffer }).stderr?.toString().trim() ?? (e as Error).message} (scripts/setup.mjs lab installs e2fsprogs)`);
  }
  rmSync(dir, { recursive: true, force: true });
  return out;
}
