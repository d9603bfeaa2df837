// Regenerates package-lock.json so that `npm ci` accepts it on every platform, and checks it.
//
//   node scripts/lock.mjs          re-resolve package.json (+ workspaces) against the lock file
//   node scripts/lock.mjs --check  only check: exit 1 naming every dependency missing from the lock
//                                  (`--lock <file>` checks another file)
//
// Why: napi packages (e.g. unrs-resolver, via eslint) list one optional binding package per
// platform (@unrs/resolver-binding-darwin-arm64, …-win32-x64-msvc, …). A lock file written by an
// `npm install` that saw only this machine's node_modules can end up with the Linux bindings
// alone; `npm ci` then refuses it ("Missing: … from lock file") and `npm install` rewrites it on
// every clone. Resolving with `--package-lock-only` in a folder without node_modules records
// every platform's bindings (npm only skips installing the foreign ones).
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { root, summariseEngineWarnings } from './setup.mjs';

/**
 * What `npm ci` checks: every dependency a locked package declares (optional ones for every
 * platform, dev ones of the root and workspaces, peers unless optional) must be locked where
 * Node's module resolution finds it. Returns "needed-by → name" lines, empty when complete.
 */
export function missingFromLock(lock) {
  const packages = lock.packages ?? {};
  const missing = [];
  for (const [loc, meta] of Object.entries(packages)) {
    if (meta.link) continue;
    const isProject = !loc.includes('node_modules/');
    const optionalPeers = new Set(Object.entries(meta.peerDependenciesMeta ?? {}).filter(([, m]) => m.optional).map(([n]) => n));
    const names = new Set([
      ...Object.keys(meta.dependencies ?? {}),
      ...Object.keys(meta.optionalDependencies ?? {}),
      ...(isProject ? Object.keys(meta.devDependencies ?? {}) : []),
      ...Object.keys(meta.peerDependencies ?? {}).filter((n) => !optionalPeers.has(n)),
    ]);
    for (const name of names) if (!resolves(packages, loc, name)) missing.push(`${loc || '(root)'} → ${name}`);
  }
  return missing;
}

function resolves(packages, loc, name) {
  return resolveInLock(packages, loc, name) !== undefined;
}

/**
 * Node's lookup of `name` required from the package at `loc` (a lock `packages` key, '' for the
 * root, 'bridge' for a workspace): the nearest `node_modules/<name>` up the tree, as its lock key.
 */
export function resolveInLock(packages, loc, name) {
  let base = loc;
  for (;;) {
    const key = `${base ? `${base}/` : ''}node_modules/${name}`;
    if (packages[key]) return key;
    if (base === '') return undefined;
    // node_modules/a/node_modules/b → node_modules/a; node_modules/a, bridge → the root
    const at = base.lastIndexOf('node_modules/');
    base = at <= 0 ? '' : base.slice(0, at - 1);
  }
}

/**
 * The lock keys of everything a workspace's production dependencies pull in (what `npm prune
 * --omit=dev` keeps for it), each resolved as Node would; optional packages that are not
 * installed here (another platform's) are left out.
 */
export function productionClosure(packages, workspace, dependencies) {
  const found = new Set();
  const visit = (from, name, optional) => {
    const key = resolveInLock(packages, from, name);
    if (!key) throw new Error(`package-lock.json: ${name} (needed by ${from || 'the root'}) not found`);
    if (found.has(key) || (optional && !existsSync(join(root, key)))) return;
    found.add(key);
    for (const d of Object.keys(packages[key].dependencies ?? {})) visit(key, d, false);
    for (const d of Object.keys(packages[key].optionalDependencies ?? {})) visit(key, d, true);
  };
  for (const d of dependencies) visit(workspace, d, false);
  return [...found].sort();
}

/** package.json files of the root and of every workspace (literal paths and `dir/*` globs). */
function projectManifests() {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const out = ['package.json'];
  for (const ws of pkg.workspaces ?? []) {
    const dirs = ws.endsWith('/*') ? (existsSync(join(root, ws.slice(0, -2))) ? readdirSync(join(root, ws.slice(0, -2))).map((d) => `${ws.slice(0, -2)}/${d}`) : []) : [ws];
    for (const d of dirs) if (existsSync(join(root, d, 'package.json'))) out.push(`${d}/package.json`);
  }
  return out;
}

function regenerate() {
  const tmp = mkdtempSync(join(tmpdir(), 'calendar-relay-lock-'));
  try {
    for (const f of [...projectManifests(), 'package-lock.json', '.npmrc']) {
      if (!existsSync(join(root, f))) continue;
      mkdirSync(dirname(join(tmp, f)), { recursive: true });
      copyFileSync(join(root, f), join(tmp, f));
    }
    console.log(`[lock] npm install --package-lock-only (in ${tmp}, without node_modules)…`);
    const r = spawnSync('npm', ['install', '--package-lock-only', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: tmp, encoding: 'utf8', stdio: ['ignore', 'inherit', 'pipe'] });
    process.stderr.write(summariseEngineWarnings(r.stderr ?? ''));
    if (r.status !== 0) throw new Error(`npm install --package-lock-only failed (exit ${r.status})`);
    const before = existsSync(join(root, 'package-lock.json')) ? readFileSync(join(root, 'package-lock.json'), 'utf8') : '';
    const after = readFileSync(join(tmp, 'package-lock.json'), 'utf8');
    const missing = missingFromLock(JSON.parse(after));
    if (missing.length) throw new Error(`the regenerated lock file still misses:\n  ${missing.join('\n  ')}`);
    writeFileSync(join(root, 'package-lock.json'), after);
    const count = Object.keys(JSON.parse(after).packages).length - 1;
    console.log(`[lock] package-lock.json ${before === after ? 'unchanged' : 'rewritten'}: ${count} packages, complete for every platform. Run \`node scripts/setup.mjs\` (npm ci) to install it.`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  if (process.argv.includes('--check')) {
    // `--lock <file>` checks another lock file (tests use it).
    const at = process.argv.indexOf('--lock');
    const lockFile = at === -1 ? join(root, 'package-lock.json') : process.argv[at + 1];
    const missing = missingFromLock(JSON.parse(readFileSync(lockFile, 'utf8')));
    if (missing.length) {
      console.error(`[lock] package-lock.json is incomplete (npm ci would refuse it); run \`node scripts/lock.mjs\`. Missing:\n  ${missing.join('\n  ')}`);
      process.exitCode = 1;
    } else console.log('[lock] package-lock.json is complete');
  } else {
    try {
      regenerate();
    } catch (err) {
      console.error(`[lock] ${err.message}`);
      process.exitCode = 1;
    }
  }
}
