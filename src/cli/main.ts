/**
 * The one exit point: parse arguments, run a command, print its data, map
 * errors to exit codes. Results go to stdout, diagnostics to stderr.
 */
import pkg from '../../package.json' with { type: 'json' };
import { EXIT_CODES, HardbootError } from '../errors.js';
import type { Host } from '../system/host.js';
import { helpText, parseArgs } from './args.js';
import { doctor, exec, inspect, load, status, unload } from './commands.js';
import { renderFindings } from './doctor-render.js';
import { DEFAULT_BOOT_ROOT, renderMenu } from './entries.js';
import { automaticCandidates } from '../plan/boot.js';
import { type BootOutcome, blessCommand, bootCommand, menuCommand, readBootManager, setEntryCommand } from './boot.js';
import { renderInspection } from './inspect.js';
import { ready } from '../doctor/doctor.js';
import { renderPlan } from './render.js';
import { doctorJson, inspectErrorJson, inspectionJson, loadJson } from './json.js';

/** The version, from package.json: its one source. */
export const VERSION: string = pkg.version;

export interface Io {
  out(text: string): void;
  err(text: string): void;
}

export async function main(argv: readonly string[], host: Host, io: Io): Promise<number> {
  try {
    const o = parseArgs(argv);
    switch (o.action) {
      case 'help':
        io.out(helpText());
        return EXIT_CODES.ok;
      case 'version':
        io.out(`hardboot ${VERSION}\n`);
        return EXIT_CODES.ok;
      case 'exec':
        return await exec(o, host);
      case 'entries': {
        const root = o.root ?? DEFAULT_BOOT_ROOT;
        const br = readBootManager(root, host);
        const next = automaticCandidates(br.menu, br.state);
        const first = next.selections[0];
        const nextBoot = first ? { index: first.index, id: br.menu.entries[first.index]!.id, reason: first.reason } : undefined;
        const menu = { ...br.menu, notes: [...br.menu.notes, ...next.notes] };
        io.out(
          o.json
            ? JSON.stringify({ hardboot: VERSION, root, ...menu, ...(nextBoot ? { nextBoot } : {}) }, null, 2) + '\n'
            : renderMenu(menu, root) + (nextBoot ? `next boot: ${nextBoot.id} (${nextBoot.reason})\n` : ''),
        );
        return EXIT_CODES.ok;
      }
      case 'boot':
      case 'menu': {
        const r = o.action === 'boot' ? await bootCommand(o, host, io) : await menuCommand(o, host, io);
        if (o.dryRun) io.out(o.json ? JSON.stringify(bootJson(r), null, 2) + '\n' : `${renderPlan(r.load.plan)}${r.changes.map((c) => `then: ${c}\n`).join('')}`);
        return EXIT_CODES.ok;
      }
      case 'set-default':
      case 'set-oneshot': {
        const r = setEntryCommand(o, o.action === 'set-default' ? 'default' : 'oneshot', host);
        for (const n of r.notes) io.err(`hardboot: ${n}\n`);
        io.out(`${o.action === 'set-default' ? 'default' : 'next boot only'}: ${r.id} (${r.file})\n`);
        return EXIT_CODES.ok;
      }
      case 'bless':
        io.out(`${blessCommand(o, host)}\n`);
        return EXIT_CODES.ok;
      case 'status':
        // kexec-tools' codes, which scripts test: 0 loaded, 1 not.
        return status(host).loaded ? EXIT_CODES.ok : 1;
      case 'unload':
        await unload(host);
        return EXIT_CODES.ok;
      case 'inspect': {
        // Every file is reported; the exit code is the worst of them.
        const found = inspect(o, host);
        let code: number = EXIT_CODES.ok;
        for (const r of found) if (!r.ok) {
          io.err(`hardboot: ${r.error.message}\n`);
          code = Math.max(code, r.error.exitCode);
        }
        if (o.json) {
          const items = found.map((r) => (r.ok ? inspectionJson(r.inspection, VERSION) : inspectErrorJson(r.name, r.error.message, r.error.exitCode, VERSION)));
          io.out(JSON.stringify(items, null, 2) + '\n');
        } else {
          io.out(found.flatMap((r) => (r.ok ? [renderInspection(r.inspection)] : [])).join('\n'));
        }
        return code;
      }
      case 'doctor': {
        const r = doctor(o, host);
        io.out(o.json ? JSON.stringify(doctorJson(ready(r.findings), r.findings, r.inputs, VERSION), null, 2) + '\n' : renderFindings(r.findings));
        // Not ready is an answer, not a failure of the tool; scripts test it with --json or this code.
        return ready(r.findings) ? EXIT_CODES.ok : EXIT_CODES.notReady;
      }
      case 'load':
      case 'load-hardboot': {
        const r = await load(o, host);
        for (const n of r.notes) io.err(`hardboot: ${n}\n`);
        const warnings = r.plan.warnings.map((w) => `hardboot: warning: ${w}\n`).join('');
        if (o.json) {
          io.out(JSON.stringify(loadJson(r, VERSION, r.hardbootPage), null, 2) + '\n');
          io.err(warnings);
        } else if (o.dryRun) {
          io.out(renderPlan(r.plan)); // the rendered plan lists its warnings
        } else if (o.debug) {
          io.err(renderPlan(r.plan));
        } else {
          io.err(warnings);
        }
        // -f: boot what was just loaded, as kexec-tools does.
        if (o.force && r.loaded) return await exec(o, host);
        return EXIT_CODES.ok;
      }
      default: {
        // Every action has its case: a new one fails to compile until it gets one.
        const unhandled: never = o.action;
        throw new Error(`no handler for the action ${String(unhandled)}`);
      }
    }
  } catch (e) {
    if (e instanceof HardbootError) {
      io.err(`hardboot: ${e.message}\n`);
      return e.exitCode;
    }
    io.err(`hardboot: internal error: ${(e as Error).stack ?? String(e)}\n`);
    return EXIT_CODES.internal;
  }
}

function bootJson(r: BootOutcome): object {
  const e = r.plan.entry;
  return {
    hardboot: VERSION,
    entry: { source: e.source, id: e.id, file: e.file, title: e.title },
    reason: r.selection.reason,
    method: r.plan.method,
    changes: r.changes,
    load: loadJson(r.load, VERSION, r.load.hardbootPage),
  };
}
