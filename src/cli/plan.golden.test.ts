/**
 * Golden plans: every byte of every segment of four full plans (arm and arm64,
 * kexec and hardboot) against hashes committed in plan.golden.json. The inputs
 * never move under us: committed fixtures (a kernel per arch, QEMU virt's tree)
 * and an initrd this test makes. A refactor of the formats or the planner must
 * leave these unchanged; a deliberate change to the plan's bytes regenerates the
 * file with HARDBOOT_UPDATE_GOLDEN=1 npm test, and the diff shows what moved.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fixture, repoRoot } from '../../test/support.js';
import { fakeHost, run } from '../../test/host.js';

const GOLDEN = join(repoRoot, 'src', 'cli', 'plan.golden.json');

interface Golden {
  arch: string;
  flags: string;
  entry: string;
  segments: { kind: string; mem: string; memsz: string; bufsz: string; sha256: string }[];
}

describe('golden plans', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hb-golden-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const initrd = join(dir, 'initrd.bin');
  writeFileSync(initrd, Uint8Array.from({ length: 0x3456 }, (_, i) => (i * 31 + (i >> 8)) & 0xff));
  const kernels = { arm64: fixture('bad', 'ok-arm64-image.bin'), arm: fixture('bad', 'ok-zimage.bin') };
  const dtbs = { arm64: fixture('dtb', 'qemu-virt-arm64.dtb'), arm: fixture('dtb', 'qemu-virt-arm.dtb') };
  const cases = (['arm64', 'arm'] as const).flatMap((arch) =>
    (['kexec', 'hardboot'] as const).map((mode) => ({
      name: `${arch}-${mode}`,
      argv: [
        '--dry-run', '--json', `--arch=${arch}`, '--memory=0x40000000-0x7fffffff', `--dtb=${dtbs[arch]}`,
        ...(mode === 'hardboot' ? ['--load-hardboot', kernels[arch], '--hardboot-page=0x47fff000', '--mem-min=0x60000000'] : ['-l', kernels[arch]]),
        `--initrd=${initrd}`, '--command-line=console=ttyAMA0 root=/dev/vda golden',
      ],
    })),
  );

  it('every segment of every plan is byte for byte the committed one', async () => {
    const got: Record<string, Golden> = {};
    for (const c of cases) {
      const out = join(dir, c.name);
      const r = await run([...c.argv, `--save-segments=${out}`], fakeHost());
      assert.equal(r.code, 0, `${c.name}: ${r.err}`);
      const plan = JSON.parse(r.out) as Omit<Golden, 'segments'> & { segments: Omit<Golden['segments'][number], 'sha256'>[]; saved: string[] };
      assert.equal(plan.saved.length, plan.segments.length);
      got[c.name] = {
        arch: plan.arch,
        flags: plan.flags,
        entry: plan.entry,
        segments: plan.segments.map((s, i) => ({
          kind: s.kind, mem: s.mem, memsz: s.memsz, bufsz: s.bufsz,
          sha256: createHash('sha256').update(readFileSync(plan.saved[i]!)).digest('hex'),
        })),
      };
    }
    if (process.env['HARDBOOT_UPDATE_GOLDEN'] === '1' || !existsSync(GOLDEN)) {
      writeFileSync(GOLDEN, `${JSON.stringify(got, null, 2)}\n`);
      assert.ok(process.env['HARDBOOT_UPDATE_GOLDEN'] === '1', `${GOLDEN} was missing: written now, commit it`);
    }
    assert.deepEqual(got, JSON.parse(readFileSync(GOLDEN, 'utf8')));
  });
});
