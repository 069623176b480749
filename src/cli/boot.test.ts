import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { type FakeHost, fakeHost, run } from '../../test/host.js';
import { makeArm64Image } from '../../test/kernels.js';
import { fixture } from '../../test/support.js';
import type { Terminal } from '../system/terminal.js';

const virt64 = fixture('dtb', 'qemu-virt-arm64.dtb');
const image = makeArm64Image({ textOffset: 0, imageSize: 0x200000, fileSize: 0x40000 });

/**
 * A boot root: "flaky" (version 3, counted +2, the default by version order)
 * and "good" (version 2, two initrds, a command line); hardboot above
 * 0x50000000 for all.
 */
function bootRoot(dir: string, o: { conf?: string; loader?: string } = {}): string {
  const root = join(dir, 'boot');
  mkdirSync(join(root, 'loader', 'entries'), { recursive: true });
  for (const d of ['good', 'flaky']) {
    mkdirSync(join(root, d));
    writeFileSync(join(root, d, 'Image'), image);
  }
  writeFileSync(join(root, 'good', 'a.img'), 'AAAAA');
  writeFileSync(join(root, 'good', 'b.img'), 'BBB');
  writeFileSync(join(root, 'loader', 'entries', 'good.conf'), 'title Good\nsort-key x\nversion 2\nlinux /good/Image\ninitrd /good/a.img\ninitrd good/b.img\noptions console=ttyAMA0 hb.marker=good\n');
  writeFileSync(join(root, 'loader', 'entries', 'flaky+2.conf'), 'title Flaky\nsort-key x\nversion 3\nlinux /flaky/Image\noptions console=ttyAMA0\n');
  if (o.loader !== undefined) writeFileSync(join(root, 'loader', 'loader.conf'), o.loader);
  mkdirSync(join(root, 'hardboot'));
  writeFileSync(join(root, 'hardboot', 'hardboot.conf'), o.conf ?? 'mem-min 0x50000000\n');
  return root;
}

const host = (o: { terminal?: Terminal; hardboot?: boolean } = {}): FakeHost =>
  fakeHost({ arch: 'arm64', fdt: virt64, ...(o.hardboot === false ? {} : { hardbootPage: 0x47fff000 }), ...(o.terminal ? { terminal: o.terminal } : {}) });

/** Every file under the root with its contents: what "nothing changed" compares. */
function snapshot(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string, rel: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name), `${rel}${e.name}/`);
      else out[`${rel}${e.name}`] = readFileSync(join(d, e.name)).toString('latin1');
    }
  };
  walk(root, '');
  return out;
}

const entries = (root: string) => readdirSync(join(root, 'loader', 'entries')).sort();
const state = (root: string, name: string) => (existsSync(join(root, 'hardboot', name)) ? readFileSync(join(root, 'hardboot', name), 'utf8') : undefined);

describe('hardboot boot', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hb-boot-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  let n = 0;
  const fresh = (o?: Parameters<typeof bootRoot>[1]) => bootRoot(join(dir, String(n++)), o);

  it('--dry-run: plans the automatic choice by hardboot and says what it would change, changing nothing', async () => {
    const root = fresh();
    const before = snapshot(root);
    const h = host();
    const r = await run(['boot', `--root=${root}`, '--dry-run', '--json'], h);
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    assert.equal(j.entry.id, 'flaky');
    assert.equal(j.reason, 'default');
    assert.equal(j.method, 'hardboot');
    assert.deepEqual(j.changes, ['rename loader/entries/flaky+2.conf to loader/entries/flaky+1-1.conf', 'write hardboot/booted: flaky+1-1.conf']);
    assert.ok(j.load.segments.every((s: { mem: string }) => Number(s.mem) >= 0x50000000), 'mem-min from hardboot.conf');
    assert.match(r.err, /would boot flaky \(default\) by hardboot/);
    assert.deepEqual(h.calls, []);
    assert.deepEqual(snapshot(root), before);
  });

  it('boots: loads with the hardboot flag, then renames the counted entry, records it, and executes', async () => {
    const root = fresh();
    const h = host();
    await run(['boot', `--root=${root}`], h);
    assert.deepEqual(h.calls.map((c) => c.call), ['load', 'exec']);
    assert.equal(h.calls[0]!.plan!.flags & 0x4, 0x4);
    assert.deepEqual(entries(root), ['flaky+1-1.conf', 'good.conf']);
    assert.equal(state(root, 'booted'), 'flaky+1-1.conf\n');
  });

  it('counts every try: after two, the entry is skipped and the next good one boots; bless of that one has nothing to do', async () => {
    const root = fresh();
    for (let i = 0; i < 2; i++) await run(['boot', `--root=${root}`], host());
    assert.deepEqual(entries(root), ['flaky+0-2.conf', 'good.conf']);
    const h = host();
    const r = await run(['boot', `--root=${root}`], h);
    assert.match(r.err, /booting good \(default\) by hardboot/);
    assert.equal(state(root, 'booted'), undefined, 'an uncounted boot removes the record');
    const line = new TextDecoder().decode(h.calls[0]!.plan!.segments.find((s) => s.kind === 'dtb')!.bytes);
    assert.match(line, /console=ttyAMA0 hb\.marker=good/);
    const b = await run(['bless', `--root=${root}`], host());
    assert.equal(b.code, 0, b.err);
    assert.match(b.out, /nothing to bless/);
  });

  it('loads several initrds as one, each on a 4-byte boundary', async () => {
    const root = fresh();
    const h = host();
    await run(['boot', 'good', `--root=${root}`], h);
    const initrd = h.calls[0]!.plan!.segments.find((s) => s.kind === 'initrd')!;
    assert.deepEqual([...initrd.bytes.subarray(0, 11)], [...Buffer.from('AAAAA\0\0\0BBB')]);
  });

  it('bless after a counted boot drops the counter and the record', async () => {
    const root = fresh();
    await run(['boot', `--root=${root}`], host());
    const r = await run(['bless', `--root=${root}`], host());
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /flaky\+1-1\.conf blessed: now flaky\.conf/);
    assert.deepEqual(entries(root), ['flaky.conf', 'good.conf']);
    assert.equal(state(root, 'booted'), undefined);
  });

  it('set-oneshot boots that entry once, then the default again; set-default changes the default', async () => {
    const root = fresh();
    const s = await run(['set-oneshot', 'good', `--root=${root}`], host());
    assert.equal(s.code, 0, s.err);
    assert.equal(state(root, 'oneshot'), 'good\n');
    const r1 = await run(['boot', `--root=${root}`], host());
    assert.match(r1.err, /booting good \(oneshot\)/);
    assert.equal(state(root, 'oneshot'), undefined);
    const r2 = await run(['boot', `--root=${root}`], host());
    assert.match(r2.err, /booting flaky \(default\)/);
    await run(['set-default', '2', `--root=${root}`], host());
    assert.equal(state(root, 'default'), 'good\n');
    const e = await run(['entries', `--root=${root}`], host());
    assert.match(e.out, /^next boot: good \(saved\)$/m);
    const r3 = await run(['boot', `--root=${root}`], host());
    assert.match(r3.err, /booting good \(saved\)/);
  });

  it('set-default of an id a BLS entry and an extlinux label share writes SOURCE:ID, which the next boot follows', async () => {
    const root = fresh();
    mkdirSync(join(root, 'extlinux'));
    writeFileSync(join(root, 'extlinux', 'extlinux.conf'), 'LABEL good\n LINUX /good/Image\n APPEND hb.marker=ext\n');
    const s = await run(['set-default', 'extlinux:good', `--root=${root}`], host());
    assert.equal(s.code, 0, s.err);
    assert.equal(state(root, 'default'), 'extlinux:good\n');
    const h = host();
    const r = await run(['boot', `--root=${root}`], h);
    assert.match(r.err, /booting good \(saved\)/);
    assert.match(new TextDecoder().decode(h.calls[0]!.plan!.segments.find((x) => x.kind === 'dtb')!.bytes), /hb\.marker=ext/);
  });

  it('a kernel that cannot hardboot: entries without a method boot by kexec, with a note', async () => {
    const root = fresh();
    const h = host({ hardboot: false });
    const r = await run(['boot', `--root=${root}`], h);
    assert.match(r.err, /this kernel cannot hardboot: flaky boots by plain kexec/);
    assert.equal(h.calls[0]!.plan!.flags & 0x4, 0);
  });

  it('bad input: nothing loaded, nothing changed, the file named', async () => {
    const cases: { conf?: string; argv?: string[]; prep?: (root: string) => void; code: number; err: RegExp }[] = [
      { conf: 'mem-min 0x5000000g\n', code: 3, err: /hardboot\/hardboot\.conf: hardboot\.conf at offset 0x0: expected an address/ },
      { conf: 'method hardboot\n', code: 4, err: /hardboot\/hardboot\.conf: good boots by hardboot, which needs .* set 'mem-min' there/ },
      { argv: ['nosuch'], code: 2, err: /no boot entry 'nosuch'; there are: 1 flaky, 2 good/ },
      { argv: ['good'], prep: (r) => rmSync(join(r, 'good', 'b.img')), code: 5, err: /good\/b\.img: cannot read the initrd: ENOENT/ },
      { prep: (r) => writeFileSync(join(r, 'hardboot', 'oneshot'), 'a\nb\n'), code: 3, err: /hardboot\/oneshot: hardboot\/oneshot at offset 0x2: expected one line/ },
      { prep: (r) => writeFileSync(join(r, 'flaky', 'Image'), 'not a kernel'), argv: ['flaky'], code: 3, err: /flaky\/Image/ },
    ];
    for (const c of cases) {
      const root = fresh(c.conf !== undefined ? { conf: c.conf } : {});
      c.prep?.(root);
      const before = snapshot(root);
      const h = host();
      const r = await run(['boot', `--root=${root}`, ...(c.argv ?? [])], h);
      assert.equal(r.code, c.code, r.err);
      assert.match(r.err, c.err);
      assert.deepEqual(h.calls, [], r.err);
      assert.deepEqual(snapshot(root), before, r.err);
    }
  });

  it('an entry whose kernel is an Android boot.img (made by mkbootimg): its kernel, ramdisk and DTB; the options added to its line', async () => {
    const root = fresh();
    const files = join(root, 'android');
    mkdirSync(files);
    writeFileSync(join(files, 'kernel'), image);
    writeFileSync(join(files, 'ramdisk'), 'RAMDISK!');
    execFileSync('mkbootimg', ['--header_version', '2', '--kernel', join(files, 'kernel'), '--ramdisk', join(files, 'ramdisk'), '--dtb', virt64, '--cmdline', 'androidboot.hardware=lab', '-o', join(files, 'boot.img')]);
    writeFileSync(join(root, 'loader', 'entries', 'android.conf'), 'title Android\nlinux /android/boot.img\noptions hb.marker=android\n');
    const h = host();
    const r = await run(['boot', 'android', `--root=${root}`], h);
    assert.match(r.err, /booting android \(chosen\) by hardboot/);
    const plan = h.calls[0]!.plan!;
    assert.deepEqual([...plan.segments.find((s) => s.kind === 'initrd')!.bytes.subarray(0, 8)], [...Buffer.from('RAMDISK!')]);
    const dtb = new TextDecoder().decode(plan.segments.find((s) => s.kind === 'dtb')!.bytes);
    assert.match(dtb, /androidboot\.hardware=lab hb\.marker=android/);
  });

  it('an automatic choice that cannot be loaded falls back to the next entry; its counter is untouched', async () => {
    const root = fresh();
    rmSync(join(root, 'flaky', 'Image'));
    const h = host();
    const r = await run(['boot', `--root=${root}`], h);
    assert.match(r.err, /flaky cannot be booted: .*flaky\/Image: cannot read the kernel: ENOENT/);
    assert.match(r.err, /booting good \(fallback\)/);
    assert.deepEqual(h.calls.map((c) => c.call), ['load', 'exec']);
    assert.deepEqual(entries(root), ['flaky+2.conf', 'good.conf']);
  });
});

/** A terminal fed by the test: keys sent at given ticks, the clock advanced by the test. */
function scriptedTerminal(script: { afterTicks: number; keys: string }[], tty = false): Terminal & { output: string } {
  let onData: ((d: string) => void) | undefined;
  let tick: (() => void) | undefined;
  const t = {
    tty,
    colours: tty,
    output: '',
    write: (s: string) => void (t.output += s),
    keys: (d: (x: string) => void) => {
      onData = d;
      return () => (onData = undefined);
    },
    every: (_ms: number, fn: () => void) => {
      tick = fn;
      // Drive the script on the next turn: ticks, and keys at their tick counts.
      setImmediate(() => {
        let ticks = 0;
        for (let step = 0; step < 100 && (tick || onData); step++) {
          for (const s of script) if (s.afterTicks === ticks) onData?.(s.keys);
          if (!tick) break;
          tick();
          ticks++;
        }
      });
      return () => (tick = undefined);
    },
  };
  return t;
}

describe('hardboot menu', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hb-menu-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  let n = 0;
  const fresh = (o?: Parameters<typeof bootRoot>[1]) => bootRoot(join(dir, String(n++)), o);

  it('counts down loader.conf\'s timeout and boots the automatic choice', async () => {
    const root = fresh({ loader: 'timeout 3\n' });
    const term = scriptedTerminal([]);
    const h = host({ terminal: term });
    const r = await run(['menu', `--root=${root}`], h);
    assert.equal(r.code, 1, 'the fake exec throws'); // the fake host's exec cannot return
    assert.match(term.output, /^hardboot boot menu\n> {2}1\. Flaky \(3\) {2}\[default, 2 tries left\]\n {3}2\. Good \(2\)\n/);
    assert.match(term.output, /Booting flaky in 3 s; press a key to choose\.\nBooting flaky in 2 s.*\nBooting flaky in 1 s/);
    assert.ok(!term.output.includes('\x1b'), 'no escape sequences on a serial line that is not a TTY');
    assert.match(r.err, /booting flaky \(default\)/);
    assert.deepEqual(entries(root), ['flaky+1-1.conf', 'good.conf']);
  });

  it('a number and Enter pick another entry; the countdown stops at the first key', async () => {
    const root = fresh({ loader: 'timeout 3\n' });
    const term = scriptedTerminal([{ afterTicks: 1, keys: '2\r' }]);
    const r = await run(['menu', `--root=${root}`], host({ terminal: term }));
    assert.match(r.err, /booting good \(chosen\)/);
    assert.match(term.output, /^> {2}2\. Good/m);
  });

  it('arrow keys move over a serial line too (ESC [ B), with reverse video only on a colour TTY', async () => {
    const root = fresh({ loader: 'timeout 5\n' });
    const term = scriptedTerminal([{ afterTicks: 0, keys: '\x1b[B\r' }], true);
    const r = await run(['menu', `--root=${root}`], host({ terminal: term }));
    assert.match(r.err, /booting good \(chosen\)/);
    assert.match(term.output, /\x1b\[7m {2}2\. Good \(2\) \x1b\[0m/);
  });

  it('a root without entries: said at once (exit 4), no menu waiting for a choice that cannot be made', async () => {
    const root = join(dir, 'empty');
    mkdirSync(root);
    const term = scriptedTerminal([]);
    const r = await run(['menu', `--root=${root}`], host({ terminal: term }));
    assert.equal(r.code, 4);
    assert.match(r.err, /no boot entries under .*empty/);
    assert.equal(term.output, '');
  });

  it('--dry-run prints the plan of the entry chosen and changes nothing; --timeout=0 boots at once', async () => {
    const root = fresh();
    const before = snapshot(root);
    const term = scriptedTerminal([]);
    const r = await run(['menu', `--root=${root}`, '--timeout=0', '--dry-run'], host({ terminal: term }));
    assert.equal(r.code, 0, r.err);
    assert.equal(term.output, '');
    assert.match(r.out, /then: rename loader\/entries\/flaky\+2\.conf to loader\/entries\/flaky\+1-1\.conf/);
    assert.deepEqual(snapshot(root), before);
  });
});
