/**
 * `calendar-relay bridge`: the bundled CLI loads the bridge workspace package at run time and
 * starts it on SQLite with one command; without the package it says how to install it.
 */
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../cli';
import { makeBridgeCommand } from '../../cli/commands';
import { httpRequest, waitFor } from './helpers';

const root = join(__dirname, '..', '..');
// Built inside the repository so that Node finds node_modules/calendar-relay-bridge from it.
const outdir = join(root, '.cache', 'cli-bridge-test', 'dist');

function io() {
  const out = { stdout: '', stderr: '' };
  return { out, io: { stdout: (t: string) => (out.stdout += t), stderr: (t: string) => (out.stderr += t), now: () => 0 } };
}

describe('calendar-relay bridge', () => {
  beforeAll(() => {
    mkdirSync(outdir, { recursive: true });
    execFileSync(process.execPath, [join(root, 'scripts', 'build.mjs'), '--outdir', outdir], { cwd: root, stdio: 'pipe' });
  }, 120_000);

  test('the bridge is not bundled into the dependency-free CLI', () => {
    const cli = readFileSync(join(outdir, 'cli.js'), 'utf8');
    expect(cli).not.toMatch(/FST_ERR_|better_sqlite3\.node|node_modules\/(fastify|pg|pino|better-sqlite3)\//);
    expect(cli).toContain('calendar-relay-bridge');
  });

  test('starts on SQLite with one command and serves a published feed', async () => {
    const data = mkdtempSync(join(tmpdir(), 'cr-cli-bridge-'));
    const child = spawn(process.execPath, [join(outdir, 'cli.js'), 'bridge', '--port', '0', '--data-dir', data, '--log-level', 'warn'], { cwd: data, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CALENDAR_RELAY_ADMIN_TOKEN: '' } });
    let stdout = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    try {
      await waitFor(() => /admin token generated[^:]*: (\S+)/.test(stdout), 30_000, 'the bridge to start');
      const base = /listening on (http:\/\/\S+)/.exec(stdout)![1];
      const admin = /admin token generated[^:]*: (\S+)/.exec(stdout)![1];
      expect(stdout).toContain(`SQLite in ${data}`);
      const put = await httpRequest(base, { method: 'PUT', url: '/api/feeds/demo', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, payload: JSON.stringify({ events: [{ uid: 'one@demo', title: 'One', start: { date: '2030-05-01' }, end: { date: '2030-05-02' } }] }) });
      expect(put.statusCode).toBe(200);
      const feed = await httpRequest(base, { method: 'GET', url: new URL(put.json().subscribeUrl).pathname });
      expect(feed.body).toContain('UID:one@demo');
      expect(existsSync(join(data, 'bridge.sqlite'))).toBe(true);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
    expect(child.exitCode).toBe(0); // graceful shutdown on SIGTERM
  }, 60_000);

  test('without the bridge package: exit 1 and how to install it', () => {
    const lonely = mkdtempSync(join(tmpdir(), 'cr-cli-nobridge-'));
    copyFileSync(join(outdir, 'cli.js'), join(lonely, 'cli.js'));
    let err: { status?: number; stderr?: string } = {};
    try {
      execFileSync(process.execPath, [join(lonely, 'cli.js'), 'bridge'], { cwd: lonely, encoding: 'utf8', stdio: 'pipe' });
    } catch (e) {
      err = e as typeof err;
    }
    expect(err.status).toBe(1);
    expect(err.stderr).toContain('the bridge is a separate package (calendar-relay-bridge');
    expect(err.stderr).toContain('npm install');
  });

  test('bad bridge flags are usage errors (exit 2); --help prints the bridge options', async () => {
    const a = io();
    expect(await main(['bridge', '--port', 'nope'], a.io)).toBe(2);
    expect(a.out.stderr).toContain('port must be a whole number');
    const b = io();
    expect(await main(['bridge', '--help'], b.io)).toBe(0);
    expect(b.out.stdout).toContain('--database-url');
  });

  test('a loader failure other than "not installed" is not disguised as one', async () => {
    const cmd = makeBridgeCommand(() => {
      throw Object.assign(new Error("Cannot find module 'fastify'"), { code: 'MODULE_NOT_FOUND' });
    });
    await expect(cmd([], io().io)).rejects.toThrow("Cannot find module 'fastify'");
  });
});
