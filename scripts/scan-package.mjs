// n8n's community-package scan, offline: `npm pack` the built package, extract it, and run
// analyzePackage from @n8n/scan-community-package on the extract (its CLI needs a published
// package). Run after `node scripts/build.mjs`; `npm test` does.
//
// The node and credential bundles and package.json must pass with no exception. dist/index.js
// and dist/cli.js (the library entry and the `calendar-relay` command, with its unbuilt-clone shim bin/calendar-relay.js, which read files, print
// and use timers by nature) are reported but do not fail this step: see README "Use in n8n".
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { root } from './setup.mjs';

const LIBRARY_FACES = new Set(['dist/index.js', 'dist/cli.js', 'bin/calendar-relay.js']);

const dir = mkdtempSync(join(tmpdir(), 'cr-scan-'));
try {
  execFileSync('npm', ['pack', '--pack-destination', dir, '--silent'], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  const tgz = readdirSync(dir).find((f) => f.endsWith('.tgz'));
  execFileSync('tar', ['-xzf', join(dir, tgz), '-C', dir]);
  const pkgDir = join(dir, 'package');
  const { ESLint } = await import('eslint');
  // The scanner makes a temp folder of its own when loaded (the `tmp` package) and leaves it: let it make it in ours.
  process.env.TMPDIR = dir;
  const { buildScanConfig } = await import('@n8n/scan-community-package/scanner/scanner.mjs');
  // analyzePackage's own ESLint set-up, kept per file so the library faces can be told apart.
  const eslint = new ESLint({ cwd: pkgDir, allowInlineConfig: false, overrideConfigFile: true, overrideConfig: await buildScanConfig() });
  const results = await eslint.lintFiles(['**/*.js', '**/*.json'].map((p) => join(pkgDir, p)));
  let failures = 0;
  for (const r of results) {
    if (r.errorCount === 0) continue;
    const file = relative(pkgDir, r.filePath);
    if (LIBRARY_FACES.has(file)) {
      console.log(`[scan] ${file}: ${r.errorCount} finding(s) (library/CLI entry, not loaded by n8n)`);
      continue;
    }
    failures++;
    for (const m of r.messages) console.log(`[scan] ${file}:${m.line}:${m.column} ${m.message} (${m.ruleId})`);
  }
  const scanned = results.length;
  if (failures) {
    console.log(`[scan] FAILED: ${failures} file(s) of the n8n package have findings`);
    process.exitCode = 1;
  } else {
    console.log(`[scan] ok: ${scanned} files scanned; nodes, credentials and package.json pass`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
