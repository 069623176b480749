import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { LabError } from './env.js';
import { QemuOptions, markerMatches, qemuCommand, runQemu } from './qemu.js';

describe('qemuCommand', () => {
  const base: QemuOptions = {
    arch: 'arm64',
    kernel: '/k/Image',
    initrd: '/k/initrd.gz',
    append: 'console=ttyAMA0 hb.scenario=boot',
    serialLog: '/tmp/serial.log',
    reboot: false,
  };
  const tail = ['-nographic', '-nic', 'none', '-serial', 'file:/tmp/serial.log', '-monitor', 'none'];
  const cases: { name: string; opts: QemuOptions; binary: string; args: string[] }[] = [
    {
      name: 'arm64 defaults, no reboot',
      opts: base,
      binary: 'qemu-system-aarch64',
      args: ['-M', 'virt', '-cpu', 'cortex-a57', '-m', '1024', '-smp', '2', '-kernel', '/k/Image', '-initrd', '/k/initrd.gz',
        '-append', 'console=ttyAMA0 hb.scenario=boot', ...tail, '-no-reboot'],
    },
    {
      name: 'arm defaults',
      opts: { ...base, arch: 'arm', kernel: '/k/zImage' },
      binary: 'qemu-system-arm',
      args: ['-M', 'virt', '-cpu', 'cortex-a15', '-m', '1024', '-smp', '2', '-kernel', '/k/zImage', '-initrd', '/k/initrd.gz',
        '-append', 'console=ttyAMA0 hb.scenario=boot', ...tail, '-no-reboot'],
    },
    {
      name: 'reset reboots: no -no-reboot; QMP; no initrd; DTB; sizes',
      opts: { ...base, initrd: undefined, dtb: '/k/virt.dtb', reboot: true, qmpSocket: '/tmp/q.sock', memory: 512, smp: 1, cpu: 'max' },
      binary: 'qemu-system-aarch64',
      args: ['-M', 'virt', '-cpu', 'max', '-m', '512', '-smp', '1', '-kernel', '/k/Image', '-dtb', '/k/virt.dtb',
        '-append', 'console=ttyAMA0 hb.scenario=boot', ...tail, '-qmp', 'unix:/tmp/q.sock,server=on,wait=off'],
    },
    {
      name: 'kaslr-seed off for kexec-tools on arm64',
      opts: { ...base, dtbRandomness: false },
      binary: 'qemu-system-aarch64',
      args: ['-M', 'virt,dtb-randomness=off', '-cpu', 'cortex-a57', '-m', '1024', '-smp', '2', '-kernel', '/k/Image',
        '-initrd', '/k/initrd.gz', '-append', 'console=ttyAMA0 hb.scenario=boot', ...tail, '-no-reboot'],
    },
    {
      name: 'a serial line that takes keys (a logging socket QEMU waits for) and a boot disk',
      opts: { ...base, serialSocket: '/tmp/s.sock', disk: '/d/boot.img' },
      binary: 'qemu-system-aarch64',
      args: ['-M', 'virt', '-cpu', 'cortex-a57', '-m', '1024', '-smp', '2', '-kernel', '/k/Image', '-initrd', '/k/initrd.gz',
        '-append', 'console=ttyAMA0 hb.scenario=boot', '-nographic', '-nic', 'none',
        '-chardev', 'socket,id=serial0,path=/tmp/s.sock,server=on,wait=on,logfile=/tmp/serial.log,logappend=off', '-serial', 'chardev:serial0', '-monitor', 'none',
        '-drive', 'if=none,format=raw,id=disk0,file=/d/boot.img', '-device', 'virtio-blk-device,drive=disk0', '-no-reboot'],
    },
    {
      name: 'firmware: -bios before -kernel, which QEMU then hands to it',
      opts: { ...base, bios: '/usr/share/qemu-efi-aarch64/QEMU_EFI.fd', reboot: true },
      binary: 'qemu-system-aarch64',
      args: ['-M', 'virt', '-cpu', 'cortex-a57', '-m', '1024', '-smp', '2', '-bios', '/usr/share/qemu-efi-aarch64/QEMU_EFI.fd',
        '-kernel', '/k/Image', '-initrd', '/k/initrd.gz', '-append', 'console=ttyAMA0 hb.scenario=boot', ...tail],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.deepEqual(qemuCommand(c.opts), { binary: c.binary, args: c.args });
    });
  }
  it('refuses a comma in an option path', () => {
    assert.throws(() => qemuCommand({ ...base, serialLog: '/tmp/a,b.log' }), LabError);
    assert.throws(() => qemuCommand({ ...base, qmpSocket: '/tmp/a,b' }), /comma/);
  });
});

describe('markerMatches', () => {
  it('matches the name as a whole word after the prefix', () => {
    assert.equal(markerMatches('HB-MARKER: init arch=aarch64', 'init'), true);
    assert.equal(markerMatches('[    1.0] HB-MARKER: init', 'init'), true);
    assert.equal(markerMatches('HB-MARKER: initial', 'init'), false);
    assert.equal(markerMatches('init', 'init'), false);
    assert.equal(markerMatches('HB-MARKER: marker=second\r', 'marker=second'), true);
  });
});

// ---------------------------------------------------------------------------
// The runner, against a fake QEMU: a node script that takes QEMU's arguments,
// writes the "serial console" to the -serial file and behaves as FAKE_MODE says.

const FAKE = String.raw`#!/usr/bin/env node
const fs = require('node:fs');
const net = require('node:net');
const { spawn } = require('node:child_process');
const args = process.argv.slice(2);
const opt = (n) => { const i = args.indexOf(n); return i >= 0 ? args[i + 1] : undefined; };
const serial = (opt('-serial') ?? '').replace(/^file:/, '');
const qmp = opt('-qmp');
const mode = process.env.FAKE_MODE;
const pidFile = process.env.FAKE_PIDS;
const say = (l) => fs.appendFileSync(serial, l + '\r\n');
// A grandchild in the same process group, as QEMU's helper threads/processes would be.
const kid = spawn('sleep', ['1000'], { stdio: 'ignore' });
fs.writeFileSync(pidFile, process.pid + ' ' + kid.pid);
const later = (ms, f) => setTimeout(f, ms);
switch (mode) {
  case 'ok':
    say('Booting Linux'); say('HB-MARKER: init arch=x'); say('HB-MARKER: boot-ok');
    later(50, () => { say('reboot: Power down'); process.exit(0); });
    break;
  case 'ok-no-exit':
    say('HB-MARKER: init'); say('HB-MARKER: boot-ok');
    setInterval(() => {}, 1000);
    break;
  case 'hang':
    say('HB-MARKER: init');
    setInterval(() => {}, 1000);
    break;
  case 'crash':
    say('HB-MARKER: init');
    process.stderr.write('qemu-system-aarch64: fatal: Trying to execute code outside RAM or ROM\n');
    process.exit(1);
  case 'panic':
    say('HB-MARKER: init'); say('[    0.5] Kernel panic - not syncing: Attempted to kill init!');
    later(50, () => say('HB-MARKER: after-panic'));
    setInterval(() => {}, 1000);
    break;
  case 'keys': {
    // The serial line as a socket: nothing is printed before the runner connects; what it types is echoed.
    const ch = opt('-chardev');
    const log = /logfile=([^,]+)/.exec(ch)[1];
    const put = (l) => fs.appendFileSync(log, l + '\r\n');
    net.createServer((c) => {
      put('HB-MARKER: menu');
      c.on('data', (d) => { put('HB-MARKER: typed ' + JSON.stringify(String(d))); later(20, () => process.exit(0)); });
    }).listen(/path=([^,]+)/.exec(ch)[1]);
    break;
  }
  case 'guest-fail':
    say('HB-MARKER: init'); say('HB-MARKER: fail kexec -l exited 255');
    setInterval(() => {}, 1000);
    break;
  case 'forbidden':
    say('HB-MARKER: init'); say('HB-MARKER: second-init');
    setInterval(() => {}, 1000);
    break;
  case 'qmp': {
    const path = qmp.replace(/^unix:/, '').split(',')[0];
    const srv = net.createServer((c) => {
      c.write(JSON.stringify({ QMP: { version: {}, capabilities: [] } }) + '\n');
      let buf = '';
      c.on('data', (d) => {
        buf += d;
        let i;
        while ((i = buf.indexOf('\n')) >= 0) {
          const m = JSON.parse(buf.slice(0, i)); buf = buf.slice(i + 1);
          const ret = (r) => c.write(JSON.stringify({ event: 'NOISE' }) + '\n' + JSON.stringify({ return: r }) + '\n');
          if (m.execute === 'qmp_capabilities') ret({});
          else if (m.execute === 'system_reset') { ret({}); later(20, () => say('HB-MARKER: after-reset')); }
          else if (m.execute === 'pmemsave') {
            const b = Buffer.alloc(m.arguments.size);
            for (let k = 0; k < b.length; k++) b[k] = (m.arguments.val + k) & 0xff;
            fs.writeFileSync(m.arguments.filename, b); ret({});
          }
          else if (m.execute === 'human-monitor-command') ret('0000000040000000: 0x12345678\r\n');
          else if (m.execute === 'quit') { ret({}); process.exit(0); }
          else c.write(JSON.stringify({ error: { class: 'CommandNotFound', desc: 'no ' + m.execute } }) + '\n');
        }
      });
    });
    srv.listen(path, () => later(100, () => say('HB-MARKER: init')));
    break;
  }
  default:
    process.stderr.write('unknown FAKE_MODE ' + mode + '\n');
    process.exit(3);
}
`;

describe('runQemu with a fake QEMU', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hb-fake-qemu-'));
  const fake = join(dir, 'fake-qemu.cjs');
  writeFileSync(fake, FAKE);
  chmodSync(fake, 0o755);
  after(() => rmSync(dir, { recursive: true, force: true }));

  let n = 0;
  function setup(mode: string, qmp = false) {
    n++;
    const serialLog = join(dir, `serial-${n}.log`);
    const pids = join(dir, `pids-${n}`);
    process.env['FAKE_MODE'] = mode;
    process.env['FAKE_PIDS'] = pids;
    const cmd = qemuCommand({
      arch: 'arm64',
      kernel: '/nonexistent/Image',
      append: 'x',
      serialLog,
      reboot: false,
      qmpSocket: qmp ? join(dir, `qmp-${n}.sock`) : undefined,
    });
    return { command: { binary: fake, args: cmd.args }, serialLog, pids, qmpSocket: qmp ? join(dir, `qmp-${n}.sock`) : undefined };
  }

  /** Every process the fake started (itself and its sleep) is gone. */
  function assertNoneLeft(pidFile: string): void {
    const pids = readFileSync(pidFile, 'utf8').trim().split(' ').map(Number);
    assert.equal(pids.length, 2);
    for (const pid of pids) {
      let aliveNow = true;
      try {
        process.kill(pid, 0);
      } catch {
        aliveNow = false;
      }
      if (aliveNow) {
        // A zombie not yet reaped by its parent counts as gone.
        const stat = existsSync(`/proc/${pid}/stat`) ? readFileSync(`/proc/${pid}/stat`, 'utf8') : '';
        assert.match(stat, /\) Z /, `process ${pid} is still running`);
      }
    }
  }

  async function failure(p: Promise<unknown>): Promise<LabError> {
    try {
      await p;
    } catch (e) {
      assert.ok(e instanceof LabError, `expected a LabError, got ${String(e)}`);
      return e;
    }
    assert.fail('expected the run to fail');
  }

  it('passes when the markers appear in order and QEMU exits 0', async () => {
    const s = setup('ok');
    const r = await runQemu({ ...s, timeoutMs: 10_000, markers: ['init', 'boot-ok'] });
    assert.deepEqual(r.markers.map((m) => m.name), ['init', 'boot-ok']);
    assert.deepEqual(r.exit, { code: 0, signal: null });
    assert.equal(r.log, s.serialLog);
    assert.match(readFileSync(s.serialLog, 'utf8'), /Power down/);
    assertNoneLeft(s.pids);
  });

  it('can stop at the last marker without waiting for an exit, and kills QEMU', async () => {
    const s = setup('ok-no-exit');
    const r = await runQemu({ ...s, timeoutMs: 10_000, markers: ['init', 'boot-ok'], waitForExit: false });
    assert.equal(r.markers.length, 2);
    assertNoneLeft(s.pids);
  });

  it('times out on a hung guest, naming the marker, the log, and killing the group', async () => {
    const s = setup('hang');
    const t = Date.now();
    const e = await failure(runQemu({ ...s, timeoutMs: 700, markers: ['init', 'boot-ok'] }));
    assert.ok(Date.now() - t < 5000);
    assert.match(e.message, /^timeout \(0\.7s\) waiting for marker 'boot-ok' \(last seen 'init'\)/);
    assert.equal(e.log, s.serialLog);
    assertNoneLeft(s.pids);
  });

  it('reports a crash with the exit code and QEMU’s last stderr line', async () => {
    const s = setup('crash');
    const e = await failure(runQemu({ ...s, timeoutMs: 10_000, markers: ['init', 'boot-ok'] }));
    assert.match(e.message, /QEMU exited with code 1 before marker 'boot-ok'/);
    assert.match(e.message, /QEMU said: qemu-system-aarch64: fatal: Trying to execute code outside RAM or ROM/);
    assert.equal(e.log, s.serialLog);
    assert.match(readFileSync(`${s.serialLog}.stderr`, 'utf8'), /fatal/);
    assertNoneLeft(s.pids);
  });

  it('fails at once on a kernel panic line', async () => {
    const s = setup('panic');
    const e = await failure(runQemu({ ...s, timeoutMs: 10_000, markers: ['init', 'boot-ok'] }));
    assert.match(e.message, /^guest kernel panic: \[ {4}0\.5\] Kernel panic - not syncing: Attempted to kill init!/);
    assertNoneLeft(s.pids);
  });

  it('lets the panics a scenario provokes pass, up to their number, and times them', async () => {
    const s = setup('panic');
    const r = await runQemu({ ...s, timeoutMs: 10_000, markers: ['init', 'after-panic'], waitForExit: false, expectedPanics: 1 });
    assert.deepEqual(r.lines.map((l) => l.name), ['kernel-panic']);
    assertNoneLeft(s.pids);
  });

  it('types keys on a serial line that is a socket, QEMU waiting for the connection', async () => {
    const s = setup('keys');
    const sock = join(dir, `serial-${n}.sock`);
    const cmd = qemuCommand({ arch: 'arm64', kernel: '/nonexistent/Image', append: 'x', serialLog: s.serialLog, reboot: false, serialSocket: sock });
    const r = await runQemu({
      command: { binary: s.command.binary, args: cmd.args },
      serialLog: s.serialLog,
      serialSocket: sock,
      timeoutMs: 10_000,
      markers: ['menu', 'typed "\\u001b[B\\r"'],
      onMarker: (m, ctx) => {
        if (m === 'menu') ctx.type!('\x1b[B\r');
      },
    });
    assert.equal(r.markers.length, 2);
    assert.ok(!existsSync(sock), 'the socket is removed');
    assertNoneLeft(s.pids);
  });

  it('fails on the guest’s own failure report', async () => {
    const s = setup('guest-fail');
    const e = await failure(runQemu({ ...s, timeoutMs: 10_000, markers: ['init', 'second-init'] }));
    assert.match(e.message, /^guest reported: fail kexec -l exited 255/);
    assertNoneLeft(s.pids);
  });

  it('fails on a marker that must not appear', async () => {
    const s = setup('forbidden');
    const e = await failure(runQemu({ ...s, timeoutMs: 10_000, markers: ['init', 'done'], forbidden: ['second-init'] }));
    assert.match(e.message, /^unexpected marker 'second-init'/);
    assertNoneLeft(s.pids);
  });

  it('fails clearly when the binary does not exist', async () => {
    const s = setup('ok');
    const e = await failure(
      runQemu({ command: { binary: join(dir, 'no-such-qemu'), args: [] }, serialLog: s.serialLog, timeoutMs: 5000, markers: ['init'] }),
    );
    assert.match(e.message, /cannot start .*no-such-qemu: spawn .* ENOENT/);
    assert.equal(e.log, s.serialLog);
  });

  it('kills QEMU when a marker callback throws', async () => {
    const s = setup('hang');
    await assert.rejects(
      runQemu({
        ...s,
        timeoutMs: 10_000,
        markers: ['init', 'never'],
        onMarker: () => {
          throw new LabError('callback failed');
        },
      }),
      /callback failed/,
    );
    assertNoneLeft(s.pids);
  });

  it('drives QMP: reset, memory reads, monitor commands, errors, quit', async () => {
    const s = setup('qmp', true);
    const got: string[] = [];
    const r = await runQemu({
      ...s,
      timeoutMs: 10_000,
      markers: ['init', 'after-reset'],
      onMarker: async (m, { qmp }) => {
        assert.ok(qmp);
        if (m !== 'init') return;
        const bytes = await qmp.readPhys(0x40000010, 4, join(dir, 'mem.bin'));
        assert.deepEqual([...bytes], [0x10, 0x11, 0x12, 0x13]);
        got.push(await qmp.hmp('xp /1wx 0x40000000'));
        await assert.rejects(qmp.execute('no-such-command'), /QMP no-such-command: CommandNotFound/);
        await qmp.systemReset();
      },
      waitForExit: false,
    });
    assert.equal(r.markers.length, 2);
    assert.match(got[0]!, /0x12345678/);
    assert.equal(existsSync(s.qmpSocket!), false);
    assertNoneLeft(s.pids);
  });
});
