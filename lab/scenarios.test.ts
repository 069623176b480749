import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { GuestImage } from './guest.js';
import { KernelArtifacts } from './kernel.js';
import { SCENARIOS, describeResult, findScenario, guestAppend, runScenario } from './scenarios.js';

describe('scenarios', () => {
  it('put the scenario and its words on the first kernel command line', () => {
    const kexec = findScenario('kexec')!;
    const [tree, file] = kexec.variants('arm64');
    assert.equal(guestAppend('kexec', tree!), 'console=ttyAMA0 earlycon panic=-1 hb.scenario=kexec');
    assert.equal(guestAppend('kexec', file!), 'console=ttyAMA0 earlycon panic=-1 hb.scenario=kexec hb.args=dtb-file');
  });
  it('expect the second kernel to show the marker, and the first never to finish', () => {
    for (const name of ['kexec', 'kexec-tools']) {
      for (const v of findScenario(name)!.variants('arm')) {
        assert.deepEqual(v.markers.slice(-2), ['second-init', 'marker=second']);
        assert.deepEqual(v.forbidden, ['done']);
        assert.equal(v.reboot, false);
      }
    }
  });
  it('turn QEMU DTB randomness off only where Debian kexec-tools needs it (arm64)', () => {
    assert.equal(findScenario('kexec-tools')!.variants('arm64')[0]!.dtbRandomness, false);
    assert.equal(findScenario('kexec-tools')!.variants('arm')[0]!.dtbRandomness, true);
    for (const v of findScenario('kexec')!.variants('arm64')) assert.equal(v.dtbRandomness, true);
  });
  it('have a guest script each', async () => {
    const { existsSync } = await import('node:fs');
    const { repoRoot } = await import('./env.js');
    for (const s of SCENARIOS) assert.ok(existsSync(join(repoRoot, 'lab', 'guest', 'scenarios', `${s.script ?? s.name}.sh`)), s.name);
  });

  const dir = mkdtempSync(join(tmpdir(), 'hb-scen-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  it('fail the hardboot scenario clearly, without booting, when the guest has no bundle', async () => {
    const kernel = { image: '/nonexistent/Image' } as KernelArtifacts;
    const guest: GuestImage = { arch: 'arm64', initrd: '/nonexistent/initrd', layers: [], hasBundle: false, noBundleReason: '/r/dist/hardboot.mjs is missing (`npm run build` makes it)' };
    const rs = await runScenario(findScenario('kexec')!, 'arm64', kernel, guest, { cache: dir, qemuBinary: '/nonexistent/qemu' });
    assert.equal(rs.length, 2);
    for (const r of rs) {
      assert.equal(r.ok, false);
      assert.equal(r.durationMs, 0);
    }
    assert.equal(describeResult(rs[0]!), 'FAIL kexec arm64 running-tree: the guest has no /usr/bin/hardboot: /r/dist/hardboot.mjs is missing (`npm run build` makes it)');
    assert.equal(rs[0]!.log, join(dir, 'logs', 'lab-kexec-arm64-running-tree.log'));
  });
  it('report a QEMU that cannot start as a failed run with its log', async () => {
    const kernel = { image: '/nonexistent/Image' } as KernelArtifacts;
    const guest: GuestImage = { arch: 'arm', initrd: '/nonexistent/initrd', layers: [], hasBundle: false };
    const [r] = await runScenario(findScenario('boot')!, 'arm', kernel, guest, { cache: dir, qemuBinary: join(dir, 'no-qemu') });
    assert.equal(r!.ok, false);
    assert.match(r!.reason!, /^cannot start .*no-qemu: spawn .* ENOENT/);
    assert.equal(r!.log, join(dir, 'logs', 'lab-boot-arm.log'));
  });
});
