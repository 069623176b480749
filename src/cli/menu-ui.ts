/**
 * The console boot menu, as a pure state machine: key presses and clock ticks
 * in, a new state, what to print and (at the end) the entry to boot out. The
 * driver that feeds it real keys and a real clock is in boot.ts.
 *
 * Made for a serial line: numbers then Enter, or the arrow keys (and j/k)
 * then Enter; a countdown to the default that any key stops; no escape
 * sequences at all unless the output is a terminal, and colour (reverse video
 * on the selected entry) only where the terminal allows it.
 */
import type { BootMenu } from '../plan/menu.js';

export type Key = 'up' | 'down' | 'enter' | 'backspace' | { digit: number } | 'other';

/**
 * The keys in a chunk of input: ESC [ A / ESC O A (and B) are the arrows,
 * CR or LF Enter (CR LF once), DEL or BS backspace, j/k down/up.
 */
export function decodeKeys(data: string): Key[] {
  const out: Key[] = [];
  for (let i = 0; i < data.length; i++) {
    const c = data[i]!;
    if (c === '\x1b' && (data[i + 1] === '[' || data[i + 1] === 'O') && i + 2 < data.length) {
      const f = data[i + 2]!;
      out.push(f === 'A' ? 'up' : f === 'B' ? 'down' : 'other');
      i += 2;
    } else if (c === '\r' || c === '\n') {
      out.push('enter');
      if (c === '\r' && data[i + 1] === '\n') i++;
    } else if (c === '\x7f' || c === '\b') out.push('backspace');
    else if (c >= '0' && c <= '9') out.push({ digit: c.charCodeAt(0) - 48 });
    else if (c === 'k') out.push('up');
    else if (c === 'j') out.push('down');
    else out.push('other');
  }
  return out;
}

export interface MenuUiState {
  selected: number;
  /** Seconds left before the default boots; undefined once a key stopped it (or there is no countdown). */
  left?: number;
  /** Digits typed so far. */
  typed: string;
  /** A line for the user after the last key (e.g. why an entry cannot be booted). */
  message?: string;
}

export interface MenuStep {
  state: MenuUiState;
  /** Set when the menu is done: the entry to boot, and whether the countdown chose it. */
  boot?: { index: number; automatic: boolean };
  /** The list must be drawn again (the selection or the message changed). */
  redraw: boolean;
}

/**
 * The first state: the default selected (else the first entry), counting down
 * `timeoutSeconds` when there is a default; `undefined` waits for a choice. A
 * timeout of 0 boots the default at once.
 */
export function menuStart(menu: BootMenu, timeoutSeconds: number | undefined, defaultIndex: number | undefined): MenuStep {
  const state: MenuUiState = { selected: defaultIndex ?? 0, typed: '' };
  if (defaultIndex !== undefined && timeoutSeconds === 0) return { state, boot: { index: defaultIndex, automatic: true }, redraw: false };
  if (defaultIndex !== undefined && timeoutSeconds !== undefined) state.left = timeoutSeconds;
  return { state, redraw: true };
}

export function menuTick(state: MenuUiState, defaultIndex: number | undefined): MenuStep {
  if (state.left === undefined || defaultIndex === undefined) return { state, redraw: false };
  const left = state.left - 1;
  if (left <= 0) return { state: { ...state, left: 0 }, boot: { index: defaultIndex, automatic: true }, redraw: false };
  return { state: { ...state, left }, redraw: false };
}

export function menuKey(menu: BootMenu, state: MenuUiState, key: Key): MenuStep {
  const n = menu.entries.length;
  // Any key stops the countdown: a person is there.
  const s: MenuUiState = { selected: state.selected, typed: state.typed };
  if (n === 0) return { state: s, redraw: true };
  if (key === 'up' || key === 'down') {
    s.selected = (state.selected + (key === 'up' ? n - 1 : 1)) % n;
    s.typed = '';
  } else if (key === 'backspace') {
    s.typed = state.typed.slice(0, -1);
    if (s.typed !== '') s.selected = Number(s.typed) - 1;
  } else if (typeof key === 'object') {
    let typed = `${state.typed}${key.digit}`.replace(/^0+/, '');
    if (typed !== '' && Number(typed) > n) typed = key.digit === 0 ? '' : String(key.digit);
    if (typed !== '' && Number(typed) > n) typed = '';
    s.typed = typed;
    if (typed !== '') s.selected = Number(typed) - 1;
    else s.message = `type a number from 1 to ${n}`;
  } else if (key === 'enter') {
    const e = menu.entries[state.selected]!;
    if (e.unbootable) return { state: { ...s, message: `${e.id} cannot be booted by hardboot: ${e.unbootable}` }, redraw: true };
    return { state: s, boot: { index: state.selected, automatic: false }, redraw: false };
  }
  return { state: s, redraw: true };
}

export interface Screen {
  tty: boolean;
  colours: boolean;
}

/** The whole menu: a line per entry (the selected one marked), then the help line and any message. */
export function renderMenuScreen(menu: BootMenu, state: MenuUiState, screen: Screen, defaultIndex: number | undefined): string {
  const lines: string[] = [];
  lines.push('hardboot boot menu');
  menu.entries.forEach((e, i) => {
    const sel = i === state.selected;
    const flags = [i === defaultIndex ? 'default' : '', e.bad ? 'no tries left' : '', e.unbootable ? 'cannot boot' : '', e.triesLeft !== undefined && !e.bad ? `${e.triesLeft} tries left` : '']
      .filter((f) => f !== '')
      .join(', ');
    const text = `${String(i + 1).padStart(2)}. ${e.title}${e.version !== undefined ? ` (${e.version})` : ''}${flags ? `  [${flags}]` : ''}`;
    lines.push(sel && screen.colours ? ` \x1b[7m ${text} \x1b[0m` : `${sel ? '> ' : '  '}${text}`);
  });
  if (menu.entries.length === 0) lines.push('  (no entries)');
  lines.push(`Up/down or a number, then Enter.${state.typed ? ` Typed: ${state.typed}` : ''}`);
  if (state.message) lines.push(state.message);
  const body = `${lines.join('\n')}\n`;
  return screen.tty ? `\x1b[H\x1b[2J${body}` : body;
}

/** The countdown line: rewritten in place on a terminal, a line per second elsewhere. */
export function renderCountdown(menu: BootMenu, state: MenuUiState, screen: Screen, defaultIndex: number | undefined): string {
  if (state.left === undefined || defaultIndex === undefined) return '';
  const text = `Booting ${menu.entries[defaultIndex]!.id} in ${state.left} s; press a key to choose.`;
  return screen.tty ? `\r\x1b[K${text}` : `${text}\n`;
}
