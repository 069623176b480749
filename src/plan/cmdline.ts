/** How the user asked for the new kernel's command line (kexec-tools' options). */
export interface CommandLineChoice {
  /** --command-line. */
  readonly commandLine?: string;
  /** --reuse-cmdline. */
  readonly reuseCmdline: boolean;
  /** Each --append, in order. */
  readonly append: readonly string[];
}

/**
 * The command line the new kernel gets, or undefined to keep the DTB's. The
 * base is --command-line, else the running line (--reuse-cmdline) followed by
 * the boot image's own line, else the boot image's line; --append adds to it.
 */
export function commandLineFrom(o: CommandLineChoice, running: () => string, bootImage?: string): string | undefined {
  const base = o.commandLine !== undefined ? [o.commandLine] : o.reuseCmdline ? [running(), bootImage] : [bootImage];
  const parts = [...base, ...o.append].filter((s): s is string => s !== undefined && s !== '');
  if (parts.length === 0 && o.commandLine === undefined && !o.reuseCmdline && bootImage === undefined) return undefined;
  return parts.join(' ');
}
