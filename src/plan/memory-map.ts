/**
 * The memory map to plan in when it does not come from the running system:
 * RAM given (--memory) or the tree's /memory nodes; reserved regions from the
 * tree's /reserved-memory and /memreserve/ either way.
 */
import { FormatError } from '../errors.js';
import type { Fdt } from '../formats/fdt.js';
import { memoryMapFromFdt } from '../formats/fdt-memory.js';
import type { MemoryMap, Range } from '../util/memory.js';

export function memoryMapFor(fdt: Fdt, ram?: readonly Range[]): MemoryMap {
  const fromTree = memoryMapFromFdt(fdt);
  if (ram) return { ram: [...ram], reserved: fromTree.reserved, source: '--memory, DTB /reserved-memory' };
  if (fromTree.ram.length === 0) {
    throw new FormatError('FDT', 0, 'a /memory node with a non-empty reg', 'none (the bootloader fills it in? give --memory=START-END)');
  }
  return { ram: fromTree.ram, reserved: fromTree.reserved, source: 'DTB /memory and /reserved-memory' };
}
