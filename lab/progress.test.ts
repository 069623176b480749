import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { LabError } from './env.js';
import { Progress, ProgressSink, runLogged } from './progress.js';

function sink(isTTY: boolean): ProgressSink & { out: string[] } {
  const out: string[] = [];
  return { isTTY, out, write: (s) => void out.push(s) };
}

describe('progress', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hb-progress-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('prints whole lines with phase, elapsed time and the last output line when not a terminal', async () => {
    const s = sink(false);
    const p = new Progress('build arm64 Image', s, 30);
    p.line('  CC      kernel/fork.o');
    p.line('   ');
    await new Promise((r) => setTimeout(r, 80));
    p.end('done');
    assert.equal(s.out[0], '[lab] build arm64 Image...\n');
    assert.ok(s.out.length >= 3);
    assert.match(s.out[1]!, /^\[lab\] build arm64 Image \d+\.\ds: CC {6}kernel\/fork\.o\n$/);
    assert.match(s.out[s.out.length - 1]!, /^\[lab\] build arm64 Image: done in \d+\.\ds\n$/);
    assert.ok(s.out.every((l) => !l.includes('\r')));
  });

  it('rewrites one line in place on a terminal and clears it at the end', async () => {
    const s = sink(true);
    const p = new Progress('unpack', s, 20);
    p.line('x');
    await new Promise((r) => setTimeout(r, 60));
    p.end('done');
    assert.ok(s.out.some((l) => l.startsWith('\r\x1b[K[lab] unpack ') && !l.endsWith('\n')));
    assert.equal(s.out[s.out.length - 2], '\r\x1b[K');
  });

  it('runLogged appends output to the log and fails with the last line and the log path', async () => {
    const log = join(dir, 'x.log');
    await runLogged('sh', ['-c', 'echo one; echo two >&2'], { log });
    await assert.rejects(runLogged('sh', ['-c', 'echo compiling; echo "error: boom" >&2; exit 3'], { log }), (e: unknown) => {
      assert.ok(e instanceof LabError);
      assert.match(e.message, /failed \(exit 3\): error: boom$/);
      assert.equal(e.log, log);
      return true;
    });
    const text = readFileSync(log, 'utf8');
    assert.match(text, /^\$ sh -c echo one; echo two >&2\none\ntwo\n/);
    assert.match(text, /compiling\nerror: boom\n$/);
  });
});
