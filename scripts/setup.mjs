// Installs the project's dependencies on a fresh machine (or when package-lock.json changed).
// Used by `npm test` and `npm run demo`, so each is one command that does all set-up.
import { execSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');

export function ensureDependencies() {
  const lock = join(root, 'package-lock.json');
  const stamp = join(root, 'node_modules', '.calendar-relay-lock-hash');
  const hash = createHash('sha256').update(readFileSync(lock)).digest('hex');
  const installed = existsSync(stamp) && readFileSync(stamp, 'utf8') === hash && existsSync(join(root, 'node_modules', '.bin', 'jest'));
  if (installed) return ensureNativeModules();
  // `npm install` rather than `npm ci`: the lock file lists only the platform bindings of
  // napi packages (@unrs/resolver-binding-*) that the registry serves, which `npm ci` rejects as
  // "missing from lock file"; `npm install` installs exactly the locked versions all the same.
  console.log('[setup] installing dependencies (npm install from package-lock.json; scripts are off, see .npmrc)…');
  execSync('npm install --no-fund --no-audit', { cwd: root, stdio: 'inherit' });
  ensureNativeModules();
  writeFileSync(stamp, hash);
}

/**
 * The bridge workspace's SQLite driver is a native addon; with install scripts off it is built
 * here, from source against Node's own headers (~2 min once; its prebuilt download is not used).
 */
function ensureNativeModules() {
  const pkg = join(root, 'node_modules', 'better-sqlite3');
  if (!existsSync(pkg) || existsSync(join(pkg, 'build', 'Release', 'better_sqlite3.node'))) return;
  console.log('[setup] building better-sqlite3 for the bridge (npm rebuild --ignore-scripts=false better-sqlite3)…');
  execSync('npm rebuild --ignore-scripts=false better-sqlite3', { cwd: root, stdio: 'inherit' });
}

export function run(cmd, opts = {}) {
  console.log(`\n[run] ${cmd}`);
  execSync(cmd, { cwd: root, stdio: 'inherit', ...opts });
}

if (process.argv[1] && statSync(process.argv[1]).isFile() && fileURLToPath(import.meta.url) === process.argv[1]) {
  ensureDependencies();
}
