// The package entry. In a checkout of the repository (src/ present, esbuild installed) the bundle
// is rebuilt from the TypeScript sources first, so it is never stale; an installed copy uses dist/.
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const dist = join(__dirname, 'dist', 'index.js');
// A `workers: N` worker uses what its primary just built (several rebuilding at once would race).
if (existsSync(join(__dirname, 'src', 'index.ts')) && !require('node:cluster').isWorker) {
  let esbuildPresent = true;
  try {
    require.resolve('esbuild');
  } catch {
    esbuildPresent = false;
  }
  if (esbuildPresent) require('./build.js').buildBridge();
}
if (!existsSync(dist)) {
  throw new Error('calendar-relay-bridge is not built: run `npm install` at the repository root (it installs esbuild), then `node bridge/build.js`');
}
module.exports = require(dist);
