/**
 * The bad-input corpus: each case is a command line over the committed files
 * (test/fixtures/bad/NAME.bin), the bombs made at test time, or plain options,
 * with the exit code and the piece of the message it must give. Nothing may
 * reach the kernel (no kexec_load) unless a case says `loads`.
 *
 * Argument tokens: {bad:NAME} a committed file, {bomb:NAME} a made one,
 * {fixture:PATH} a file under test/fixtures, {root:NAME} a copy of a committed
 * boot root (test/fixtures/bad/roots/NAME), {tmp} a fresh directory.
 */
import { join } from 'node:path';

export interface CorpusCase {
  id: string;
  argv: string[];
  /** The machine the case runs on (default arm64, QEMU virt's RAM and tree). */
  host?: 'arm' | 'arm64';
  /** The hardboot page the running kernel reports (default: a kernel without hardboot). */
  hardbootPage?: number;
  code: number;
  /** A piece of stderr the case must show (tokens as in argv). */
  message: string;
  /** A piece of stdout the case must show, for the cases that succeed (inspect of a damaged table, say). */
  output?: string;
  /** The defect of the robustness work this case guards, if any. */
  defect?: number;
  /** True for the cases that are meant to load (and do nothing else). */
  loads?: boolean;
}

export type ResolvedCase = CorpusCase;

export interface Places {
  bad: string;
  bombs: string;
  fixtures: string;
  /** Where the committed boot roots (test/fixtures/bad/roots) were copied for this run. */
  roots: string;
  tmp: string;
}

/** `text` with its tokens replaced by paths. */
export function resolveTokens(text: string, p: Places): string {
  return text
    .replace(/\{bad:([\w.-]+)\}/g, (_, n: string) => join(p.bad, `${n}.bin`))
    .replace(/\{bomb:([\w.-]+)\}/g, (_, n: string) => join(p.bombs, `${n}.bin`))
    .replace(/\{fixture:([\w./-]+)\}/g, (_, n: string) => join(p.fixtures, n))
    .replace(/\{root:([\w.-]+)\}/g, (_, n: string) => join(p.roots, n))
    .replace(/\{tmp\}/g, p.tmp);
}

/** The case with every token (arguments, expected message and output) replaced by paths. */
export function resolveCase(c: CorpusCase, p: Places): ResolvedCase {
  const r: ResolvedCase = { ...c, argv: c.argv.map((a) => resolveTokens(a, p)), message: resolveTokens(c.message, p) };
  if (c.output !== undefined) r.output = resolveTokens(c.output, p);
  return r;
}

/** The committed and made files a case reads. */
export function filesOf(c: CorpusCase): { bad: string[]; bombs: string[] } {
  const all = c.argv.join(' ');
  return {
    bad: [...all.matchAll(/\{bad:([\w.-]+)\}/g)].map((m) => m[1]!),
    bombs: [...all.matchAll(/\{bomb:([\w.-]+)\}/g)].map((m) => m[1]!),
  };
}
