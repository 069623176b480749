/**
 * Progress for long lab steps on stderr: the phase, the time spent, and the last
 * line the tool printed. On a terminal it is one line rewritten in place; in a
 * log or CI it is a line every 15 seconds, so nothing floods and nothing looks hung.
 */
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { LabError, formatDuration } from './env.js';

export interface ProgressSink {
  isTTY: boolean;
  write(s: string): void;
}

const stderrSink: ProgressSink = {
  get isTTY() {
    return process.stderr.isTTY === true;
  },
  write: (s) => void process.stderr.write(s),
};

export class Progress {
  private readonly started = Date.now();
  private last = '';
  private timer: NodeJS.Timeout | undefined;
  private drawn = false;

  constructor(
    readonly phase: string,
    private readonly sink: ProgressSink = stderrSink,
    private readonly every = sink.isTTY ? 1000 : 15_000,
  ) {
    if (!sink.isTTY) sink.write(`[lab] ${phase}...\n`);
    this.timer = setInterval(() => this.draw(), this.every);
    this.timer.unref();
  }

  /** The tool's latest output line (blank lines are ignored). */
  line(text: string): void {
    const t = text.trim();
    if (t) this.last = t;
  }

  elapsed(): number {
    return Date.now() - this.started;
  }

  private draw(): void {
    const msg = `[lab] ${this.phase} ${formatDuration(this.elapsed())}${this.last ? `: ${this.last}` : ''}`;
    if (this.sink.isTTY) {
      const width = process.stderr.columns ?? 100;
      this.sink.write(`\r\x1b[K${msg.slice(0, Math.max(20, width - 1))}`);
      this.drawn = true;
    } else {
      this.sink.write(`${msg}\n`);
    }
  }

  /** Stops the timer and prints how the phase ended. */
  end(outcome: string): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.drawn) this.sink.write('\r\x1b[K');
    this.sink.write(`[lab] ${this.phase}: ${outcome} in ${formatDuration(this.elapsed())}\n`);
  }
}

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Where stdout and stderr go, appended. */
  log: string;
  progress?: Progress;
}

/**
 * Runs a command to completion with its output appended to a log file. A non-zero
 * exit throws a LabError quoting the last output line and naming the log.
 */
export function runLogged(cmd: string, args: readonly string[], opts: RunOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    const out = createWriteStream(opts.log, { flags: 'a' });
    out.write(`$ ${[cmd, ...args].join(' ')}\n`);
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let last = '';
    let partial = '';
    const onData = (chunk: Buffer): void => {
      out.write(chunk);
      const lines = (partial + chunk.toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) {
        if (l.trim()) {
          last = l.trim();
          opts.progress?.line(l);
        }
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', (e) => {
      out.end();
      reject(new LabError(`${cmd}: ${e.message}`, opts.log));
    });
    child.on('close', (code, signal) => {
      if (partial.trim()) last = partial.trim();
      out.end(() => {
        if (code === 0) resolve();
        else {
          const how = signal ? `killed by ${signal}` : `exit ${code}`;
          reject(new LabError(`${cmd} ${args.slice(-1)[0] ?? ''} failed (${how}): ${last}`, opts.log));
        }
      });
    });
  });
}
