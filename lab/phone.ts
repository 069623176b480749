/**
 * The device trees and phone images of the lab: QEMU's own tree as the stored
 * DTB, and the boot image and Qualcomm dt.img of the phone scenarios.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Arch, ensureDir } from './env.js';
import { qemuCommand } from './qemu.js';
import { ensureNode, parseFdt, setProp, stringValue, u32Cells, writeFdt } from '../src/formats/fdt.js';
import { writeQcdt } from '../src/formats/qcdt.js';

/**
 * The device tree the hardboot scenarios hand to `--load-hardboot --dtb=`: the
 * one QEMU `virt` makes for the lab's machine (same CPU, RAM and CPUs as the
 * runner's defaults, seeds off so the bytes are stable), with
 * /chosen/hb,dtb = "stored" so the stored kernel can show it booted with it.
 */
export function storedDtb(arch: Arch, cache: string, edit: (fdt: ReturnType<typeof parseFdt>) => void = () => undefined): Uint8Array {
  const out = join(ensureDir(join(cache, 'guest', arch)), 'qemu-virt.dtb');
  const cmd = qemuCommand({ arch, kernel: '/dev/null', append: '', serialLog: '/dev/null', reboot: false, dtbRandomness: false });
  const args = cmd.args.filter((a, i, all) => !['-kernel', '-append', '-serial'].includes(a) && !['-kernel', '-append', '-serial'].includes(all[i - 1]!));
  const m = args.indexOf('-M');
  args[m + 1] = `${args[m + 1]},dumpdtb=${out}`;
  execFileSync(cmd.binary, args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 30_000 });
  const fdt = parseFdt(new Uint8Array(readFileSync(out)));
  delete fdt.layout;
  setProp(ensureNode(fdt, '/chosen'), 'hb,dtb', stringValue('stored'));
  edit(fdt);
  return writeFdt(fdt, { padding: 0x1000 });
}

/**
 * The phone boards of the hardboot-dtimg scenario: QEMU's tree under three sets
 * of Qualcomm ids (qcom,msm-id = <platform soc_rev>), each marked with its name
 * in /chosen/hb,dtb. The guest boots with RUNNING's ids, so only that entry of
 * dt.img may be chosen; its name on the stored kernel's console proves which.
 */
export const PHONE_BOARDS = [
  { name: 'board-a', platform: 0xcf, socRev: 0x20000 },
  { name: 'board-b', platform: 0xcf, socRev: 0x20001 },
  { name: 'board-c', platform: 0xfb, socRev: 0x0 },
] as const;
export const RUNNING_BOARD = PHONE_BOARDS[1];

function withMsmId(b: { name: string; platform: number; socRev: number }) {
  return (fdt: ReturnType<typeof parseFdt>): void => {
    setProp(fdt.root, 'qcom,msm-id', u32Cells(b.platform, b.socRev));
    setProp(ensureNode(fdt, '/chosen'), 'hb,dtb', stringValue(b.name));
  };
}

/** The tree QEMU boots the hardboot-dtimg guest with (-dtb): the running board's ids. */
export function runningPhoneDtb(arch: Arch, cache: string): string {
  const out = join(ensureDir(join(cache, 'guest', arch)), 'running-phone.dtb');
  writeFileSync(out, storedDtb(arch, cache, (fdt) => {
    setProp(fdt.root, 'qcom,msm-id', u32Cells(RUNNING_BOARD.platform, RUNNING_BOARD.socRev));
  }));
  return out;
}

export function phoneFiles(arch: Arch, cache: string, kernel: Uint8Array, initrd: Uint8Array, stored: Uint8Array): { bootImg: Uint8Array; dtImg: Uint8Array } {
  const dtImg = writeQcdt({
    version: 3,
    entries: PHONE_BOARDS.map((b) => ({ platform: b.platform, variant: 0, socRev: b.socRev, dtb: storedDtb(arch, cache, withMsmId(b)) })),
  });
  // mkbootimg, the reference tool, writes the boot image.
  const dir = mkdtempSync(join(cache, 'guest', `.bootimg-${arch}-`));
  try {
    const f = (name: string, data: Uint8Array) => {
      writeFileSync(join(dir, name), data);
      return join(dir, name);
    };
    const out = join(dir, 'boot.img');
    execFileSync('mkbootimg', [
      '--header_version', '2',
      '--kernel', f('kernel', kernel),
      '--ramdisk', f('ramdisk', initrd),
      '--dtb', f('dtb', stored),
      '--cmdline', 'console=ttyAMA0 panic=-1 hb.marker=bootimg',
      '-o', out,
    ]);
    return { bootImg: new Uint8Array(readFileSync(out)), dtImg };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
