/**
 * A writer for the "newc" cpio format the kernel unpacks as an initramfs
 * (Documentation/driver-api/early-userspace/buffer-format.rst). Written here rather than
 * by the `cpio` tool so an archive can hold device nodes and root-owned files
 * without running as root, and so every entry is explicit and reproducible
 * (uid/gid 0, mtime 0, inode numbers in order).
 */
import { lstatSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

export type CpioEntry =
  | { type: 'dir'; path: string; mode?: number }
  | { type: 'file'; path: string; mode?: number; data: Uint8Array }
  | { type: 'symlink'; path: string; target: string }
  | { type: 'char'; path: string; mode?: number; major: number; minor: number };

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;

const MAGIC = '070701';
const HEADER_SIZE = 110;

function hex8(n: number): string {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new RangeError(`cpio field out of range: ${n}`);
  return n.toString(16).padStart(8, '0');
}

function pad4(n: number): number {
  return (4 - (n % 4)) % 4;
}

/**
 * One newc record: the 110-byte ASCII header, the NUL-terminated name padded so the
 * data starts on a 4-byte boundary, then the data padded to 4 bytes.
 */
function record(ino: number, mode: number, nlink: number, name: string, data: Uint8Array, rmajor = 0, rminor = 0): Buffer[] {
  const nameBytes = Buffer.from(`${name}\0`, 'utf8');
  const header =
    MAGIC +
    [ino, mode, 0 /* uid */, 0 /* gid */, nlink, 0 /* mtime */, data.length, 0, 0 /* dev major/minor */, rmajor, rminor, nameBytes.length, 0 /* check */]
      .map(hex8)
      .join('');
  return [
    Buffer.from(header, 'ascii'),
    nameBytes,
    Buffer.alloc(pad4(HEADER_SIZE + nameBytes.length)),
    Buffer.from(data.buffer, data.byteOffset, data.byteLength),
    Buffer.alloc(pad4(data.length)),
  ];
}

/** The uncompressed archive: entries in the given order, then the TRAILER!!! record. */
export function newcArchive(entries: readonly CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  let ino = 1;
  for (const e of entries) {
    const name = e.path.replace(/^\/+/, '');
    if (name === '' || name.split('/').includes('..')) throw new RangeError(`bad cpio path: ${e.path}`);
    switch (e.type) {
      case 'dir':
        parts.push(...record(ino++, S_IFDIR | (e.mode ?? 0o755), 2, name, new Uint8Array()));
        break;
      case 'file':
        parts.push(...record(ino++, S_IFREG | (e.mode ?? 0o644), 1, name, e.data));
        break;
      case 'symlink':
        parts.push(...record(ino++, S_IFLNK | 0o777, 1, name, Buffer.from(e.target, 'utf8')));
        break;
      case 'char':
        parts.push(...record(ino++, S_IFCHR | (e.mode ?? 0o600), 1, name, new Uint8Array(), e.major, e.minor));
        break;
    }
  }
  parts.push(...record(0, 0, 1, 'TRAILER!!!', new Uint8Array()));
  return Buffer.concat(parts);
}

/**
 * The kernel's unpacker does not create missing parent directories (init/initramfs.c
 * just calls mkdir), so every entry's parents are listed first, once.
 */
export function withParents(entries: readonly CpioEntry[]): CpioEntry[] {
  const dirs = new Set<string>();
  const out: CpioEntry[] = [];
  for (const e of entries) {
    const parts = e.path.replace(/^\/+/, '').split('/');
    for (let i = 1; i < parts.length; i++) {
      const d = parts.slice(0, i).join('/');
      if (!dirs.has(d)) {
        dirs.add(d);
        out.push({ type: 'dir', path: d });
      }
    }
    if (e.type === 'dir') {
      const d = e.path.replace(/^\/+/, '');
      if (dirs.has(d)) continue;
      dirs.add(d);
    }
    out.push(e);
  }
  return out;
}

/** A gzip'd newc archive of `entries`, their missing parent directories added. */
export function gzipCpio(entries: readonly CpioEntry[], level = 6): Buffer {
  return gzipSync(newcArchive(withParents(entries)), { level });
}

/**
 * Every directory, file and symlink under `root`, as entries named relative to it
 * (parents before children, names sorted). Ownership is not kept: all root's.
 */
export function entriesFromDir(root: string, prefix = ''): CpioEntry[] {
  const out: CpioEntry[] = [];
  const walk = (rel: string): void => {
    for (const name of readdirSync(join(root, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const abs = join(root, r);
      const st = lstatSync(abs);
      const path = prefix ? `${prefix}/${r}` : r;
      if (st.isSymbolicLink()) out.push({ type: 'symlink', path, target: readlinkSync(abs) });
      else if (st.isDirectory()) {
        out.push({ type: 'dir', path, mode: st.mode & 0o7777 });
        walk(r);
      } else if (st.isFile()) out.push({ type: 'file', path, mode: st.mode & 0o7777, data: readFileSync(abs) });
      // sockets, fifos and device files from a package tree are skipped on purpose.
    }
  };
  walk('');
  return out;
}
