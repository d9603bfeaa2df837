#!/usr/bin/env node
// `npx calendar-relay-bridge [options]` (see docs/bridge.md).
const { runBridge } = require('../loader.js');

runBridge(process.argv.slice(2), { stdout: (t) => process.stdout.write(t), stderr: (t) => process.stderr.write(t), env: process.env }).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`calendar-relay bridge: ${err.message}\n`);
    process.exitCode = 1;
  },
);
