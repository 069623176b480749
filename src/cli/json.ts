/**
 * The JSON that `--json` prints: stable documents, described by the JSON
 * Schemas in schemas/ (shipped in the package). Every document carries
 * `schemaVersion` (bumped on any incompatible change) and the tool's version;
 * every address and size is a "0x…" string; raw system files are never copied
 * in, only what was read from them.
 */
import { hex } from '../errors.js';
import type { HardbootSupport } from '../formats/proc.js';
import type { DoctorInputs, Finding } from '../doctor/doctor.js';
import { parseLockdown, parseProcStatus } from '../formats/proc.js';
import type { Inspection } from './inspect.js';
import type { LoadResult } from './commands.js';
import { planJson, type PlanJson } from './render.js';

export const SCHEMA_VERSION = 1;

export interface LoadJson extends PlanJson {
  schemaVersion: number;
  version: string;
  memory: { source: string; ram: { start: string; end: string }[]; reserved: { name: string; start: string; end: string }[] };
  hardbootPage: string | null;
  kernel: LoadResult['kernel'];
  saved: string[];
  loaded: boolean;
}

export function loadJson(r: LoadResult, version: string, hardbootPage: number | undefined): LoadJson {
  const m = r.plan.memory;
  return {
    schemaVersion: SCHEMA_VERSION,
    version,
    ...planJson(r.plan),
    memory: {
      source: m.source,
      ram: m.ram.map((x) => ({ start: hex(x.start), end: hex(x.end) })),
      reserved: m.reserved.map((x) => ({ name: x.name, start: hex(x.start), end: hex(x.end) })),
    },
    hardbootPage: hardbootPage === undefined ? null : hex(hardbootPage),
    kernel: r.kernel,
    saved: r.saved,
    loaded: r.loaded,
  };
}

/** One element of `inspect --json`'s array: a file's inspection, or why it could not be read. */
export function inspectionJson(i: Inspection, version: string): object {
  return {
    schemaVersion: SCHEMA_VERSION,
    version,
    name: i.name,
    size: hex(i.size),
    format: i.format,
    facts: i.facts,
    items: i.items.map((it) => ({
      label: it.label,
      ...(it.offset !== undefined ? { offset: hex(it.offset) } : {}),
      ...(it.size !== undefined ? { size: hex(it.size) } : {}),
      detail: it.detail,
      ...(it.dtb ? { dtb: { ...it.dtb, size: hex(it.dtb.size) } } : {}),
    })),
    notes: i.notes,
  };
}

export function inspectErrorJson(name: string, error: string, exitCode: number, version: string): object {
  return { schemaVersion: SCHEMA_VERSION, version, name, error, exitCode };
}

/** What the doctor read, as facts: parsed values, never the files' text. */
export function doctorFacts(i: Omit<DoctorInputs, 'config'>): object {
  const status = i.procStatus !== undefined ? parseProcStatus(i.procStatus) : undefined;
  const hb: HardbootSupport | undefined = i.hardboot;
  return {
    live: i.live,
    ...(i.configSource !== undefined ? { configSource: i.configSource } : {}),
    ...(i.arch !== undefined ? { arch: i.arch } : {}),
    ...(hb ? { hardboot: { ...hb, page: hex(hb.page), flag: hex(hb.flag) } } : {}),
    ...(i.hardbootError !== undefined ? { hardbootError: i.hardbootError } : {}),
    ...(i.kexecLoaded !== undefined ? { kexecLoaded: i.kexecLoaded.trim() === '1' } : {}),
    ...(i.firmwareFdt !== undefined ? { firmwareFdt: i.firmwareFdt } : {}),
    ...(status?.uid ? { euid: status.uid[1] ?? status.uid[0] } : {}),
    ...(status?.capEff !== undefined ? { capSysBoot: (status.capEff & (1n << 22n)) !== 0n } : {}),
    ...(i.lockdown !== undefined ? { lockdown: parseLockdown(i.lockdown) ?? i.lockdown.trim() } : {}),
    ...(i.kexecLoadDisabled !== undefined ? { kexecLoadDisabled: i.kexecLoadDisabled.trim() !== '0' } : {}),
  };
}

export function doctorJson(ready: boolean, findings: Finding[], inputs: Omit<DoctorInputs, 'config'>, version: string): object {
  return { schemaVersion: SCHEMA_VERSION, version, ready, findings, inputs: doctorFacts(inputs) };
}
