#!/usr/bin/env node
// The `calendar-relay` command. It runs the bundle in dist/; in a clone of the repository that has
// not been built yet it says so (instead of the shell's "calendar-relay: not found").
'use strict';
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const cli = join(__dirname, '..', 'dist', 'cli.js');
if (!existsSync(cli)) {
  process.stderr.write(
    'calendar-relay: this copy is not built yet (no dist/cli.js). In a clone of the repository run\n' +
      '  npm run build      (or `npm test` / `npm run demo`, which build too)\n' +
      'and then `npx calendar-relay --help`.\n',
  );
  process.exit(1);
}
// Run the bundle as the main module, so it sees the same argv and `require.main` as if called directly.
process.argv[1] = cli;
require('node:module').runMain();
