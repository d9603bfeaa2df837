// Bundles the package into dist/ with esbuild. Third-party code (ical.js, yaml, …) is bundled, so
// the published package has no runtime `dependencies`; n8n-workflow stays external (peer).
import { build } from 'esbuild';
import { existsSync, readdirSync, statSync, rmSync, chmodSync, readFileSync, writeFileSync, mkdirSync, copyFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { join, relative, sep } from 'node:path';
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

const libraryEntries = ['index.ts', 'cli.ts'].map((f) => join(root, f)).filter(existsSync);
const n8nEntries = [
  ...walk(join(root, 'nodes'), (n) => n.endsWith('.node.ts')),
  ...walk(join(root, 'credentials'), (n) => n.endsWith('.credentials.ts')),
];
const entryPoints = [...libraryEntries, ...n8nEntries];

// `--outdir <dir>` builds elsewhere (the packaging test builds into a temp folder).
const outArg = process.argv.indexOf('--outdir');
const outdir = outArg !== -1 ? process.argv[outArg + 1] : join(root, 'dist');
// `--no-sourcemap` (used by `prepack`): the package ships no source maps (they were 3.9 MB of 6.0 MB).
const sourcemap = !process.argv.includes('--no-sourcemap');
rmSync(outdir, { recursive: true, force: true });
const common = {
  metafile: true,
  outdir,
  outbase: root,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  external: ['n8n-workflow'],
  sourcemap,
  logLevel: 'warning',
  legalComments: 'linked',
};

/**
 * n8n's community-node rules forbid timers in node code: the node and credential bundles get
 * nodes/shared/platform-sleep.ts (n8n-workflow's sleep) wherever providers/ import
 * ./platform-sleep (see providers/platform-sleep.ts).
 */
const n8nPlatform = {
  name: 'n8n-platform',
  setup(b) {
    b.onResolve({ filter: /[\\/]platform-sleep$|^\.\/platform-sleep$/ }, (args) => {
      if (!args.importer.startsWith(join(root, 'providers'))) return undefined;
      return { path: join(root, 'nodes', 'shared', 'platform-sleep.ts') };
    });
  },
};

const results = await Promise.all([
  libraryEntries.length ? build({ ...common, entryPoints: libraryEntries }) : { metafile: { inputs: {} } },
  n8nEntries.length ? build({ ...common, entryPoints: n8nEntries, plugins: [n8nPlatform] }) : { metafile: { inputs: {} } },
]);
const result = { metafile: { inputs: Object.assign({}, ...results.map((r) => r.metafile.inputs)) } };
writeThirdPartyNotices(result.metafile, outdir);
copyNodeAssets(outdir);
if (existsSync(join(outdir, 'cli.js'))) chmodSync(join(outdir, 'cli.js'), 0o755);
console.log(`[build] ${entryPoints.map((e) => relative(root, e)).join(', ')} → ${relative(root, outdir) || outdir}/`);

/**
 * n8n loads icons (`file:x.svg`, relative to the .node.js / .credentials.js) and codex files
 * (`X.node.json` next to `X.node.js`) from dist/: copy them with the same layout.
 */
function copyNodeAssets(outdir) {
  const assets = ['nodes', 'credentials'].flatMap((d) => walk(join(root, d), (n) => n.endsWith('.svg') || n.endsWith('.png') || n.endsWith('.node.json')));
  for (const file of assets) {
    const target = join(outdir, relative(root, file));
    mkdirSync(dirname(target), { recursive: true });
    copyFileSync(file, target);
  }
  console.log(`[build] ${assets.length} icon and codex files copied`);
}

/**
 * Bundling ships other people's code inside dist/, so their licence notices must ship too
 * (rrule's BSD-3-Clause, ical.js's MPL-2.0, …): one file naming every bundled package, its
 * version and licence, with the licence text from the package.
 */
function writeThirdPartyNotices(metafile, outdir) {
  const packages = new Map();
  for (const input of Object.keys(metafile.inputs)) {
    const parts = input.split(/[\\/]/);
    const at = parts.lastIndexOf('node_modules');
    if (at === -1) continue;
    const name = parts[at + 1].startsWith('@') ? `${parts[at + 1]}/${parts[at + 2]}` : parts[at + 1];
    const dir = join(root, ...parts.slice(0, at + 1), ...name.split('/'));
    packages.set(dir, name);
  }
  const sections = [...packages].sort((a, b) => a[1].localeCompare(b[1])).map(([dir, name]) => {
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    const licenceFile = readdirSync(dir).find((f) => /^(licen[cs]e|copying)(\.|$)/i.test(f));
    const text = licenceFile ? readFileSync(join(dir, licenceFile), 'utf8').trim() : `(no licence file in the package; package.json says ${pkg.license})`;
    return `## ${name} ${pkg.version} — ${pkg.license ?? 'see text'}\n\n${text}\n`;
  });
  const header = '# Third-party notices\n\ndist/ bundles the following packages (see scripts/build.mjs).\n\n';
  writeFileSync(join(outdir, 'THIRD-PARTY-NOTICES.md'), header + sections.join('\n'));
  console.log(`[build] ${packages.size} bundled packages → dist/THIRD-PARTY-NOTICES.md`);
}
