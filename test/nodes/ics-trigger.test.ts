/**
 * ICS Trigger in-process (n8n-core PollContext): the state across polls (added → unchanged →
 * changed → removed), conditional GET, failed fetch and empty feed emit nothing and keep the
 * state, budget skip, manual mode returns a sample without touching the state, filters, expansion.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PollingWorkflow, TestCredentials } from './harness';

let server: Server;
let base: string;
let body: string;
let status = 200;
let hits: IncomingMessage[] = [];

function vevent(uid: string, summary: string, start = '20261201T090000Z', extra = ''): string {
  return `BEGIN:VEVENT\r\nUID:${uid}\r\nDTSTAMP:20261101T000000Z\r\nDTSTART:${start}\r\nDURATION:PT1H\r\nSUMMARY:${summary}\r\n${extra}END:VEVENT\r\n`;
}
function ics(...events: string[]): string {
  return `BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n${events.join('')}END:VCALENDAR\r\n`;
}

beforeAll(async () => {
  server = createServer((req, res) => {
    hits.push(req);
    const etag = `"${Buffer.from(body).length}-${body.length % 97}"`;
    if (status !== 200) {
      res.writeHead(status);
      res.end();
      return;
    }
    if (req.headers['if-none-match'] === etag) {
      res.writeHead(304);
      res.end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/calendar', etag });
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});
beforeEach(() => {
  hits = [];
  status = 200;
  body = ics(vevent('a', 'Anatomy OSCE'), vevent('b', 'Biology'));
});

function trigger(params: Record<string, unknown> = {}) {
  return new PollingWorkflow(new TestCredentials(), { source: 'ics', url: `${base}/cal.ics`, ...params });
}

const changes = (items: Array<{ json: Record<string, unknown> }> | null) => (items ?? []).map((i) => `${String(i.json.change)} ${String(i.json.uid)}`).sort();

describe('ICS Trigger', () => {
  it('added → unchanged (304, no parsing) → changed → removed, state kept small', async () => {
    const wf = trigger();
    expect(changes(await wf.poll())).toEqual(['added a', 'added b']);
    expect(await wf.poll()).toBeNull();
    expect(hits[1].headers['if-none-match']).toBeDefined();
    body = ics(vevent('a', 'Anatomy OSCE (moved)', '20261202T090000Z'), vevent('b', 'Biology'));
    const changed = await wf.poll();
    expect(changes(changed)).toEqual(['changed a']);
    expect(changed![0].json).toMatchObject({ change: 'changed', key: 'k1 feed u:a', title: 'Anatomy OSCE (moved)' });
    body = ics(vevent('b', 'Biology'));
    const removed = await wf.poll();
    expect(removed!.map((i) => i.json)).toEqual([{ change: 'removed', key: 'k1 feed u:a', sourceId: 'feed', uid: 'a' }]);
    const stored = JSON.stringify(wf.staticData);
    expect(stored).not.toContain('Biology');
    expect(stored.length).toBeLessThan(400);
  });

  it('a failed fetch and an empty feed emit nothing and do not advance the snapshot', async () => {
    const wf = trigger();
    await wf.poll();
    status = 503;
    await expect(wf.poll()).rejects.toThrow(/503/);
    status = 200;
    body = ics();
    expect(await wf.poll()).toBeNull();
    body = ics(vevent('a', 'Anatomy OSCE'), vevent('b', 'Biology'), vevent('c', 'Chemistry'));
    expect(changes(await wf.poll())).toEqual(['added c']);
  });

  it('an event that cannot be read this poll is not reported as removed', async () => {
    const wf = trigger();
    await wf.poll();
    body = ics(vevent('a', 'Anatomy OSCE'), vevent('b', 'Biology', 'not-a-date'));
    expect(await wf.poll()).toBeNull();
    body = ics(vevent('a', 'Anatomy OSCE'));
    expect(changes(await wf.poll())).toEqual(['removed b']);
  });

  it('an empty feed reports removals only when allowed', async () => {
    const wf = trigger({ options: { allowEmpty: true } });
    await wf.poll();
    body = ics();
    expect(changes(await wf.poll())).toEqual(['removed a', 'removed b']);
  });

  it('budget: polls beyond the budget make no request and emit nothing', async () => {
    const wf = trigger({ options: { budgetRequests: 2, budgetMinutes: 60 } });
    await wf.poll();
    body = ics(vevent('a', 'Anatomy OSCE'));
    expect(changes(await wf.poll())).toEqual(['removed b']);
    body = ics();
    expect(await wf.poll()).toBeNull();
    expect(hits).toHaveLength(2);
  });

  it('manual mode returns a sample and leaves the state alone', async () => {
    const wf = trigger({ options: { sampleSize: 1 } });
    const sample = await wf.poll('manual');
    expect(sample).toHaveLength(1);
    expect(wf.staticData).toEqual({});
    expect(changes(await wf.poll())).toEqual(['added a', 'added b']);
  });

  it('filters, one diff item, and changes to emit', async () => {
    const wf = trigger({ filters: { titleContains: 'osce' }, emit: 'diff' });
    const [item] = (await wf.poll())!;
    expect(item.json.counts).toEqual({ added: 1, changed: 0, removed: 0, unchanged: 0 });
    expect((item.json.added as Array<{ uid: string }>).map((a) => a.uid)).toEqual(['a']);
    const onlyRemoved = trigger({ changes: ['removed'] });
    expect(await onlyRemoved.poll()).toBeNull();
  });

  it('expansion reports each occurrence in the window', async () => {
    const start = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10).replace(/-/g, '');
    body = ics(vevent('s', 'Weekly', `${start}T090000Z`, 'RRULE:FREQ=WEEKLY;COUNT=3\r\n'));
    const wf = trigger({ options: { expand: true, futureDays: 30 } });
    const items = (await wf.poll())!;
    expect(items.map((i) => i.json.key)).toHaveLength(3);
    expect(items.every((i) => String(i.json.key).startsWith('k1 feed u:s r:'))).toBe(true);
  });

  it('JSON sources: a bridge feed (event JSON) and a JSON API with a field mapping', async () => {
    body = JSON.stringify({ events: [{ uid: 'j1', title: 'From the bridge', start: { dateTime: '2026-12-01T09:00:00Z' }, end: { dateTime: '2026-12-01T10:00:00Z' } }] });
    expect(changes(await trigger({ source: 'bridge' }).poll())).toEqual(['added j1']);
    body = JSON.stringify({ data: [{ key: 77, name: 'Seminar', from: '2026-12-01T09:00:00', to: '2026-12-01T10:00:00', hall: 'HS 1' }] });
    const items = (await trigger({ source: 'json', jsonPreset: 'generic', fieldMap: { id: 'key', location: 'hall' }, options: { defaultTimeZone: 'Europe/Berlin' } }).poll())!;
    expect(items.map((i) => [i.json.uid, i.json.title, i.json.location, i.json.start])).toEqual([['77', 'Seminar', 'HS 1', { dateTime: '2026-12-01T09:00:00', timeZone: 'Europe/Berlin' }]]);
  });

  it('a bad regex and a non-http URL are node errors', async () => {
    await expect(trigger({ filters: { titleRegex: '(' } }).poll()).rejects.toThrow(/not a valid regular expression/);
    await expect(trigger({ url: 'ftp://x/y.ics' }).poll()).rejects.toThrow(/must be http\(s\) or webcal/);
  });
});
