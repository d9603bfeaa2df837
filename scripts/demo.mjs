// `npm run demo [-- --keep]`: one command from a fresh clone — install dependencies if needed,
// build dist/, then run `calendar-relay demo` (cli/demo.ts) with any extra arguments.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ensureDependencies, root, run } from './setup.mjs';

ensureDependencies();
run('node scripts/build.mjs');
const args = process.argv.slice(2);
console.log(`\n[run] node dist/cli.js demo ${args.join(' ')}`.trimEnd());
const r = spawnSync(process.execPath, [join(root, 'dist', 'cli.js'), 'demo', ...args], { cwd: root, stdio: 'inherit' });
process.exitCode = r.status ?? 1;
