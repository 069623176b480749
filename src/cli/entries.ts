/**
 * `hardboot entries [--root DIR] [--json]`: the boot menu a boot root holds —
 * Boot Loader Specification entries (loader/entries/*.conf, with
 * loader/loader.conf) and extlinux/extlinux.conf — in the order a boot manager
 * shows them, the default marked. Reads the files (regular files only, each
 * bounded before it is read), parses them, and builds the menu with
 * plan/menu.ts; nothing is loaded.
 */
import { join } from 'node:path';
import { FormatError, withFile } from '../errors.js';
import { parseLoaderConf, readBlsMenuEntry } from '../formats/bls.js';
import { parseExtlinux } from '../formats/extlinux.js';
import { type BootMenu, buildMenu, type MenuInput } from '../plan/menu.js';
import type { Host } from '../system/host.js';
import { BOOT_CONFIG_MAX_BYTES } from '../util/text.js';

/** Where the boot manager's files are when --root is not given. */
export const DEFAULT_BOOT_ROOT = '/boot';
/** The most entry files read from loader/entries (a boot root with more is refused). */
export const MAX_BLS_ENTRIES = 256;

/** The parsed files of a boot root (paths in the result are relative to it). */
export function readBootRoot(root: string, host: Pick<Host, 'readFile' | 'listDir'>): MenuInput {
  const read = (rel: string, what: string) => host.readFile(join(root, rel), what, BOOT_CONFIG_MAX_BYTES);
  const input: MenuInput = { bls: [] };
  const names = (host.listDir(join(root, 'loader', 'entries')) ?? []).filter((n) => /\.conf$/i.test(n));
  if (names.length > MAX_BLS_ENTRIES) {
    throw new FormatError('boot root', 0, `at most ${MAX_BLS_ENTRIES} entries in loader/entries`, `${names.length}`).inFile(join(root, 'loader', 'entries'));
  }
  for (const n of names) {
    const file = join('loader', 'entries', n);
    const entry = withFile(join(root, file), () => readBlsMenuEntry(n, read(file, 'boot loader entry')));
    input.bls.push({ file, entry });
  }
  if ((host.listDir(join(root, 'loader')) ?? []).includes('loader.conf')) {
    const file = join('loader', 'loader.conf');
    input.loaderConf = withFile(join(root, file), () => parseLoaderConf(read(file, 'loader.conf')));
  }
  if ((host.listDir(join(root, 'extlinux')) ?? []).includes('extlinux.conf')) {
    const file = join('extlinux', 'extlinux.conf');
    input.extlinux = { file, conf: withFile(join(root, file), () => parseExtlinux(read(file, 'extlinux.conf'))) };
  }
  return input;
}

export function entriesCommand(root: string, host: Pick<Host, 'readFile' | 'listDir'>): BootMenu {
  return buildMenu(readBootRoot(root, host));
}

/** The menu as text: one line per entry (`*` the default, `!` out of tries, `-` not bootable here), then its details. */
export function renderMenu(menu: BootMenu, root: string): string {
  if (menu.entries.length === 0) return `no boot entries under ${root} (loader/entries/*.conf, extlinux/extlinux.conf)\n`;
  const lines: string[] = [];
  menu.entries.forEach((e, i) => {
    const mark = i === menu.defaultIndex ? '*' : e.unbootable ? '-' : e.bad ? '!' : ' ';
    const tries = e.triesLeft !== undefined ? ` [tries left ${e.triesLeft}, done ${e.triesDone ?? 0}]` : '';
    lines.push(`${mark} ${String(i + 1).padStart(2)}  ${e.title}${e.version !== undefined ? ` (${e.version})` : ''}${tries}`);
    lines.push(`        ${e.source} ${e.id} — ${e.file}`);
    if (e.kernel !== undefined) lines.push(`        kernel ${e.kernel}`);
    for (const i of e.initrds) lines.push(`        initrd ${i}`);
    if (e.devicetree !== undefined) lines.push(`        devicetree ${e.devicetree}`);
    if (e.commandLine !== undefined) lines.push(`        options ${e.commandLine}`);
    if (e.unbootable) lines.push(`        not bootable by hardboot: ${e.unbootable}`);
  });
  const t = menu.timeout;
  lines.push(t === undefined ? 'timeout: not set' : t === 'forever' ? 'timeout: none (the menu waits for a choice)' : t === 0 ? 'timeout: 0 (the default boots at once)' : `timeout: ${t / 1000} s`);
  for (const n of menu.notes) lines.push(`note: ${n}`);
  return `${lines.join('\n')}\n`;
}
