/**
 * Feed Export in-process: one calendar (binary, pairedItem to every item), one .ics per item,
 * text output, JSON presets as input, bad items with the item index / continueOnFail, and
 * publishing to a fake bridge (PUT /api/feeds/{name}, bearer token, {"events":[...]} or ICS,
 * subscribeUrl back; HTTP errors become NodeApiError).
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { runNode, TestCredentials } from './harness';
import { parseIcs } from '../../core/ics/parse';

const events = [
  { uid: 'a@x', title: 'Anatomy', start: { dateTime: '2026-12-01T09:00:00', timeZone: 'Europe/Berlin' }, end: { dateTime: '2026-12-01T10:00:00', timeZone: 'Europe/Berlin' } },
  { uid: 'b@x', title: 'Biology', start: { date: '2026-12-02' }, end: { date: '2026-12-03' } },
];

describe('Feed Export', () => {
  const creds = new TestCredentials();

  it('one calendar as a binary file, paired with every input item, readable again', async () => {
    const r = await runNode({ type: 'feedExport', creds, input: events, parameters: { inputFormat: 'events', mode: 'calendar', output: 'binary', binaryPropertyName: 'data', options: { calendarName: 'Rooms', method: 'PUBLISH', timeZone: 'Europe/Berlin', fileName: 'rooms.ics' } } });
    expect(r.error).toBeUndefined();
    expect(r.items).toHaveLength(1);
    expect(r.items[0].pairedItem).toEqual([{ item: 0 }, { item: 1 }]);
    const bin = r.items[0].binary!.data;
    expect([bin.fileName, bin.mimeType]).toEqual(['rooms.ics', 'text/calendar']);
    const text = Buffer.from(bin.data, 'base64').toString('utf8');
    expect(text).toMatch(/METHOD:PUBLISH/);
    expect(text).toMatch(/X-WR-CALNAME:Rooms/);
    expect(parseIcs(text).events.map((e) => [e.uid, e.title, e.start])).toEqual(events.map((e) => [e.uid, e.title, e.start]));
  });

  it('one .ics per item as text; JSON preset input', async () => {
    const r = await runNode({
      type: 'feedExport', creds, input: [{ id: 7, name: 'Seminar', begin: '2026-12-01T09:00:00', finish: '2026-12-01T11:00:00' }],
      parameters: { inputFormat: 'json', preset: 'generic', fieldMap: { start: 'begin', end: 'finish' }, defaultTimeZone: 'Europe/Berlin', mode: 'perItem', output: 'text', textField: 'ics' },
    });
    expect(r.error).toBeUndefined();
    const parsed = parseIcs(String(r.items[0].json.ics)).events;
    expect(parsed.map((e) => [e.title, e.start])).toEqual([['Seminar', { dateTime: '2026-12-01T09:00:00', timeZone: 'Europe/Berlin' }]]);
    expect(r.items[0].pairedItem).toEqual({ item: 0 });
  });

  it('a bad item: error with its index; continueOnFail gives an error item and exports the rest', async () => {
    const input = [events[0], { title: 'no times' }];
    const failed = await runNode({ type: 'feedExport', creds, input, parameters: { inputFormat: 'events', mode: 'calendar', output: 'text' } });
    expect((failed.error as { context?: { itemIndex?: number } }).context?.itemIndex).toBe(1);
    const soft = await runNode({ type: 'feedExport', creds, input, parameters: { inputFormat: 'events', mode: 'calendar', output: 'text' }, continueOnFail: true });
    expect(soft.items.map((i) => [i.json.events ?? 'error', i.pairedItem])).toEqual([[1, [{ item: 0 }]], ['error', { item: 1 }]]);
  });

  describe('publishing to the bridge', () => {
    let server: Server;
    let base: string;
    let requests: Array<{ req: IncomingMessage; body: string }>;
    let answer: { status: number; body: string };
    beforeAll(async () => {
      server = createServer((req, res) => {
        let body = '';
        req.on('data', (c) => (body += c));
        req.on('end', () => {
          requests.push({ req, body });
          res.writeHead(answer.status, { 'content-type': 'application/json' });
          res.end(answer.body);
        });
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    });
    beforeEach(() => {
      requests = [];
      answer = { status: 200, body: JSON.stringify({ name: 'rooms', version: 3, subscribeUrl: 'https://bridge.example/feeds/tok.ics' }) };
      creds.set('calendarRelayBridgeApi', { baseUrl: `${base}/`, token: 'admin-secret' });
    });

    it('PUTs {"events":[...]} with the bearer token and returns the subscribe URL', async () => {
      const r = await runNode({ type: 'feedExport', creds, credentials: ['calendarRelayBridgeApi'], input: events, parameters: { inputFormat: 'events', mode: 'calendar', output: 'text', publish: true, feedName: 'rooms' } });
      expect(r.error).toBeUndefined();
      expect(r.items[0].json).toMatchObject({ feedName: 'rooms', subscribeUrl: 'https://bridge.example/feeds/tok.ics', version: 3 });
      expect(requests).toHaveLength(1);
      const { req, body } = requests[0];
      expect([req.method, req.url, req.headers.authorization, req.headers['content-type']]).toEqual(['PUT', '/api/feeds/rooms', 'Bearer admin-secret', 'application/json']);
      expect(JSON.parse(body).events.map((e: { uid: string }) => e.uid)).toEqual(['a@x', 'b@x']);
    });

    it('or the ICS text', async () => {
      await runNode({ type: 'feedExport', creds, credentials: ['calendarRelayBridgeApi'], input: events, parameters: { inputFormat: 'events', mode: 'calendar', output: 'text', publish: true, feedName: 'rooms', options: { publishFormat: 'ics' } } });
      expect(requests[0].req.headers['content-type']).toBe('text/calendar; charset=utf-8');
      expect(requests[0].body).toMatch(/^BEGIN:VCALENDAR/);
    });

    it('a rejected token is a NodeApiError with the status; a bad feed name is refused before any request', async () => {
      answer = { status: 401, body: JSON.stringify({ error: 'unauthorized' }) };
      const r = await runNode({ type: 'feedExport', creds, credentials: ['calendarRelayBridgeApi'], input: events, parameters: { inputFormat: 'events', mode: 'calendar', output: 'text', publish: true, feedName: 'rooms' } });
      expect(r.error?.name).toBe('NodeApiError');
      expect(r.error?.message).toMatch(/bridge answered HTTP 401 publishing feed "rooms": unauthorized/);
      const bad = await runNode({ type: 'feedExport', creds, credentials: ['calendarRelayBridgeApi'], input: events, parameters: { inputFormat: 'events', mode: 'calendar', output: 'text', publish: true, feedName: '../x' } });
      expect(bad.error?.message).toMatch(/may only contain/);
      // The 401 was sent once more by n8n after re-authenticating (safe: a 401 was not executed); the bad name sent nothing.
      expect(requests).toHaveLength(2);
    });
  });
});
