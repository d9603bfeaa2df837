// Bundles bridge/src (and the core it imports) into bridge/dist/index.js; the bridge's own
// dependencies (Fastify, better-sqlite3, pg, pino) stay external and come from node_modules.
const { writeFileSync, renameSync, mkdirSync } = require('node:fs');
const { join } = require('node:path');

function buildBridge() {
  const esbuild = require('esbuild');
  const pkg = require('./package.json');
  const result = esbuild.buildSync({
    entryPoints: [join(__dirname, 'src', 'index.ts')],
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    external: Object.keys(pkg.dependencies),
    write: false,
    sourcemap: 'inline',
    logLevel: 'silent',
  });
  const out = join(__dirname, 'dist', 'index.js');
  mkdirSync(join(__dirname, 'dist'), { recursive: true });
  // Write-then-rename: two bridge processes starting together never load a half-written file.
  const tmp = `${out}.${process.pid}.tmp`;
  writeFileSync(tmp, result.outputFiles[0].contents);
  renameSync(tmp, out);
  return out;
}

module.exports = { buildBridge };
if (require.main === module) console.log(`[bridge build] ${buildBridge()}`);
