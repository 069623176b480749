/**
 * The import directions of src/: each layer imports only the layers below it
 * (docs/DEVELOPING.md), so the pure parsers and the planner never reach the
 * system edge or the CLI. Read from the sources, every import and export-from.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot } from './support.js';

/** Bottom first; a module may import its own layer and those before it. */
const LAYERS = ['errors', 'util', 'formats', 'plan', 'doctor', 'system', 'cli', 'index'] as const;

function layerOf(file: string): number {
  const rel = relative(join(repoRoot, 'src'), file).replace(/\.ts$/, '');
  const i = LAYERS.indexOf(rel.split('/')[0] as (typeof LAYERS)[number]);
  if (i < 0) throw new Error(`${rel}: in no layer of ${LAYERS.join(', ')}`);
  return i;
}

/** The relative module specifiers of a TypeScript source (static imports, export-from, dynamic imports). */
export function specifiers(source: string): string[] {
  return [...source.matchAll(/(?:^|\n)\s*(?:import|export)\b[^;]*?\bfrom\s+'([^']+)'|\bimport\(\s*'([^']+)'\s*\)/g)].map((m) => (m[1] ?? m[2])!);
}

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [join(dir, e.name)] : [],
  );
}

describe('layers of src/', () => {
  it('finds imports, export-from and dynamic imports', () => {
    assert.deepEqual(specifiers("import { a } from '../x.js';\nimport type {\n  B,\n} from './y.js';\nexport { c } from '../z/w.js';\nconst k = await import('koffi');\n"), [
      '../x.js', './y.js', '../z/w.js', 'koffi',
    ]);
  });
  it('every module imports only its own layer and the layers below', () => {
    const files = sources(join(repoRoot, 'src'));
    assert.ok(files.length > 30, `only ${files.length} sources found`);
    const wrong: string[] = [];
    for (const f of files) {
      for (const s of specifiers(readFileSync(f, 'utf8'))) {
        if (!s.startsWith('.')) continue;
        const target = join(f, '..', s).replace(/\.js$/, '.ts');
        if (!target.startsWith(join(repoRoot, 'src') + '/')) {
          // Outside src/ only data may be read (the package's version from package.json).
          if (!target.endsWith('.json')) wrong.push(`${relative(repoRoot, f)} imports ${relative(repoRoot, target)}, outside src/`);
          continue;
        }
        if (layerOf(target) > layerOf(f)) wrong.push(`${relative(repoRoot, f)} imports ${relative(repoRoot, target)}`);
      }
    }
    assert.deepEqual(wrong, []);
  });
});
