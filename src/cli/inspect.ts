/**
 * `hardboot inspect FILE`: what a file is, for every format hardboot reads, and
 * what it holds — sections, table entries with their ids, each DTB's model and
 * compatible, sizes. `describeFile` is pure (bytes in, plain data out, so
 * `--json` prints it as is); `renderInspection` is the text a person reads.
 */
import { FormatError, hex } from '../errors.js';
import { type BootImage, isBootImage, isVendorBootImage, parseBootImage, parseVendorBootImage, type VendorBootImage } from '../formats/bootimg.js';
import { sniffCompression } from '../formats/compress.js';
import { dtTableEntryBlob, isDtTable, parseDtTable } from '../formats/dttable.js';
import { FDT_MAGIC, parseFdt } from '../formats/fdt.js';
import { memoryFromFdt } from '../formats/fdt-memory.js';
import { configEnabled, configText, configValue, kernelIkconfig, looksLikeKernelConfig, parseKernelConfig } from '../formats/ikconfig.js';
import { KERNEL_FORMATS_READ, type KernelImage, readKernel } from '../formats/kernel.js';
import { isQcdt, parseQcdt, qcdtEntryIds } from '../formats/qcdt.js';
import { view } from '../util/bytes.js';
import { formatQcomIds, qcomIdsOf } from '../formats/qcom-ids.js';
import { appendedDtbs, identityOf, splitDtbs } from '../formats/dtb-list.js';
import { formatSize } from '../util/memory.js';

export interface DtbSummary {
  size: number;
  model?: string;
  compatible: string[];
  /** Qualcomm id sets, formatted. */
  qcomIds?: string[];
  memory?: string[];
  /** Set instead of the rest when the blob does not parse. */
  error?: string;
}

export interface InspectionItem {
  label: string;
  offset?: number;
  size?: number;
  /** Short facts about the item ("arm64 Image, gzip", "platform 0xcf …"). */
  detail: string[];
  dtb?: DtbSummary;
}

export interface Inspection {
  name: string;
  size: number;
  /** What the file is, e.g. "Android boot image, header version 2". */
  format: string;
  facts: { key: string; value: string }[];
  items: InspectionItem[];
  notes: string[];
}

export const FORMATS_INSPECTED =
  'an Android boot or vendor_boot image, a QCDT dt.img, an Android DT table, a DTB (or several), ' +
  `a kernel (${KERNEL_FORMATS_READ}), or a kernel .config (plain or gzipped)`;

/** What `bytes` (the file `name`) is and holds. Throws a FormatError for a format we do not read. */
export function describeFile(bytes: Uint8Array, name: string): Inspection {
  const ins: Inspection = { name, size: bytes.length, format: '', facts: [], items: [], notes: [] };
  if (isBootImage(bytes)) describeBoot(parseBootImage(bytes), ins);
  else if (isVendorBootImage(bytes)) describeVendor(parseVendorBootImage(bytes), ins);
  else if (isQcdt(bytes)) describeQcdt(bytes, ins);
  else if (isDtTable(bytes)) describeDtTable(bytes, ins);
  else if (bytes.length >= 4 && view(bytes).getUint32(0, false) === FDT_MAGIC) describeDtbs(bytes, ins);
  else if (!describeKernelOrConfig(bytes, ins)) {
    throw new FormatError('file', 0, FORMATS_INSPECTED, unknownText(bytes));
  }
  return ins;
}

function unknownText(bytes: Uint8Array): string {
  if (bytes.length === 0) return 'an empty file';
  const c = sniffCompression(bytes);
  if (c !== 'none') return `${c}-compressed data holding none of these`;
  return `${hex(bytes.length)} bytes starting ${Array.from(bytes.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join(' ')}`;
}

function fact(ins: Inspection, key: string, value: string | number | undefined): void {
  if (value === undefined || value === '') return;
  ins.facts.push({ key, value: typeof value === 'number' ? hex(value) : value });
}

/**
 * `f()`, or `onError(e)` when it throws a FormatError: inspect reports what it
 * cannot read and goes on. Any other error is a bug and propagates.
 */
function unlessFormatError<T>(f: () => T, onError: (e: FormatError) => T): T {
  try {
    return f();
  } catch (e) {
    if (!(e instanceof FormatError)) throw e;
    return onError(e);
  }
}

/** A DTB's model, compatible, Qualcomm ids and RAM; a parse failure is recorded, not thrown. */
export function summarizeDtb(dtb: Uint8Array, file: string): DtbSummary {
  const unreadable = (e: FormatError) => [`unreadable: ${e.inFile(file).message}`];
  return unlessFormatError(
    () => {
      const fdt = parseFdt(dtb);
      const id = identityOf(fdt);
      const s: DtbSummary = { size: fdt.totalSize, compatible: id.compatible };
      if (id.model !== undefined) s.model = id.model;
      const ids = unlessFormatError(() => qcomIdsOf(fdt)?.map(formatQcomIds), unreadable);
      if (ids) s.qcomIds = ids;
      const memory = unlessFormatError(
        () => memoryFromFdt(fdt).memory.map((m) => `[${hex(m.start)}, ${hex(m.start + m.size)})`),
        unreadable,
      );
      if (memory.length > 0) s.memory = memory;
      return s;
    },
    (e) => ({ size: dtb.length, compatible: [], error: e.inFile(file).message }),
  );
}

function kernelDetail(k: KernelImage): string[] {
  const d = [k.kind === 'zimage' ? 'ARM zImage' : 'arm64 Image'];
  if (k.compression !== 'none') d.push(`${k.compression}, ${formatSize(k.compressedSize)} compressed`);
  if (k.kind === 'zimage') {
    d.push(`${formatSize(k.size)} zImage`);
    if (k.decompressedSize !== undefined) d.push(`${formatSize(k.decompressedSize)} decompressed`);
  } else {
    d.push(`${formatSize(k.image.length)} Image`, `text_offset ${hex(k.textOffset)}`, `image_size ${hex(k.imageSize)}`);
    if (k.pageSize) d.push(`${k.pageSize / 1024} KiB pages`);
  }
  return d;
}

/** The kernel inside `bytes`, its appended DTBs and IKCONFIG, as items; notes instead of errors. */
function kernelItems(bytes: Uint8Array, label: string, offset: number | undefined, ins: Inspection, read?: KernelImage): void {
  const at = offset === undefined ? {} : { offset };
  const k = unlessFormatError<KernelImage | undefined>(
    () => read ?? readKernel(bytes),
    (e) => {
      ins.items.push({ label, ...at, size: bytes.length, detail: [`not a kernel we read: ${e.found}`] });
      return undefined;
    },
  );
  if (!k) return;
  const detail = kernelDetail(k);
  detail.push(
    unlessFormatError(
      () => {
        const ik = kernelIkconfig(bytes, k);
        return ik.config ? `IKCONFIG: ${formatSize(ik.config.gz.length)} gzip config embedded` : 'IKCONFIG: none (built without CONFIG_IKCONFIG)';
      },
      (e) => `IKCONFIG: not readable (${e.found})`,
    ),
  );
  ins.items.push({ label, ...at, size: bytes.length, detail });
  unlessFormatError(
    () => appendedDtbs(bytes, k).forEach((dtb, i) => ins.items.push({ label: `${label}: appended DTB ${i}`, size: dtb.length, detail: [], dtb: summarizeDtb(dtb, ins.name) })),
    (e) => {
      ins.notes.push(`bytes after the kernel are not DTBs: ${e.inFile(ins.name).message}`);
    },
  );
}

function describeBoot(b: BootImage, ins: Inspection): void {
  ins.format = `Android boot image, header version ${b.version}${b.qcomDt.length ? ' (pre-Android-9 layout with a Qualcomm dt.img)' : ''}`;
  fact(ins, 'page size', String(b.pageSize));
  fact(ins, 'header size', String(b.headerSize));
  fact(ins, 'name', b.name);
  fact(ins, 'command line', b.cmdline === '' ? '(empty)' : JSON.stringify(b.cmdline));
  if (b.osVersion) fact(ins, 'os version', `${b.osVersion.major}.${b.osVersion.minor}.${b.osVersion.patch}`);
  if (b.osPatchLevel) fact(ins, 'os patch level', `${b.osPatchLevel.year}-${String(b.osPatchLevel.month).padStart(2, '0')}`);
  fact(ins, 'kernel address', b.kernelAddr);
  fact(ins, 'ramdisk address', b.ramdiskAddr);
  fact(ins, 'second address', b.secondAddr);
  fact(ins, 'tags address', b.tagsAddr);
  if (b.dtbAddr !== undefined) fact(ins, 'dtb address', hex(b.dtbAddr));
  for (const s of b.sections) {
    if (s.name === 'header' || s.size === 0) continue;
    if (s.name === 'kernel') kernelItems(b.kernel, 'kernel', s.offset, ins);
    else if (s.name === 'dtb') addDtbSection(b.dtb, 'dtb', s.offset, ins);
    else if (s.name === 'qcom_dt') {
      ins.items.push({ label: 'Qualcomm dt.img', offset: s.offset, size: s.size, detail: [] });
      nested(ins, 'the Qualcomm dt.img', () => qcdtItems(b.qcomDt, ins, 'dt.img '));
    } else ins.items.push({ label: s.name, offset: s.offset, size: s.size, detail: [] });
  }
  if (b.version >= 3) ins.notes.push('the DTB and the vendor command line are in the matching vendor_boot image');
}

/** Lists a table inside an image; a broken one becomes a note (the image itself was read). */
function nested(ins: Inspection, what: string, list: () => void): void {
  unlessFormatError(list, (e) => {
    ins.notes.push(`${what} is not readable: ${e.inFile(ins.name).message}`);
  });
}

function addDtbSection(dtb: Uint8Array, label: string, offset: number, ins: Inspection): void {
  if (isDtTable(dtb)) {
    ins.items.push({ label: `${label} (Android DT table)`, offset, size: dtb.length, detail: [] });
    nested(ins, `the ${label} DT table`, () => dtTableItems(dtb, ins, `${label} `));
    return;
  }
  unlessFormatError(
    () => {
      const blobs = splitDtbs(dtb);
      if (blobs.length === 1) ins.items.push({ label, offset, size: dtb.length, detail: [], dtb: summarizeDtb(blobs[0]!, ins.name) });
      else blobs.forEach((b, i) => ins.items.push({ label: `${label} ${i}`, size: b.length, detail: [], dtb: summarizeDtb(b, ins.name) }));
    },
    (e) => {
      ins.items.push({ label, offset, size: dtb.length, detail: [`not DTBs: ${e.inFile(ins.name).message}`] });
    },
  );
}

function describeVendor(v: VendorBootImage, ins: Inspection): void {
  ins.format = `Android vendor_boot image, header version ${v.version}`;
  fact(ins, 'page size', String(v.pageSize));
  fact(ins, 'header size', String(v.headerSize));
  fact(ins, 'name', v.name);
  fact(ins, 'vendor command line', v.cmdline === '' ? '(empty)' : JSON.stringify(v.cmdline));
  fact(ins, 'kernel address', v.kernelAddr);
  fact(ins, 'ramdisk address', v.ramdiskAddr);
  fact(ins, 'tags address', v.tagsAddr);
  fact(ins, 'dtb address', hex(v.dtbAddr));
  const section = v.sections.find((s) => s.name === 'vendor_ramdisk')!;
  for (const rd of v.ramdisks) {
    const detail = [`type ${rd.typeName}${rd.typeName === 'unknown' ? ` (${rd.type})` : ''}`];
    if (rd.boardId.some((w) => w !== 0)) detail.push(`board_id ${rd.boardId.map(hex).join(' ')}`);
    ins.items.push({ label: `vendor ramdisk${rd.name ? ` "${rd.name}"` : ''}`, offset: section.offset + rd.offset, size: rd.data.length, detail });
  }
  const dtbSection = v.sections.find((s) => s.name === 'dtb')!;
  if (v.dtb.length > 0) addDtbSection(v.dtb, 'dtb', dtbSection.offset, ins);
  const bc = v.sections.find((s) => s.name === 'bootconfig');
  if (bc && bc.size > 0) ins.items.push({ label: 'bootconfig', offset: bc.offset, size: bc.size, detail: [] });
}

/** summarizeDtb once per distinct blob: table entries that share one share its summary. */
function summaries(file: string): (key: string, blob: () => Uint8Array) => DtbSummary {
  const seen = new Map<string, DtbSummary>();
  return (key, blob) => {
    let s = seen.get(key);
    if (!s) seen.set(key, (s = summarizeDtb(blob(), file)));
    return s;
  };
}

function qcdtItems(bytes: Uint8Array, ins: Inspection, prefix: string): void {
  const q = parseQcdt(bytes);
  const summary = summaries(ins.name);
  for (const e of q.entries) {
    const ids = formatQcomIds(qcdtEntryIds(q.version, e));
    ins.items.push({ label: `${prefix}entry ${e.index}`, offset: e.offset, size: e.size, detail: [ids], dtb: summary(`${e.offset}:${e.size}`, () => e.dtb) });
  }
}

function describeQcdt(bytes: Uint8Array, ins: Inspection): void {
  const q = parseQcdt(bytes);
  ins.format = `Qualcomm device tree table (QCDT) version ${q.version}`;
  fact(ins, 'entries', String(q.entries.length));
  fact(ins, 'distinct DTBs', String(new Set(q.entries.map((e) => e.offset)).size));
  qcdtItems(bytes, ins, '');
}

function dtTableItems(bytes: Uint8Array, ins: Inspection, prefix: string): void {
  const t = parseDtTable(bytes);
  const summary = summaries(ins.name);
  const failed = new Map<string, string>();
  for (const e of t.entries) {
    const detail = [`id ${hex(e.id)} rev ${hex(e.rev)}`];
    if (e.custom.some((w) => w !== 0)) detail.push(`custom ${e.custom.map(hex).join(' ')}`);
    if (e.compression !== 'none') detail.push(`${e.compression}-compressed`);
    let dtb;
    const key = `${e.offset}:${e.size}:${e.compression}`;
    try {
      const known = failed.get(key);
      if (known !== undefined) detail.push(known);
      else dtb = summary(key, () => dtTableEntryBlob(e));
    } catch (err) {
      if (!(err instanceof FormatError)) throw err;
      failed.set(key, `not readable: ${err.inFile(ins.name).message}`);
      detail.push(failed.get(key)!);
    }
    ins.items.push({ label: `${prefix}entry ${e.index}`, offset: e.offset, size: e.size, detail, ...(dtb ? { dtb } : {}) });
  }
}

function describeDtTable(bytes: Uint8Array, ins: Inspection): void {
  const t = parseDtTable(bytes);
  ins.format = `Android DT table (dtb.img/dtbo.img) version ${t.version}`;
  fact(ins, 'entries', String(t.entries.length));
  fact(ins, 'page size', String(t.pageSize));
  fact(ins, 'total size', t.totalSize);
  dtTableItems(bytes, ins, '');
}

function describeDtbs(bytes: Uint8Array, ins: Inspection): void {
  const blobs = splitDtbs(bytes);
  ins.format = blobs.length === 1 ? 'flattened device tree (DTB)' : `${blobs.length} flattened device trees, one after another`;
  blobs.forEach((b, i) => {
    const summary = summarizeDtb(b, ins.name);
    if (blobs.length === 1) {
      const f = parseFdt(b);
      fact(ins, 'version', String(f.version));
      fact(ins, 'total size', f.totalSize);
    }
    ins.items.push({ label: blobs.length === 1 ? 'dtb' : `dtb ${i}`, size: b.length, detail: [], dtb: summary });
  });
}

/** Formats whose errors say what is wrong inside a file that is recognisably a kernel or a config. */
const SPECIFIC = new Set(['zimage', 'arm64-image', 'gzip', 'lz4-legacy']);

/**
 * A kernel, else a kernel configuration. When neither reads, a file that is
 * recognisably one of them (its reader got past the magic) gets that reader's
 * own error; anything else returns false for the generic "not a format we read".
 */
function describeKernelOrConfig(bytes: Uint8Array, ins: Inspection): boolean {
  try {
    const k = readKernel(bytes);
    ins.format = `${k.arch === 'arm' ? 'ARM zImage' : 'arm64 Image'} kernel${k.compression === 'none' ? '' : ` (${k.compression})`}`;
    fact(ins, 'architecture', k.arch);
    kernelItems(bytes, 'kernel', 0, ins, k);
    return true;
  } catch (e) {
    if (!(e instanceof FormatError)) throw e;
    // Past the magic (a kernel header, or a stream holding one): this reader's reason is the one to give.
    if (SPECIFIC.has(e.format)) throw e;
  }
  let text: string;
  try {
    text = configText(bytes);
  } catch (e) {
    if (!(e instanceof FormatError)) throw e;
    if (SPECIFIC.has(e.format)) throw e;
    return false;
  }
  if (!looksLikeKernelConfig(text)) return false;
  const c = parseKernelConfig(text);
  ins.format = `kernel configuration${sniffCompression(bytes) === 'gzip' ? ' (gzipped, as /proc/config.gz)' : ''}`;
  fact(ins, 'options', String(c.size));
  fact(ins, 'architecture', configEnabled(c, 'ARM64') ? 'arm64' : configEnabled(c, 'ARM') ? 'arm' : 'unknown');
  for (const name of ['KEXEC', 'KEXEC_HARDBOOT', 'KEXEC_HARDBOOT_PAGE', 'IKCONFIG', 'IKCONFIG_PROC']) {
    const v = configValue(c, name);
    fact(ins, `CONFIG_${name}`, v === undefined ? 'absent' : v === 'n' ? 'is not set' : v);
  }
  ins.notes.push('`hardboot doctor --config FILE` checks every option hardboot needs');
  return true;
}

// ---------------------------------------------------------------- text

function dtbLines(d: DtbSummary): string[] {
  if (d.error) return [`DTB not readable: ${d.error}`];
  const out: string[] = [];
  if (d.model !== undefined) out.push(`model ${JSON.stringify(d.model)}`);
  if (d.compatible.length) out.push(`compatible ${d.compatible.map((s) => JSON.stringify(s)).join(', ')}`);
  for (const ids of d.qcomIds ?? []) out.push(`qcom ids: ${ids}`);
  if (d.memory) out.push(`memory ${d.memory.join(' ')}`);
  out.push(`DTB ${formatSize(d.size)}`);
  return out;
}

/** The inspection as a person reads it. */
export function renderInspection(i: Inspection): string {
  const lines = [`${i.name}: ${i.format}, ${formatSize(i.size)} (${i.size} bytes)`];
  const width = Math.max(0, ...i.facts.map((f) => f.key.length));
  for (const f of i.facts) lines.push(`  ${f.key.padEnd(width)}  ${f.value}`);
  if (i.items.length) {
    lines.push('  contents:');
    for (const it of i.items) {
      const where = [it.offset !== undefined ? `at ${hex(it.offset)}` : '', it.size !== undefined ? formatSize(it.size) : ''].filter(Boolean).join(', ');
      lines.push(`    ${it.label}${where ? ` (${where})` : ''}`);
      for (const d of [...it.detail, ...(it.dtb ? dtbLines(it.dtb) : [])]) lines.push(`      ${d}`);
    }
  }
  for (const n of i.notes) lines.push(`  note: ${n}`);
  return lines.join('\n') + '\n';
}
