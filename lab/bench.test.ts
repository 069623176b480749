import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatBench, formatResetFigures, parseBench, parseElapsed, resetFigures, rssFactor, summarise } from './bench.js';

describe('bench figures', () => {
  it('corrects the RSS unit from the 64 MiB calibration run', () => {
    const buggy = 'HB-MARKER: bench-calibration rss_kb=264000\nHB-MARKER: bench tool=x run=1 wall=0m 1.00s rss_kb=40000\n';
    assert.equal(rssFactor(buggy), 4);
    assert.deepEqual(parseBench(buggy), [{ tool: 'x', run: 1, wallMs: 1000, rssKb: 10000 }]);
    assert.equal(rssFactor('HB-MARKER: bench-calibration rss_kb=66500\n'), 1);
    assert.equal(rssFactor('no calibration'), 1);
  });
  it('reads time -v elapsed times', () => {
    assert.equal(parseElapsed('0m 0.35s'), 350);
    assert.equal(parseElapsed('1h 2m 3.04s'), 3_723_040);
    assert.equal(parseElapsed('0:03.21'), 3210);
    assert.equal(parseElapsed('1:02.5'), 62500);
    assert.equal(parseElapsed('1:00:00'), 3_600_000);
    assert.throws(() => parseElapsed('3.2'), /cannot read the elapsed time '3.2'/);
  });
  it('summarises the markers of a run', () => {
    const log = [
      '[    3.1] random noise',
      'HB-MARKER: bench tool=kexec-tools run=1 wall=0:00.40 rss_kb=2000',
      'HB-MARKER: bench tool=kexec-tools run=2 wall=0:00.20 rss_kb=2100',
      'HB-MARKER: bench tool=kexec-tools run=3 wall=0:00.30 rss_kb=1900',
      'HB-MARKER: bench tool=hardboot run=1 wall=0:03.00 rss_kb=51200',
      'HB-MARKER: bench tool=hardboot run=2 wall=0:02.00 rss_kb=40000',
      'HB-MARKER: bench-done',
    ].join('\r\n');
    const s = summarise(parseBench(log));
    assert.deepEqual(s, [
      { tool: 'kexec-tools', runs: 3, medianWallMs: 300, peakRssKb: 2100 },
      { tool: 'hardboot', runs: 2, medianWallMs: 2500, peakRssKb: 51200 },
    ]);
    const lines = formatBench('arm64', s);
    assert.equal(lines.length, 3);
    assert.match(lines[1]!, /hardboot +median 2\.50s over 2 run\(s\), peak RSS 50\.0 MiB/);
    assert.match(lines[2]!, /8\.33x \(goal <= 1\.5x: NOT met\)/);
  });
  it("sets each way of starting hardboot against the runtime's own start", () => {
    const row = (tool: string, ms: number) => ({ tool, runs: 3, medianWallMs: ms, peakRssKb: 1024 });
    const lines = formatBench('arm', [row('node-startup', 1800), row('hardboot', 3020), row('release-version', 1000), row('release', 1450)]);
    assert.deepEqual(lines.slice(4), [
      'arm   hardboot -l (npm, dist/hardboot.mjs) above node -e 0: +1.22s (goal <= +0.50s: NOT met)',
      'arm   hardboot -l (release, snapshot) above node -e 0: -0.35s (goal <= +0.50s: met)',
    ]);
  });
});

describe('reset figures', () => {
  it('measures the reset path from the kexec start to the stored kernel, and the cold boot', () => {
    const hb = (k: number) => ({
      markers: [{ name: 'hardboot-exec', atMs: 9000 + k }],
      events: [{ event: 'RESET', atMs: 14400 + k }],
      lines: [
        { name: 'kernel-start', atMs: 200 },
        { name: 'kexec-start', atMs: 14200 + k },
        { name: 'kernel-start', atMs: 14800 + k },
      ],
    });
    const cold = (ms: number) => ({ lines: [{ name: 'kernel-start', atMs: ms }] });
    assert.deepEqual(resetFigures([hb(0), hb(100), hb(50)], [cold(300), cold(200), cold(250)]), { coldMs: 250, resetMs: 600, execMs: 5800 });
  });

  it('reports the reset against the cold boot, and whether the 1.05x goal is met', () => {
    const met = formatResetFigures('arm64', { coldMs: 1000, resetMs: 1040, execMs: 6500 });
    assert.equal(met.length, 3);
    assert.match(met[0]!, /^arm64 cold boot .*: 1\.00s \(median of 3\)$/);
    assert.match(met[1]!, /: 1\.04s; ratio to the cold boot 1\.04x \(goal <= 1\.05x: met\)$/);
    assert.match(met[2]!, /: 6\.50s$/);
    assert.match(formatResetFigures('arm', { coldMs: 1000, resetMs: 1100, execMs: 1 })[1]!, /1\.10x \(goal <= 1\.05x: NOT met\)$/);
  });

  it('says what a run lacked', () => {
    assert.throws(() => resetFigures([{ lines: [], events: [] }], []), { message: 'bench: a hardboot run saw no guest reset' });
    assert.throws(() => resetFigures([{ lines: [{ name: 'kexec-start', atMs: 1 }], events: [{ event: 'RESET', atMs: 2 }] }], []), {
      message: "bench: a run has no 'kernel-start' console line after 2 ms",
    });
  });
});
