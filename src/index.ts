/**
 * hardboot as a library: the pure formats and planner, the CLI's commands, and
 * the Host interface through which they reach a machine.
 */
export * from './errors.js';
export * from './formats/arm64-image.js';
export * from './formats/bootimg.js';
export * from './formats/dttable.js';
export * from './formats/ikconfig.js';
export * from './formats/qcdt.js';
export * from './formats/compress.js';
export * from './formats/fdt.js';
export * from './formats/fdt-memory.js';
export * from './formats/kernel.js';
export * from './formats/lz4.js';
export * from './formats/proc.js';
export * from './formats/zimage.js';
export * from './plan/abi.js';
export * from './plan/board.js';
export * from './plan/doctor.js';
export * from './plan/dtb.js';
export * from './plan/memory.js';
export * from './plan/plan.js';
export * from './plan/trampoline.js';
export { parseArgs, helpText, OPTIONS, type Options, type Action } from './cli/args.js';
export { load, exec, unload, inspect, doctor as doctorCommand, type LoadResult } from './cli/commands.js';
export { describeFile, renderInspection, type Inspection } from './cli/inspect.js';
export { renderFindings } from './cli/doctor-render.js';
export { planJson, renderPlan, renderMemory, type PlanJson } from './cli/render.js';
export { main, VERSION, type Io } from './cli/main.js';
export { realHost, type Host } from './system/host.js';
