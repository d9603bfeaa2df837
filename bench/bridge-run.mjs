// `node bench/bridge-run.mjs [--strict]`: the bridge-vs-nginx and intake benchmark (bench/bridge.bench.ts).
// Needs wrk and nginx (Debian: apt-get install -y wrk nginx-light; installed here when missing and root) and, for the PostgreSQL intake
// figure, scripts/postgres.mjs. BENCH_SECONDS (default 5) and BENCH_CONNECTIONS (default 32) tune it;
// BRIDGE_BENCH_ROUNDS (default 3) alternating rounds, BRIDGE_BENCH_WORKERS (default 2; 1 = skip the
// `--workers` deployment), BRIDGE_BENCH_ONLY=feeds|intake one half.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { aptInstall } from '../scripts/debian.mjs';
import { traversableByOthers } from '../scripts/postgres.mjs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

// wrk and nginx from Debian, installed when missing and this is root (as the test scripts install PostgreSQL and Chromium).
const has = (cmd) => {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};
const missing = [['wrk', 'wrk'], ['nginx', 'nginx-light']].filter(([cmd]) => !has(cmd)).map(([, pkg]) => pkg);
if (missing.length && process.getuid?.() === 0) {
  console.error(`[bench] installing Debian packages ${missing.join(', ')} (apt-get update && apt-get install -y)…`);
  aptInstall(missing);
}
const out = join(root, '.cache', 'bench', 'bridge.js');
const pkg = JSON.parse(await import('node:fs').then((fs) => fs.readFileSync(join(root, 'bridge', 'package.json'), 'utf8')));
await build({
  stdin: { contents: "require('./bench/bridge.bench').runBridgeBench().then((ok) => { if (!ok && process.argv.includes('--strict')) process.exitCode = 1; }, (e) => { console.error(e); process.exitCode = 1; });", resolveDir: root, loader: 'ts' },
  outfile: out, bundle: true, platform: 'node', target: 'node20', format: 'cjs', external: Object.keys(pkg.dependencies), logLevel: 'warning',
});
// nginx's workers run as nobody when it is started as root: the folder it serves must be reachable
// by others, which a private TMPDIR (CI's is 0700) is not.
const wwwBase = [tmpdir(), '/tmp', '/var/tmp'].find(traversableByOthers) ?? tmpdir();
try {
  execFileSync(process.execPath, [out, ...process.argv.slice(2)], { stdio: 'inherit', cwd: root, env: { ...process.env, BRIDGE_BENCH_WWW_BASE: wwwBase } });
} catch (err) {
  process.exitCode = err.status || 1;
}
