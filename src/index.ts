/**
 * hardboot as a library: `import { … } from 'hardboot'`.
 *
 * The public API, in the order a load goes: read the inputs (pure parsers over
 * `Uint8Array`), choose the device tree, plan the segments (pure), and, at the
 * edge, reach the machine through a `Host`. Everything else in the package is
 * internal and may change without notice.
 *
 * @example Plan an arm64 load from files, for a machine described by its tree:
 * ```ts
 * import { readFileSync } from 'node:fs';
 * import { memoryFromFdt, parseFdt, plan, readKernel, planJson } from 'hardboot';
 *
 * const kernel = readKernel(readFileSync('Image.gz'));
 * if (kernel.kind !== 'arm64-image') throw new Error('not an arm64 Image');
 * const fdt = parseFdt(readFileSync('board.dtb'));
 * const m = memoryFromFdt(fdt);
 * const p = plan({
 *   kernel: { arch: 'arm64', image: kernel, bytes: kernel.image },
 *   initrd: readFileSync('initrd.img'),
 *   dtb: { fdt, source: 'board.dtb' },
 *   memory: { ram: m.memory.map((r) => ({ start: r.start, end: r.start + r.size })), reserved: [], source: 'board.dtb' },
 *   options: { commandLine: 'console=ttyAMA0', entropy: new Uint8Array(64) },
 * });
 * console.log(planJson(p).segments);
 * ```
 *
 * @packageDocumentation
 */

// Errors: every failure is one of these, with an exit code.
export { EXIT_CODES, type ErrorKind, HardbootError, UsageError, FormatError, PlanError, SystemError, withFile, hex } from './errors.js';

// Kernel images and their compression.
export { readKernel, type KernelImage, type KernelCommon, KERNEL_MAX_BYTES } from './formats/kernel.js';
export { parseZImage, isZImage, type ZImage, type ZImageTag, type AppendedDtb, type Endian } from './formats/zimage.js';
export { parseArm64Image, isArm64Image, arm64MinLength, type Arm64Image } from './formats/arm64-image.js';
export { decompress, peekDecompressed, sniffCompression, gunzipMember, crc32, type Compression, type CompressionMagic, type Decompressed, type GzipMember, type GunzipOptions } from './formats/compress.js';
export { decodeLz4Legacy, type Lz4LegacyStream } from './formats/lz4.js';

// Device trees.
export {
  parseFdt,
  writeFdt,
  findNode,
  ensureNode,
  getProp,
  setProp,
  removeProp,
  readU32,
  readU64,
  readCells,
  readString,
  readStringList,
  u32Cells,
  u64Cells,
  stringValue,
  stringListValue,
  chosenBootargs,
  FDT_MAGIC,
  type Fdt,
  type FdtNode,
  type FdtProp,
  type FdtReservation,
  type WriteFdtOptions,
  type FdtLayout,
  type FdtBlock,
} from './formats/fdt.js';
export { memoryFromFdt, setMemoryReg, type FdtMemory, type MemoryRange, type ReservedRange } from './formats/fdt-memory.js';

// Android and Qualcomm containers.
export {
  parseBootImage,
  parseVendorBootImage,
  parseAndroidImage,
  isBootImage,
  isVendorBootImage,
  mergeVendorBoot,
  writeBootImage,
  writeVendorBootImage,
  type BootImage,
  type VendorBootImage,
  type VendorRamdisk,
  type BootImageSpec,
  type VendorBootImageSpec,
  type MergedBoot,
  type BootImageVersion,
  type OsVersion,
  type OsPatchLevel,
  type Section,
  type VendorRamdiskSpec,
  type VendorRamdiskType,
  VENDOR_RAMDISK_TYPES,
} from './formats/bootimg.js';
export { parseQcdt, writeQcdt, isQcdt, qcdtIdsFromFdt, qcdtEntryIds, type Qcdt, type QcdtEntry, type QcdtSpec, type QcdtEntrySpec, type QcdtIds, type QcdtVersion } from './formats/qcdt.js';
export { parseDtTable, writeDtTable, isDtTable, dtTableEntryBlob, type DtTable, type DtTableEntry, type DtTableSpec, type DtTableEntrySpec } from './formats/dttable.js';

// Kernel configurations and the running system's files, as text.
export { parseKernelConfig, configText, kernelIkconfig, findIkconfig, configValue, configEnabled, type KernelConfig, type KernelIkconfig, type EmbeddedConfig } from './formats/ikconfig.js';
export { parseIomem, memoryFromIomem, parseProcCmdline, parseKernelPageSize, parseHardbootDirectory, hardbootFromFile, type HardbootSupport, type IomemEntry } from './formats/proc.js';

// Boot menus: Boot Loader Specification entries and loader.conf, extlinux.conf.
export {
  parseBlsEntry,
  parseEntryName,
  attemptedEntryName,
  blessedEntryName,
  isBadEntry,
  compareVersions,
  compareAlphanumerical,
  readBlsMenuEntry,
  compareBlsEntries,
  sortBlsEntries,
  parseLoaderConf,
  globMatch,
  selectDefaultBlsEntry,
  BOOT_COUNTER_MAX,
  LOADER_TIMEOUT_MAX_SECONDS,
  type BlsEntry,
  type ConfigLine,
  type EntryName,
  type BlsMenuEntry,
  type BlsSortFields,
  type LoaderConf,
  type LoaderTimeout,
  type DefaultChoice,
  type DefaultReason,
} from './formats/bls.js';
export { parseExtlinux, defaultExtlinuxEntry, EXTLINUX_TIMEOUT_MAX_TENTHS, type ExtlinuxConf, type ExtlinuxEntry, type ExtlinuxLine } from './formats/extlinux.js';
export { buildMenu, type BootMenu, type MenuEntry, type MenuInput, type EntrySource } from './plan/menu.js';
// The boot manager: hardboot.conf and the state files, the automatic choice, one boot's plan.
export {
  parseBootConf,
  bootOptionsFor,
  parseStateFile,
  stateFileText,
  BOOT_CONF_MAX_SECTIONS,
  STATE_MAX_BYTES,
  type BootConf,
  type BootConfSection,
  type BootMethod,
  type EntryBootOptions,
} from './formats/hardboot-conf.js';
export {
  automaticCandidates,
  automaticSelection,
  findEntry,
  requireEntry,
  planBoot,
  planBless,
  underRoot,
  STATE_DIR,
  STATE_FILES,
  BOOT_CONF_FILE,
  type BootPlan,
  type BootState,
  type Selection,
  type SelectionReason,
} from './plan/boot.js';
export { bootFiles, realFsOps, type BootFiles, type FsOps } from './system/bootfs.js';
export { processTerminal, type Terminal } from './system/terminal.js';
export { decodeText, textLines, BOOT_CONFIG_MAX_BYTES, BOOT_CONFIG_MAX_LINES, type TextLine } from './util/text.js';

// Choosing the device tree for a board.
export {
  selectBoard,
  candidatesFromQcdt,
  candidatesFromDtTable,
  candidatesFromDtbs,
  applyLiveProps,
  type BoardCandidate,
  type BoardChoice,
  type LiveCopyReport,
  type MatchRule,
  type SelectOptions,
} from './plan/board.js';
export { parseBoards, findBoard, type BoardDef, type CopyRule } from './plan/boards.js';
export { qcomIdsOf, formatQcomIds, type QcomIds, type MsmIdForm } from './formats/qcom-ids.js';
export { splitDtbs, appendedDtbs } from './formats/dtb-list.js';

// Planning.
export { plan, type Plan, type PlanInput, type PlanOptions, type KernelInput, type Segment, type SegmentKind, type KeepClear } from './plan/plan.js';
export { type Range, type NamedRange, type MemoryMap, formatRange, formatSize } from './util/memory.js';
export { type Arch, KEXEC_ARCH, KEXEC_HARDBOOT, KEXEC_SEGMENT_MAX } from './plan/abi.js';
export { doctor, ready, type Finding, type DoctorInputs, type Severity } from './doctor/doctor.js';

// The commands, as the CLI runs them, and their output.
export { main, VERSION, type Io } from './cli/main.js';
export { parseArgs, helpText, BOOT_MANAGER_ACTIONS, type Options, type ParsedOptions, type Action, type BootManagerAction } from './cli/args.js';
export { load, exec, unload, inspect, doctor as doctorCommand, type LoadResult, type InspectResult } from './cli/commands.js';
export { describeFile, renderInspection, type Inspection, type InspectionItem, type DtbSummary } from './cli/inspect.js';
export { planJson, renderPlan, type PlanJson } from './cli/render.js';
export { loadJson, inspectionJson, doctorJson, SCHEMA_VERSION, type LoadJson } from './cli/json.js';

// The machine.
export { realHost, type Host } from './system/host.js';
