/**
 * One fuzz target per parser. Seeds are the committed bad-input corpus files of
 * that format, the good companions, and the real fixtures; each target runs
 * the parser and what the tool does next with its result (a DTB is rewritten,
 * a DT table's entries are decompressed), so the fuzzer reaches past parsing.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { attemptedEntryName, blessedEntryName, parseBlsEntry, parseEntryName, parseLoaderConf, readBlsMenuEntry, selectDefaultBlsEntry, sortBlsEntries } from '../../src/formats/bls.js';
import { parseAndroidImage } from '../../src/formats/bootimg.js';
import { gunzipMember } from '../../src/formats/compress.js';
import { dtTableEntryBlob, parseDtTable } from '../../src/formats/dttable.js';
import { parseFdt, writeFdt } from '../../src/formats/fdt.js';
import { memoryFromFdt } from '../../src/formats/fdt-memory.js';
import { configText, kernelIkconfig, parseKernelConfig } from '../../src/formats/ikconfig.js';
import { readKernel } from '../../src/formats/kernel.js';
import { defaultExtlinuxEntry, parseExtlinux } from '../../src/formats/extlinux.js';
import { bootOptionsFor, parseBootConf, parseStateFile } from '../../src/formats/hardboot-conf.js';
import { FormatError } from '../../src/errors.js';
import { decodeLz4Legacy } from '../../src/formats/lz4.js';
import { memoryFromIomem, parseKernelPageSize, parseProcCmdline } from '../../src/formats/proc.js';
import { parseQcdt } from '../../src/formats/qcdt.js';
import { parseZImage } from '../../src/formats/zimage.js';
import { describeFile } from '../../src/cli/inspect.js';
import { fixture } from '../support.js';
import type { FuzzTarget } from './engine.js';

/** Output cap for the decompressors under fuzzing: enough for every seed, small enough to stay fast. */
const FUZZ_MAX_OUTPUT = 16 << 20;

function files(dir: string, match: (name: string) => boolean): Uint8Array[] {
  return readdirSync(fixture(dir))
    .filter(match)
    .sort()
    .map((f) => new Uint8Array(readFileSync(join(fixture(dir), f))));
}

const bad = (...prefixes: string[]) => files('bad', (f) => f.endsWith('.bin') && prefixes.some((p) => f.startsWith(p)));
const dtbs = () => [...files('dtb', (f) => f.endsWith('.dtb') && !f.startsWith('qemu')), ...files('qcom', (f) => f.endsWith('.dtb'))];
const text = new TextDecoder();
const bootConfigs = (match: (name: string) => boolean) => files('boot', (f) => f.endsWith('.conf') && match(f));
/** The same small files as text seeds beside the committed ones: a loader.conf and a hand-written extlinux.conf. */
const encode = (s: string) => new TextEncoder().encode(s);

export const TARGETS: readonly FuzzTarget[] = [
  {
    name: 'fdt',
    about: 'parseFdt, memoryFromFdt, then writeFdt and parseFdt of what it wrote',
    seeds: () => [...bad('dtb-', 'ok-qcom'), ...dtbs()],
    run: (b) => {
      const f = parseFdt(b);
      memoryFromFdt(f);
      parseFdt(writeFdt(f, { padding: 64 }));
    },
  },
  {
    name: 'zimage',
    about: 'parseZImage (header, tag table, KRNL_SIZE, appended DTB)',
    seeds: () => bad('zimage-', 'ok-zimage'),
    run: (b) => void parseZImage(b),
  },
  {
    name: 'kernel',
    about: 'readKernel: arm64 Image (and its PE header), zImage, gzip and LZ4 peeking and decompression',
    seeds: () => bad('arm64-', 'kernel-', 'gzip-', 'lz4-', 'ok-arm64', 'ok-zimage'),
    run: (b) => void readKernel(b),
  },
  {
    name: 'gzip',
    about: 'gunzipMember (header fields, deflate, trailer checks)',
    seeds: () => bad('gzip-', 'config-gzip'),
    run: (b) => void gunzipMember(b, { maxOutput: FUZZ_MAX_OUTPUT }),
  },
  {
    name: 'lz4',
    about: 'decodeLz4Legacy (block decoding, end-of-block rules, size trailer)',
    seeds: () => bad('lz4-'),
    run: (b) => void decodeLz4Legacy(b, { maxOutput: FUZZ_MAX_OUTPUT }),
  },
  {
    name: 'qcdt',
    about: 'parseQcdt (index, entries, regions)',
    seeds: () => bad('qcdt-'),
    run: (b) => void parseQcdt(b),
  },
  {
    name: 'dttable',
    about: 'parseDtTable, then every entry decompressed',
    seeds: () => bad('dttable-'),
    run: (b) => {
      for (const e of parseDtTable(b).entries) dtTableEntryBlob(e);
    },
  },
  {
    name: 'bootimg',
    about: 'parseAndroidImage: boot images v0–v4, vendor_boot v3/v4 and their ramdisk tables',
    seeds: () => bad('bootimg-', 'vendorboot-', 'ok-bootimg'),
    run: (b) => void parseAndroidImage(b),
  },
  {
    name: 'ikconfig',
    about: 'configText and parseKernelConfig; kernelIkconfig on kernels',
    seeds: () => [...bad('config-', 'ok-zimage', 'ok-arm64'), ...files('ikconfig', (f) => f.endsWith('.gz'))],
    run: (b) => {
      parseKernelConfig(configText(b));
      kernelIkconfig(b);
    },
  },
  {
    name: 'proc',
    about: 'the /proc twins: /proc/iomem, /proc/cmdline, smaps page size',
    seeds: () => files('proc', (f) => f.endsWith('.txt')),
    run: (b) => {
      const t = text.decode(b);
      memoryFromIomem(t);
      parseProcCmdline(t);
      parseKernelPageSize(t);
    },
  },
  {
    name: 'bls',
    about: 'parseBlsEntry on the bytes; the first line as an entry file name (counters, attempt, blessing); the menu order and default',
    seeds: () => [...bootConfigs((f) => !f.startsWith('extlinux')), encode('title A\nlinux /k\ninitrd /i\noptions a\noptions b\ndevicetree-overlay /o1 /o2\nx-key v\n')],
    run: (b) => {
      parseBlsEntry(b);
      const name = `${text.decode(b.subarray(0, 40)).split('\n')[0]!.replace(/[/\0]/g, '_')}.conf`;
      const n = parseEntryName(name);
      attemptedEntryName(name);
      blessedEntryName(name);
      const entries = [readBlsMenuEntry(name, b), readBlsMenuEntry(`${n.id}+0-1.conf`, b), readBlsMenuEntry('other-1.2.conf', 'linux /k\nsort-key z\nversion 1.2')];
      selectDefaultBlsEntry(sortBlsEntries(entries), { default: `${n.id.slice(0, 8)}*` });
    },
  },
  {
    name: 'loaderconf',
    about: 'parseLoaderConf, then its default pattern over a small menu',
    seeds: () => [encode('default fedora-*\ntimeout 5\nconsole-mode keep\n'), encode('timeout menu-force\ndefault @saved\n'), encode('# empty\n')],
    run: (b) => {
      const conf = parseLoaderConf(b);
      const menu = sortBlsEntries([readBlsMenuEntry('fedora-40.conf', 'linux /k'), readBlsMenuEntry('a[b]+2.conf', 'linux /k')]);
      selectDefaultBlsEntry(menu, conf, 'fedora-40');
    },
  },
  {
    name: 'extlinux',
    about: 'parseExtlinux and the default entry',
    seeds: () => [...bootConfigs((f) => f.startsWith('extlinux')), encode('TIMEOUT 10\nLABEL a\n MENU DEFAULT\n LINUX /k\n FDT /b.dtb\n APPEND initrd=/i quiet\n')],
    run: (b) => void defaultExtlinuxEntry(parseExtlinux(b)),
  },
  {
    name: 'hardboot-conf',
    about: 'parseBootConf and each entry\'s options; parseStateFile on the same bytes',
    seeds: () => [
      encode('method hardboot\nmem-min 0x20000000\nentry pmos-*\nboard shamu\nvendor-boot /v.img\nmem-max 01000000000\nentry r[a-z]*\nmethod kexec\n'),
      encode('debian-6.1+2-1.conf\n'),
    ],
    run: (b) => {
      try {
        parseStateFile(b, 'state');
      } catch (e) {
        if (!(e instanceof FormatError)) throw e;
      }
      const conf = parseBootConf(b);
      for (const id of ['pmos-edge', 'rescue', '']) bootOptionsFor(conf, id);
    },
  },
  {
    name: 'inspect',
    about: 'describeFile: every format through hardboot inspect',
    seeds: () => bad('ok-', 'bootimg-', 'dttable-', 'qcdt-', 'zimage-'),
    run: (b) => void describeFile(b, 'fuzz'),
  },
];
