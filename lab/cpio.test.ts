import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { entriesFromDir, gzipCpio, newcArchive, withParents } from './cpio.js';

describe('newc cpio writer', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hb-cpio-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('writes the exact header layout for one file', () => {
    const a = newcArchive([{ type: 'file', path: '/init', mode: 0o755, data: Buffer.from('hi\n') }]);
    // 110-byte header + "init\0" (5) → 115, padded to 116; data 3 padded to 4; then the trailer.
    const h = a.subarray(0, 110).toString('ascii');
    assert.equal(h.slice(0, 6), '070701');
    const field = (i: number) => Number.parseInt(h.slice(6 + i * 8, 14 + i * 8), 16);
    assert.equal(field(0), 1); // ino
    assert.equal(field(1), 0o100755); // mode
    assert.equal(field(4), 1); // nlink
    assert.equal(field(6), 3); // filesize
    assert.equal(field(11), 5); // namesize incl. NUL
    assert.equal(a.subarray(110, 115).toString(), 'init\0');
    assert.equal(a.subarray(116, 119).toString(), 'hi\n');
    assert.equal(a.subarray(120, 126).toString(), '070701');
    assert.ok(a.subarray(120).toString('ascii').includes('TRAILER!!!\0'));
    assert.equal(a.length % 4, 0);
  });

  it('round-trips through GNU cpio: files, modes, symlinks, directories, a device node', () => {
    const gz = gzipCpio([
      { type: 'dir', path: 'bin' },
      { type: 'file', path: 'bin/tool', mode: 0o755, data: Buffer.from('#!/bin/sh\necho 1\n') },
      { type: 'symlink', path: 'bin/sh', target: 'tool' },
      { type: 'dir', path: 'dev' },
      { type: 'char', path: 'dev/console', mode: 0o600, major: 5, minor: 1 },
      { type: 'file', path: 'empty', data: new Uint8Array() },
    ]);
    const listing = execFileSync('cpio', ['-itv', '--quiet'], { input: gunzipSync(gz), encoding: 'utf8' });
    const lines = listing.trim().split('\n');
    assert.equal(lines.length, 6);
    assert.match(lines[0]!, /^drwxr-xr-x .* root +root .* bin$/);
    assert.match(lines[1]!, /^-rwxr-xr-x .* 17 .* bin\/tool$/);
    assert.match(lines[2]!, /^lrwxrwxrwx .* bin\/sh -> tool$/);
    assert.match(lines[4]!, /^crw------- .* 5, +1 .* dev\/console$/);
    assert.match(lines[5]!, /^-rw-r--r-- .* 0 .* empty$/);

    const out = join(dir, 'x');
    mkdirSync(out);
    execFileSync('cpio', ['-id', '--quiet', '--no-absolute-filenames', '--nonmatching', 'dev/console'], {
      cwd: out,
      input: gunzipSync(gz),
    });
    assert.equal(readFileSync(join(out, 'bin', 'tool'), 'utf8'), '#!/bin/sh\necho 1\n');
    assert.equal(readlinkSync(join(out, 'bin', 'sh')), 'tool');
  });

  it('walks a directory parents-first in name order', () => {
    const root = join(dir, 'tree');
    mkdirSync(join(root, 'b', 'c'), { recursive: true });
    writeFileSync(join(root, 'a'), 'A');
    writeFileSync(join(root, 'b', 'c', 'd'), 'D');
    symlinkSync('c/d', join(root, 'b', 'l'));
    const e = entriesFromDir(root);
    assert.deepEqual(
      e.map((x) => `${x.type} ${x.path}`),
      ['file a', 'dir b', 'dir b/c', 'file b/c/d', 'symlink b/l'],
    );
  });

  it('adds missing parent directories once, before their children', () => {
    const e = withParents([
      { type: 'file', path: 'lab/scenarios/boot.sh', data: new Uint8Array() },
      { type: 'dir', path: 'lab' },
      { type: 'file', path: '/lab/x', data: new Uint8Array() },
      { type: 'dir', path: 'dev', mode: 0o700 },
    ]);
    assert.deepEqual(
      e.map((x) => `${x.type} ${x.path}`),
      ['dir lab', 'dir lab/scenarios', 'file lab/scenarios/boot.sh', 'file /lab/x', 'dir dev'],
    );
  });

  it('refuses paths that escape the archive', () => {
    assert.throws(() => newcArchive([{ type: 'dir', path: '../etc' }]), /bad cpio path/);
    assert.throws(() => newcArchive([{ type: 'dir', path: '/' }]), /bad cpio path/);
  });
});
