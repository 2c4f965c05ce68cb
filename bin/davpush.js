#!/usr/bin/env node
'use strict';
// `npx davpush …`: the operator CLI, compiled by `npm run build` (nest build) into dist/.
const fs = require('node:fs');
const path = require('node:path');

const entry = path.join(__dirname, '..', 'dist', 'apps', 'davpush', 'src', 'cli', 'main.js');
if (!fs.existsSync(entry)) {
  process.stderr.write('davpush: the CLI is not built yet: run `npm run build` first\n');
  process.exit(1);
}
require(entry);
