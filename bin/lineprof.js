#!/usr/bin/env node
'use strict';
const fs = require('node:fs');
const path = require('node:path');
// A checkout that was installed but not built has no dist/: say so in one line instead of a module-not-found stack.
const main = path.join(__dirname, '..', 'dist', 'src', 'cli', 'main.js');
if (!fs.existsSync(main)) {
  process.stderr.write('lineprof: not built: run `npm run build` in its folder first\n');
  process.exit(70);
}
require(main).main(process.argv.slice(2));
