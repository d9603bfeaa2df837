#!/usr/bin/env node
// Real CalDAV servers for the provider contract tests, the demo and the benchmark: Radicale and
// Xandikos from Debian's packages (bookworm: radicale 3.1.8, xandikos 0.2.8), each on a loopback
// port with a throwaway storage folder.
//
//   node scripts/caldav-servers.mjs install              apt-get install them when absent (root)
//   node scripts/caldav-servers.mjs spec <name> <port> <dir> [--no-fsync] [--uid-index]
//                                                        write the config into <dir>, print JSON
//                                                        {name, command, args, url, username, password}
//                                                        (the two flags: benchmark only, Radicale only;
//                                                        see radicaleBenchLauncher)
//   node scripts/caldav-servers.mjs up [radicale|xandikos ...]
//                                                        start them in the background, print JSON
//                                                        with pid, url, dir per server
//   node scripts/caldav-servers.mjs down <pid> <dir> ...  stop those and remove their folders
//   node scripts/caldav-servers.mjs demo                 build, start a throwaway Radicale, run
//                                                        `calendar-relay demo --caldav` against it, stop it
//
// The tests (test/caldav/servers.ts) use `install` and `spec` and run the processes themselves, so
// they can kill one mid-sync and start it again on the same storage.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.mjs';
import { aptInstall } from './debian.mjs';
export { freePort };

export const SERVERS = ['radicale', 'xandikos'];
const USER = 'relay';
const PASSWORD = 'relay-test-password';

function has(cmd) {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}

export function install() {
  const missing = SERVERS.filter((s) => !has(s));
  if (!missing.length) return { installed: [] };
  if (typeof process.getuid === 'function' && process.getuid() !== 0 && !has('sudo')) {
    throw new Error(`CalDAV test servers missing (${missing.join(', ')}) and no root to install them: apt-get install -y ${missing.join(' ')}`);
  }
  aptInstall(missing, { sudo: typeof process.getuid === 'function' && process.getuid() !== 0, recommends: true });
  const still = SERVERS.filter((s) => !has(s));
  if (still.length) throw new Error(`apt-get ran but ${still.join(', ')} is still not on PATH`);
  return { installed: missing };
}

/**
 * Benchmark-only Radicale settings (bench/caldav.bench.ts; docs/performance.md has the figures
 * with and without each). Radicale 3.1.8 cannot set either from its config file, so Radicale is
 * started through a small Python launcher written into the throwaway folder:
 *   noFsync   `_filesystem_fsync = False` (an internal option Radicale's own test suite sets):
 *             no fsync of the item, its cache entry and the folder on every PUT — the storage is
 *             thrown away after the run, so durability buys nothing there.
 *   uidIndex  `has_uid` (the no-uid-conflict check of every create, radicale/app/put.py) answered
 *             from an index of href → UID per collection, kept by this process's uploads and
 *             deletes, instead of reading and unpickling every item of the collection: that scan
 *             makes a first sync of n events O(n²) on the server (5,000 events: > 1 h here).
 *             Only sound while this Radicale is the only writer of its folder, as in the benchmark.
 */
function radicaleBenchLauncher(dir, { noFsync = false, uidIndex = false } = {}) {
  const py = [
    'import sys',
    'from radicale import config, log, server',
    'from radicale.storage.multifilesystem import Collection',
    'log.setup()',
    'c = config.load([(sys.argv[1], False)])',
    ...(noFsync ? ["c.update({'storage': {'_filesystem_fsync': 'False'}}, 'benchmark', privileged=True)"] : []),
    ...(uidIndex ? [
      '_index = {}',
      'def _uids(col):',
      '    idx = _index.get(col._filesystem_path)',
      '    if idx is None:',
      '        idx = _index[col._filesystem_path] = {i.href: i.uid for i in _stock_get_all(col)}',
      '    return idx',
      '_stock_get_all, _stock_upload, _stock_delete = Collection.get_all, Collection.upload, Collection.delete',
      'def _upload(self, href, item):',
      '    out = _stock_upload(self, href, item)',
      '    _uids(self)[href] = out.uid',
      '    return out',
      'def _delete(self, href=None):',
      '    _stock_delete(self, href)',
      '    if href is None: _index.pop(self._filesystem_path, None)',
      '    else: _uids(self).pop(href, None)',
      'Collection.has_uid = lambda self, uid: uid in _uids(self).values()',
      'Collection.upload, Collection.delete = _upload, _delete',
    ] : []),
    "log.set_level(c.get('logging', 'level'))",
    'server.serve(c)',
    '',
  ].join('\n');
  const file = join(dir, 'radicale-bench.py');
  writeFileSync(file, py);
  return file;
}

/** The Python that runs Radicale (its script's #! line), so the launcher finds the radicale module. */
function radicalePython() {
  const bin = execFileSync('sh', ['-c', 'command -v radicale'], { encoding: 'utf8' }).trim();
  const m = /^#!\s*(\S+)/.exec(readFileSync(bin, 'utf8').split('\n', 1)[0]);
  return m ? m[1] : 'python3';
}

/** Writes the server's config into `dir` and returns how to run it (`bench`: Radicale benchmark settings, see radicaleBenchLauncher). */
export function spec(name, port, dir, bench = {}) {
  mkdirSync(dir, { recursive: true });
  const url = `http://127.0.0.1:${port}/`;
  if (name === 'radicale') {
    writeFileSync(join(dir, 'users'), `${USER}:${PASSWORD}\n`);
    writeFileSync(join(dir, 'config'), [
      '[server]', `hosts = 127.0.0.1:${port}`, '',
      '[auth]', 'type = htpasswd', `htpasswd_filename = ${join(dir, 'users')}`, 'htpasswd_encryption = plain', 'delay = 0', '',
      '[rights]', 'type = owner_only', '',
      '[storage]', `filesystem_folder = ${join(dir, 'collections')}`, '',
      '[logging]', 'level = warning', '',
    ].join('\n'));
    const common = { name, url, username: USER, password: PASSWORD, principal: `/${USER}/` };
    if (bench.noFsync || bench.uidIndex) return { ...common, command: radicalePython(), args: [radicaleBenchLauncher(dir, bench), join(dir, 'config')], bench };
    return { ...common, command: 'radicale', args: ['--config', join(dir, 'config')] };
  }
  if (name === 'xandikos') {
    // Xandikos has no authentication of its own (it expects a proxy in front): requests go without credentials.
    return { name, command: 'xandikos', args: ['-d', join(dir, 'data'), '--defaults', '-l', '127.0.0.1', '-p', String(port)], url, principal: '/user/' };
  }
  throw new Error(`unknown CalDAV server "${name}" (known: ${SERVERS.join(', ')})`);
}

export async function waitUntilUp(url, timeoutMs = 20_000) {
  const until = Date.now() + timeoutMs;
  let last;
  while (Date.now() < until) {
    try {
      const res = await fetch(url, { method: 'OPTIONS' });
      await res.text();
      return;
    } catch (err) {
      last = err;
      await new Promise((r) => setTimeout(r, 150));
    }
  }
  throw new Error(`CalDAV server at ${url} did not answer within ${timeoutMs} ms: ${last?.message ?? ''}`);
}

async function up(names) {
  install();
  const out = [];
  for (const name of names.length ? names : SERVERS) {
    const dir = mkdtempSync(join(tmpdir(), `caldav-${name}-`));
    const s = spec(name, await freePort(), dir);
    const child = spawn(s.command, s.args, { stdio: 'ignore', detached: true });
    child.unref();
    await waitUntilUp(s.url);
    out.push({ ...s, pid: child.pid, dir });
  }
  return out;
}

function down(args) {
  for (let i = 0; i < args.length; i += 2) {
    const pid = Number(args[i]);
    const dir = args[i + 1];
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // already gone
    }
    if (dir && dir.startsWith(tmpdir()) && existsSync(dir)) rmSync(dir, { recursive: true, force: true });
  }
}

async function demo() {
  const root = new URL('..', import.meta.url).pathname;
  execFileSync(process.execPath, [join(root, 'scripts', 'build.mjs')], { stdio: 'inherit', cwd: root });
  const [s] = await up(['radicale']);
  try {
    const r = spawn(process.execPath, [join(root, 'dist', 'cli.js'), 'demo', '--caldav', '--caldav-url', s.url, '--caldav-user', s.username], {
      cwd: root, stdio: 'inherit', env: { ...process.env, CALDAV_DEMO_PASSWORD: s.password },
    });
    return await new Promise((resolve) => r.on('exit', (code) => resolve(code ?? 1)));
  } finally {
    down([String(s.pid), s.dir]);
  }
}

const isMain = process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (isMain) {
  const [cmd, ...rest] = process.argv.slice(2);
  try {
    if (cmd === 'install') console.log(JSON.stringify(install()));
    else if (cmd === 'spec') console.log(JSON.stringify(spec(rest[0], Number(rest[1]), rest[2], { noFsync: rest.includes('--no-fsync'), uidIndex: rest.includes('--uid-index') })));
    else if (cmd === 'up') console.log(JSON.stringify(await up(rest), null, 2));
    else if (cmd === 'down') down(rest);
    else if (cmd === 'demo') process.exitCode = await demo();
    else {
      console.error('usage: caldav-servers.mjs install | spec <name> <port> <dir> [--no-fsync] [--uid-index] | up [names] | down <pid> <dir> ...');
      process.exitCode = 2;
    }
  } catch (err) {
    console.error(`caldav-servers: ${err.message}`);
    process.exitCode = 1;
  }
}
