// `node scripts/n8n/e2e.mjs [--only name,name] [--keep]`: the real-n8n end-to-end check (issues 8
// and 9), a separate CI step after `npm test`.
//   1. builds the package (scripts/build.mjs → dist/),
//   2. installs or reuses Node 24 + n8n 2.41.1 in a cache outside the repo (install.mjs),
//   3. bundles the harness (test/e2e/run.ts: emulator, feed server, n8n driver, the example
//      workflows' assertions) with esbuild and runs it under Node 24, where it starts a fresh n8n
//      user folder with the built package installed as a community package, and starts the bridge
//      (bridge/bin) as a child process on this Node (its better-sqlite3 is built for it).
// Exit code 0 only when every check passed. --keep leaves the n8n user folder for inspection.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { ensureDependencies, root, run } from '../setup.mjs';
import { ensureN8n } from './install.mjs';

const t0 = Date.now();
ensureDependencies();
run('node scripts/build.mjs');
const n8n = ensureN8n();

const out = mkdtempSync(join(tmpdir(), 'calendar-relay-e2e-bundle-'));
const bundle = join(out, 'run.cjs');
await build({
  entryPoints: [join(root, 'test', 'e2e', 'run.ts')],
  outfile: bundle,
  bundle: true,
  platform: 'node',
  target: 'node24',
  format: 'cjs',
  sourcemap: 'inline',
  logLevel: 'warning',
});
console.log(`\n[e2e] harness bundled; running it on Node 24 (${n8n.node})`);
const r = spawnSync(n8n.node, ['--enable-source-maps', bundle, ...process.argv.slice(2)], {
  cwd: root,
  stdio: 'inherit',
  // TMPDIR: n8n and the harness keep their temp files in the bundle's folder, removed below.
  env: { ...process.env, TMPDIR: out, CALENDAR_RELAY_ROOT: root, CALENDAR_RELAY_N8N_NODE: n8n.node, CALENDAR_RELAY_N8N_MAIN: n8n.n8nMain, CALENDAR_RELAY_N8N_DIR: n8n.n8nDir, CALENDAR_RELAY_BRIDGE_NODE: process.execPath },
});
rmSync(out, { recursive: true, force: true });
const code = r.status ?? 1;
console.log(`[e2e] ${code === 0 ? 'passed' : `FAILED (exit ${code}${r.signal ? `, ${r.signal}` : ''})`} in ${((Date.now() - t0) / 1000).toFixed(1)} s total`);
process.exitCode = code;
