/**
 * QEMU for the lab: a pure command-line builder (table-tested), a runner that starts
 * QEMU in its own process group with a hard timeout, follows the serial console log
 * for markers, and kills the whole group on every way out; and a small QMP client
 * for reset and physical-memory reads.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, readSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { Socket, createConnection } from 'node:net';
import { Arch, LabError, formatDuration } from './env.js';

// ---------------------------------------------------------------------------
// The command line.

export interface QemuOptions {
  arch: Arch;
  kernel: string;
  initrd?: string;
  /** A DTB to boot with instead of the one QEMU generates. */
  dtb?: string;
  append: string;
  /** MiB of RAM, at 0x40000000 on `virt`. Default 1024. */
  memory?: number;
  /** Default cortex-a57 (arm64), cortex-a15 (arm). */
  cpu?: string;
  smp?: number;
  /** QEMU puts a random /chosen/kaslr-seed and rng-seed in its DTB unless this is false. Default true. */
  dtbRandomness?: boolean;
  /** More `virt` machine options, e.g. `virtualization=on` (EL2 on arm64, HYP mode on arm). */
  machineOptions?: readonly string[];
  /**
   * Firmware to boot (`-bios`, e.g. edk2's QEMU_EFI.fd). QEMU then hands -kernel,
   * -initrd and -append to it through fw_cfg instead of loading them into RAM, and
   * the firmware runs again at every reset; its DTB goes to the start of RAM.
   */
  bios?: string;
  /** Where the guest's serial console (ttyAMA0) is written. */
  serialLog: string;
  /** A unix socket path for QMP. */
  qmpSocket?: string;
  /**
   * Whether a guest reset reboots the machine (true) or ends QEMU (false, `-no-reboot`).
   * On a reset QEMU `virt` reloads -kernel, -initrd and its DTB into RAM, as a boot
   * loader would (docs/BACKGROUND.md §3); scenarios that do not reset on purpose use false,
   * so a panic with panic=-1 or a stray reset ends the run instead of looping.
   */
  reboot: boolean;
  /** More QEMU arguments (e.g. `-device loader,…` to write memory at every reset). */
  extraArgs?: readonly string[];
  /**
   * The serial line takes input too: the console is a unix socket (QEMU waits for
   * the runner to connect before the guest starts) that still logs everything to
   * serialLog; the runner types keys into it.
   */
  serialSocket?: string;
  /** A raw disk image for the guest: a virtio block device, /dev/vda (written to by the guest). */
  disk?: string;
}

export interface Command {
  binary: string;
  args: string[];
}

export const QEMU_DEFAULTS: Record<Arch, { binary: string; cpu: string }> = {
  arm64: { binary: 'qemu-system-aarch64', cpu: 'cortex-a57' },
  arm: { binary: 'qemu-system-arm', cpu: 'cortex-a15' },
};

/** QEMU's option parser splits on commas; a path that holds one would change the meaning. */
function optionPath(what: string, path: string): string {
  if (path.includes(',')) throw new LabError(`${what} path must not contain a comma: ${path}`);
  return path;
}

export function qemuCommand(o: QemuOptions): Command {
  const d = QEMU_DEFAULTS[o.arch];
  const machine = ['virt', ...(o.dtbRandomness === false ? ['dtb-randomness=off'] : []), ...(o.machineOptions ?? [])].join(',');
  const args = ['-M', machine, '-cpu', o.cpu ?? d.cpu, '-m', String(o.memory ?? 1024), '-smp', String(o.smp ?? 2)];
  if (o.bios !== undefined) args.push('-bios', o.bios);
  args.push('-kernel', o.kernel);
  if (o.initrd !== undefined) args.push('-initrd', o.initrd);
  if (o.dtb !== undefined) args.push('-dtb', o.dtb);
  args.push('-append', o.append);
  // No display, no network, the console to a file, and no monitor on stdio.
  const log = optionPath('serial log', o.serialLog);
  const serial =
    o.serialSocket !== undefined
      ? ['-chardev', `socket,id=serial0,path=${optionPath('serial socket', o.serialSocket)},server=on,wait=on,logfile=${log},logappend=off`, '-serial', 'chardev:serial0']
      : ['-serial', `file:${log}`];
  args.push('-nographic', '-nic', 'none', ...serial, '-monitor', 'none');
  if (o.disk !== undefined) {
    args.push('-drive', `if=none,format=raw,id=disk0,file=${optionPath('disk image', o.disk)}`, '-device', 'virtio-blk-device,drive=disk0');
  }
  if (o.qmpSocket !== undefined) args.push('-qmp', `unix:${optionPath('QMP socket', o.qmpSocket)},server=on,wait=off`);
  if (!o.reboot) args.push('-no-reboot');
  if (o.extraArgs) args.push(...o.extraArgs);
  return { binary: d.binary, args };
}

// ---------------------------------------------------------------------------
// QMP.

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** A unix socket connection, retried until QEMU has created the socket or `timeoutMs` passed. */
export async function connectSocket(path: string, timeoutMs: number): Promise<Socket> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await new Promise<Socket>((resolve, reject) => {
        const s = createConnection(path);
        s.once('connect', () => resolve(s));
        s.once('error', reject);
      });
    } catch (e) {
      if (Date.now() > deadline) throw new LabError(`cannot connect to ${path}: ${(e as Error).message}`);
      await sleep(50);
    }
  }
}

/** A QMP connection: commands are answered in order; asynchronous events are recorded in `events`. */
export class Qmp {
  /** Every event QEMU sent (RESET, SHUTDOWN, …), in order, with when it arrived (Date.now()). */
  readonly events: { event: string; at: number; data: Json }[] = [];
  private buf = '';
  private readonly waiting: { resolve: (v: Json) => void; reject: (e: Error) => void; cmd: string }[] = [];
  private closed = false;

  private constructor(private readonly sock: Socket) {
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => this.onData(d));
    sock.on('close', () => {
      this.closed = true;
      for (const w of this.waiting.splice(0)) w.reject(new LabError(`QMP closed while waiting for ${w.cmd}`));
    });
    sock.on('error', () => undefined);
  }

  /** Connects once QEMU has created the socket; negotiates capabilities. */
  static async connect(path: string, timeoutMs = 10_000): Promise<Qmp> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const sock = await new Promise<Socket>((resolve, reject) => {
          const s = createConnection(path);
          s.once('connect', () => resolve(s));
          s.once('error', reject);
        });
        const qmp = new Qmp(sock);
        await qmp.next('greeting'); // {"QMP": {...}}
        await qmp.execute('qmp_capabilities');
        return qmp;
      } catch (e) {
        if (Date.now() > deadline) throw new LabError(`cannot connect to QMP at ${path}: ${(e as Error).message}`);
        await sleep(50);
      }
    }
  }

  private onData(d: string): void {
    this.buf += d;
    let nl: number;
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, nl).trim();
      this.buf = this.buf.slice(nl + 1);
      if (!line) continue;
      let msg: { [k: string]: Json };
      try {
        msg = JSON.parse(line) as { [k: string]: Json };
      } catch {
        continue;
      }
      if ('event' in msg) {
        this.events.push({ event: String(msg['event']), at: Date.now(), data: msg['data'] ?? null });
        continue;
      }
      const w = this.waiting.shift();
      if (!w) continue;
      if ('error' in msg) {
        const err = msg['error'] as { class?: string; desc?: string };
        w.reject(new LabError(`QMP ${w.cmd}: ${err.class ?? 'error'}: ${err.desc ?? line}`));
      } else w.resolve('return' in msg ? msg['return']! : msg);
    }
  }

  private next(cmd: string): Promise<Json> {
    if (this.closed) return Promise.reject(new LabError(`QMP closed before ${cmd}`));
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject, cmd }));
  }

  execute(cmd: string, args?: { [k: string]: Json }): Promise<Json> {
    const p = this.next(cmd);
    this.sock.write(JSON.stringify(args ? { execute: cmd, arguments: args } : { execute: cmd }) + '\n');
    return p;
  }

  /** A reset as from the reset button: QEMU reloads its kernel, initrd and DTB. */
  systemReset(): Promise<Json> {
    return this.execute('system_reset');
  }

  /** Physical memory [addr, addr+size) written to `file` by QEMU. */
  async pmemsave(addr: number, size: number, file: string): Promise<void> {
    await this.execute('pmemsave', { val: addr, size, filename: file });
  }

  /** Reads physical memory through pmemsave into a temporary file next to `scratch`. */
  async readPhys(addr: number, size: number, scratch: string): Promise<Uint8Array> {
    await this.pmemsave(addr, size, scratch);
    try {
      return new Uint8Array(readFileSync(scratch));
    } finally {
      rmSync(scratch, { force: true });
    }
  }

  /** A human monitor command, e.g. `xp /4wx 0x40000000`; returns its text output. */
  async hmp(command: string): Promise<string> {
    return String(await this.execute('human-monitor-command', { 'command-line': command }));
  }

  /** Asks QEMU to exit; the connection closes as it does. */
  async quit(): Promise<void> {
    await this.execute('quit').catch(() => undefined);
  }

  close(): void {
    this.sock.destroy();
  }
}

// ---------------------------------------------------------------------------
// The runner.

/** Console lines that end a run at once: the guest kernel died. */
export const PANIC_PATTERNS: readonly RegExp[] = [
  /Kernel panic - not syncing/,
  /Internal error: Oops/,
  /Unable to handle kernel (NULL pointer dereference|paging request)/,
];

export const MARKER_PREFIX = 'HB-MARKER: ';

/**
 * Kernel console lines whose times a run records (not markers: nothing waits for
 * them), for timelines and the reset benchmark.
 */
export const TIMED_LINES: readonly { name: string; pattern: RegExp }[] = [
  { name: 'kernel-start', pattern: /Booting Linux on physical CPU/ },
  { name: 'kexec-start', pattern: /kexec_core: Starting new kernel/ },
];

/** `HB-MARKER: kexec-exec foo` is marker `kexec-exec`; the rest of the line is detail. */
export function markerMatches(line: string, name: string): boolean {
  const i = line.indexOf(MARKER_PREFIX);
  if (i < 0) return false;
  const rest = line.slice(i + MARKER_PREFIX.length).trimEnd();
  return rest === name || rest.startsWith(`${name} `);
}

export interface RunSpec {
  command: Command;
  /** The serial log the command writes (it is truncated before QEMU starts). */
  serialLog: string;
  timeoutMs: number;
  /** Markers that must appear, in this order. */
  markers: readonly string[];
  /** Markers that must not appear; `fail` (the guest's own failure report) always is. */
  forbidden?: readonly string[];
  /** When set, the runner connects to QMP there and hands it to onMarker. */
  qmpSocket?: string;
  /** The serial line's socket (QemuOptions.serialSocket): connected before anything else, for `type`. */
  serialSocket?: string;
  /** Called once for each expected marker as it appears (e.g. to reset or read memory, or type keys). */
  onMarker?: (marker: string, ctx: MarkerContext) => Promise<void> | void;
  /** After the last marker: wait for QEMU to exit by itself (the guest powers off). Default true. */
  waitForExit?: boolean;
  /** Poll interval of the serial log. */
  pollMs?: number;
  /** Kernel panics the scenario provokes on purpose (a broken entry): the first this many do not end the run. */
  expectedPanics?: number;
}

export interface MarkerContext {
  qmp?: Qmp;
  elapsedMs: number;
  /** Types text on the guest's serial line (with RunSpec.serialSocket). */
  type?: (text: string) => void;
}

export interface RunResult {
  log: string;
  durationMs: number;
  markers: { name: string; atMs: number; line: string }[];
  exit: { code: number | null; signal: string | null } | null;
  /** QMP events (with QMP only), times from QEMU's start. */
  events: { event: string; atMs: number }[];
  /** Each TIMED_LINES line as it appeared. */
  lines: { name: string; atMs: number }[];
}

/** Process groups of QEMUs still running; killed if this process exits any other way. */
const live = new Set<number>();
let hooksInstalled = false;

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/**
 * Whether any process of group `pgid` is still running. Zombies do not count: they
 * are dead, only not yet reaped (and the reaper of orphans may be slow to do it).
 */
export function groupAlive(pgid: number): boolean {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return false;
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${e}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    // pid (comm) state ppid pgrp ...: comm may hold spaces and parentheses.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(f[2]) === pgid && f[0] !== 'Z' && f[0] !== 'X') return true;
  }
  return false;
}

async function waitGroupGone(pid: number, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (groupAlive(pid) && Date.now() < deadline) {
    killGroup(pid);
    await sleep(10);
  }
}

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', () => {
    for (const pid of live) killGroup(pid);
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      for (const pid of live) killGroup(pid);
      process.exit(128 + (sig === 'SIGINT' ? 2 : sig === 'SIGTERM' ? 15 : 1));
    });
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Reads whatever was appended to a file since `offset`. */
class Follower {
  private offset = 0;
  private partial = '';
  constructor(private readonly path: string) {}
  /** Complete new lines (a last unterminated line is returned once `flush` is set). */
  read(flush = false): string[] {
    if (!existsSync(this.path)) return [];
    const size = statSync(this.path).size;
    let text = '';
    if (size > this.offset) {
      const fd = openSync(this.path, 'r');
      try {
        const b = Buffer.alloc(size - this.offset);
        const n = readSync(fd, b, 0, b.length, this.offset);
        this.offset += n;
        text = b.subarray(0, n).toString('utf8');
      } finally {
        closeSync(fd);
      }
    }
    const lines = (this.partial + text).split('\n');
    this.partial = lines.pop() ?? '';
    if (flush && this.partial) {
      lines.push(this.partial);
      this.partial = '';
    }
    return lines.map((l) => l.replace(/\r$/, ''));
  }
}

/**
 * Runs QEMU until every marker has appeared (and, by default, QEMU has exited), or
 * fails with a LabError whose message is one line and whose `log` is the serial log.
 * QEMU's own stderr goes to `<serialLog>.stderr`. Whatever happens, the process group
 * is killed before this returns or throws.
 */
export async function runQemu(spec: RunSpec): Promise<RunResult> {
  installHooks();
  const log = spec.serialLog;
  const stderrLog = `${log}.stderr`;
  writeFileSync(log, '');
  writeFileSync(stderrLog, '');
  if (spec.qmpSocket) rmSync(spec.qmpSocket, { force: true });
  if (spec.serialSocket) rmSync(spec.serialSocket, { force: true });
  const started = Date.now();
  const elapsed = (): number => Date.now() - started;
  const seen: RunResult['markers'] = [];
  const timed: RunResult['lines'] = [];
  const forbidden = ['fail', ...(spec.forbidden ?? [])];
  const waitForExit = spec.waitForExit ?? true;
  let panics = 0;

  let child: ChildProcess;
  try {
    child = spawn(spec.command.binary, spec.command.args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    throw new LabError(`cannot start ${spec.command.binary}: ${(e as Error).message}`, log);
  }
  let exit: RunResult['exit'] = null;
  let spawnError: Error | undefined;
  let stderrTail = '';
  const onOut = (d: Buffer): void => {
    writeFileSync(stderrLog, d, { flag: 'a' });
    stderrTail = (stderrTail + d.toString('utf8')).slice(-2000);
  };
  child.stdout?.on('data', onOut);
  child.stderr?.on('data', onOut);
  const exited = new Promise<void>((resolve) => {
    child.once('error', (e) => {
      spawnError = e;
      resolve();
    });
    child.once('exit', (code, signal) => {
      exit = { code, signal };
      resolve();
    });
  });
  if (child.pid !== undefined) live.add(child.pid);

  const lastStderr = (): string => {
    const l = stderrTail.trim().split('\n').pop()?.trim();
    return l ? `; QEMU said: ${l}` : '';
  };
  const fail = (msg: string): never => {
    throw new LabError(`${msg} after ${formatDuration(elapsed())}`, log);
  };

  const follower = new Follower(log);
  let qmp: Qmp | undefined;
  let serial: Socket | undefined;
  try {
    if (spec.serialSocket) {
      // QEMU waits for this connection before it starts the guest (wait=on).
      const line = await Promise.race([connectSocket(spec.serialSocket, Math.min(10_000, spec.timeoutMs)), exited.then(() => undefined)]);
      if (!line) return fail(`QEMU exited before its serial socket answered${lastStderr()}`);
      line.on('data', () => undefined); // the log file has it all
      line.on('error', () => undefined);
      serial = line;
    }
    if (spec.qmpSocket) {
      const q = spec.qmpSocket;
      qmp = await Promise.race([Qmp.connect(q, Math.min(10_000, spec.timeoutMs)), exited.then(() => undefined)]);
      if (!qmp) {
        if (spawnError) fail(`cannot start ${spec.command.binary}: ${spawnError.message}`);
        fail(`QEMU exited before its QMP socket answered${lastStderr()}`);
      }
    }
    const scan = async (lines: string[]): Promise<void> => {
      for (const line of lines) {
        for (const p of PANIC_PATTERNS) {
          if (!p.test(line)) continue;
          if (panics < (spec.expectedPanics ?? 0) && /Kernel panic - not syncing/.test(line)) {
            panics++;
            timed.push({ name: 'kernel-panic', atMs: elapsed() });
          } else fail(`guest kernel panic: ${line.trim()}`);
        }
        for (const t of TIMED_LINES) if (t.pattern.test(line)) timed.push({ name: t.name, atMs: elapsed() });
        const next = spec.markers[seen.length];
        if (next !== undefined && markerMatches(line, next)) {
          seen.push({ name: next, atMs: elapsed(), line });
          if (spec.onMarker) {
            const line = serial;
            await spec.onMarker(next, { ...(qmp ? { qmp } : {}), elapsedMs: elapsed(), ...(line ? { type: (t: string) => void line.write(t) } : {}) });
          }
          continue;
        }
        for (const f of forbidden) {
          if (markerMatches(line, f)) {
            const detail = line.slice(line.indexOf(MARKER_PREFIX) + MARKER_PREFIX.length).trim();
            fail(f === 'fail' ? `guest reported: ${detail}` : `unexpected marker '${detail}'`);
          }
        }
      }
    };
    const want = (): string => {
      const next = spec.markers[seen.length];
      return next === undefined ? 'QEMU to exit' : `marker '${next}'`;
    };
    const deadline = started + spec.timeoutMs;
    for (;;) {
      const done = exit !== null || spawnError !== undefined;
      await scan(follower.read(done));
      if (spawnError) fail(`cannot start ${spec.command.binary}: ${spawnError.message}`);
      const allSeen = seen.length === spec.markers.length;
      if (allSeen && (!waitForExit || done)) break;
      if (done) {
        const e = exit as RunResult['exit'];
        const how = e?.signal ? `was killed by ${e.signal}` : `exited with code ${e?.code}`;
        fail(`QEMU ${how} before ${want()}${seen.length ? ` (last seen '${seen[seen.length - 1]!.name}')` : ''}${lastStderr()}`);
      }
      if (Date.now() >= deadline) {
        fail(`timeout (${formatDuration(spec.timeoutMs)}) waiting for ${want()}${seen.length ? ` (last seen '${seen[seen.length - 1]!.name}')` : ''}`);
      }
      await Promise.race([sleep(spec.pollMs ?? 50), exited]);
    }
    const e = exit as RunResult['exit'];
    if (waitForExit && e && e.code !== 0) fail(`QEMU exited with code ${e.code ?? e.signal} after the last marker${lastStderr()}`);
    const events = (qmp?.events ?? []).map((e) => ({ event: e.event, atMs: e.at - started }));
    return { log, durationMs: elapsed(), markers: seen, exit, events, lines: timed };
  } finally {
    serial?.destroy();
    if (qmp) {
      if (exit === null) await Promise.race([qmp.quit(), sleep(500)]);
      qmp.close();
    }
    if (child.pid !== undefined) {
      killGroup(child.pid);
      if (exit === null && spawnError === undefined) await Promise.race([exited, sleep(2000)]);
      // SIGKILL is delivered asynchronously: wait until no process of the group is left
      // (helpers QEMU started included), so a caller can rely on it.
      await waitGroupGone(child.pid, 2000);
      live.delete(child.pid);
    }
    if (spec.qmpSocket) rmSync(spec.qmpSocket, { force: true });
    if (spec.serialSocket) rmSync(spec.serialSocket, { force: true });
  }
}
