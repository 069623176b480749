import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fakeHost, run } from '../../test/host.js';
import { repoRoot } from '../../test/support.js';
import { MAX_BLS_ENTRIES } from './entries.js';

const fixtures = join(repoRoot, 'test', 'fixtures', 'boot');
const BLS28 = '4c1f0b6e2d3a49e8b7f5a6c9d0e1f2a3-6.1.0-28-arm64.conf';
const BLS30 = '4c1f0b6e2d3a49e8b7f5a6c9d0e1f2a3-6.1.0-30-arm64+3.conf';

/** A boot root with the committed samples: kernel-install's two BLS entries and u-boot-update's extlinux.conf. */
function bootRoot(dir: string, loaderConf?: string): string {
  const root = join(dir, 'boot');
  mkdirSync(join(root, 'loader', 'entries'), { recursive: true });
  mkdirSync(join(root, 'extlinux'), { recursive: true });
  for (const f of [BLS28, BLS30]) copyFileSync(join(fixtures, f), join(root, 'loader', 'entries', f));
  copyFileSync(join(fixtures, 'extlinux-u-boot-menu.conf'), join(root, 'extlinux', 'extlinux.conf'));
  if (loaderConf !== undefined) writeFileSync(join(root, 'loader', 'loader.conf'), loaderConf);
  return root;
}

describe('hardboot entries', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hb-entries-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('lists the BLS entries in the specification\'s order (newest version first), then the extlinux labels, the default marked', async () => {
    const root = bootRoot(join(dir, 'a'));
    const r = await run(['entries', `--root=${root}`, '--json'], fakeHost());
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out) as { root: string; defaultIndex: number; timeout: number | string; entries: { source: string; id: string; version?: string; kernel?: string; triesLeft?: number; file: string }[] };
    assert.equal(j.root, root);
    assert.deepEqual(
      j.entries.map((e) => [e.source, e.id, e.version ?? null, e.triesLeft ?? null]),
      [
        ['bls', '4c1f0b6e2d3a49e8b7f5a6c9d0e1f2a3-6.1.0-30-arm64', '6.1.0-30-arm64', 3],
        ['bls', '4c1f0b6e2d3a49e8b7f5a6c9d0e1f2a3-6.1.0-28-arm64', '6.1.0-28-arm64', null],
        ...j.entries.slice(2).map((e) => ['extlinux', e.id, null, null]),
      ],
    );
    assert.ok(j.entries.length > 2, 'the extlinux labels follow');
    assert.equal(j.entries[0]!.file, join('loader', 'entries', BLS30));
    assert.equal(j.entries[0]!.kernel, '/4c1f0b6e2d3a49e8b7f5a6c9d0e1f2a3/6.1.0-30-arm64/linux');
    assert.equal(j.defaultIndex, 0);
    // No loader.conf: extlinux.conf's TIMEOUT 50 (tenths) is the menu's.
    assert.equal(j.timeout, 5000);
  });

  it("follows loader.conf: its default glob and timeout; the text shows marks, tries and files", async () => {
    const root = bootRoot(join(dir, 'b'), 'default *6.1.0-28*\ntimeout 3\n');
    const r = await run(['entries', '--root', root], fakeHost());
    assert.equal(r.code, 0, r.err);
    const lines = r.out.split('\n');
    assert.match(lines[0]!, /^ {3}1 {2}Debian GNU\/Linux 12 \(bookworm\) \(6\.1\.0-30-arm64\) \[tries left 3, done 0\]$/);
    assert.match(r.out, /^\* {2}2 {2}Debian GNU\/Linux 12 \(bookworm\) \(6\.1\.0-28-arm64\)$/m);
    assert.match(r.out, /^ {8}bls 4c1f0b6e2d3a49e8b7f5a6c9d0e1f2a3-6\.1\.0-28-arm64 — loader\/entries\/4c1f0b6e2d3a49e8b7f5a6c9d0e1f2a3-6\.1\.0-28-arm64\.conf$/m);
    assert.match(r.out, /^timeout: 3 s$/m);
  });

  it('an entry out of tries is marked and never the default', async () => {
    const root = bootRoot(join(dir, 'c'));
    rmSync(join(root, 'loader', 'entries', BLS30));
    copyFileSync(join(fixtures, BLS30), join(root, 'loader', 'entries', BLS30.replace('+3', '+0-3')));
    const r = await run(['entries', `--root=${root}`], fakeHost());
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^\* {2}1 .*\(6\.1\.0-28-arm64\)$/m);
    assert.match(r.out, /^! {2}2 .*\(6\.1\.0-30-arm64\) \[tries left 0, done 3\]$/m);
  });

  it('bad input: the file and offset named, exit 3; a directory or an oversized file refused before reading; nothing there: said so', async () => {
    const root = bootRoot(join(dir, 'd'));
    writeFileSync(join(root, 'loader', 'entries', 'broken.conf'), 'title x\ntitle y\nlinux /k\n');
    let r = await run(['entries', `--root=${root}`], fakeHost());
    assert.equal(r.code, 3);
    assert.match(r.err, new RegExp(`^hardboot: ${join(root, 'loader', 'entries', 'broken.conf').replace(/[.+]/g, '\\$&')}: .*offset 0x8.*title`, 'm'));
    rmSync(join(root, 'loader', 'entries', 'broken.conf'));

    mkdirSync(join(root, 'loader', 'entries', 'dir.conf'));
    r = await run(['entries', `--root=${root}`], fakeHost());
    assert.equal(r.code, 2);
    assert.match(r.err, /dir\.conf: the boot loader entry must be a regular file, not a directory/);
    rmSync(join(root, 'loader', 'entries', 'dir.conf'), { recursive: true });

    writeFileSync(join(root, 'extlinux', 'extlinux.conf'), Buffer.alloc(64 * 1024 + 1, 0x20));
    r = await run(['entries', `--root=${root}`], fakeHost());
    assert.equal(r.code, 3);
    assert.match(r.err, /extlinux\.conf: .*at most 65536 bytes, found 65537 bytes/);

    const many = join(dir, 'many', 'loader', 'entries');
    mkdirSync(many, { recursive: true });
    for (let i = 0; i <= MAX_BLS_ENTRIES; i++) writeFileSync(join(many, `e${i}.conf`), 'linux /k\n');
    r = await run(['entries', `--root=${join(dir, 'many')}`], fakeHost());
    assert.equal(r.code, 3);
    assert.match(r.err, new RegExp(`at most ${MAX_BLS_ENTRIES} entries in loader/entries, found ${MAX_BLS_ENTRIES + 1}`));

    r = await run(['entries', `--root=${join(dir, 'nothing')}`], fakeHost());
    assert.equal(r.code, 0);
    assert.match(r.out, /^no boot entries under /);
  });

  it('takes only its own options', async () => {
    for (const [argv, msg] of [
      [['entries', 'x'], /entries takes no operand/],
      [['entries', '--initrd=x'], /entries does not take --initrd/],
      [['-e', '--root=/boot'], /--exec does not take --root/],
      [['entries', '--root='], /--root names an empty path/],
    ] as const) {
      const r = await run([...argv], fakeHost());
      assert.equal(r.code, 2, argv.join(' '));
      assert.match(r.err, msg);
    }
  });
});
