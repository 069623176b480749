import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fromMirror } from './debs.js';
import { runLogged } from './progress.js';
import { pathToFileURL } from 'node:url';
import { repoRoot } from './env.js';

// scripts/retry.mjs is plain JavaScript that tsc does not copy into build/: load it from the source tree.
const { attempts, backoffMs, retrySync } = (await import(pathToFileURL(join(repoRoot, 'scripts', 'retry.mjs')).href)) as typeof import('../scripts/retry.mjs');

const work = mkdtempSync(join(tmpdir(), 'hardboot-mirror-'));
const log = join(work, 'log');
after(() => rmSync(work, { recursive: true, force: true }));

/** A command that fails until it has been run `failures` times (a mirror that comes back). */
const flaky = (counter: string, failures: number) =>
  runLogged('sh', ['-c', `n=$(cat "$1" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "$1"; [ $n -gt ${failures} ] || { echo "E: Failed to fetch http://deb.example/pool/x.deb  Temporary failure resolving" >&2; exit 100; }`, 'sh', counter], { log });

describe('downloads retry with backoff, then name what could not be fetched', () => {
  before(() => {
    process.env['HARDBOOT_RETRY_BASE_MS'] = '1';
    process.env['HARDBOOT_RETRY_ATTEMPTS'] = '4';
  });
  after(() => {
    delete process.env['HARDBOOT_RETRY_BASE_MS'];
    delete process.env['HARDBOOT_RETRY_ATTEMPTS'];
  });

  it('waits 2 s, 4 s, 8 s between the four attempts by default', () => {
    assert.deepEqual([1, 2, 3].map((n) => backoffMs(n, 2000)), [2000, 4000, 8000]);
    assert.equal(attempts(), 4);
  });

  it('gets through a mirror that fails twice', async () => {
    const counter = join(work, 'twice');
    await fromMirror('apt-get download of nodejs (arm64)', 'the Debian mirror', log, () => flaky(counter, 2));
    assert.equal(readFileSync(counter, 'utf8').trim(), '3');
  });

  it('gives up after the last attempt with the package, the mirror and the last error', async () => {
    const counter = join(work, 'never');
    await assert.rejects(
      fromMirror('apt-get download of nodejs libnode108 (arm64)', 'the Debian mirror', log, () => flaky(counter, 99)),
      /^LabError: apt-get download of nodejs libnode108 \(arm64\) failed 4 times: is the Debian mirror reachable\? \(last: sh .* failed \(exit 100\): E: Failed to fetch http:\/\/deb\.example\/pool\/x\.deb {2}Temporary failure resolving\)$/,
    );
    assert.equal(readFileSync(counter, 'utf8').trim(), '4');
  });

  it('retrySync (scripts/setup.mjs) tries as often, and reports each failure', () => {
    const notes: string[] = [];
    let n = 0;
    assert.equal(retrySync('npm ci', () => ++n === 3, (t) => notes.push(t)), true);
    assert.deepEqual(notes, ['npm ci: attempt 1 of 4 failed; retrying in 0.001 s', 'npm ci: attempt 2 of 4 failed; retrying in 0.002 s']);
    assert.equal(retrySync('apt-get install lz4', () => false, () => undefined), false);
  });
});
