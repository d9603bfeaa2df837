// `npm test`: set-up on a fresh machine, then typecheck, lint, build, n8n's package scan, the whole
// Jest suite, and the end-to-end run in a real n8n 2.41.1 (scripts/n8n/e2e.mjs: installs Node 24 and
// n8n into ~/.cache/calendar-relay on the first run, then executes the example workflows).
// Extra arguments go to Jest and skip the n8n run (e.g. `npm test -- test/unit/time.test.ts`);
// CALENDAR_RELAY_E2E=0 skips it too (.ci/run's second round on Node 24, which n8n runs on anyway).
import { readFileSync, mkdirSync, mkdtempSync, existsSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureDependencies, run, root } from './setup.mjs';

ensureDependencies();
const jestArgs = process.argv.slice(2).map((a) => JSON.stringify(a)).join(' ');
const resultsFile = join(root, '.cache', 'jest-results.json');
mkdirSync(join(root, '.cache'), { recursive: true });
rmSync(resultsFile, { force: true }); // a stale file must not report an earlier run's figures
let failed = false;
try {
  run('npx tsc --noEmit -p tsconfig.json');
  run('npx n8n-node lint'); // n8n's own lint command: eslint . with @n8n/node-cli's community-node rules + ours
  run('node scripts/build.mjs');
  run('node scripts/scan-package.mjs'); // n8n's community-package scan on the packed package
  // --forceExit: a suite that fails half-way may leave a child process or socket behind; CI must end.
  // The suite's temp folders all go under one of its own, removed when Jest ends: a test that
  // forgets its folder (or a killed child's) leaves nothing behind. Jest's transform cache stays
  // where Jest keeps it by default, so later runs still reuse it.
  const suiteTmp = mkdtempSync(join(tmpdir(), 'calendar-relay-test-'));
  const jestCache = join(realpathSync(tmpdir()), `jest_${(process.getuid?.() ?? 0).toString(36)}`);
  try {
    run(`npx jest --ci --forceExit --cacheDirectory=${JSON.stringify(jestCache)} --json --outputFile=${JSON.stringify(resultsFile)} ${jestArgs}`, { env: { ...process.env, TMPDIR: suiteTmp } });
  } finally {
    rmSync(suiteTmp, { recursive: true, force: true });
  }
} catch (err) {
  failed = true;
  process.exitCode = typeof err.status === 'number' && err.status !== 0 ? err.status : 1;
}
const e2e = !failed && jestArgs === '' && process.env.CALENDAR_RELAY_E2E !== '0';
let e2eFailed = false;
if (e2e) {
  try {
    run('node scripts/n8n/e2e.mjs');
  } catch (err) {
    e2eFailed = true;
    process.exitCode = typeof err.status === 'number' && err.status !== 0 ? err.status : 1;
  }
}
// A closing line in the plain 'N passed, N failed' form, which CI reads for any runner.
if (existsSync(resultsFile)) {
  const r = JSON.parse(readFileSync(resultsFile, 'utf8'));
  console.log(`\njest: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`);
  if (r.numFailedTests > 0 || r.numFailedTestSuites > 0 || r.numRuntimeErrorTestSuites > 0) process.exitCode = process.exitCode || 1;
} else if (failed) {
  console.log('\njest: 0 passed, 1 failed');
}
if (e2e) console.log(`n8n e2e: ${e2eFailed ? 'failed' : 'passed'}`);
else if (!failed) console.log(`n8n e2e: skipped (${jestArgs ? 'Jest arguments given' : 'CALENDAR_RELAY_E2E=0'})`);
