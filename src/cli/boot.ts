/**
 * The boot manager's commands over a boot root: `boot`, `menu`,
 * `set-default`, `set-oneshot` and `bless`. They read the root (entries,
 * hardboot/hardboot.conf, the state files), decide with plan/boot.ts, load
 * through the same path as `--load-hardboot`/`-l`, and only once the kernel
 * holds the new image change the root (boot counter, `booted`, one-shot), each
 * change atomic, then execute. A load that fails changes nothing.
 */
import { join } from 'node:path';
import { HardbootError, PlanError, UsageError, withFile } from '../errors.js';
import { type BootConf, STATE_MAX_BYTES, parseBootConf, parseStateFile, stateFileText } from '../formats/hardboot-conf.js';
import {
  BOOT_CONF_FILE,
  type BootPlan,
  type BootState,
  STATE_DIR,
  STATE_FILES,
  type Selection,
  automaticCandidates,
  planBless,
  planBoot,
  requireEntry,
} from '../plan/boot.js';
import type { BootMenu } from '../plan/menu.js';
import type { Host } from '../system/host.js';
import { BOOT_CONFIG_MAX_BYTES } from '../util/text.js';
import type { Options } from './args.js';
import { type LoadResult, load } from './commands.js';
import { DEFAULT_BOOT_ROOT, entriesCommand } from './entries.js';
import { type Key, type MenuStep, type MenuUiState, decodeKeys, menuKey, menuStart, menuTick, renderCountdown, renderMenuScreen } from './menu-ui.js';

/** Everything the boot manager reads from a root. */
export interface BootRoot {
  root: string;
  menu: BootMenu;
  conf?: BootConf;
  state: BootState;
}

type Reader = Pick<Host, 'readFile' | 'listDir'>;

/** The state files under hardboot/; `names`: that directory's listing, when the caller has it already. */
export function readBootState(root: string, host: Reader, names: readonly string[] = host.listDir(join(root, STATE_DIR)) ?? []): BootState {
  const state: BootState = {};
  for (const key of ['default', 'oneshot', 'booted'] as const) {
    if (!names.includes(key)) continue;
    const file = join(root, STATE_FILES[key]);
    state[key] = withFile(file, () => parseStateFile(host.readFile(file, `state file ${STATE_FILES[key]}`, STATE_MAX_BYTES), STATE_FILES[key]));
  }
  return state;
}

export function readBootManager(root: string, host: Reader): BootRoot {
  const names = host.listDir(join(root, STATE_DIR)) ?? [];
  const br: BootRoot = { root, menu: entriesCommand(root, host), state: readBootState(root, host, names) };
  if (names.includes('hardboot.conf')) {
    const file = join(root, BOOT_CONF_FILE);
    br.conf = withFile(file, () => parseBootConf(host.readFile(file, 'hardboot.conf', BOOT_CONFIG_MAX_BYTES)));
  }
  return br;
}

/** The options of the load a boot plan asks for: the same path `hardboot -l`/`--load-hardboot` takes. */
export function loadOptions(p: BootPlan, root: string, o: Pick<Options, 'dryRun' | 'json' | 'debug'>): Options {
  const opts: Options = {
    action: p.method === 'hardboot' ? 'load-hardboot' : 'load',
    kernel: p.kernel,
    initrds: p.initrds,
    // The entry's options are added to a boot image's own line (alone, they are the whole line); an
    // entry without options keeps a boot image's line, else its device tree's /chosen/bootargs.
    append: p.commandLine !== undefined && p.commandLine !== '' ? [p.commandLine] : [],
    reuseCmdline: false,
    debug: o.debug,
    force: false,
    noSync: false,
    dryRun: o.dryRun,
    json: o.json,
    avoid: [],
    files: [],
  };
  if (p.devicetree !== undefined) opts.dtb = p.devicetree;
  if (p.vendorBoot !== undefined) opts.vendorBoot = p.vendorBoot;
  if (p.memMin !== undefined) opts.memMin = p.memMin;
  if (p.memMax !== undefined) opts.memMax = p.memMax;
  if (p.board !== undefined) opts.boardname = p.board;
  if (p.method === 'hardboot' && p.memMin === undefined) {
    throw new PlanError(
      `${join(root, BOOT_CONF_FILE)}: ${p.entry.id} boots by hardboot, which needs the lowest address the bootloader leaves alone across a reset: set 'mem-min' there (or 'method kexec' for this entry)`,
    );
  }
  return opts;
}

export interface BootOutcome {
  plan: BootPlan;
  load: LoadResult;
  selection: Selection;
  /** What the root would get or got: the counter rename, the booted record, the one-shot removal. */
  changes: string[];
}

function changesOf(p: BootPlan, state: BootState): string[] {
  const out: string[] = [];
  if (p.count) out.push(`rename ${p.count.from} to ${p.count.to}`);
  if (p.booted !== undefined) out.push(`write ${STATE_FILES.booted}: ${p.booted}`);
  else if (state.booted !== undefined) out.push(`remove ${STATE_FILES.booted}`);
  if (p.clearOneshot) out.push(`remove ${STATE_FILES.oneshot}`);
  return out;
}

/** Applies a loaded boot's changes to the root, in the order a power cut can stop at any point of. */
function applyChanges(br: BootRoot, p: BootPlan, host: Host): void {
  const at = (rel: string) => join(br.root, rel);
  if (p.booted !== undefined) {
    // The record first: a cut before the rename leaves a record of a file that is still un-renamed,
    // which bless treats as gone; a cut after leaves both, consistent.
    host.bootFiles.write(at(STATE_FILES.booted), new TextEncoder().encode(stateFileText(p.booted, STATE_FILES.booted)));
  } else if (br.state.booted !== undefined) host.bootFiles.remove(at(STATE_FILES.booted));
  if (p.count) host.bootFiles.rename(at(p.count.from), at(p.count.to));
  if (p.clearOneshot) host.bootFiles.remove(at(STATE_FILES.oneshot));
}

/**
 * Loads one entry (plan, then the kernel call); with --dry-run nothing is
 * loaded or changed. Returns after the load; the caller changes the root and
 * executes.
 */
async function loadEntry(br: BootRoot, sel: Selection, o: Options, host: Host): Promise<BootOutcome> {
  const hb = host.hardboot();
  const p = planBoot(br.menu, sel.index, {
    root: br.root,
    ...(br.conf ? { conf: br.conf } : {}),
    state: br.state,
    reason: sel.reason,
    hardbootAvailable: hb !== undefined && hb.ready !== false,
  });
  const r = await load(loadOptions(p, br.root, o), host);
  return { plan: p, load: r, selection: sel, changes: changesOf(p, br.state) };
}

export interface BootIo {
  err(text: string): void;
}

/**
 * `hardboot boot [ENTRY]`: the named entry, or the automatic choice. An
 * automatic choice that cannot be loaded (its files are missing or bad, the
 * plan does not fit) is reported and the next candidate tried; a named one is
 * not replaced. Without --dry-run it does not return: it executes.
 */
export async function bootCommand(o: Options, host: Host, io: BootIo, chosen?: Selection): Promise<BootOutcome> {
  const br = readBootManager(o.root ?? DEFAULT_BOOT_ROOT, host);
  return bootFrom(br, o, host, io, chosen);
}

async function bootFrom(br: BootRoot, o: Options, host: Host, io: BootIo, chosen?: Selection): Promise<BootOutcome> {
  let candidates: Selection[];
  if (chosen) candidates = [chosen];
  else if (o.entry !== undefined) candidates = [{ index: requireEntry(br.menu, o.entry), reason: 'chosen', notes: [] }];
  else {
    const c = automaticCandidates(br.menu, br.state);
    for (const n of c.notes) io.err(`hardboot: ${n}\n`);
    if (c.selections.length === 0) {
      throw new PlanError(`${br.root}: no entry can be booted without a choice (${br.menu.entries.length === 0 ? 'there are none' : 'every one is out of tries or cannot be booted'}): run hardboot menu, or hardboot boot ENTRY`);
    }
    candidates = c.selections;
  }
  for (const sel of candidates) {
    const e = br.menu.entries[sel.index]!;
    let out: BootOutcome;
    try {
      out = await loadEntry(br, sel, o, host);
    } catch (err) {
      if (!(err instanceof HardbootError) || sel === candidates.at(-1)) throw err;
      io.err(`hardboot: ${e.id} cannot be booted: ${err.message}\n`);
      continue;
    }
    for (const n of out.plan.notes) io.err(`hardboot: ${n}\n`);
    for (const n of out.load.notes) io.err(`hardboot: ${n}\n`);
    io.err(`hardboot: ${o.dryRun ? 'would boot' : 'booting'} ${e.id} (${sel.reason}) by ${out.plan.method}\n`);
    if (o.dryRun) return out;
    applyChanges(br, out.plan, host);
    await host.kernel.exec({ sync: !o.noSync });
    return out; // exec does not return; a host that records calls does
  }
  throw new PlanError('no entry could be booted');
}

/** `set-default ENTRY` / `set-oneshot ENTRY`: the entry's id in hardboot/default or hardboot/oneshot. */
export function setEntryCommand(o: Options, which: 'default' | 'oneshot', host: Host): { id: string; file: string; notes: string[] } {
  const root = o.root ?? DEFAULT_BOOT_ROOT;
  const menu = entriesCommand(root, host);
  const i = requireEntry(menu, o.entry!);
  const e = menu.entries[i]!;
  if (e.unbootable) throw new UsageError(`${e.id} cannot be booted by hardboot: ${e.unbootable}`);
  // The id, or SOURCE:ID when a BLS entry and an extlinux label share it.
  const shared = menu.entries.some((x, k) => k !== i && x.id.toLowerCase() === e.id.toLowerCase());
  const id = shared ? `${e.source}:${e.id}` : e.id;
  const notes: string[] = [];
  if (e.bad) notes.push(`${e.id} has used up its boot tries: automatic boots skip it until it is blessed or its counter is reset`);
  const file = join(root, STATE_FILES[which]);
  host.bootFiles.write(file, new TextEncoder().encode(stateFileText(id, STATE_FILES[which])));
  return { id, file, notes };
}

/** `bless`: the entry booted last (a counted one) keeps its name without the counter: this boot was good. */
export function blessCommand(o: Options, host: Host): string {
  const root = o.root ?? DEFAULT_BOOT_ROOT;
  const state = readBootState(root, host);
  const entries = host.listDir(join(root, 'loader', 'entries')) ?? [];
  const b = withFile(join(root, STATE_FILES.booted), () => planBless(state.booted, entries));
  if (b.rename) host.bootFiles.rename(join(root, 'loader', 'entries', b.rename.from), join(root, 'loader', 'entries', b.rename.to));
  if (state.booted !== undefined) host.bootFiles.remove(join(root, STATE_FILES.booted));
  return b.note;
}

/** The seconds the menu counts down: --timeout, else the files' (forever: undefined), else 5. */
export function menuTimeout(o: Pick<Options, 'timeout'>, menu: BootMenu): number | undefined {
  if (o.timeout !== undefined) return o.timeout;
  if (menu.timeout === 'forever') return undefined;
  if (menu.timeout !== undefined) return Math.ceil(menu.timeout / 1000);
  return 5;
}

/**
 * `hardboot menu`: shows the entries, counts down to the automatic choice
 * (any key stops it), lets a person pick with numbers or arrows, then boots
 * like `hardboot boot`. A person's choice that cannot be loaded is reported
 * and the menu shown again.
 */
export async function menuCommand(o: Options, host: Host, io: BootIo): Promise<BootOutcome> {
  const br = readBootManager(o.root ?? DEFAULT_BOOT_ROOT, host);
  if (br.menu.entries.length === 0) throw new PlanError(`no boot entries under ${br.root} (loader/entries/*.conf, extlinux/extlinux.conf): nothing to show`);
  const auto = automaticCandidates(br.menu, br.state);
  for (const n of auto.notes) io.err(`hardboot: ${n}\n`);
  const def = auto.selections[0]?.index;
  const term = host.terminal();
  let message: string | undefined;
  for (;;) {
    const choice = await runMenu(br.menu, menuTimeout(o, br.menu), def, term, message);
    try {
      const chosen: Selection | undefined = choice.automatic ? undefined : { index: choice.index, reason: 'chosen', notes: [] };
      return await bootFrom(br, o, host, io, chosen);
    } catch (e) {
      if (!(e instanceof HardbootError) || choice.automatic) throw e;
      message = `${br.menu.entries[choice.index]!.id} cannot be booted: ${e.message}`;
    }
  }
}

/** Runs the menu state machine on a terminal until it chooses. */
function runMenu(
  menu: BootMenu,
  timeout: number | undefined,
  def: number | undefined,
  term: ReturnType<Host['terminal']>,
  message: string | undefined,
): Promise<{ index: number; automatic: boolean }> {
  return new Promise((resolve, reject) => {
    const first = menuStart(menu, message === undefined ? timeout : undefined, def);
    if (first.boot) {
      resolve(first.boot);
      return;
    }
    let state: MenuUiState = message === undefined ? first.state : { ...first.state, message };
    const stops: (() => void)[] = [];
    const finish = (f: () => void) => {
      for (const s of stops) s();
      f();
    };
    const show = (step: MenuStep) => {
      state = step.state;
      if (step.boot) {
        if (term.tty) term.write('\n'); // end the countdown line rewritten in place
        const b = step.boot;
        finish(() => resolve(b));
        return true;
      }
      if (step.redraw) term.write(renderMenuScreen(menu, state, term, def));
      term.write(renderCountdown(menu, state, term, def));
      return false;
    };
    show({ state, redraw: true });
    stops.push(
      term.every(1000, () => {
        show(menuTick(state, def));
      }),
    );
    stops.push(
      term.keys(
        (data) => {
          for (const k of decodeKeys(data) as Key[]) if (show(menuKey(menu, state, k))) return;
        },
        () => {
          if (state.left === undefined) finish(() => reject(new UsageError('the menu\'s input ended before a choice was made')));
        },
      ),
    );
  });
}
