/**
 * Changes to a boot root that survive a power cut at any moment: every write
 * leaves either the old state or the new one on disk, never a mix and never a
 * half-written file under a name a reader uses.
 *
 * - A file is written to `.NAME.new` beside it, fsynced, renamed over NAME,
 *   and the directory fsynced (rename is atomic in POSIX; the directory's
 *   fsync makes the new name durable).
 * - A rename (a boot counter) is one rename(2) and the directory's fsync.
 * - A removal is one unlink(2) and the directory's fsync.
 *
 * Readers never look at `.NAME.new` (state files are read by exact name and
 * entries by their `.conf` suffix), so one left by a power cut is harmless and
 * the next write truncates it. The operations go through {@link FsOps}, so a
 * test can cut the power after any one of them.
 */
import * as fs from 'node:fs';
import { posix } from 'node:path';
import { SystemError } from '../errors.js';

/** The file system calls the boot root changes use, one per step a power cut can fall between. */
export interface FsOps {
  /** Creates or truncates `path`, writes `bytes`, fsyncs and closes it. */
  writeSynced(path: string, bytes: Uint8Array): void;
  rename(from: string, to: string): void;
  /** Removes `path`; false when it did not exist. */
  unlink(path: string): boolean;
  /** fsyncs a directory, making the names in it durable. */
  syncDir(path: string): void;
  /** Creates a directory; false when it existed. */
  mkdir(path: string): boolean;
}

function failed(what: string, path: string, e: unknown): SystemError {
  const err = e as NodeJS.ErrnoException;
  return new SystemError(`${path}: cannot ${what}: ${err.code ?? err.message}`, typeof err.errno === 'number' ? -err.errno : undefined, err.code);
}

/**
 * One call; its error becomes a SystemError naming the path and what was
 * being done, except the error codes `tolerated` maps to a result.
 */
function attempt<T>(what: string, path: string, call: () => T, tolerated: Readonly<Record<string, T>> = {}): T {
  try {
    return call();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== undefined && Object.hasOwn(tolerated, code)) return tolerated[code]!;
    throw failed(what, path, e);
  }
}

/** The real calls (node:fs, synchronous). */
export const realFsOps: FsOps = {
  writeSynced(path, bytes) {
    const fd = attempt('create it', path, () => fs.openSync(path, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_TRUNC | fs.constants.O_NOFOLLOW, 0o644));
    try {
      attempt('write it', path, () => {
        let done = 0;
        while (done < bytes.length) done += fs.writeSync(fd, bytes, done, bytes.length - done);
        fs.fsyncSync(fd);
      });
    } finally {
      fs.closeSync(fd);
    }
  },
  rename: (from, to) => attempt(`rename it to ${posix.basename(to)}`, from, () => fs.renameSync(from, to)),
  unlink: (path) => attempt('remove it', path, () => (fs.unlinkSync(path), true), { ENOENT: false }),
  syncDir(path) {
    const fd = attempt('open the directory', path, () => fs.openSync(path, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY));
    try {
      // Some file systems (vfat on older kernels) cannot fsync a directory: the rename stands, durable at the next sync.
      attempt('sync the directory', path, () => fs.fsyncSync(fd), { EINVAL: undefined, EROFS: undefined });
    } finally {
      fs.closeSync(fd);
    }
  },
  mkdir: (path) => attempt('create the directory', path, () => (fs.mkdirSync(path), true), { EEXIST: false }),
};

/** The atomic changes a boot manager makes under its root. */
export interface BootFiles {
  /** Replaces `path`'s contents (creating its directory when missing) so that a power cut leaves the old or the new. */
  write(path: string, bytes: Uint8Array): void;
  /** Renames `from` to `to` (same directory) durably. */
  rename(from: string, to: string): void;
  /** Removes `path` durably; nothing when it is missing. */
  remove(path: string): void;
}

export function bootFiles(ops: FsOps = realFsOps): BootFiles {
  return {
    write(path, bytes) {
      const dir = posix.dirname(path);
      if (ops.mkdir(dir)) ops.syncDir(posix.dirname(dir));
      const tmp = posix.join(dir, `.${posix.basename(path)}.new`);
      ops.writeSynced(tmp, bytes);
      ops.rename(tmp, path);
      ops.syncDir(dir);
    },
    rename(from, to) {
      ops.rename(from, to);
      ops.syncDir(posix.dirname(to));
    },
    remove(path) {
      if (ops.unlink(path)) ops.syncDir(posix.dirname(path));
    },
  };
}
