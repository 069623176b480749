/**
 * The console the boot menu talks to: the process's stdin and stdout. Keys
 * come in raw (one press at a time) when stdin is a terminal, else as the
 * bytes arrive (a serial line or a pipe: "2\n" picks entry 2 there too).
 * Colours and line rewrites only when stdout is a terminal that is not
 * `dumb` and NO_COLOR is unset.
 */

export interface Terminal {
  /** stdout is a terminal: the countdown rewrites its line, the screen may be cleared. */
  readonly tty: boolean;
  /** Reverse video for the selected entry is allowed. */
  readonly colours: boolean;
  write(text: string): void;
  /** Delivers key bytes (decoded as latin1, one call per read) until stopped; onEnd when input ends. */
  keys(onData: (data: string) => void, onEnd: () => void): () => void;
  /** Calls fn every `ms` until stopped. */
  every(ms: number, fn: () => void): () => void;
}

export function processTerminal(): Terminal {
  const tty = process.stdout.isTTY === true;
  const term = process.env.TERM ?? '';
  return {
    tty,
    colours: tty && term !== 'dumb' && process.env.NO_COLOR === undefined,
    write: (t) => void process.stdout.write(t),
    keys(onData, onEnd) {
      const stdin = process.stdin;
      const raw = stdin.isTTY === true;
      if (raw) stdin.setRawMode(true);
      const data = (b: Buffer) => onData(b.toString('latin1'));
      stdin.on('data', data);
      stdin.on('end', onEnd);
      stdin.resume();
      return () => {
        stdin.off('data', data);
        stdin.off('end', onEnd);
        if (raw) stdin.setRawMode(false);
        stdin.pause();
      };
    },
    every(ms, fn) {
      const t = setInterval(fn, ms);
      return () => clearInterval(t);
    },
  };
}
