#!/usr/bin/env node
'use strict';
// `npm start` / `npm run start:api` / `npm run start:worker` / `npm run start:proxy`: runs the compiled role in this process
// (no rebuild: `npm ci` builds through the `prepare` script, `npm run build` rebuilds).
const fs = require('node:fs');
const path = require('node:path');

const roles = { davpush: 'davpush', api: 'api', worker: 'worker', proxy: 'proxy' };
const role = roles[process.argv[2] ?? 'davpush'];
if (!role) {
  process.stderr.write(`davpush: unknown role ${JSON.stringify(process.argv[2])} (davpush, api, worker or proxy)\n`);
  process.exit(2);
}
const entry = path.join(__dirname, '..', 'dist', 'apps', role, 'src', 'main.js');
if (!fs.existsSync(entry)) {
  process.stderr.write('davpush: not built yet: run `npm run build` (npm ci does it too)\n');
  process.exit(1);
}
require(entry);
