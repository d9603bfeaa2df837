// `npm run bench [-- parse expand sync …] [--strict]`: bundles bench/run.ts and runs it.
import { build } from 'esbuild';
import { join } from 'node:path';
import { ensureDependencies, run, root } from './setup.mjs';

ensureDependencies();
const out = join(root, '.cache', 'bench', 'run.js');
await build({ entryPoints: [join(root, 'bench', 'run.ts')], outfile: out, bundle: true, platform: 'node', target: 'node20', format: 'cjs', external: ['node-ical', 'ical.js', 'n8n-workflow'], logLevel: 'warning' });
const args = process.argv.slice(2).map((a) => JSON.stringify(a)).join(' ');
try {
  run(`node --expose-gc --max-old-space-size=4096 ${JSON.stringify(out)} ${args}`);
} catch (err) {
  process.exitCode = err.status || 1;
}
