/** `hardboot doctor` findings as a person reads them (the findings themselves are the --json output). */
import type { Finding } from '../doctor/doctor.js';
import { ready } from '../doctor/doctor.js';

const MARK: Record<string, string> = { ok: 'ok', error: 'ERROR', warning: 'warn', info: 'info' };

/**
 * One line per finding — status, id, what — and, for each problem, why it
 * matters and the exact fix on the lines below; then a one-line verdict.
 */
export function renderFindings(findings: readonly Finding[]): string {
  const width = Math.max(0, ...findings.map((f) => f.id.length));
  const lines: string[] = [];
  for (const f of findings) {
    const mark = f.ok ? MARK['ok']! : MARK[f.severity]!;
    lines.push(`[${mark.padEnd(5)}] ${f.id.padEnd(width)}  ${f.what}`);
    const indent = ' '.repeat(8 + width + 2);
    if (!f.ok) {
      lines.push(`${indent}why: ${f.why}`);
      if (f.fix) lines.push(`${indent}fix: ${f.fix}`);
    }
  }
  const errors = findings.filter((f) => !f.ok && f.severity === 'error').length;
  const warnings = findings.filter((f) => !f.ok && f.severity === 'warning').length;
  const count = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;
  lines.push('');
  lines.push(
    ready(findings)
      ? `ready for kexec-hardboot (${count(warnings, 'warning')})`
      : `not ready: ${count(errors, 'error')}, ${count(warnings, 'warning')}`,
  );
  return lines.join('\n') + '\n';
}
