#!/usr/bin/env node
// The single-file bundle (dist/hardboot.mjs, made by npm run build): one module for
// Node to load instead of the ~40 of build/src, which costs start-up on slow devices.
import '../dist/hardboot.mjs';
