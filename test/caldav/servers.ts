/**
 * Real CalDAV servers (Radicale, Xandikos) for the CalDAV tests: installed from Debian's packages
 * by scripts/caldav-servers.mjs when absent, run here on a loopback port with a throwaway folder,
 * so a test can kill one mid-sync and start it again on the same storage.
 *
 * Opt-out for local runs only: CALDAV_SERVERS=skip skips these suites. In CI (CI set) skipping is
 * refused and a server that cannot be installed or started fails the suite loudly.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CalDavAuth } from '../../providers/caldav';
import { createCalDavHttpPort, mkcalendarBody } from '../../providers/caldav';
import type { HttpPort } from '../../providers/port';
import { freePort } from '../free-port';

const root = join(__dirname, '..', '..');
const script = join(root, 'scripts', 'caldav-servers.mjs');
export const SERVER_NAMES = ['radicale', 'xandikos'] as const;
export type ServerName = (typeof SERVER_NAMES)[number];

/** Whether the suites should run; throws when a skip is asked for in CI. */
export function caldavServersWanted(): boolean {
  const skip = (process.env.CALDAV_SERVERS ?? '').toLowerCase() === 'skip';
  if (skip && process.env.CI) throw new Error('CALDAV_SERVERS=skip is for local runs only: CI must run the CalDAV suites against real servers');
  return !skip;
}

let installed = false;
function ensureInstalled(): void {
  if (installed) return;
  execFileSync(process.execPath, [script, 'install'], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 600_000 });
  installed = true;
}

interface Spec { name: string; command: string; args: string[]; url: string; username?: string; password?: string; principal: string }

/** Until the server answers OPTIONS at `url`; fails at once when its process exits. */
export async function waitUntilUp(url: string, child: ChildProcess, output: () => string, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`CalDAV server exited with ${child.exitCode}: ${output()}`);
    try {
      const res = await fetch(url, { method: 'OPTIONS' });
      await res.text();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`CalDAV server at ${url} did not answer within ${timeoutMs} ms: ${output()}`);
}

export class CalDavTestServer {
  private child?: ChildProcess;
  private out = '';
  readonly auth: CalDavAuth;
  readonly http: HttpPort;

  private constructor(readonly name: ServerName, readonly spec: Spec, readonly dir: string) {
    this.auth = spec.username ? { type: 'basic', username: spec.username, password: spec.password! } : { type: 'none' };
    this.http = createCalDavHttpPort({ baseUrl: spec.url, auth: this.auth, timeoutMs: 15_000 });
  }

  static async start(name: ServerName): Promise<CalDavTestServer> {
    ensureInstalled();
    const dir = mkdtempSync(join(tmpdir(), `caldav-test-${name}-`));
    const port = await freePort();
    const spec = JSON.parse(execFileSync(process.execPath, [script, 'spec', name, String(port), dir], { encoding: 'utf8' })) as Spec;
    const s = new CalDavTestServer(name, spec, dir);
    await s.run();
    return s;
  }

  get url(): string {
    return this.spec.url;
  }

  /** Where new calendars are made (the principal's calendar home). */
  get home(): string {
    return new URL(this.name === 'radicale' ? this.spec.principal : `${this.spec.principal}calendars/`, this.spec.url).href;
  }

  async run(): Promise<void> {
    this.out = '';
    // Xandikos keeps each calendar in a git repository: a SIGKILL in the middle of a commit leaves
    // git's index.lock behind, and every later write then fails with HTTP 500 until an operator
    // removes it (docs/providers-caldav.md). A restart after a crash does what that operator does.
    if (this.name === 'xandikos') removeStaleGitLocks(this.dir);
    const child = spawn(this.spec.command, this.spec.args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (d: Buffer) => (this.out = (this.out + d.toString()).slice(-4000)));
    child.stderr!.on('data', (d: Buffer) => (this.out = (this.out + d.toString()).slice(-4000)));
    this.child = child;
    await waitUntilUp(this.spec.url, child, () => this.out);
  }

  /** SIGKILL: the server dies mid-request, as a crash would. */
  async kill(): Promise<void> {
    const c = this.child;
    if (!c || c.exitCode !== null || c.signalCode) return;
    await new Promise<void>((resolve) => {
      c.once('exit', () => resolve());
      c.kill('SIGKILL');
    });
  }

  async stop(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Makes a calendar (MKCALENDAR) and returns its URL. */
  async mkcalendar(slug: string, displayName: string, color?: string): Promise<string> {
    const url = new URL(`${slug}/`, this.home).href;
    const res = await this.http({ method: 'MKCALENDAR', url, headers: { 'content-type': 'application/xml; charset=utf-8' }, body: mkcalendarBody(displayName, color) });
    if (res.status !== 201) throw new Error(`MKCALENDAR ${url}: ${res.status} ${res.body.slice(0, 300)}`);
    return url;
  }

  async put(url: string, ics: string, headers: Record<string, string> = {}): Promise<{ status: number; etag?: string }> {
    const res = await this.http({ method: 'PUT', url, headers: { 'content-type': 'text/calendar; charset=utf-8', ...headers }, body: ics });
    return { status: res.status, etag: res.headers.etag };
  }

  async get(url: string): Promise<{ status: number; body: string; etag?: string }> {
    const res = await this.http({ method: 'GET', url });
    return { status: res.status, body: res.body, etag: res.headers.etag };
  }

  /** Every resource in a calendar: href → body (PROPFIND depth 1 + GET each). */
  async resources(calendarUrl: string): Promise<Map<string, string>> {
    const res = await this.http({ method: 'PROPFIND', url: calendarUrl, headers: { depth: '1', 'content-type': 'application/xml' }, body: '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><D:getetag/></D:prop></D:propfind>' });
    if (res.status !== 207) throw new Error(`PROPFIND ${calendarUrl}: ${res.status}`);
    const hrefs = [...res.body.matchAll(/<(?:[A-Za-z0-9]+:)?href>([^<]+)<\/(?:[A-Za-z0-9]+:)?href>/g)].map((m) => new URL(m[1], calendarUrl).href).filter((h) => h !== calendarUrl && h.endsWith('.ics'));
    const out = new Map<string, string>();
    for (const h of hrefs) out.set(h, (await this.get(h)).body);
    return out;
  }
}

/** Removes git lock files (index.lock, HEAD.lock, refs/**.lock) left by a killed writer. */
function removeStaleGitLocks(dir: string): void {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) removeStaleGitLocks(p);
    else if (e.name.endsWith('.lock')) rmSync(p, { force: true });
  }
}
