// A throwaway PostgreSQL cluster for tests (the bridge's PostgreSQL store suite and durability test).
//   node scripts/postgres.mjs start   → prints {"url": …, "dir": …} and leaves the server running
//   node scripts/postgres.mjs stop <dir>  → stops that server and removes its folder
// Installs Debian's `postgresql` package when no server binaries are found (root only, as on CI).
// PostgreSQL refuses to run as root, so as root the cluster belongs to the `postgres` user.
// Without binaries it fails loudly, unless CALENDAR_RELAY_SKIP_POSTGRES=1 opts out (then `start`
// prints {"skipped": "<reason>"}), which is meant for a developer machine, never for CI.
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { freePort } from './free-port.mjs';
import { aptInstall } from './debian.mjs';

export function findPgBin() {
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return undefined;
  const versions = readdirSync(base).filter((v) => existsSync(join(base, v, 'bin', 'initdb'))).sort((a, b) => Number(b) - Number(a));
  return versions.length ? join(base, versions[0], 'bin') : undefined;
}

function installPostgres() {
  if (process.getuid?.() !== 0) throw new Error('PostgreSQL server binaries not found in /usr/lib/postgresql/*/bin and not root: run `sudo apt-get install -y postgresql`');
  console.error('[postgres] installing Debian package postgresql (apt-get update && apt-get install -y postgresql)…');
  aptInstall(['postgresql']);
}

function asOwner(owner, cmd, args) {
  const opts = { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' };
  if (!owner) return execFileSync(cmd, args, opts);
  return execFileSync('runuser', ['-u', owner.name, '--', cmd, ...args], opts);
}

function ownerOf() {
  if (process.getuid?.() !== 0) return undefined;
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('postgres:'));
  if (!line) throw new Error('running as root but there is no `postgres` user to own the cluster (install the postgresql package)');
  const [, , uid, gid, , home] = line.split(':');
  return { name: 'postgres', uid: Number(uid), gid: Number(gid), home };
}

/** True when a user that is neither owner nor group member can pass through every folder from `dir` up to `/`. */
export function traversableByOthers(dir) {
  for (let d = dir; ; d = dirname(d)) {
    let mode;
    try {
      mode = statSync(d).mode;
    } catch {
      return false;
    }
    if ((mode & 0o001) === 0) return false;
    if (dirname(d) === d) return true;
  }
}

/**
 * Where the cluster's folder goes. As root the server runs as `postgres`, which must reach it: a CI
 * runner's TMPDIR is often a private `mktemp -d` folder (mode 0700, owned by root), which `postgres`
 * cannot enter, so take the first of TMPDIR, /tmp, /var/tmp that it can, else `postgres`'s home.
 */
export function clusterBase(owner) {
  if (!owner) return tmpdir();
  const found = [tmpdir(), '/tmp', '/var/tmp'].find(traversableByOthers);
  if (found) return found;
  if (owner.home && existsSync(owner.home)) return owner.home;
  throw new Error(`no folder the postgres user can reach for the test cluster: ${tmpdir()}, /tmp and /var/tmp are closed to it and its home ${owner.home || '(none)'} is missing`);
}

export async function startPostgres() {
  let bin = findPgBin();
  if (!bin) {
    if (process.env.CALENDAR_RELAY_SKIP_POSTGRES === '1') return { skipped: 'no PostgreSQL server binaries and CALENDAR_RELAY_SKIP_POSTGRES=1' };
    installPostgres();
    bin = findPgBin();
    if (!bin) throw new Error('apt-get installed postgresql but no /usr/lib/postgresql/*/bin/initdb appeared');
  }
  const owner = ownerOf();
  const dir = mkdtempSync(join(clusterBase(owner), 'calendar-relay-pg-'));
  if (owner) chownSync(dir, owner.uid, owner.gid);
  chmodSync(dir, 0o700);
  const data = join(dir, 'data');
  asOwner(owner, join(bin, 'initdb'), ['-D', data, '-U', 'relay', '--auth=trust', '-E', 'UTF8', '--no-sync']);
  const port = await freePort();
  // Loopback only; fsync off because the cluster is thrown away (the bridge, not PostgreSQL, is what the tests kill).
  const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`;
  asOwner(owner, join(bin, 'pg_ctl'), ['-D', data, '-l', join(dir, 'server.log'), '-o', opts, '-w', '-t', '60', 'start']);
  return { url: `postgresql://relay@127.0.0.1:${port}/postgres`, dir, port };
}

export function stopPostgres(dir) {
  if (!dir || !existsSync(join(dir, 'data'))) return;
  const bin = findPgBin();
  try {
    asOwner(ownerOf(), join(bin, 'pg_ctl'), ['-D', join(dir, 'data'), '-m', 'immediate', '-w', 'stop']);
  } catch {
    // already stopped
  }
  rmSync(dir, { recursive: true, force: true });
}

if (process.argv[1] && import.meta.url === `file://${process.argv[1]}`) {
  const [cmd, arg] = process.argv.slice(2);
  if (cmd === 'start') {
    startPostgres().then((r) => console.log(JSON.stringify(r)), (err) => {
      console.error(`[postgres] ${err.message}`);
      process.exit(1);
    });
  } else if (cmd === 'stop') {
    stopPostgres(arg);
  } else {
    console.error('usage: node scripts/postgres.mjs start | stop <dir>');
    process.exit(2);
  }
}
