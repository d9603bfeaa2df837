/**
 * The benchmark's Radicale settings (scripts/caldav-servers.mjs `spec … --no-fsync --uid-index`):
 * the UID index must keep Radicale's own answers — the same sequence of creates, UID conflicts,
 * deletes and updates gets the same statuses from the stock server and from the indexed one, also
 * after a restart on storage that already holds items.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { caldavServersWanted, waitUntilUp } from './servers';
import { freePort } from '../free-port';

const script = join(__dirname, '..', '..', 'scripts', 'caldav-servers.mjs');
interface Spec { command: string; args: string[]; url: string; username: string; password: string; principal: string; bench?: Record<string, boolean> }

async function specFor(dir: string, flags: string[]): Promise<Spec> {
  return JSON.parse(execFileSync(process.execPath, [script, 'spec', 'radicale', String(await freePort()), dir, ...flags], { encoding: 'utf8' })) as Spec;
}

async function start(spec: Spec): Promise<ChildProcess> {
  const child = spawn(spec.command, spec.args, { stdio: 'ignore' });
  await waitUntilUp(spec.url, child, () => '');
  return child;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  await new Promise((r) => {
    child.once('exit', r);
    child.kill('SIGTERM');
  });
}

const ics = (uid: string, title: string) => `BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:${uid}\r\nDTSTAMP:20261122T080000Z\r\nDTSTART:20261201T080000Z\r\nDTEND:20261201T090000Z\r\nSUMMARY:${title}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n`;

/** Runs a fixed sequence against one server (restarting it half-way) and returns every status. */
async function statuses(flags: string[]): Promise<number[]> {
  const dir = mkdtempSync(join(tmpdir(), 'radicale-bench-test-'));
  const spec = await specFor(dir, flags);
  const auth = { authorization: `Basic ${Buffer.from(`${spec.username}:${spec.password}`).toString('base64')}` };
  const cal = new URL(`${spec.principal}c/`, spec.url).href;
  const req = async (method: string, name: string, body?: string, headers: Record<string, string> = {}) => {
    const res = await fetch(name ? new URL(name, cal).href : cal, { method, headers: { ...auth, ...(body ? { 'content-type': 'text/calendar' } : {}), ...headers }, ...(body ? { body } : {}) });
    await res.text();
    return res.status;
  };
  const out: number[] = [];
  let child = await start(spec);
  try {
    out.push(await req('MKCALENDAR', ''));
    out.push(await req('PUT', 'a.ics', ics('uid-1', 'one'), { 'if-none-match': '*' })); // created
    out.push(await req('PUT', 'b.ics', ics('uid-1', 'dup'), { 'if-none-match': '*' })); // UID taken by a.ics: conflict
    out.push(await req('PUT', 'a.ics', ics('uid-1', 'one, changed'))); // update in place
    out.push(await req('PUT', 'c.ics', ics('uid-2', 'two'), { 'if-none-match': '*' }));
    out.push(await req('DELETE', 'a.ics'));
    out.push(await req('PUT', 'b.ics', ics('uid-1', 'moved'), { 'if-none-match': '*' })); // free again
    await stop(child);
    child = await start(spec); // an index built from what is on disk
    out.push(await req('PUT', 'd.ics', ics('uid-2', 'dup of c'), { 'if-none-match': '*' })); // conflict with c.ics
    out.push(await req('DELETE', 'c.ics'));
    out.push(await req('PUT', 'd.ics', ics('uid-2', 'two again'), { 'if-none-match': '*' }));
    out.push(await req('GET', 'd.ics'));
  } finally {
    await stop(child);
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

const wanted = caldavServersWanted();
(wanted ? describe : describe.skip)('Radicale benchmark settings', () => {
  beforeAll(() => {
    execFileSync(process.execPath, [script, 'install'], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 600_000 });
  });

  test('spec: stock by default; the flags start Radicale through the launcher with fsync off and the UID index', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'radicale-bench-spec-'));
    try {
      expect((await specFor(dir, [])).command).toBe('radicale');
      const s = await specFor(dir, ['--no-fsync', '--uid-index']);
      expect(s.bench).toEqual({ noFsync: true, uidIndex: true });
      const launcher = readFileSync(s.args[0], 'utf8');
      expect(launcher).toContain("'_filesystem_fsync': 'False'");
      expect(launcher).toContain('Collection.has_uid =');
      const fsyncOnly = readFileSync((await specFor(dir, ['--no-fsync'])).args[0], 'utf8');
      expect(fsyncOnly).not.toContain('has_uid');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the UID index answers exactly as stock Radicale (conflicts, deletes, updates, restart)', async () => {
    const stock = await statuses([]);
    expect(stock).toEqual([201, 201, 409, 201, 201, 200, 201, 409, 200, 201, 200]);
    expect(await statuses(['--uid-index', '--no-fsync'])).toEqual(stock);
  }, 60_000);
});
