/**
 * The npm package: what `npm pack` ships (its file list, as npm computes it)
 * holds the tool, the library, the schemas and the licence, and none of the
 * tests, fixtures, test kits, TypeScript sources or source maps; every relative
 * import of a shipped module resolves to a shipped file.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot } from './support.js';

describe('npm pack', () => {
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const files = new Set((JSON.parse(out) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path));

  it('ships the CLI, the bundle, the library, the schemas, the licence and the readme', () => {
    for (const f of ['package.json', 'README.md', 'LICENSE', 'bin/hardboot.mjs', 'dist/hardboot.mjs', 'build/src/index.js', 'build/src/index.d.ts', 'build/package.json']) {
      assert.ok(files.has(f), f);
    }
    for (const s of ['plan', 'inspect', 'doctor']) assert.ok(files.has(`schemas/${s}.schema.json`), s);
    assert.match(readFileSync(join(repoRoot, 'LICENSE'), 'utf8'), /GNU GENERAL PUBLIC LICENSE\s+Version 2, June 1991/);
    assert.equal(JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')).license, 'GPL-2.0-only');
  });

  it('ships no tests, fixtures, test kits, sources or source maps', () => {
    const bad = [...files].filter((f) => /\.test\.|\.testkit\.|\.map$|\.ts$(?<!\.d\.ts)|^test\/|^src\/|^lab\/|^bench\/|^kernel\/|fixtures/.test(f));
    assert.deepEqual(bad, []);
  });

  it('resolves every relative import of every shipped module inside the package', () => {
    const missing: string[] = [];
    for (const f of files) {
      if (!f.endsWith('.js') && !f.endsWith('.mjs')) continue;
      const text = readFileSync(join(repoRoot, f), 'utf8');
      for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s+['"](\.{1,2}\/[^'"]+)['"]/g)) {
        const target = normalize(join(dirname(f), m[1]!));
        if (!files.has(target)) missing.push(`${f} → ${target}`);
      }
    }
    assert.deepEqual(missing, []);
  });
});
