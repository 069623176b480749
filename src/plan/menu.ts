/**
 * The boot menu: the entries a device can boot, from the files a boot root
 * holds (Boot Loader Specification Type #1 entries with loader.conf, and
 * extlinux.conf), in one list, in the order each format defines, with the
 * default marked. Pure: the files come parsed.
 *
 * BLS entries come first (sorted as the specification says; those out of tries
 * last), then extlinux labels in file order. The default is loader.conf's (a
 * glob over entry ids) among BLS entries, else extlinux's DEFAULT, else the
 * first entry that still has tries.
 */
import { type BlsMenuEntry, type LoaderConf, isBadEntry, selectDefaultBlsEntry, sortBlsEntries } from '../formats/bls.js';
import { type ExtlinuxConf, defaultExtlinuxEntry } from '../formats/extlinux.js';

export type EntrySource = 'bls' | 'extlinux';

export interface MenuEntry {
  source: EntrySource;
  /** The BLS entry id (file name without counter and suffix), or the extlinux LABEL. */
  id: string;
  /** The file it comes from, relative to the boot root. */
  file: string;
  /** What a menu shows: the title (BLS) or MENU LABEL, with the version when there is one. */
  title: string;
  version?: string;
  /** The kernel, as written (a path from the boot root). */
  kernel?: string;
  initrds: string[];
  /** The kernel command line (BLS options, extlinux APPEND). */
  commandLine?: string;
  devicetree?: string;
  /** BLS boot counting: tries left and done, from the file name. */
  triesLeft?: number;
  triesDone?: number;
  /** Out of tries: shown, never chosen automatically. */
  bad: boolean;
  /** Why hardboot cannot boot it, when it cannot (an EFI program, an FDTDIR it would have to choose from, overlays). */
  unbootable?: string;
}

export interface BootMenu {
  entries: MenuEntry[];
  /** Index into entries of the default, absent when nothing can be chosen without a person. */
  defaultIndex?: number;
  /** How long the menu waits before it boots the default: ms, or 'forever' (wait for a choice), or 0 (no menu). */
  timeout?: number | 'forever';
  /** Sentences for the user (a default that could not be used, …). */
  notes: string[];
}

export interface MenuInput {
  bls: { file: string; entry: BlsMenuEntry }[];
  loaderConf?: LoaderConf;
  extlinux?: { file: string; conf: ExtlinuxConf };
}

function blsMenuEntry(file: string, e: BlsMenuEntry): MenuEntry {
  const title = e.title ?? e.id;
  const out: MenuEntry = { source: 'bls', id: e.id, file, title, initrds: [...e.initrd], bad: isBadEntry(e) };
  if (e.version !== undefined) out.version = e.version;
  if (e.linux !== undefined) out.kernel = e.linux;
  if (e.options !== undefined) out.commandLine = e.options;
  if (e.devicetree !== undefined) out.devicetree = e.devicetree;
  if (e.triesLeft !== undefined) out.triesLeft = e.triesLeft;
  if (e.triesDone !== undefined) out.triesDone = e.triesDone;
  if (e.linux === undefined) out.unbootable = `an EFI program (${e.efi ?? 'efi'}), which only EFI firmware starts`;
  else if (e.devicetreeOverlay.length > 0) out.unbootable = `devicetree-overlay ${e.devicetreeOverlay.join(' ')}: hardboot does not apply overlays; merge them into the devicetree`;
  return out;
}

/** The menu of a boot root's parsed files (see the module comment for the order and the default). */
export function buildMenu(input: MenuInput): BootMenu {
  const notes: string[] = [];
  const bls = sortBlsEntries(input.bls.map((b) => ({ ...b.entry, file: b.file })));
  const entries = bls.map((b) => blsMenuEntry(b.file, b));
  let defaultIndex: number | undefined;
  if (bls.length > 0) {
    const choice = selectDefaultBlsEntry(bls, input.loaderConf);
    if (choice.note) notes.push(choice.note);
    if (choice.entry) defaultIndex = choice.index;
  }
  if (input.extlinux) {
    const { file, conf } = input.extlinux;
    const first = entries.length;
    for (const l of conf.entries) {
      const e: MenuEntry = { source: 'extlinux', id: l.label, file, title: l.menuLabel ?? l.label, initrds: [...l.initrd], bad: false };
      if (l.kernel !== undefined) e.kernel = l.kernel;
      if (l.append !== undefined) e.commandLine = l.append;
      if (l.fdt !== undefined) e.devicetree = l.fdt;
      if (l.kernel === undefined) e.unbootable = 'no KERNEL or LINUX line';
      else if (l.fdt === undefined && l.fdtdir !== undefined) e.unbootable = `FDTDIR ${l.fdtdir}: U-Boot picks the DTB from its own variables; name one with FDT`;
      else if (l.fdtoverlays.length > 0) e.unbootable = `FDTOVERLAYS ${l.fdtoverlays.join(' ')}: hardboot does not apply overlays; merge them into the FDT`;
      entries.push(e);
    }
    if (defaultIndex === undefined) {
      const d = defaultExtlinuxEntry(conf);
      if (d) defaultIndex = first + conf.entries.indexOf(d);
    }
  }
  if (defaultIndex !== undefined && entries[defaultIndex]!.unbootable) {
    notes.push(`the default, ${entries[defaultIndex]!.id}, cannot be booted by hardboot: ${entries[defaultIndex]!.unbootable}`);
    defaultIndex = undefined;
  }
  if (defaultIndex === undefined) {
    const i = entries.findIndex((e) => !e.bad && !e.unbootable);
    if (i >= 0) defaultIndex = i;
  }
  const menu: BootMenu = { entries, notes };
  if (defaultIndex !== undefined) menu.defaultIndex = defaultIndex;
  const t = input.loaderConf?.timeout;
  if (t !== undefined && bls.length > 0) {
    menu.timeout = 'seconds' in t ? t.seconds * 1000 : t.menu === 'force' ? 'forever' : 0;
  } else if (input.extlinux?.conf.timeoutMs !== undefined) {
    const ms = input.extlinux.conf.timeoutMs;
    menu.timeout = ms === 0 ? 'forever' : ms;
  }
  return menu;
}
