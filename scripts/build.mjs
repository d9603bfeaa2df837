// Bundles the package into dist/ with esbuild. Third-party code (ical.js, yaml, …) is bundled, so
// the published package has no runtime `dependencies`; n8n-workflow stays external (peer).
import { build } from 'esbuild';
import { existsSync, readdirSync, statSync, rmSync, chmodSync } from 'node:fs';
import { join, relative } from 'node:path';
import { root } from './setup.mjs';

function walk(dir, match, out = []) {
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, match, out);
    else if (match(name)) out.push(p);
  }
  return out;
}

const entryPoints = [
  ...['index.ts', 'cli.ts'].map((f) => join(root, f)).filter(existsSync),
  ...walk(join(root, 'nodes'), (n) => n.endsWith('.node.ts')),
  ...walk(join(root, 'credentials'), (n) => n.endsWith('.credentials.ts')),
];

rmSync(join(root, 'dist'), { recursive: true, force: true });
await build({
  entryPoints,
  outdir: join(root, 'dist'),
  outbase: root,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  external: ['n8n-workflow'],
  sourcemap: true,
  logLevel: 'warning',
  legalComments: 'linked',
});
if (existsSync(join(root, 'dist', 'cli.js'))) chmodSync(join(root, 'dist', 'cli.js'), 0o755);
console.log(`[build] ${entryPoints.map((e) => relative(root, e)).join(', ')} → dist/`);
