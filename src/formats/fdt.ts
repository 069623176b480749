/**
 * The flattened device tree (DTB): parse, edit, write. Pure functions over bytes.
 *
 * Layout (Devicetree Specification v0.4, chapter 5 "Flattened Devicetree (DTB) Format"):
 * a big-endian 40-byte header, then three blocks that the header locates — the
 * memory reservation map (8-aligned, (address, size) u64 pairs ended by (0, 0)),
 * the structure block (4-aligned tokens: FDT_BEGIN_NODE name, FDT_PROP len nameoff
 * value, FDT_END_NODE, FDT_NOP, FDT_END) and the strings block (NUL-terminated
 * property names that FDT_PROP points into) — then free space up to totalsize.
 *
 * The model is plain data (it survives structuredClone): a tree of nodes whose
 * property values are the raw bytes (views into the input, no copies), so
 * phandles and every encoding we do not interpret pass through untouched.
 *
 * ## Round trip: what "canonical" means
 * `writeFdt(parseFdt(b))` equals `b.subarray(0, totalsize)` byte for byte when b is
 * canonical, which every blob written by `dtc -O dtb` (with or without -p, -a, -R, -@)
 * and by libfdt (QEMU's `dumpdtb`) is:
 *  1. version 17 with last_comp_version 16 (the writer always writes 17/16);
 *  2. the structure block holds no FDT_NOP, each node's properties come before its
 *     subnodes, and size_dt_struct ends right after FDT_END (the padding after node
 *     names and values may hold anything: libfdt leaves stale bytes there, as in
 *     QEMU's blobs, and an unedited structure block is written back verbatim);
 *  3. each property's nameoff is the first place its name (with the NUL) occurs in
 *     the strings block — dtc and libfdt both look names up that way, which also
 *     shares suffixes ("#size-cells" can serve "size-cells");
 *  4. every byte of the first totalsize bytes that is not header, reservation
 *     entry, terminator, structure block or strings block is zero (gaps, free space);
 *  5. node and property names are valid UTF-8 (they are ASCII in every real tree).
 * To reproduce such blobs the parser keeps their `layout`: the block order and
 * the gap before each block (QEMU's reservation map sits at 0x30, not 0x28;
 * `dtc -R` leaves room after the map), the strings block verbatim (existing name
 * offsets hold, unused names stay), the structure block (for its padding bytes)
 * and totalsize (QEMU's 1 MiB, `dtc -p` padding). After edits the writer keeps
 * the order and gaps, packs each block after the previous one (so a grown
 * structure block pushes the strings along, a shrunk one pulls them back),
 * appends new names to the strings block, and never shrinks totalsize below the
 * recorded one: the free space simply changes. Without a layout (a tree built in
 * code, or `layout` deleted) the blob is laid out as dtc does: map at 0x28, then
 * structure, then strings, names added in tree order.
 * Non-canonical input still parses, and writes as an equivalent canonical blob.
 */
import { FormatError, hex } from '../errors.js';
import { ByteReader, alignUp, concatBytes, view } from '../util/bytes.js';

export const FDT_MAGIC = 0xd00dfeed;
/** Deepest nesting the parser accepts (the root is depth 1); real trees stay near 10. */
export const FDT_MAX_DEPTH = 64;

const FORMAT = 'FDT';
const HEADER_SIZE_V16 = 36; // v16 has no size_dt_struct
const HEADER_SIZE_V17 = 40;
const RESERVATION_SIZE = 16;

const FDT_BEGIN_NODE = 0x1;
const FDT_END_NODE = 0x2;
const FDT_PROP = 0x3;
const FDT_NOP = 0x4;
const FDT_END = 0x9;

/** One /memreserve/ entry of the header's reservation map. */
export interface FdtReservation {
  address: bigint;
  size: bigint;
}

/** A property; `value` is its raw bytes, exactly as in the blob. */
export interface FdtProp {
  name: string;
  value: Uint8Array;
}

/** A node; the root's name is "". Properties are written before children. */
export interface FdtNode {
  name: string;
  props: FdtProp[];
  children: FdtNode[];
}

export type FdtBlock = 'rsvmap' | 'struct' | 'strings';

/** Where a parsed blob kept its blocks: what lets writeFdt reproduce it. */
export interface FdtLayout {
  /**
   * The three blocks in file order, each with the bytes that preceded it: from
   * the end of the previous block, or of the 40-byte header for the first one.
   */
  blocks: { block: FdtBlock; gap: number }[];
  /** The strings block verbatim. */
  strings: Uint8Array;
  /** The structure block verbatim: used when the tree still encodes to it but for padding. */
  struct: Uint8Array;
  /** The blob's totalsize: free space at the end is kept. */
  totalSize: number;
}

export interface Fdt {
  /** Header version of the parsed blob (16 or 17); writeFdt always writes 17. */
  version: number;
  lastCompVersion: number;
  bootCpuidPhys: number;
  reservations: FdtReservation[];
  root: FdtNode;
  /** The header's totalsize: where the blob ends in the bytes it was parsed from. */
  totalSize: number;
  /** Absent for a tree built in code; delete it to have writeFdt lay the blob out afresh. */
  layout?: FdtLayout;
}

/** Where a parsed property came from, for error messages (lost by structuredClone, harmlessly). */
const origins = new WeakMap<FdtProp, { path: string; offset: number; value: Uint8Array }>();

// ---------------------------------------------------------------- parsing

/**
 * Parses a DTB. Validation is staged — magic, header, version, totalsize, block
 * bounds, alignment, overlap, reservation map, structure tokens — and each failure
 * is a FormatError with the offset and what was expected and found. Bytes after
 * totalsize are ignored (an appended DTB may be followed by padding).
 */
export function parseFdt(bytes: Uint8Array): Fdt {
  const r = new ByteReader(bytes, FORMAT);
  const magic = r.u32be(0, 'the FDT magic');
  if (magic !== FDT_MAGIC) r.fail(0, `magic ${hex(FDT_MAGIC)}`, hex(magic));
  r.need(0, HEADER_SIZE_V17, 'an FDT header');
  const totalSize = r.u32be(0x04);
  const structOffset = r.u32be(0x08);
  const stringsOffset = r.u32be(0x0c);
  const rsvOffset = r.u32be(0x10);
  const version = r.u32be(0x14);
  const lastCompVersion = r.u32be(0x18);
  const bootCpuidPhys = r.u32be(0x1c);
  const stringsSize = r.u32be(0x20);

  if (version !== 16 && version !== 17) r.fail(0x14, 'version 16 or 17', String(version));
  if (lastCompVersion > 16) r.fail(0x18, 'last_comp_version 16 or lower', String(lastCompVersion));
  const headerSize = version >= 17 ? HEADER_SIZE_V17 : HEADER_SIZE_V16;
  if (totalSize < headerSize || totalSize > bytes.length) {
    r.fail(0x04, `totalsize from ${hex(headerSize)} to the data length ${hex(bytes.length)}`, hex(totalSize));
  }

  // Block bounds. Version 16 has no size_dt_struct: the structure block then
  // reaches the next block or totalsize, and FDT_END marks where it really ends.
  const inside = `within [${hex(headerSize)}, ${hex(totalSize)})`;
  const nextStart = (off: number): number =>
    Math.min(totalSize, ...[structOffset, stringsOffset, rsvOffset].filter((o) => o > off));
  if (rsvOffset < headerSize || rsvOffset + RESERVATION_SIZE > totalSize) {
    r.fail(0x10, `the reservation map ${inside}`, `offset ${hex(rsvOffset)}`);
  }
  const structEnd = version >= 17 ? structOffset + r.u32be(0x24) : nextStart(structOffset);
  if (structOffset < headerSize || structEnd > totalSize) {
    r.fail(0x08, `the structure block ${inside}`, `[${hex(structOffset)}, ${hex(structEnd)})`);
  }
  const stringsEnd = stringsOffset + stringsSize;
  if (stringsOffset < headerSize || stringsEnd > totalSize) {
    r.fail(0x0c, `the strings block ${inside}`, `[${hex(stringsOffset)}, ${hex(stringsEnd)})`);
  }

  // Alignment (spec 5.1: the reservation map on 8 bytes, the structure block on 4).
  if (rsvOffset % 8 !== 0) r.fail(0x10, 'the reservation map aligned to 8 bytes', `offset ${hex(rsvOffset)}`);
  if (structOffset % 4 !== 0) r.fail(0x08, 'the structure block aligned to 4 bytes', `offset ${hex(structOffset)}`);

  // Overlap. The reservation map's end is only known once its terminator is
  // found, and the scan below stops at the next block, so checking its start suffices.
  const ranges = [
    { name: 'structure block', field: 0x08, start: structOffset, end: structEnd },
    { name: 'strings block', field: 0x0c, start: stringsOffset, end: stringsEnd },
    { name: 'reservation map', field: 0x10, start: rsvOffset, end: rsvOffset + 1 },
  ];
  for (let i = 0; i < ranges.length; i++) {
    for (let j = i + 1; j < ranges.length; j++) {
      const [a, b] = [ranges[i]!, ranges[j]!].sort((x, y) => x.start - y.start) as [Range, Range];
      if (a.end > a.start && b.end > b.start && b.start < a.end) {
        r.fail(
          b.field,
          'blocks that do not overlap',
          `${a.name} [${hex(a.start)}, ${hex(a.end)}) and ${b.name} starting at ${hex(b.start)}`,
        );
      }
    }
  }

  const reservations = parseReservations(r, rsvOffset, nextStart(rsvOffset));
  const root = parseStructure(r, structOffset, structEnd, stringsOffset, stringsSize);

  const placed = [
    { block: 'rsvmap' as const, start: rsvOffset, end: rsvOffset + (reservations.length + 1) * RESERVATION_SIZE },
    { block: 'struct' as const, start: structOffset, end: structEnd },
    { block: 'strings' as const, start: stringsOffset, end: stringsEnd },
  ].sort((a, b) => a.start - b.start);
  const blocks = placed.map(({ block, start }, i) => ({
    block,
    gap: Math.max(0, start - (i === 0 ? HEADER_SIZE_V17 : placed[i - 1]!.end)),
  }));
  return {
    version,
    lastCompVersion,
    bootCpuidPhys,
    reservations,
    root,
    totalSize,
    layout: {
      blocks,
      strings: bytes.subarray(stringsOffset, stringsEnd),
      struct: bytes.subarray(structOffset, structEnd),
      totalSize,
    },
  };
}

interface Range {
  name: string;
  field: number;
  start: number;
  end: number;
}

function parseReservations(r: ByteReader, start: number, limit: number): FdtReservation[] {
  const out: FdtReservation[] = [];
  for (let off = start; ; off += RESERVATION_SIZE) {
    if (off + RESERVATION_SIZE > limit) {
      r.fail(off, 'the (0, 0) terminator of the reservation map', `no terminator before ${hex(limit)}`);
    }
    const address = r.u64be(off);
    const size = r.u64be(off + 8);
    if (address === 0n && size === 0n) return out;
    out.push({ address, size });
  }
}

function parseStructure(
  r: ByteReader,
  start: number,
  end: number,
  stringsOffset: number,
  stringsSize: number,
): FdtNode {
  const stack: { node: FdtNode; path: string }[] = [];
  let root: FdtNode | undefined;
  let off = start;
  for (;;) {
    if (off + 4 > end) r.fail(off, 'the FDT_END token', `the end of the structure block at ${hex(end)}`);
    const token = r.u32be(off);
    const top = stack[stack.length - 1];
    switch (token) {
      case FDT_BEGIN_NODE: {
        if (root && !top) r.fail(off, 'FDT_END after the root node', 'a second root node (FDT_BEGIN_NODE)');
        if (stack.length >= FDT_MAX_DEPTH) {
          r.fail(off, `nodes nested at most ${FDT_MAX_DEPTH} deep`, `a node at depth ${stack.length + 1}`);
        }
        const name = cstring(r, off + 4, end, 'a NUL-terminated node name');
        const node: FdtNode = { name: name.text, props: [], children: [] };
        if (top) {
          top.node.children.push(node);
          stack.push({ node, path: top.path === '/' ? `/${node.name}` : `${top.path}/${node.name}` });
        } else {
          if (node.name !== '') r.fail(off + 4, 'an empty root node name', JSON.stringify(node.name));
          root = node;
          stack.push({ node, path: '/' });
        }
        off = alignUp(name.end, 4);
        break;
      }
      case FDT_END_NODE:
        if (!top) r.fail(off, root ? 'FDT_END after the root node' : 'the root node', 'FDT_END_NODE with no open node');
        stack.pop();
        off += 4;
        break;
      case FDT_PROP: {
        if (!top) r.fail(off, 'a property inside a node', 'FDT_PROP outside any node');
        if (off + 12 > end) {
          r.fail(off, 'a property header (12 bytes)', `the end of the structure block at ${hex(end)}`);
        }
        const len = r.u32be(off + 4);
        const nameoff = r.u32be(off + 8);
        if (len > end - off - 12) {
          r.fail(off + 4, `a property length of at most ${hex(end - off - 12)} (the structure block's end)`, hex(len));
        }
        if (nameoff >= stringsSize) {
          r.fail(off + 8, `a name offset below the strings block size ${hex(stringsSize)}`, hex(nameoff));
        }
        const name = cstring(r, stringsOffset + nameoff, stringsOffset + stringsSize, 'a NUL-terminated property name');
        const prop: FdtProp = { name: name.text, value: r.bytes.subarray(off + 12, off + 12 + len) };
        top.node.props.push(prop);
        origins.set(prop, {
          path: top.path === '/' ? `/${prop.name}` : `${top.path}/${prop.name}`,
          offset: off + 12,
          value: prop.value,
        });
        off = alignUp(off + 12 + len, 4);
        break;
      }
      case FDT_NOP:
        off += 4;
        break;
      case FDT_END:
        if (top) r.fail(off, `FDT_END_NODE closing ${top.path}`, 'FDT_END');
        if (!root) r.fail(off, 'the root node (FDT_BEGIN_NODE)', 'FDT_END');
        return root;
      default:
        r.fail(off, 'a structure token (FDT_BEGIN_NODE, FDT_END_NODE, FDT_PROP, FDT_NOP or FDT_END)', hex(token));
    }
  }
}

/** A NUL-terminated UTF-8 string at off that must end before `end`; returns the offset after the NUL. */
function cstring(r: ByteReader, off: number, end: number, what: string): { text: string; end: number } {
  const nul = r.bytes.subarray(off, end).indexOf(0);
  if (nul < 0) r.fail(off, what, `no NUL before ${hex(end)}`);
  return { text: utf8Decoder.decode(r.bytes.subarray(off, off + nul)), end: off + nul + 1 };
}

const utf8Decoder = new TextDecoder('utf-8', { fatal: false });
const utf8Encoder = new TextEncoder();

// ---------------------------------------------------------------- writing

export interface WriteFdtOptions {
  /** Zero bytes to leave after the last block, for the kernel or a bootloader to grow /chosen. */
  padding?: number;
  /** The smallest totalsize to write. */
  minTotalSize?: number;
}

const BLOCK_ALIGN: Record<FdtBlock, number> = { rsvmap: 8, struct: 4, strings: 1 };
const DEFAULT_ORDER: FdtBlock[] = ['rsvmap', 'struct', 'strings'];

/**
 * Writes a version 17 DTB. Every offset is computed first (strings table, block
 * sizes, block placement, totalsize), then the bytes are written once. See the
 * module comment for how a parsed blob's layout is kept.
 */
export function writeFdt(fdt: Fdt, opts: WriteFdtOptions = {}): Uint8Array {
  const padding = opts.padding ?? 0;
  const minTotalSize = opts.minTotalSize ?? 0;
  for (const [what, n] of [['padding', padding], ['minTotalSize', minTotalSize]] as const) {
    if (!Number.isSafeInteger(n) || n < 0) throw new FormatError(FORMAT, 0, `a ${what} of 0 or more bytes`, String(n));
  }
  if (fdt.root.name !== '') throw new FormatError(FORMAT, 0, 'an empty root node name', JSON.stringify(fdt.root.name));
  for (const [i, e] of fdt.reservations.entries()) {
    if (!isU64(e.address) || !isU64(e.size) || (e.address === 0n && e.size === 0n)) {
      throw new FormatError(
        FORMAT,
        0,
        `reservation ${i}: a 64-bit (address, size) other than (0, 0)`,
        `(${hex(e.address)}, ${hex(e.size)})`,
      );
    }
  }

  // 1. Names and sizes.
  const strings = new StringTable(fdt.layout?.strings ?? new Uint8Array(0));
  const plan: EncodedNode[] = [];
  const structSize = planStructure(fdt.root, '/', 1, strings, plan) + 4; // + FDT_END
  const stringsBytes = strings.bytes();
  const sizes: Record<FdtBlock, number> = {
    rsvmap: (fdt.reservations.length + 1) * RESERVATION_SIZE,
    struct: structSize,
    strings: stringsBytes.length,
  };

  // 2. Placement: in the recorded order, each block after the gap it had, aligned.
  const order = fdt.layout?.blocks ?? DEFAULT_ORDER.map((block) => ({ block, gap: 0 }));
  const offsets: Record<FdtBlock, number> = { rsvmap: 0, struct: 0, strings: 0 };
  let end = HEADER_SIZE_V17;
  for (const { block, gap } of order) {
    offsets[block] = alignUp(end + gap, BLOCK_ALIGN[block]);
    end = offsets[block] + sizes[block];
  }
  const totalSize = Math.max(end + padding, minTotalSize, fdt.layout?.totalSize ?? 0);
  if (totalSize > 0xffffffff) throw new FormatError(FORMAT, 0, 'a totalsize that fits 32 bits', hex(totalSize));

  // 3. Bytes.
  const out = new Uint8Array(totalSize);
  const dv = view(out);
  const header = [
    FDT_MAGIC,
    totalSize,
    offsets.struct,
    offsets.strings,
    offsets.rsvmap,
    17,
    16,
    fdt.bootCpuidPhys,
    sizes.strings,
    sizes.struct,
  ];
  header.forEach((word, i) => dv.setUint32(i * 4, word, false));
  fdt.reservations.forEach((e, i) => {
    dv.setBigUint64(offsets.rsvmap + i * RESERVATION_SIZE, e.address, false);
    dv.setBigUint64(offsets.rsvmap + i * RESERVATION_SIZE + 8, e.size, false);
  });
  const pads: [number, number][] = []; // [start, end) of alignment bytes, relative to the block
  let off = offsets.struct;
  for (const item of plan) {
    dv.setUint32(off, item.token, false);
    if (item.token === FDT_BEGIN_NODE) {
      out.set(item.name, off + 4);
      pads.push([off + 5 + item.name.length - offsets.struct, off + item.size - offsets.struct]);
    } else if (item.token === FDT_PROP) {
      dv.setUint32(off + 4, item.value.length, false);
      dv.setUint32(off + 8, item.nameoff, false);
      out.set(item.value, off + 12);
      pads.push([off + 12 + item.value.length - offsets.struct, off + item.size - offsets.struct]);
    }
    off += item.size;
  }
  dv.setUint32(off, FDT_END, false);
  const original = fdt.layout?.struct;
  if (original && sameButPadding(out.subarray(offsets.struct, off + 4), original, pads)) {
    out.set(original, offsets.struct);
  }
  out.set(stringsBytes, offsets.strings);
  return out;
}

/** Whether `original` is `encoded` with other bytes in the padding ranges (the tree is unchanged). */
function sameButPadding(encoded: Uint8Array, original: Uint8Array, padding: [number, number][]): boolean {
  if (encoded.length !== original.length) return false;
  let from = 0;
  for (const [start, end] of [...padding, [encoded.length, encoded.length] as [number, number]]) {
    for (let i = from; i < start; i++) if (encoded[i] !== original[i]) return false;
    from = end;
  }
  return true;
}

type EncodedNode =
  | { token: typeof FDT_BEGIN_NODE; name: Uint8Array; size: number }
  | { token: typeof FDT_PROP; nameoff: number; value: Uint8Array; size: number }
  | { token: typeof FDT_END_NODE; size: 4 };

/** Flattens the tree into tokens (names looked up or added), returning the bytes they take. */
function planStructure(node: FdtNode, path: string, depth: number, strings: StringTable, out: EncodedNode[]): number {
  if (depth > FDT_MAX_DEPTH) throw new FormatError(FORMAT, 0, `nodes nested at most ${FDT_MAX_DEPTH} deep`, path);
  const name = utf8Encoder.encode(node.name);
  if (name.includes(0)) throw new FormatError(FORMAT, 0, 'a node name without NUL', JSON.stringify(path));
  let size = alignUp(4 + name.length + 1, 4);
  out.push({ token: FDT_BEGIN_NODE, name, size });
  for (const prop of node.props) {
    if (prop.name.includes('\0')) {
      throw new FormatError(FORMAT, 0, `a property name in ${path} without NUL`, JSON.stringify(prop.name));
    }
    const item = {
      token: FDT_PROP,
      nameoff: strings.offsetOf(prop.name),
      value: prop.value,
      size: alignUp(12 + prop.value.length, 4),
    } as const;
    out.push(item);
    size += item.size;
  }
  for (const child of node.children) {
    size += planStructure(child, path === '/' ? `/${child.name}` : `${path}/${child.name}`, depth + 1, strings, out);
  }
  out.push({ token: FDT_END_NODE, size: 4 });
  return size + 4;
}

/**
 * The strings block: starts from the blob's own (so its offsets hold) and
 * appends what is missing. A name is found where dtc and libfdt find it: the
 * first offset at which name + NUL occurs, suffixes of longer names included.
 */
class StringTable {
  private readonly first = new Map<string, number>();
  private readonly added: Uint8Array[] = [];
  private addedLength = 0;
  constructor(private readonly base: Uint8Array) {
    this.index(base, 0);
  }

  offsetOf(name: string): number {
    const key = binary(utf8Encoder.encode(name));
    const known = this.first.get(key);
    if (known !== undefined) return known;
    const at = this.base.length + this.addedLength;
    const bytes = utf8Encoder.encode(`${name}\0`);
    this.added.push(bytes);
    this.addedLength += bytes.length;
    this.index(bytes, at);
    return at;
  }

  bytes(): Uint8Array {
    if (this.added.length === 0) return this.base;
    return concatBytes([this.base, ...this.added]);
  }

  /**
   * Records every suffix of every NUL-terminated string in `bytes` (placed at
   * `at`), keeping the first. Only strings up to SUFFIX_INDEX_MAX bytes have
   * their suffixes indexed (property names are at most 31 characters by the
   * specification; a longer one is indexed whole), so a hostile name costs
   * linear, not quadratic, work.
   */
  private index(bytes: Uint8Array, at: number): void {
    let start = 0;
    for (let nul = bytes.indexOf(0); nul >= 0; start = nul + 1, nul = bytes.indexOf(0, start)) {
      const s = binary(bytes.subarray(start, nul));
      const last = s.length <= SUFFIX_INDEX_MAX ? s.length : 0;
      for (let k = 0; k <= last; k++) {
        const key = s.slice(k);
        if (!this.first.has(key)) this.first.set(key, at + start + k);
      }
    }
  }
}

/** Longest string whose suffixes the writer's string table reuses (dtc's own names are far shorter). */
const SUFFIX_INDEX_MAX = 256;

/** Bytes as a string of code points 0–255: a map key that compares byte for byte. */
function binary(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return s;
}

function isU64(v: bigint): boolean {
  return typeof v === 'bigint' && v >= 0n && v < 1n << 64n;
}

// ---------------------------------------------------------------- editing

/** Every node with its path, parents before children (depth first, in tree order). */
export function* walk(root: FdtNode, path = '/'): Generator<{ node: FdtNode; path: string }> {
  yield { node: root, path };
  for (const child of root.children) yield* walk(child, path === '/' ? `/${child.name}` : `${path}/${child.name}`);
}

/**
 * The node at an absolute path such as `/soc/serial@9000000`, or undefined. As
 * in dtc, a component without `@unit` matches a node with one when only one
 * node of that name exists there (`/memory` finds `memory@40000000`); an exact
 * name always wins, and an ambiguous one throws.
 */
export function findNode(fdt: Fdt, path: string): FdtNode | undefined {
  let node = fdt.root;
  let here = '';
  for (const component of pathComponents(path)) {
    const child = matchChild(node, component, here || '/');
    if (!child) return undefined;
    node = child;
    here += `/${child.name}`;
  }
  return node;
}

/** The node at `path`, creating any missing node on the way (named exactly as the path says). */
export function ensureNode(fdt: Fdt, path: string): FdtNode {
  let node = fdt.root;
  let here = '';
  for (const component of pathComponents(path)) {
    let child = matchChild(node, component, here || '/');
    if (!child) {
      child = { name: component, props: [], children: [] };
      node.children.push(child);
    }
    node = child;
    here += `/${child.name}`;
  }
  return node;
}

function pathComponents(path: string): string[] {
  if (!path.startsWith('/')) throw new FormatError(FORMAT, 0, 'an absolute node path', JSON.stringify(path));
  return path.split('/').filter((c) => c !== '');
}

function matchChild(node: FdtNode, component: string, parentPath: string): FdtNode | undefined {
  const exact = node.children.find((c) => c.name === component);
  if (exact || component.includes('@')) return exact;
  const named = node.children.filter((c) => c.name.split('@')[0] === component);
  if (named.length > 1) {
    throw new FormatError(
      FORMAT,
      0,
      `one node named ${component} under ${parentPath}`,
      named.map((c) => c.name).join(', '),
    );
  }
  return named[0];
}

/** The node's first property of that name. */
export function getProp(node: FdtNode, name: string): FdtProp | undefined {
  return node.props.find((p) => p.name === name);
}

/** Sets a property's value in place, or appends the property; returns it. */
export function setProp(node: FdtNode, name: string, value: Uint8Array): FdtProp {
  const prop = getProp(node, name);
  if (prop) {
    prop.value = value;
    return prop;
  }
  const added = { name, value };
  node.props.push(added);
  return added;
}

/** Removes every property of that name; true if there was one. */
export function removeProp(node: FdtNode, name: string): boolean {
  const before = node.props.length;
  node.props = node.props.filter((p) => p.name !== name);
  return node.props.length !== before;
}

// ---------------------------------------------------------------- values

/**
 * A FormatError about a property's value. It names the property's path (the
 * parse-time path if known, else `path`, else its bare name) and, for a value
 * still as parsed, its offset in the blob; otherwise offset 0.
 */
export function propError(prop: FdtProp, expected: string, found: string, path?: string): FormatError {
  const origin = origins.get(prop);
  const where = path ?? origin?.path ?? prop.name;
  const offset = origin && origin.value === prop.value ? origin.offset : 0;
  return new FormatError(FORMAT, offset, `${where}: ${expected}`, found);
}

/** Offset of a parsed property's value in its blob, or 0 for one edited or built in code. */
export function propOffset(prop: FdtProp): number {
  const origin = origins.get(prop);
  return origin && origin.value === prop.value ? origin.offset : 0;
}

/** Big-endian cells, `width` 32-bit cells per value (1: u32, 2: u64). */
export function cells(values: readonly (number | bigint)[], width: 1 | 2): Uint8Array {
  if (width !== 1 && width !== 2) throw new FormatError(FORMAT, 0, 'a cell width of 1 or 2', String(width));
  const out = new Uint8Array(values.length * 4 * width);
  const dv = view(out);
  values.forEach((v, i) => {
    const big = typeof v === 'bigint' ? v : Number.isSafeInteger(v) ? BigInt(v) : -1n;
    if (big < 0n || big >= 1n << BigInt(32 * width)) {
      throw new FormatError(FORMAT, 0, `a value that fits ${width === 1 ? 'one cell' : 'two cells'}`, hex(v));
    }
    if (width === 1) dv.setUint32(i * 4, Number(big), false);
    else dv.setBigUint64(i * 8, big, false);
  });
  return out;
}

/** `<a b c>`: one 32-bit cell per number. */
export function u32Cells(...values: number[]): Uint8Array {
  return cells(values, 1);
}

/** `/bits/ 64 <a b>`, i.e. two cells per value, high cell first. */
export function u64Cells(...values: (number | bigint)[]): Uint8Array {
  return cells(values, 2);
}

/** A NUL-terminated UTF-8 string value. */
export function stringValue(s: string): Uint8Array {
  return stringListValue([s]);
}

/** A string list (`"a", "b"`): each string NUL-terminated, back to back. */
export function stringListValue(list: readonly string[]): Uint8Array {
  for (const s of list) {
    if (s.includes('\0')) throw new FormatError(FORMAT, 0, 'a string without NUL', JSON.stringify(s));
  }
  return utf8Encoder.encode(list.map((s) => `${s}\0`).join(''));
}

/** A one-cell property. */
export function readU32(prop: FdtProp, path?: string): number {
  if (prop.value.length !== 4) throw propError(prop, '4 bytes (one cell)', `${prop.value.length} bytes`, path);
  return view(prop.value).getUint32(0, false);
}

/** A two-cell property (e.g. kaslr-seed). */
export function readU64(prop: FdtProp, path?: string): bigint {
  if (prop.value.length !== 8) throw propError(prop, '8 bytes (two cells)', `${prop.value.length} bytes`, path);
  return view(prop.value).getBigUint64(0, false);
}

/** The value as numbers of `width` cells each (e.g. 2 for 64-bit addresses). */
export function readCells(prop: FdtProp, width: number, path?: string): bigint[] {
  if (!Number.isInteger(width) || width < 1) throw propError(prop, 'a cell width of 1 or more', String(width), path);
  const unit = 4 * width;
  if (prop.value.length % unit !== 0) {
    throw propError(prop, `a multiple of ${unit} bytes (${width}-cell values)`, `${prop.value.length} bytes`, path);
  }
  const dv = view(prop.value);
  const out: bigint[] = [];
  for (let off = 0; off < prop.value.length; off += unit) {
    let v = 0n;
    for (let c = 0; c < width; c++) v = (v << 32n) | BigInt(dv.getUint32(off + c * 4, false));
    out.push(v);
  }
  return out;
}

/** A single NUL-terminated string. */
export function readString(prop: FdtProp, path?: string): string {
  const list = readStringList(prop, path);
  if (list.length !== 1) throw propError(prop, 'one NUL-terminated string', `${list.length} strings`, path);
  return list[0]!;
}

/** A string list; an empty value is an empty list. */
export function readStringList(prop: FdtProp, path?: string): string[] {
  const v = prop.value;
  if (v.length === 0) return [];
  const last = v[v.length - 1]!;
  if (last !== 0) throw propError(prop, 'NUL-terminated strings', `last byte ${hex(last)}`, path);
  return utf8Decoder.decode(v.subarray(0, v.length - 1)).split('\0');
}

/**
 * /chosen/bootargs of a running tree as /proc/cmdline would read: the text, or
 * '' when there is none; BOOT_IMAGE= (a boot loader's note) is dropped.
 */
export function chosenBootargs(fdt: Fdt): string {
  const chosen = findNode(fdt, '/chosen');
  const p = chosen ? getProp(chosen, 'bootargs') : undefined;
  if (!p) return '';
  return readString(p, '/chosen/bootargs')
    .split(/\s+/)
    .filter((w) => w !== '' && !w.startsWith('BOOT_IMAGE='))
    .join(' ');
}
