/**
 * The release's entry (dist/hardboot.cjs), run two ways by the release's
 * launcher with the release's own Node:
 *  - as a V8 start-up snapshot: `node --build-snapshot hardboot.cjs` parses,
 *    compiles and initialises the whole CLI once and writes the heap to a blob;
 *    every later `node --snapshot-blob … -- ARGS` deserialises that heap instead
 *    of reading and compiling the tool again, and instead of Node's own
 *    bootstrap too (Debian builds Node without a built-in snapshot). V8 accepts a
 *    blob only on the CPU features it was made with, so each device makes its
 *    own, on its first run;
 *  - as a plain script (`node hardboot.cjs ARGS`), when no blob can be made.
 * Bundled as CommonJS with bare builtin names: Node 18 gives a snapshot script a
 * require() that knows only its builtins, by those names.
 *
 * The launcher starts Node in the release's directory and passes the caller's
 * directory in HARDBOOT_CWD. koffi is loaded only when the kernel is called:
 * its native module (the one build the release holds) straight through
 * process.dlopen, which skips Node's module loader and koffi's platform search
 * (a third of a second in the lab's emulated guests); koffi's own loader is the
 * fallback for any other layout.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { startupSnapshot } from 'node:v8';
import { realHost } from '../system/host.js';
import { koffiNativeIn, loadKoffiNative, setKoffiLoader } from '../system/kexec.js';
import { main } from './main.js';

function run(args: readonly string[]): void {
  const root = process.cwd();
  setKoffiLoader(async () => {
    const native = koffiNativeIn(join(root, 'node_modules'));
    return native ? loadKoffiNative(native) : createRequire(join(root, 'node_modules', 'hardboot'))('koffi');
  });
  const dir = process.env['HARDBOOT_CWD'];
  delete process.env['HARDBOOT_CWD'];
  if (dir) {
    try {
      process.chdir(dir);
    } catch (e) {
      process.stderr.write(`hardboot: cannot return to ${dir}: ${(e as Error).message}\n`);
      process.exitCode = 1;
      return;
    }
  }
  void main(args, realHost, {
    out: (t) => process.stdout.write(t),
    err: (t) => process.stderr.write(t),
  }).then((code) => {
    process.exitCode = code;
  });
}

if (startupSnapshot.isBuildingSnapshot()) {
  // Deserialised, Node's argv is [node, ...the arguments after --].
  startupSnapshot.setDeserializeMainFunction(() => run(process.argv.slice(1)));
} else {
  run(process.argv.slice(2));
}
