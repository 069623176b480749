/**
 * The committed bad-input files (test/fixtures/bad/*.bin) and the oversized
 * ones made at test time (bombs: never committed). `npm run corpus:make`
 * writes the committed ones from here; a test checks that they still match.
 */
import * as zlib from 'node:zlib';
import { parseVendorBootImage, writeVendorBootImage, writeBootImage } from '../../src/formats/bootimg.js';
import { writeFdt } from '../../src/formats/fdt.js';
import { readFixture } from '../support.js';
import { writeDtTable } from '../../src/formats/dttable.js';
import { writeQcdt } from '../../src/formats/qcdt.js';
import {
  arm64Kernel,
  concatBytes,
  dtbHeader,
  efiArm64Kernel,
  gzip,
  gzipZeros,
  lz4Legacy,
  lz4Literals,
  lz4ZeroRun,
  makeArm64Image,
  makeZImage,
  patch,
  qcomDtb,
  setBe32,
  setLe32,
  smallDtb,
  smallFdt,
  te,
  u32be,
  u32le,
  zImageKernel,
} from './inputs.js';

type Files = Record<string, Uint8Array>;

function kernels(): Files {
  const a = arm64Kernel();
  const efi = efiArm64Kernel();
  const z = zImageKernel();
  const tag = 0x100; // makeZImage puts the tag table here
  return {
    'kernel-empty': new Uint8Array(0),
    'kernel-one-byte': new Uint8Array([0x7f]),
    'kernel-text': te.encode('#!/bin/sh\necho this is a script, not a kernel\n'),
    'kernel-elf': patch(new Uint8Array(64), 0, te.encode('\x7fELF\x02\x01\x01')),
    'kernel-uimage': patch(new Uint8Array(128), 0, u32be(0x27051956)),
    'kernel-bzimage': patch(new Uint8Array(0x300), 0x202, te.encode('HdrS')),
    'kernel-dtb': smallDtb(),
    'kernel-xz': patch(new Uint8Array(64), 0, new Uint8Array([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])),
    'kernel-zstd': patch(new Uint8Array(64), 0, u32le(0xfd2fb528)),
    'kernel-bzip2': patch(new Uint8Array(64), 0, te.encode('BZh9')),
    'kernel-lzop': patch(new Uint8Array(64), 0, new Uint8Array([0x89, 0x4c, 0x5a, 0x4f, 0x00, 0x0d, 0x0a, 0x1a, 0x0a])),
    'kernel-lz4-frame': patch(new Uint8Array(64), 0, u32le(0x184d2204)),
    // zImage header damage
    'zimage-header-only': z.subarray(0, 0x30),
    'zimage-end-before-start': setLe32(setLe32(z, 0x28, 0x8000), 0x2c, 0x1000),
    'zimage-too-small': setLe32(z, 0x2c, 0x20),
    'zimage-table-outside': setLe32(z, 0x38, 0x2000),
    'zimage-tag-one-word': setLe32(z, tag, 1),
    'zimage-tags-endless': (() => {
      // 70 two-word tags: more than any kernel writes, still inside the file.
      let b = z;
      for (let i = 0; i < 70; i++) b = patch(b, tag + i * 8, u32le(2, 0x1000 + i));
      return b;
    })(),
    'zimage-krnl-size-short': patch(z, tag, u32le(3, 0x5a534c4b, 0xffc, 0)),
    'zimage-size-pointer-outside': setLe32(z, tag + 8, 0x5000),
    'zimage-text-offset-unaligned': setLe32(z, tag + 16, 0x8001),
    'zimage-text-offset-huge': setLe32(z, tag + 16, 0x8008000),
    'zimage-appended-dtb-tiny': concatBytes([z, u32be(0xd00dfeed, 0x10), new Uint8Array(8)]),
    'zimage-appended-dtb-long': concatBytes([z, smallDtb().subarray(0, 0x80)]),
    'zimage-appended-garbage': concatBytes([z, smallDtb(), te.encode('not a dtb, not padding')]),
    // arm64 Image damage
    'arm64-header-only': a.subarray(0, 64),
    'arm64-header-short': a.subarray(0, 63),
    'arm64-efi-first-4k': efi.subarray(0, 0x1000),
    'arm64-efi-sections-outside': setLe32(efi, 0x40 + 20, 0xfff0),
    'arm64-efi-too-many-sections': patch(efi, 0x40 + 6, new Uint8Array([200, 0])),
    'arm64-text-offset-2m': patch(a, 8, u32le(0x200000, 0)),
    'arm64-image-size-2p53': patch(a, 0x10, u32le(0, 0x200000)),
    'arm64-image-size-huge-file-small': patch(a, 0x10, u32le(0x10000000, 0)),
    // gzip damage (around the small arm64 Image)
    ...gzipFiles(a),
    // LZ4 legacy damage
    'lz4-magic-only': u32le(0x184c2102),
    'lz4-block-past-end': concatBytes([u32le(0x184c2102, 0x1000), new Uint8Array(16)]),
    'lz4-offset-zero': lz4Legacy([new Uint8Array([0x1f, 0x00, 0x00, 0x00, 0x00, 0x50, 0, 0, 0, 0, 0])]),
    'lz4-offset-past-output': lz4Legacy([new Uint8Array([0x14, 0x00, 0x09, 0x00, 0x50, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])]),
    'lz4-literals-past-block': lz4Legacy([new Uint8Array([0xf0, 0x40, 1, 2, 3])]),
    'lz4-match-at-end': lz4Legacy([new Uint8Array([0x10, 0x00, 0x01, 0x00])]),
    'lz4-holding-text': lz4Legacy([lz4Literals(te.encode('hello, this is not a kernel image at all'))]),
    'lz4-kernel-cut': (() => {
      const l = lz4Legacy([lz4Literals(a)]);
      return l.subarray(0, l.length - 100);
    })(),
  };
}

function gzipFiles(a: Uint8Array): Files {
  const g = gzip(a);
  const n = g.length;
  return {
    'gzip-method-7': patch(g, 2, new Uint8Array([7])),
    'gzip-reserved-flags': patch(g, 3, new Uint8Array([0xe0])),
    'gzip-extra-past-end': concatBytes([new Uint8Array([0x1f, 0x8b, 8, 0x04, 0, 0, 0, 0, 0, 3]), u32le(0xffff).subarray(0, 2), new Uint8Array(10)]),
    'gzip-name-unterminated': concatBytes([new Uint8Array([0x1f, 0x8b, 8, 0x08, 0, 0, 0, 0, 0, 3]), te.encode('Image-with-a-name-that-never-ends')]),
    'gzip-header-crc': concatBytes([new Uint8Array([0x1f, 0x8b, 8, 0x02, 0, 0, 0, 0, 0, 3, 0x12, 0x34]), g.subarray(10)]),
    'gzip-truncated': g.subarray(0, n >> 1),
    'gzip-bad-crc': patch(g, n - 8, u32le(0xdeadbeef)),
    'gzip-bad-isize': patch(g, n - 4, u32le(0x1234)),
    'gzip-bad-deflate': patch(g, 10, new Uint8Array([0xff, 0xff, 0xff, 0xff])),
    'gzip-holding-dtb': gzip(smallDtb()),
    'gzip-holding-text': gzip(te.encode('CONFIG_NOT_A_KERNEL=y\n'.repeat(20))),
    'gzip-holding-zimage-cut': gzip(zImageKernel().subarray(0, 0x800)),
  };
}

function deviceTrees(): Files {
  const d = smallDtb();
  const h = dtbHeader(d);
  const deep = (() => {
    // 70 nested nodes: deeper than the parser's limit of 64.
    const begin = (name: string) => concatBytes([u32be(1), te.encode(`${name}\0`.padEnd(4, '\0'))]);
    const parts: Uint8Array[] = [begin('')];
    for (let i = 0; i < 70; i++) parts.push(begin('n'));
    for (let i = 0; i < 71; i++) parts.push(u32be(2));
    parts.push(u32be(9));
    const struct = concatBytes(parts);
    const header = u32be(0xd00dfeed, 0x38 + struct.length, 0x38, 0x38 + struct.length, 0x28, 17, 16, 0, 0, struct.length);
    return concatBytes([header, new Uint8Array(16), struct]);
  })();
  return {
    'dtb-empty': new Uint8Array(0),
    'dtb-bad-magic': setBe32(d, 0, 0xd00dfeee),
    'dtb-header-cut': d.subarray(0, 0x20),
    'dtb-totalsize-tiny': setBe32(d, 4, 0x10),
    'dtb-totalsize-past-end': setBe32(d, 4, d.length + 0x1000),
    'dtb-version-15': setBe32(d, 0x14, 15),
    'dtb-version-18': setBe32(d, 0x14, 18),
    'dtb-struct-past-end': setBe32(d, 8, d.length - 4),
    'dtb-strings-overlap-struct': setBe32(d, 0x0c, h.struct + 8),
    'dtb-struct-unaligned': setBe32(d, 8, h.struct + 1),
    'dtb-rsvmap-unterminated': setBe32(patch(d, h.rsv, new Uint8Array([0, 0, 0, 0, 0x40, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0])), 0x10, h.rsv),
    'dtb-bad-token': setBe32(d, h.struct, 7),
    'dtb-no-end-token': setBe32(d, h.struct + h.structSize - 4, 4),
    'dtb-prop-len-past-struct': setBe32(d, findProp(d, 'bootargs') + 4, 0x10000),
    'dtb-nameoff-past-strings': setBe32(d, findProp(d, 'bootargs') + 8, 0x7000),
    'dtb-strings-unterminated': setBe32(d, 0x20, h.stringsSize - 1),
    'dtb-nested-too-deep': deep,
    'dtb-memory-reg-odd': writeFdt(smallFdt([], { reg: u32be(0, 0x40000000, 0) })),
    'dtb-memory-cells-3': (() => {
      const f = smallFdt();
      f.root.props.find((x) => x.name === '#size-cells')!.value = u32be(3);
      return writeFdt(f);
    })(),
    'dtb-no-memory': writeFdt(smallFdt([], { name: 'sram@40000000' })),
    'dtb-list-garbage-after': concatBytes([d, te.encode('trailing junk')]),
  };
}

/** The offset of the FDT_PROP token of the first property named `name`. */
function findProp(dtb: Uint8Array, name: string): number {
  const h = dtbHeader(dtb);
  const dv = new DataView(dtb.buffer, dtb.byteOffset, dtb.byteLength);
  const nameOff = Buffer.from(dtb.subarray(h.strings, h.strings + h.stringsSize)).indexOf(`${name}\0`);
  for (let p = h.struct; p < h.struct + h.structSize; p += 4) {
    if (dv.getUint32(p) === 3 && dv.getUint32(p + 8) === nameOff) return p;
  }
  throw new Error(`corpus: no property ${name}`);
}

function tables(): Files {
  const a = qcomDtb(0xcf, 0x20000, 8);
  const b = qcomDtb(0xcf, 0x20001, 8);
  const q = writeQcdt({ version: 2, pageSize: 2048, entries: [a, b].map((dtb, i) => ({ platform: 0xcf, variant: 8, subtype: 0, socRev: 0x20000 + i, dtb })) });
  const t = writeDtTable({ version: 1, entries: [{ dtb: a, id: 1 }, { dtb: b, id: 2, compression: 'gzip' }] });
  const entry0 = 12; // QCDT v2 entries: 24 bytes from offset 12; offset and size are the last two words
  return {
    'qcdt-version-4': setLe32(q, 4, 4),
    'qcdt-no-entries': setLe32(q, 8, 0),
    'qcdt-entries-past-end': setLe32(q, 8, 100000),
    'qcdt-offset-in-index': setLe32(q, entry0 + 16, 8),
    'qcdt-size-tiny': setLe32(q, entry0 + 20, 8),
    'qcdt-not-a-dtb': setLe32(q, entry0 + 16, 0x800 + 0x400),
    'qcdt-totalsize-past-entry': setLe32(q, entry0 + 20, 0x40),
    // Entry 0's region [0x800, 0x1100) runs into entry 1's [0x1000, 0x1800).
    'qcdt-partial-overlap': setLe32(q, entry0 + 20, 0x900),
    'dttable-acpi': setBe32(t, 0, 0x41435049),
    'dttable-header-size': setBe32(t, 8, 36),
    'dttable-entry-size': setBe32(t, 12, 28),
    'dttable-version-2': setBe32(t, 28, 2),
    'dttable-total-past-end': setBe32(t, 4, t.length + 1),
    'dttable-entries-past-total': setBe32(t, 16, 1000),
    'dttable-size-zero': setBe32(t, 32, 0),
    'dttable-offset-in-entries': setBe32(t, 32 + 4, 40),
    'dttable-compression-3': setBe32(t, 32 + 16, 3),
    'dttable-gzip-flag-plain-dt': setBe32(t, 32 + 16, 2),
    'dttable-zlib-flag-gzip-data': setBe32(t, 32 + 32 + 16, 1),
    // Entry 0's plain DT made 8 bytes longer: it runs into entry 1's gzip data.
    'dttable-partial-overlap': setBe32(t, 32, new DataView(t.buffer, t.byteOffset).getUint32(32) + 8),
    'dttable-gzip-entry-bad-crc': (() => {
      const e1 = 32 + 32;
      const dv = new DataView(t.buffer, t.byteOffset);
      const end = dv.getUint32(e1 + 4) + dv.getUint32(e1);
      return patch(t, end - 8, u32le(0x12345678));
    })(),
  };
}

function bootImages(): Files {
  const k = arm64Kernel();
  const v2 = writeBootImage({ version: 2, kernel: k, ramdisk: new Uint8Array(100), dtb: smallDtb(), cmdline: 'console=ttyMSM0' });
  const v4 = writeVendorBootImage({
    version: 4,
    ramdisks: [{ data: new Uint8Array(1000), name: 'a' }, { data: new Uint8Array(500), name: 'b', type: 'dlkm' }],
    dtb: smallDtb(),
  });
  const table = parseVendorBootImage(v4).sections.find((x) => x.name === 'vendor_ramdisk_table')!.offset;
  return {
    'bootimg-magic-only': te.encode('ANDROID!'),
    'bootimg-header-cut': v2.subarray(0, 600),
    'bootimg-version-7': setLe32(v2, 40, 7),
    'bootimg-page-size-3000': setLe32(v2, 36, 3000),
    'bootimg-kernel-past-end': setLe32(v2, 8, 0x1000000),
    'bootimg-dtb-not-a-dtb': (() => {
      const s = Buffer.from(v2);
      const at = s.indexOf(Buffer.from(u32be(0xd00dfeed)), 2048);
      return patch(v2, at, te.encode('NOTADTB!'));
    })(),
    'vendorboot-version-2': setLe32(v4, 8, 2),
    'vendorboot-header-size': setLe32(v4, 2096, 2000),
    'vendorboot-table-size-mismatch': setLe32(v4, 2112, 100),
    'vendorboot-ramdisk-past-section': setLe32(v4, table, 0x10000),
    'vendorboot-ramdisks-overlap': setLe32(v4, table + 108 + 4, 100),
    'vendorboot-v4': v4,
  };
}

function configs(): Files {
  return {
    'config-binary': new Uint8Array([0, 1, 2, 3, 0xff, 0xfe, 0, 0, 0x10]),
    'config-gzip-cut': gzip(te.encode('CONFIG_KEXEC=y\n'.repeat(100))).subarray(0, 40),
  };
}

/** Good inputs the bad cases pair with: a kernel to go with a bad DTB, a boot image with a bad vendor_boot. */
function companions(): Files {
  return {
    'ok-arm64-image': arm64Kernel(),
    'ok-zimage': zImageKernel(),
    'ok-bootimg-v4': writeBootImage({ version: 4, kernel: arm64Kernel(), cmdline: 'console=ttyAMA0' }),
    // The running tree of a Qualcomm board: platform 0xcf, soc rev 0x20000, variant 8.
    'ok-qcom-live': qcomDtb(0xcf, 0x20000, 8),
  };
}

/** Every committed file, by name (without the .bin suffix). */
export function corpusFiles(): Files {
  return { ...companions(), ...kernels(), ...deviceTrees(), ...tables(), ...bootImages(), ...configs() };
}

// ---------------------------------------------------------------- made at test time

const GiB = 1 << 30;

/** A valid arm64 Image header claiming `imageSize`, as the first bytes of a bomb. */
function arm64Header(imageSize: number): Uint8Array {
  return makeArm64Image({ textOffset: 0, imageSize, fileSize: 0x1000 });
}

/**
 * The oversized inputs: each small on disk, huge (or endless) when trusted.
 * Made at test time, never committed.
 */
export const BOMBS: Record<string, () => Uint8Array> = {
  /** 1 GiB of zeros in 1 MiB of gzip: no kernel header inside. */
  'gzip-zeros-1g': () => gzipZeros(new Uint8Array(0), GiB),
  /** An arm64 Image header claiming 1 GiB, then 1 GiB of zeros. */
  'gzip-arm64-1g': () => gzipZeros(arm64Header(GiB), GiB),
  /** 17 MB of LZ4 blocks decoding to 4.3 GB of zeros. */
  'lz4-zeros-4g': () => lz4Legacy(Array.from({ length: 520 }, () => lz4ZeroRun((8 << 20) - 6))),
  /** An arm64 Image header (image_size 2 GiB) as the first block, then 1 GiB of zero blocks. */
  'lz4-arm64-1g': () => lz4Legacy([lz4Literals(arm64Header(2 * GiB)), ...Array.from({ length: 128 }, () => lz4ZeroRun((8 << 20) - 6))]),
  /** A zImage holding ten gzip streams of 1 GiB each, its KRNL_SIZE claiming 1 GiB. */
  'zimage-ten-gzip-bombs': () => {
    const bombs = Array.from({ length: 10 }, () => gzipZeros(new Uint8Array(0), GiB));
    const body = concatBytes([new Uint8Array(0x200), ...bombs]);
    const size = body.length + 4;
    const z = makeZImage({ size, decompressed: GiB - 1, bss: 0x1000 });
    z.set(body.subarray(0x200), 0x200);
    return z;
  },
  /** A gzipped "config" of 1 GiB: the config reader's cap, not the kernel reader's, decides. */
  'config-gzip-1g': () => gzipZeros(new TextEncoder().encode('CONFIG_KEXEC=y\n'), GiB),
  /** 3,000 QCDT entries sharing one real board DTB (Nexus 5X, 24 KiB), for the running board's ids. */
  'qcdt-3000-shared': () =>
    writeQcdt({ version: 2, entries: Array.from({ length: 3000 }, (_, i) => ({ platform: 0xcf, variant: 8 + i, subtype: 0, socRev: 0x20000, dtb: readFixture('qcom', 'msm8992-lg-bullhead-rev-101.dtb') })) }),
  /** 3,000 QCDT entries whose DTB regions all partly overlap. */
  'qcdt-3000-overlapping': () => {
    const q = writeQcdt({ version: 2, entries: Array.from({ length: 3000 }, (_, i) => ({ platform: 0xcf, variant: 8 + i, subtype: 0, socRev: 0x20000, dtb: qcomDtb(0xcf, 0x20000, 8) })) });
    const dv = new DataView(q.buffer);
    const first = dv.getUint32(12 + 16, true);
    // Every entry at the first DTB, with sizes that differ: same start, different ends.
    for (let i = 0; i < 3000; i++) {
      dv.setUint32(12 + i * 24 + 16, first, true);
      dv.setUint32(12 + i * 24 + 20, 0x800 - (i % 7) * 4, true);
    }
    return q;
  },
  /** 24 DT-table entries pointing at one gzip stream of 1 GiB. */
  'dttable-24-share-a-bomb': () => {
    const bomb = gzipZeros(new Uint8Array(0), GiB);
    const t = writeDtTable({ version: 1, entries: Array.from({ length: 24 }, (_, i) => ({ dtb: smallDtb(), id: i, compression: 'gzip' as const })) });
    const dtAt = 32 + 24 * 32;
    const out = concatBytes([t.subarray(0, dtAt), bomb]);
    const dv = new DataView(out.buffer);
    dv.setUint32(4, out.length);
    for (let i = 0; i < 24; i++) {
      dv.setUint32(32 + i * 32, bomb.length);
      dv.setUint32(32 + i * 32 + 4, dtAt);
    }
    return out;
  },
  /** A DTB with a 130 KB property name (the writer once spread it onto the stack). */
  'dtb-long-prop-name': () => smallDtb([['x'.repeat(130_000), new Uint8Array(4)]]),
  /** A v4 vendor_boot with 40,000 ramdisk-table entries, the last overlapping the first. */
  'vendorboot-40000-ramdisks': () => {
    const n = 40_000;
    const v = writeVendorBootImage({ version: 4, ramdisks: Array.from({ length: n }, () => ({ data: new Uint8Array(1) })), dtb: smallDtb() });
    const table = parseVendorBootImage(v).sections.find((x) => x.name === 'vendor_ramdisk_table')!.offset;
    return setLe32(v, table + (n - 1) * 108 + 4, 0);
  },
};

/** zlib's own inflate of a BOMBS entry's gzip stream is what the tests check the bombs against. */
export function inflatedSize(gz: Uint8Array, max: number): number | 'more' {
  try {
    return zlib.gunzipSync(gz, { maxOutputLength: max }).length;
  } catch {
    return 'more';
  }
}
