/**
 * The error types every layer throws. The CLI maps each kind to one exit code
 * (see EXIT_CODES); nothing else in the code base decides how the process ends.
 */

export const EXIT_CODES = {
  ok: 0,
  internal: 1,
  usage: 2,
  format: 3,
  plan: 4,
  system: 5,
  /** `hardboot doctor`: the kernel is not ready for kexec-hardboot. */
  notReady: 6,
} as const;

export type ErrorKind = Exclude<keyof typeof EXIT_CODES, 'ok' | 'internal' | 'notReady'>;

export abstract class HardbootError extends Error {
  abstract readonly kind: ErrorKind;
  get exitCode(): number {
    return EXIT_CODES[this.kind];
  }
}

/** Wrong arguments on the command line. */
export class UsageError extends HardbootError {
  readonly kind = 'usage' as const;
  override readonly name = 'UsageError';
}

/**
 * A binary or text input is not what its format requires. Parsers are pure and
 * do not know file names: the caller that read the bytes adds it with inFile().
 */
export class FormatError extends HardbootError {
  readonly kind = 'format' as const;
  override readonly name = 'FormatError';
  constructor(
    readonly format: string,
    readonly offset: number,
    readonly expected: string,
    readonly found: string,
    readonly file?: string,
  ) {
    super(
      `${file ?? `<${format}>`}: ${format} at offset ${hex(offset)}: expected ${expected}, found ${found}`,
    );
  }

  /** The same error, naming the file the bytes came from. */
  inFile(file: string): FormatError {
    if (this.file !== undefined) return this;
    return new FormatError(this.format, this.offset, this.expected, this.found, file);
  }
}

/** The inputs are valid but cannot be placed under the given constraints. */
export class PlanError extends HardbootError {
  readonly kind = 'plan' as const;
  override readonly name = 'PlanError';
}

/** A system call or a read of the running system failed. */
export class SystemError extends HardbootError {
  readonly kind = 'system' as const;
  override readonly name = 'SystemError';
  constructor(
    message: string,
    readonly errno?: number,
    readonly code?: string,
  ) {
    super(message);
  }
}

/** Adds the file name to a FormatError thrown while parsing that file's bytes. */
export function withFile<T>(file: string, parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    if (e instanceof FormatError) throw e.inFile(file);
    throw e;
  }
}

/** `0x…` lower-case hex for numbers and bigints; the one spelling used in messages and JSON. */
export function hex(n: number | bigint): string {
  if (typeof n === 'number' && (!Number.isInteger(n) || n < 0)) return String(n);
  return `0x${n.toString(16)}`;
}
