/**
 * The command line against kexec-tools' own behaviour: its options are parsed
 * by getopt_long(3) (prefixes, bundling, "--") and its numbers by
 * strtoull(…, 0) (kexec/kexec.c); its --help lists the options checked here.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { UsageError } from '../errors.js';
import { fixture } from '../../test/support.js';
import { fakeHost, run } from '../../test/host.js';
import { makeArm64Image } from '../../test/kernels.js';
import { OPTIONS, parseAddress, parseArgs } from './args.js';

const tmp = mkdtempSync(join(tmpdir(), 'hb-args-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const image = join(tmp, 'Image');
writeFileSync(image, makeArm64Image({ textOffset: 0, imageSize: 0x1400000, fileSize: 0x1000000 }));
const virt64 = fixture('dtb', 'qemu-virt-arm64.dtb');

const usage = (argv: string[], message: RegExp) => assert.throws(() => parseArgs(argv), (e: unknown) => e instanceof UsageError && message.test(e.message), argv.join(' '));

describe('numbers, as strtoull(…, 0)', () => {
  it('reads 0x… as hexadecimal, 0… as octal, the rest as decimal, and nothing else', () => {
    assert.equal(parseAddress('--mem-min', '0x40000000'), 0x40000000);
    assert.equal(parseAddress('--mem-min', '010000000000'), 0x40000000); // octal, as kexec-tools reads it
    assert.equal(parseAddress('--mem-min', '1073741824'), 0x40000000);
    assert.equal(parseAddress('--mem-min', '0'), 0);
    for (const bad of ['08', '0x', '12abc', '-1', '', 'lots', '1e9']) {
      assert.throws(() => parseAddress('--mem-min', bad), /is not a number \(0x… hexadecimal, 0… octal or decimal, as kexec-tools reads it\)/, bad);
    }
  });
});

describe('getopt_long rules', () => {
  it('takes an unambiguous prefix of a long option, with its value after = or as the next word', () => {
    const o = parseArgs(['-l', image, '--command=console=ttyAMA0', '--app', 'quiet', '--ini', '/i']);
    assert.equal(o.action, 'load');
    assert.equal(parseArgs(['-l', image, '--reuse-c']).reuseCmdline, true);
    // As in kexec-tools, where --reuse-cmdline and --reuseinitrd both exist, --reuse alone is ambiguous.
    usage(['-l', image, '--reuse'], /option '--reuse' is ambiguous; possibilities: '--reuseinitrd' '--reuse-cmdline'/);
    assert.equal(parseArgs(['--load-h', image, '--mem-mi=0x50000000']).action, 'load-hardboot');
    assert.equal(o.commandLine, 'console=ttyAMA0');
    assert.deepEqual(o.append, ['quiet']);
    assert.equal(o.initrd, '/i');
    // --load is a prefix of --load-hardboot and --load-panic too, but an exact match wins.
    assert.equal(parseArgs(['--load', image]).action, 'load');
  });

  it('refuses an ambiguous prefix, naming the candidates', () => {
    usage(['--mem', '0x1', '-l', image], /option '--mem' is ambiguous; possibilities: '--mem-min' '--mem-max' '--memory'/);
    usage(['--load-', image], /option '--load-' is ambiguous; possibilities: '--load-hardboot' '--load-panic'/);
    usage(['--lo', image], /option '--lo' is ambiguous; possibilities: '--load' '--load-hardboot' '--load-panic'/);
  });

  it('bundles short options, and gives a value-taking one the rest of the word or the next word', () => {
    const o = parseArgs(['-dl', image]);
    assert.equal(o.debug, true);
    assert.equal(o.action, 'load');
    assert.equal(parseArgs(['-ltImage', image]).kernelType, 'arm64-image');
    assert.equal(parseArgs(['-l', image, '-t', 'zImage']).kernelType, 'zimage');
    assert.equal(parseArgs(['-ey']).noSync, true);
    usage(['-dq'], /unknown option -q/);
    usage(['-t'], /-t needs a value \(TYPE\)/);
  });

  it('ends the options at --, and takes operands anywhere before it', () => {
    assert.equal(parseArgs(['-l', '--', '-weird-name']).kernel, '-weird-name');
    assert.equal(parseArgs([image, '-l']).kernel, image);
  });
});

describe('kexec-tools options: each works with its meaning, or is refused saying why', () => {
  it('accepts the ones that change nothing here', () => {
    for (const f of ['-x', '--no-ifdown', '-i', '--no-checks', '-c', '--kexec-syscall', '-a', '--kexec-syscall-auto']) {
      assert.equal(parseArgs(['-l', image, f]).action, 'load', f);
    }
  });

  it('refuses the ones hardboot does not do, with what they do in kexec-tools', () => {
    const cases: [string[], RegExp][] = [
      [['-p', image], /^-p: in kexec-tools this loads a crash kernel \(kdump\); hardboot does not, because .*use kexec-tools for kdump$/],
      [['--load-panic', image], /^--load-panic: in kexec-tools this loads a crash kernel/],
      [['-s', '-l', image], /^-s: in kexec-tools this loads through kexec_file_load\(2\)/],
      [['-l', image, '--atags'], /^--atags: in kexec-tools this boots an ARM kernel with ATAGs; hardboot does not, because it boots device-tree kernels only$/],
      [['-l', image, '--image-size=0x1000'], /^--image-size: in kexec-tools this sets the unpacked kernel size/],
      [['-l', image, '--reuseinitrd'], /^--reuseinitrd: in kexec-tools this reuses the initrd/],
      [['-l', image, '--entry=0x40000000'], /^--entry: in kexec-tools this sets the entry point/],
      [['-l', image, '--rd-addr=0x45000000'], /^--rd-addr: in kexec-tools this \(MultiROM's fork\) puts the initrd at ADDR/],
      [['-l', image, '--atags-addr=0x45000000'], /^--atags-addr: in kexec-tools this \(MultiROM's fork\) puts the ATAGs or DTB at ADDR/],
      [['-l', image, '-t', 'uImage'], /-t: 'uImage' is not a type hardboot loads \(zImage, Image\)/],
      [['-e', '-f'], /-f loads and boots at once: it goes with -l or --load-hardboot, without --dry-run/],
      [['-l', image, '-y'], /-y \(no sync\) goes with -e or -f/],
      [['-l', image, '--dtb='], /--dtb= names an empty path: give --dtb=FILE, or --dtb alone/],
    ];
    for (const [argv, message] of cases) usage(argv, message);
  });

  it('-S reports the load state with kexec-tools\' exit codes', async () => {
    assert.equal((await run(['-S'], fakeHost({ arch: 'arm64', loaded: true }))).code, 0);
    assert.equal((await run(['-S'], fakeHost({ arch: 'arm64', loaded: false }))).code, 1);
    assert.equal((await run(['--status'], fakeHost({ arch: 'arm64', loaded: false }))).out, '');
  });

  it('-f loads and then executes, syncing unless -y; -e -y does not sync', async () => {
    const iomem = '40000000-7fffffff : System RAM\n';
    const h = fakeHost({ arch: 'arm64', iomem, fdt: virt64, loaded: true });
    await run(['-f', '-l', image], h);
    assert.deepEqual(h.calls.map((c) => [c.call, c.sync]), [['load', undefined], ['exec', undefined]]);
    const y = fakeHost({ arch: 'arm64', iomem, fdt: virt64, loaded: true });
    await run(['-fy', '--load', image], y);
    assert.deepEqual(y.calls.map((c) => [c.call, c.sync]), [['load', undefined], ['exec', false]]);
    const e = fakeHost({ arch: 'arm64', loaded: true });
    await run(['-e', '-y'], e);
    assert.deepEqual(e.calls, [{ call: 'exec', sync: false }]);
  });

  it('-t that does not match the file is refused before any kexec_load', async () => {
    const h = fakeHost({ arch: 'arm64', fdt: virt64 });
    const r = await run(['-l', image, '-t', 'zImage'], h);
    assert.equal(r.code, 2);
    assert.match(r.err, /--type says zImage, but .*Image is arm64-image/);
    assert.deepEqual(h.calls, []);
  });
});

describe('--command-line and --append', () => {
  it('the last --command-line wins (as in kexec-tools); each --append adds to the line (unlike kexec-tools, where it is --command-line)', async () => {
    const o = parseArgs(['-l', image, '--command-line=a', '--command-line=b', '--append=c', '--append=d']);
    assert.equal(o.commandLine, 'b');
    assert.deepEqual(o.append, ['c', 'd']);
    const r = await run(['--dry-run', '--json', '--arch=arm64', `--dtb=${virt64}`, '-l', image, '--command-line=a', '--command-line=b', '--append=c', '--append=d'], fakeHost());
    assert.equal(JSON.parse(r.out).commandLine, 'b c d');
    const appends = await run(['--dry-run', '--json', '--arch=arm64', `--dtb=${virt64}`, '-l', image, '--append=only', '--append=these'], fakeHost());
    assert.equal(JSON.parse(appends.out).commandLine, 'only these');
  });
});

describe('--reuse-cmdline reads the running machine\'s line', () => {
  it('from the --live-dtb tree\'s /chosen/bootargs when planning for another machine, never this one\'s', async () => {
    // QEMU's tree has no bootargs; take the angler board's, which carries some? Build one instead.
    const { parseFdt, writeFdt, ensureNode, setProp, stringValue } = await import('../formats/fdt.js');
    const { readFileSync } = await import('node:fs');
    const t = parseFdt(new Uint8Array(readFileSync(virt64)));
    delete t.layout;
    setProp(ensureNode(t, '/chosen'), 'bootargs', stringValue('BOOT_IMAGE=/vmlinuz androidboot.hardware=phone console=ttyMSM0'));
    const live = join(tmp, 'live.dtb');
    writeFileSync(live, writeFdt(t));
    const r = await run(['--dry-run', '--json', '--arch=arm64', `--dtb=${virt64}`, `--live-dtb=${live}`, '--reuse-cmdline', '--append=quiet', '-l', image], fakeHost({ cmdline: 'THIS MACHINE\n' }));
    assert.equal(r.code, 0, r.err);
    assert.equal(JSON.parse(r.out).commandLine, 'androidboot.hardware=phone console=ttyMSM0 quiet');
    const none = await run(['--dry-run', '--arch=arm64', `--dtb=${virt64}`, '--reuse-cmdline', '-l', image], fakeHost({ cmdline: 'THIS MACHINE\n' }));
    assert.equal(none.code, 2);
    assert.match(none.err, /--reuse-cmdline while planning for another machine needs that machine's tree: give --live-dtb=FILE/);
  });
});

describe('inspect of several files', () => {
  it('reports each file, and exits with the worst code', async () => {
    const bad = join(tmp, 'bad.bin');
    writeFileSync(bad, 'not a thing hardboot reads');
    const r = await run(['inspect', virt64, bad, join(tmp, 'missing'), image, '--json'], fakeHost());
    assert.equal(r.code, 5);
    const out = JSON.parse(r.out);
    assert.equal(out.length, 4);
    assert.match(out[0].format, /flattened device tree/);
    assert.deepEqual([out[1].exitCode, out[2].exitCode], [3, 5]);
    assert.match(out[3].format, /arm64 Image kernel/);
    assert.equal(r.err.split('\n').filter(Boolean).length, 2);
  });
});

describe('which options go with which action (the uses column of OPTIONS)', () => {
  const SAMPLE: Record<string, string> = { ADDR: '0x1000', 'START-END[,…]': '0x0-0xfff', 'arm|arm64': 'arm64', BYTES: '4096', SECONDS: '3' };
  const word = (s: (typeof OPTIONS)[number]) => (s.kind === 'flag' ? `--${s.long}` : `--${s.long}=${SAMPLE[s.arg!] ?? 'x'}`);
  const ACTIONS = [
    { action: 'exec', argv: ['-e'] },
    { action: 'unload', argv: ['-u'] },
    { action: 'status', argv: ['-S'] },
    { action: 'inspect', argv: ['inspect', 'file'] },
    { action: 'doctor', argv: ['doctor'] },
    { action: 'entries', argv: ['entries'] },
    { action: 'boot', argv: ['boot'] },
    { action: 'menu', argv: ['menu'] },
    { action: 'set-default', argv: ['set-default', 'e'] },
    { action: 'set-oneshot', argv: ['set-oneshot', 'e'] },
    { action: 'bless', argv: ['bless'] },
    { action: 'load', argv: ['-l', 'Image', '--dry-run', '--arch=arm64'] },
  ] as const;

  it('refuses each option for every action it does not go with, and takes it for the ones it does', () => {
    let refused = 0;
    for (const s of OPTIONS.filter((o) => o.uses)) {
      for (const a of ACTIONS) {
        const argv = [...a.argv, word(s)];
        if (s.uses!.includes(a.action)) {
          assert.doesNotThrow(() => parseArgs(argv), argv.join(' '));
          continue;
        }
        refused++;
        const name = a.argv[0]!.startsWith('-') ? `--${a.action}` : a.action;
        assert.throws(
          () => parseArgs(argv),
          (e: unknown) =>
            e instanceof UsageError &&
            (e.message === `${name} does not take --${s.long}` || (['config', 'kernel'].includes(s.long) && e.message === '--config and --kernel go with: hardboot doctor')),
          argv.join(' '),
        );
      }
    }
    assert.ok(refused > 80, `only ${refused} refusals checked`);
  });

  it('names every option that does not belong, once each, in the order given', () => {
    assert.throws(() => parseArgs(['doctor', '--append=a', '--avoid=0x0-0xfff', '--append=b']), { message: 'doctor does not take --append, --avoid' });
    assert.throws(() => parseArgs(['-e', '--initrd=i', '--ramdisk=r']), { message: '--exec does not take --initrd, --ramdisk' });
  });

  it('lets help and version take anything', () => {
    assert.equal(parseArgs(['--help', '--dry-run', '--initrd=x']).action, 'help');
    assert.equal(parseArgs(['-v', '--mem-min=0x1000']).action, 'version');
  });
});
