/**
 * Test-only: the reference tools from Debian's device-tree-compiler, which the
 * FDT tests check our bytes against. They must be installed (`npm test` does it);
 * a missing tool fails the test instead of skipping it.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function run(tool: string, args: string[], input?: Uint8Array | string): Buffer {
  return execFileSync(tool, args, { input, stdio: ['pipe', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
}

/** `dtc -I dts -O dtb [args]` of a source text. */
export function dtsToDtb(dts: string, ...args: string[]): Uint8Array {
  return new Uint8Array(run('dtc', ['-q', '-I', 'dts', '-O', 'dtb', ...args, '-'], dts));
}

/** A decompiled tree: property values as dtc prints them (`<0x01 0x02>`, `"a\0b"`; "" for an empty one). */
export interface DtsText {
  memreserve: string[];
  nodes: Map<string, Map<string, string>>;
}

/** `dtc -I dtb -O dts` of a blob, read back into paths and property texts. */
export function dtbToDts(dtb: Uint8Array): DtsText {
  return parseDtcOutput(run('dtc', ['-q', '-I', 'dtb', '-O', 'dts', '-'], dtb).toString('utf8'));
}

/** dtc prints one property or node line per line, nested by braces; that is all this reads. */
export function parseDtcOutput(text: string): DtsText {
  const out: DtsText = { memreserve: [], nodes: new Map() };
  const stack: string[] = [];
  const path = (): string => (stack.length <= 1 ? '/' : `/${stack.slice(1).join('/')}`);
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    let m: RegExpExecArray | null;
    if (line === '' || line === '/dts-v1/;') continue;
    if ((m = /^\/memreserve\/\s+(\S+)\s+(\S+);$/.exec(line))) {
      out.memreserve.push(`${m[1]} ${m[2]}`);
    } else if ((m = /^(\S+) \{$/.exec(line))) {
      stack.push(m[1] === '/' ? '' : m[1]!);
      out.nodes.set(path(), new Map());
    } else if (line === '};') {
      stack.pop();
    } else if ((m = /^([^\s=]+)(?: = (.*))?;$/.exec(line))) {
      out.nodes.get(path())!.set(m[1]!, m[2] ?? '');
    } else {
      throw new Error(`unexpected dtc output line: ${JSON.stringify(raw)}`);
    }
  }
  return out;
}

/** The header fields `fdtdump` prints (`totalsize`, `off_dt_strings`, `version`, …) as numbers. */
export function fdtdumpHeader(dtb: Uint8Array): Record<string, number> {
  const dir = mkdtempSync(join(tmpdir(), 'hardboot-fdt-'));
  try {
    const file = join(dir, 'blob.dtb');
    writeFileSync(file, dtb);
    const text = run('fdtdump', [file]).toString('utf8');
    const header: Record<string, number> = {};
    for (const m of text.matchAll(/^\/\/ (\w+):\s+(0x[0-9a-f]+|\d+)/gm)) header[m[1]!] = Number(m[2]);
    return header;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
