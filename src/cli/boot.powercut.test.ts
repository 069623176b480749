/**
 * Power cuts: every change the boot manager makes to a boot root is run once
 * for real with each file-system step logged, then the root is rebuilt as a
 * power cut after each step could leave it — any prefix of the steps since the
 * last directory sync may have reached the disk, and a file being written may
 * hold part of its bytes — and every such root must still boot: it parses, an
 * entry is chosen automatically, and each state file and entry holds its old
 * or its new value, never a mix.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { after, describe, it } from 'node:test';
import { fakeHost, run } from '../../test/host.js';
import { makeArm64Image } from '../../test/kernels.js';
import { fixture } from '../../test/support.js';
import { type FsOps, bootFiles, realFsOps } from '../system/bootfs.js';
import { automaticSelection } from '../plan/boot.js';
import { readBootManager } from './boot.js';
import { listDir, readInputFile } from '../system/host.js';

type Step = { kind: 'write'; path: string; bytes: Uint8Array } | { kind: 'rename'; from: string; to: string } | { kind: 'unlink'; path: string } | { kind: 'sync'; dir: string } | { kind: 'mkdir'; path: string };

/** The real calls, each logged (paths relative to the root) before it runs. */
function loggingOps(root: string, log: Step[]): FsOps {
  const rel = (p: string) => relative(root, p);
  return {
    writeSynced: (path, bytes) => (log.push({ kind: 'write', path: rel(path), bytes: bytes.slice() }), realFsOps.writeSynced(path, bytes)),
    rename: (from, to) => (log.push({ kind: 'rename', from: rel(from), to: rel(to) }), realFsOps.rename(from, to)),
    unlink: (path) => (log.push({ kind: 'unlink', path: rel(path) }), realFsOps.unlink(path)),
    syncDir: (dir) => (log.push({ kind: 'sync', dir: rel(dir) }), realFsOps.syncDir(dir)),
    mkdir: (path) => (log.push({ kind: 'mkdir', path: rel(path) }), realFsOps.mkdir(path)),
  };
}

type Tree = Map<string, Uint8Array | 'dir'>;

function readTree(root: string, tree: Tree = new Map(), rel = ''): Tree {
  for (const e of readdirSync(join(root, rel), { withFileTypes: true })) {
    const p = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) {
      tree.set(p, 'dir');
      readTree(root, tree, p);
    } else tree.set(p, new Uint8Array(readFileSync(join(root, p))));
  }
  return tree;
}

function apply(tree: Tree, s: Step): void {
  if (s.kind === 'write') tree.set(s.path, s.bytes);
  else if (s.kind === 'rename') {
    tree.set(s.to, tree.get(s.from)!);
    tree.delete(s.from);
  } else if (s.kind === 'unlink') tree.delete(s.path);
  else if (s.kind === 'mkdir') tree.set(s.path, 'dir');
}

/** Every tree a power cut during the logged steps can leave. */
function cutOutcomes(before: Tree, log: Step[]): { label: string; tree: Tree }[] {
  const out: { label: string; tree: Tree }[] = [];
  let durable = 0; // steps before this index are on disk for sure
  for (let k = 0; k <= log.length; k++) {
    for (let j = durable; j <= k; j++) {
      const t = new Map(before);
      for (const s of log.slice(0, j)) apply(t, s);
      out.push({ label: `cut after step ${k}, ${j} reached the disk`, tree: t });
    }
    const s = log[k];
    if (s?.kind === 'write') {
      // Cut while writing: the file was truncated and holds none or half of its bytes.
      for (const len of [0, s.bytes.length >> 1]) {
        const t = new Map(before);
        for (const x of log.slice(0, k)) apply(t, x);
        t.set(s.path, s.bytes.subarray(0, len));
        out.push({ label: `cut while writing ${s.path} (${len} bytes written)`, tree: t });
      }
    }
    if (s?.kind === 'sync') durable = k + 1;
  }
  return out;
}

function materialise(tree: Tree, dir: string): string {
  mkdirSync(dir, { recursive: true });
  for (const [p, v] of [...tree].sort(([a], [b]) => a.length - b.length)) {
    if (v === 'dir') mkdirSync(join(dir, p), { recursive: true });
    else {
      mkdirSync(dirname(join(dir, p)), { recursive: true });
      writeFileSync(join(dir, p), v);
    }
  }
  return dir;
}

const image = makeArm64Image({ textOffset: 0, imageSize: 0x200000, fileSize: 0x40000 });

function bootRoot(root: string): void {
  mkdirSync(join(root, 'loader', 'entries'), { recursive: true });
  writeFileSync(join(root, 'Image'), image);
  writeFileSync(join(root, 'loader', 'entries', 'a+2.conf'), 'title A\nlinux /Image\n');
  writeFileSync(join(root, 'loader', 'entries', 'b.conf'), 'title B\nlinux /Image\n');
  mkdirSync(join(root, 'hardboot'));
  writeFileSync(join(root, 'hardboot', 'hardboot.conf'), 'mem-min 0x50000000\n');
  writeFileSync(join(root, 'hardboot', 'default'), 'a\n');
  writeFileSync(join(root, 'hardboot', 'oneshot'), 'a\n');
}

const text = (t: Tree, p: string) => {
  const v = t.get(p);
  return v === undefined || v === 'dir' ? undefined : new TextDecoder().decode(v);
};

describe('a power cut during any boot-root change leaves a bootable root', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hb-cut-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  let n = 0;

  const changes: { name: string; argv: string[] }[] = [
    { name: 'set-default', argv: ['set-default', 'b'] },
    { name: 'set-oneshot into a root without hardboot/', argv: ['set-oneshot', 'b'] },
    { name: 'boot (counter, record, one-shot used up)', argv: ['boot'] },
    { name: 'bless', argv: ['bless'] },
  ];
  for (const c of changes) {
    it(c.name, async () => {
      const root = join(dir, String(n++));
      bootRoot(root);
      if (c.name.startsWith('set-oneshot')) rmSync(join(root, 'hardboot'), { recursive: true });
      if (c.argv[0] === 'bless') {
        await run(['boot', `--root=${root}`], fakeHost({ arch: 'arm64', fdt: fixture('dtb', 'qemu-virt-arm64.dtb'), hardbootPage: 0x47fff000 }));
      }
      const before = readTree(root);
      const log: Step[] = [];
      const host = fakeHost({ arch: 'arm64', fdt: fixture('dtb', 'qemu-virt-arm64.dtb'), hardbootPage: 0x47fff000 });
      host.bootFiles = bootFiles(loggingOps(root, log));
      await run([...c.argv, `--root=${root}`], host);
      const afterTree = readTree(root);
      assert.ok(log.some((s) => s.kind !== 'sync' && s.kind !== 'mkdir'), 'the change wrote something');
      const outcomes = cutOutcomes(before, log);
      for (const o of outcomes) {
        const r = materialise(o.tree, join(dir, `${n}-${outcomes.indexOf(o)}`));
        const br = readBootManager(r, { readFile: readInputFile, listDir });
        assert.ok(automaticSelection(br.menu, br.state), `${o.label}: an entry boots`);
        for (const f of ['hardboot/default', 'hardboot/oneshot', 'hardboot/booted']) {
          const v = text(o.tree, f);
          assert.ok(v === text(before, f) || v === text(afterTree, f), `${o.label}: ${f} is ${JSON.stringify(v)}, neither old nor new`);
        }
        const names = [...o.tree.keys()].filter((p) => p.startsWith('loader/entries/a'));
        assert.equal(names.length, 1, `${o.label}: entry a is one file (${names.join(', ')})`);
      }
    });
  }
});
