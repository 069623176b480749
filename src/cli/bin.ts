#!/usr/bin/env node
// The process edge: the only place that ends the process.
import { realHost } from '../system/host.js';
import { main } from './main.js';

const code = await main(process.argv.slice(2), realHost, {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
});
process.exitCode = code;
