/**
 * `npm run corpus:make`: writes the committed bad-input files
 * (test/fixtures/bad/NAME.bin) from test/corpus/files.ts. Run it after changing
 * a builder; the corpus test fails while the files and the builders differ.
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixture } from '../support.js';
import { corpusFiles } from './files.js';

const dir = fixture('bad');
mkdirSync(dir, { recursive: true });
for (const f of readdirSync(dir)) if (f.endsWith('.bin')) rmSync(join(dir, f));
const files = corpusFiles();
for (const [name, bytes] of Object.entries(files)) writeFileSync(join(dir, `${name}.bin`), bytes);
console.log(`corpus: wrote ${Object.keys(files).length} files to ${dir}`);
