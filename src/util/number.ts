/**
 * Numbers as C's strtoull(…, 0) reads them with nothing left over, the way
 * kexec-tools reads its addresses: 0x… hexadecimal, 0… octal, anything else
 * decimal. One reader for the command line and the configuration files, so a
 * number never means one thing in one place and another elsewhere.
 */

/** The value of `text` (spaces around it allowed), or undefined when it is not such a number or is not a safe integer. */
export function parseCNumber(text: string): number | undefined {
  const t = text.trim();
  const n = /^0x[0-9a-f]+$/i.test(t)
    ? parseInt(t.slice(2), 16)
    : /^0[0-7]*$/.test(t)
      ? parseInt(t, 8)
      : /^[1-9][0-9]*$/.test(t)
        ? parseInt(t, 10)
        : NaN;
  return Number.isSafeInteger(n) ? n : undefined;
}
