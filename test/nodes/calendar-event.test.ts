/**
 * Calendar Event in-process (n8n-core WorkflowExecute) against the emulator: create / get /
 * getMany / update / delete on Google (service account) and Microsoft 365 (app-only), getMany on a
 * feed URL, list search, pairedItem, errors with the item index, continueOnFail.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startEmulator, type Emulator } from '../../emulator';
import { runNode, type TestCredentials } from './harness';
import { emulatorCredentials } from './emulator-creds';
import { searchCalendars } from '../../nodes/shared/target';
import { fetchTransport } from '../../providers/http';

const ROOM_G = 'room-a@resource.calendar.google.com';
const ROOM_M = 'room-101@example.org';
let emu: Emulator;
let creds: TestCredentials;

beforeAll(async () => {
  emu = await startEmulator({ limits: false });
});
afterAll(async () => {
  await emu.close();
});
beforeEach(() => {
  emu.reset();
  emu.google.createCalendar(ROOM_G, { timeZone: 'Europe/Berlin' });
  emu.google.addRoom({ resourceName: 'Room A', resourceEmail: ROOM_G, capacity: 12 });
  emu.graph.createMailbox(ROOM_M, { room: true, displayName: 'Room 101' });
  creds = emulatorCredentials(emu);
});
afterEach(() => {
  expect(emu.internalErrors).toEqual([]);
});

const google = { provider: 'google', googleAuth: 'serviceAccount', calendar: { __rl: true, mode: 'id', value: ROOM_G } };
const microsoft = { provider: 'microsoft', microsoftAuth: 'appOnly', calendar: { __rl: true, mode: 'list', value: ROOM_M } };
const G_CRED = ['calendarRelayGoogleServiceAccountApi'];
const M_CRED = ['calendarRelayMicrosoftAppOnlyApi'];
const WINDOW = { timeMin: '2026-11-30T00:00:00Z', timeMax: '2027-01-31T00:00:00Z' };

describe.each([
  ['Google', google, G_CRED],
  ['Microsoft 365', microsoft, M_CRED],
])('Calendar Event on %s', (_name, target, credentials) => {
  it('create → get → update → getMany (filters, count, next) → delete, one item per input item with pairedItem', async () => {
    const created = await runNode({
      type: 'calendarEvent', creds, credentials,
      input: [{ t: 'Anatomy OSCE' }, { t: 'Biology' }],
      parameters: {
        ...target, operation: 'create', eventSource: 'fields', title: '={{ $json.t }}', start: '2026-12-01T09:00:00', end: '2026-12-01T10:30:00',
        additionalFields: { timeZone: 'Europe/Berlin', location: 'Room 101', description: 'bring a coat' },
      },
    });
    expect(created.error).toBeUndefined();
    expect(created.items.map((i) => [i.json.title, i.pairedItem])).toEqual([['Anatomy OSCE', { item: 0 }], ['Biology', { item: 1 }]]);
    const first = created.items[0].json as { id: string; start: unknown; location: string };
    expect(first.start).toEqual({ dateTime: '2026-12-01T09:00:00', timeZone: 'Europe/Berlin' });
    expect(first.location).toBe('Room 101');

    const got = await runNode({ type: 'calendarEvent', creds, credentials, parameters: { ...target, operation: 'get', eventId: first.id } });
    expect(got.items[0].json).toMatchObject({ id: first.id, title: 'Anatomy OSCE' });

    const updated = await runNode({ type: 'calendarEvent', creds, credentials, parameters: { ...target, operation: 'update', eventId: first.id, eventSource: 'fields', title: 'Anatomy OSCE (resit)', start: '', end: '', additionalFields: {} } });
    expect(updated.error).toBeUndefined();
    expect(updated.items[0].json).toMatchObject({ id: first.id, title: 'Anatomy OSCE (resit)', location: 'Room 101', start: { dateTime: '2026-12-01T09:00:00', timeZone: 'Europe/Berlin' } });

    const many = await runNode({ type: 'calendarEvent', creds, credentials, parameters: { ...target, operation: 'getMany', ...WINDOW, returnMode: 'events', returnAll: true } });
    expect(many.items.map((i) => i.json.title).sort()).toEqual(['Anatomy OSCE (resit)', 'Biology']);
    const osce = await runNode({ type: 'calendarEvent', creds, credentials, parameters: { ...target, operation: 'getMany', ...WINDOW, returnMode: 'count', filters: { titleContains: 'osce' } } });
    expect(osce.items.map((i) => i.json.count)).toEqual([1]);
    const next = await runNode({ type: 'calendarEvent', creds, credentials, parameters: { ...target, operation: 'getMany', ...WINDOW, returnMode: 'next', filters: { titleRegex: '^bio' } } });
    expect(next.items.map((i) => i.json.title)).toEqual(['Biology']);

    const deleted = await runNode({ type: 'calendarEvent', creds, credentials, parameters: { ...target, operation: 'delete', eventId: first.id } });
    expect(deleted.items[0].json).toMatchObject({ id: first.id, deleted: true });
    const after = await runNode({ type: 'calendarEvent', creds, credentials, parameters: { ...target, operation: 'getMany', ...WINDOW, returnMode: 'count' } });
    expect(after.items[0].json.count).toBe(1);
  });

  it('a bad item fails the node with its item index; continueOnFail turns it into an error item paired with it', async () => {
    const parameters = { ...target, operation: 'get', eventId: '={{ $json.id }}' };
    const input = [{ id: 'missing-1' }, { id: 'missing-2' }];
    const failed = await runNode({ type: 'calendarEvent', creds, credentials, input, parameters });
    expect(failed.error?.message).toMatch(/event "missing-1" not found/);
    expect((failed.error as { context?: { itemIndex?: number } }).context?.itemIndex).toBe(0);
    const soft = await runNode({ type: 'calendarEvent', creds, credentials, input, parameters, continueOnFail: true });
    expect(soft.error).toBeUndefined();
    expect(soft.items.map((i) => [String(i.json.error).replace(/"missing-\d"/, 'X'), i.pairedItem])).toEqual([
      [expect.stringMatching(/event X not found/), { item: 0 }], [expect.stringMatching(/event X not found/), { item: 1 }],
    ]);
  });

  it('X-Properties are stored as extended properties on the target; a bad name fails with the item index', async () => {
    const created = await runNode({
      type: 'calendarEvent', creds, credentials, input: [{}],
      parameters: {
        ...target, operation: 'create', eventSource: 'fields', title: 'Lecture capture', start: '2026-12-02T09:00:00Z', end: '2026-12-02T10:00:00Z',
        additionalFields: { xProps: { property: [{ name: 'x-kaltura-id', value: '88120' }, { name: 'X-KALTURA-RESOURCE-IDS', value: '5020,5021' }] } },
      },
    });
    expect(created.error).toBeUndefined();
    const calendar = target === google ? ROOM_G : ROOM_M;
    const raw = target === google
      ? (emu.google.listRaw(calendar) as unknown as Array<{ extendedProperties?: { shared?: Record<string, string> } }>).map((e) => e.extendedProperties?.shared)
      : (emu.graph.listRaw(calendar) as unknown as Array<{ singleValueExtendedProperties: Array<{ id: string; value: string }> }>)
        .map((e) => Object.fromEntries(e.singleValueExtendedProperties.filter((p) => / Name X-/.test(p.id)).map((p) => [p.id.replace(/^.* Name /, ''), p.value])));
    expect(raw).toEqual([{ 'X-KALTURA-ID': '88120', 'X-KALTURA-RESOURCE-IDS': '5020,5021' }]);
    if (target === google) expect(created.items[0].json.xProps).toEqual([{ name: 'X-KALTURA-ID', value: '88120' }, { name: 'X-KALTURA-RESOURCE-IDS', value: '5020,5021' }]);

    const bad = await runNode({
      type: 'calendarEvent', creds, credentials, input: [{}],
      parameters: { ...target, operation: 'create', eventSource: 'fields', title: 'T', start: '2026-12-02T09:00:00Z', additionalFields: { xProps: { property: [{ name: 'KALTURA-ID', value: '1' }] } } },
    });
    expect(bad.error?.message).toMatch(/X-Property name "KALTURA-ID" must start with X-/);
    expect((bad.error as { context?: { itemIndex?: number } }).context?.itemIndex).toBe(0);
  });

  it('Attendees: create writes them on the target, get / getMany / update return them; a bad email fails with the item index', async () => {
    const created = await runNode({
      type: 'calendarEvent', creds, credentials, input: [{}],
      parameters: {
        ...target, operation: 'create', eventSource: 'fields', title: 'Viva', start: '2026-12-03T09:00:00Z', end: '2026-12-03T10:00:00Z',
        additionalFields: { attendees: { attendee: [{ email: 'ada@example.org', name: 'Ada Lovelace', optional: false }, { email: 'bob@example.org', name: '', optional: true }] } },
      },
    });
    expect(created.error).toBeUndefined();
    const id = (created.items[0].json as { id: string }).id;
    const calendar = target === google ? ROOM_G : ROOM_M;
    // What the provider holds, read from the emulator's store (not through our reader).
    const raw = target === google
      ? (emu.google.listRaw(calendar) as unknown as Array<{ attendees?: Array<{ email?: string; displayName?: string; optional?: boolean }> }>).map((e) => e.attendees?.map((a) => [a.email, a.displayName, a.optional === true]))
      : (emu.graph.listRaw(calendar) as unknown as Array<{ fields: { attendees?: Array<{ type?: string; emailAddress?: { address?: string; name?: string } }> } }>).map((e) => e.fields.attendees?.map((a) => [a.emailAddress?.address, a.emailAddress?.name, a.type === 'optional']));
    expect(raw).toEqual([[['ada@example.org', 'Ada Lovelace', false], ['bob@example.org', undefined, true]]]);
    const people = (json: unknown) => ((json as { attendees?: Array<{ email?: string; name?: string; role?: string }> }).attendees ?? []).map((a) => [a.email, a.name, a.role]);
    const expected = [['ada@example.org', 'Ada Lovelace', 'REQ-PARTICIPANT'], ['bob@example.org', undefined, 'OPT-PARTICIPANT']];

    const got = await runNode({ type: 'calendarEvent', creds, credentials, parameters: { ...target, operation: 'get', eventId: id } });
    expect(people(got.items[0].json)).toEqual(expected);
    const many = await runNode({ type: 'calendarEvent', creds, credentials, parameters: { ...target, operation: 'getMany', ...WINDOW, returnMode: 'events', returnAll: true } });
    expect(many.items.map((i) => people(i.json))).toEqual([expected]);

    // An update without attendees keeps them; with attendees replaces them.
    const kept = await runNode({ type: 'calendarEvent', creds, credentials, parameters: { ...target, operation: 'update', eventId: id, eventSource: 'fields', title: 'Viva (moved)', start: '', end: '', additionalFields: {} } });
    expect(kept.error).toBeUndefined();
    expect(people(kept.items[0].json)).toEqual(expected);
    const replaced = await runNode({ type: 'calendarEvent', creds, credentials, parameters: { ...target, operation: 'update', eventId: id, eventSource: 'fields', title: '', start: '', end: '', additionalFields: { attendees: { attendee: [{ email: 'cy@example.org', name: 'Cy', optional: true }] } } } });
    expect(replaced.error).toBeUndefined();
    expect(people(replaced.items[0].json)).toEqual([['cy@example.org', 'Cy', 'OPT-PARTICIPANT']]);

    const bad = await runNode({
      type: 'calendarEvent', creds, credentials, input: [{}],
      parameters: { ...target, operation: 'create', eventSource: 'fields', title: 'T', start: '2026-12-02T09:00:00Z', additionalFields: { attendees: { attendee: [{ email: 'not an email', name: 'X' }] } } },
    });
    expect(bad.error?.message).toMatch(/Attendee 1: "not an email" is not an email address/);
    expect((bad.error as { context?: { itemIndex?: number } }).context?.itemIndex).toBe(0);
  });
});

describe('Calendar Event, more', () => {
  it('all-day events and the event-JSON input (e.g. from ICS Trigger) on Google', async () => {
    const r = await runNode({
      type: 'calendarEvent', creds, credentials: G_CRED,
      input: [{ change: 'added', key: 'k1 feed u:x', uid: 'x@feed', title: 'Open day', start: { date: '2026-12-05' }, end: { date: '2026-12-06' } }],
      parameters: { ...google, operation: 'create', eventSource: 'item' },
    });
    expect(r.error).toBeUndefined();
    expect(r.items[0].json).toMatchObject({ uid: 'x@feed', title: 'Open day', start: { date: '2026-12-05' }, end: { date: '2026-12-06' } });
  });

  it('a feed URL is read-only: getMany works, create is refused with the item index', async () => {
    const server: Server = createServer((_req, res) => res.end('BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:f1\r\nDTSTART:20261201T090000Z\r\nDURATION:PT1H\r\nSUMMARY:OSCE\r\nLOCATION:HS 1\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/f.ics`;
      const many = await runNode({ type: 'calendarEvent', creds, parameters: { provider: 'feed', source: 'ics', url, operation: 'getMany', ...WINDOW, returnMode: 'countPerRoom' } });
      expect(many.items.map((i) => i.json)).toEqual([{ room: 'HS 1', count: 1 }]);
      const create = await runNode({ type: 'calendarEvent', creds, parameters: { provider: 'feed', source: 'ics', url, operation: 'create' } });
      expect(create.error?.message).toMatch(/read-only/);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it('list search offers the rooms (Google Directory, Microsoft /places)', async () => {
    for (const [params, expected] of [[google, ROOM_G], [microsoft, ROOM_M]] as const) {
      const ctx = {
        getNode: () => ({ name: 'x' }),
        getCurrentNodeParameter: (n: string) => (params as Record<string, unknown>)[n],
        getNodeParameter: (n: string) => (params as Record<string, unknown>)[n],
        getCredentials: async (type: string) => creds.data.get(type)!,
        helpers: { httpRequest: async () => undefined, httpRequestWithAuthentication: async () => undefined },
      };
      // A load-options context whose httpRequest answers like n8n's (full response) over real HTTP.
      const transport = fetchTransport();
      ctx.helpers.httpRequest = (async (o: { method: string; url: string; headers: Record<string, string>; body?: string }) => {
        const res = await transport({ method: o.method as 'GET', url: o.url, headers: o.headers, body: o.body });
        return { statusCode: res.status, headers: res.headers, body: res.body };
      }) as never;
      const found = await searchCalendars.call(ctx as never, 'room');
      expect(found.results.map((r) => r.value)).toContain(expected);
    }
  });
});
