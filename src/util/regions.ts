/**
 * Overlap checks for the tables of blobs that container formats carry (QCDT,
 * Android DT tables, vendor_boot ramdisk tables). A sort and one sweep: a table
 * of n entries costs O(n log n), never a comparison of every pair.
 */

/** One table entry's bytes: [offset, offset + size) in its container. */
export interface Region {
  offset: number;
  size: number;
  /** The entry's position in its table, for messages. */
  index: number;
}

/**
 * The first two regions found to overlap, the later table entry first; regions
 * of size 0 overlap nothing. With `sameAllowed`, entries that name exactly the
 * same bytes are not an overlap (dtbTool and mkdtboimg store a blob once for all
 * the entries that use it); any other overlap is.
 */
export function findOverlap(regions: readonly Region[], sameAllowed: boolean): [Region, Region] | undefined {
  const sorted = regions.filter((r) => r.size > 0).sort((a, b) => a.offset - b.offset || a.size - b.size || a.index - b.index);
  // The region reaching furthest among those already swept: any region that starts
  // before its end overlaps it (and every region that overlaps an earlier one does).
  let reach: Region | undefined;
  for (const r of sorted) {
    if (reach && r.offset < reach.offset + reach.size) {
      const same = r.offset === reach.offset && r.size === reach.size;
      if (!(same && sameAllowed)) return r.index > reach.index ? [r, reach] : [reach, r];
    }
    if (!reach || r.offset + r.size > reach.offset + reach.size) reach = r;
  }
  return undefined;
}
