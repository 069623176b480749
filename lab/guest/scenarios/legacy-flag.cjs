// The 6.1 series' hardboot bit (0x4) sent to the running kernel on a plain load,
// as an old hardboot or MultiROM-era kexec would: one 4 KiB segment at `mem`.
// Prints the errno (0: the kernel took it). Run by hardboot.sh with Node and koffi.
'use strict';
const koffi = require('/opt/hardboot/node_modules/koffi');
const [mem] = process.argv.slice(2).map(Number);
const arch = process.arch === 'arm64' ? { nr: 104, kexec: 183 << 16 } : { nr: 347, kexec: 40 << 16 };
const libc = koffi.load('libc.so.6');
const syscall = libc.func('long syscall(long, ...)');
koffi.struct('kexec_segment', { buf: 'const void *', bufsz: 'size_t', mem: 'uintptr_t', memsz: 'size_t' });
const page = Buffer.alloc(4096);
const errnoLocation = libc.func('int *__errno_location(void)');
const r = syscall(arch.nr, 'uintptr_t', mem, 'unsigned long', 1, 'kexec_segment *', [{ buf: page, bufsz: 4096, mem, memsz: 4096 }], 'unsigned long', arch.kexec | 0x4);
// errno from the C library itself: koffi.errno() read 25 (ENOTTY) here where it was 22.
const errno = koffi.decode(errnoLocation(), 'int');
process.stdout.write(`${Number(r) === 0 ? 0 : errno}\n`);
