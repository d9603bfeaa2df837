/**
 * Contract tests of the Google Calendar v3 emulator, driven by the real `@googleapis/calendar`
 * client and by raw HTTP. Each test pins one behaviour of the real API (see emulator/README.md).
 */
import { calendar, auth as gauth, type calendar_v3 } from '@googleapis/calendar';
import { createSign, generateKeyPairSync } from 'node:crypto';
import { startEmulator, type Emulator } from '../../emulator';

const CAL = 'team@example.com';
let emu: Emulator;
let token: string;

beforeAll(async () => {
  emu = await startEmulator();
});
afterAll(async () => {
  await emu.close();
});
beforeEach(() => {
  emu.reset();
  emu.google.createCalendar(CAL, { timeZone: 'Europe/Berlin' });
  token = emu.google.issueAccessToken();
});
afterEach(() => {
  expect(emu.internalErrors).toEqual([]);
});

// gaxios loads node-fetch with a dynamic import(), which Jest's CommonJS runtime refuses: hand it
// Node's own fetch (the same applies to any test of a provider built on @googleapis/calendar).
const transporterOptions = { fetchImplementation: fetch };

function client(): calendar_v3.Calendar {
  const o = new gauth.OAuth2({ transporterOptions });
  o.setCredentials({ access_token: token });
  return calendar({ version: 'v3', rootUrl: emu.url + '/', auth: o, retry: false, fetchImplementation: fetch });
}

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
async function api(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: Json; headers: Headers }> {
  const r = await fetch(emu.url + path, {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}), ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await r.text();
  return { status: r.status, json: text ? JSON.parse(text) : {}, headers: r.headers };
}
const events = (cal = CAL) => `/calendar/v3/calendars/${encodeURIComponent(cal)}/events`;
const timed = (start: string, end: string, extra: Json = {}) => ({ summary: 'x', start: { dateTime: start }, end: { dateTime: end }, ...extra });

/** Extracts {status, body} per part from a multipart/mixed batch answer. */
function parseMultipart(contentType: string, text: string): { contentId?: string; status: number; body: Json | undefined }[] {
  const boundary = /boundary=([^;]+)/.exec(contentType)![1];
  return text.split(`--${boundary}`).slice(1, -1).map((chunk) => {
    const cid = /Content-ID: <([^>]+)>/i.exec(chunk)?.[1];
    const status = Number(/HTTP\/1\.1 (\d{3})/.exec(chunk)![1]);
    const bodyText = chunk.split(/\r\n\r\n/).slice(2).join('\r\n\r\n').trim();
    return { contentId: cid, status, body: bodyText ? JSON.parse(bodyText) : undefined };
  });
}

describe('errors and auth', () => {
  test('missing or unknown bearer → 401 in the Google envelope', async () => {
    for (const auth of [undefined, 'Bearer nope']) {
      const r = await fetch(emu.url + events(), { headers: auth ? { Authorization: auth } : {} });
      expect(r.status).toBe(401);
      const j = (await r.json()) as Json;
      expect(j.error.code).toBe(401);
      expect(j.error.errors[0]).toMatchObject({ domain: 'global', reason: 'authError', location: 'Authorization' });
    }
  });

  test('unknown paths answer in the API own envelope (Google under /calendar/, Graph under /v1.0/)', async () => {
    const g = await api('GET', '/calendar/v3/users/me/calendarList');
    expect(g.status).toBe(404);
    expect(g.json).toEqual({ error: { errors: [{ domain: 'global', reason: 'notFound', message: 'Not Found' }], code: 404, message: 'Not Found' } });
    const d = await api('GET', '/admin/directory/v1/users');
    expect([d.status, d.json.error.errors[0].reason]).toEqual([404, 'notFound']);
    const m = await api('GET', '/v1.0/nonsense', undefined, { Authorization: `Bearer ${emu.graph.issueToken()}` });
    expect(m.status).toBe(400); // Graph: BadRequest "Resource not found for the segment"
    expect(m.json.error).toMatchObject({ code: 'BadRequest', message: expect.stringContaining("'nonsense'"), innerError: expect.any(Object) });
  });

  test('GET answers carry the resource etag as an ETag header', async () => {
    const { json: ev } = await api('POST', events(), timed('2024-11-14T09:00:00Z', '2024-11-14T10:00:00Z'));
    const got = await api('GET', `${events()}/${ev.id}`);
    expect(got.headers.get('etag')).toBe(ev.etag);
    const list = await api('GET', events());
    expect(list.headers.get('etag')).toBe(list.json.etag);
  });

  test('auth checking can be switched off', async () => {
    emu.google.requireAuth = false;
    expect((await fetch(emu.url + events())).status).toBe(200);
  });

  test('expired access tokens → 401; an injected tokenExpired fault too', async () => {
    emu.google.expireAccessTokens();
    expect((await api('GET', events())).status).toBe(401);
    token = emu.google.issueAccessToken({ lifetimeSeconds: 60 });
    expect((await api('GET', events())).status).toBe(200);
    emu.clock.advance(61_000);
    expect((await api('GET', events())).status).toBe(401);
    token = emu.google.issueAccessToken();
    emu.faults.next({ api: 'google', kind: 'list' }, { kind: 'tokenExpired' });
    expect((await api('GET', events())).status).toBe(401);
  });

  test('unknown calendar → 404 notFound; autoCreateCalendars creates it', async () => {
    const r = await api('GET', events('ghost@example.com'));
    expect(r.status).toBe(404);
    expect(r.json).toEqual({ error: { errors: [{ domain: 'global', reason: 'notFound', message: 'Not Found' }], code: 404, message: 'Not Found' } });
    emu.google.autoCreateCalendars = true;
    expect((await api('GET', events('ghost@example.com'))).status).toBe(200);
  });

  test('service-account JWT assertion through the real JWT client (signature verified)', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const email = 'relay@project.iam.gserviceaccount.com';
    emu.google.registerServiceAccount(email, publicKey.export({ type: 'spki', format: 'pem' }).toString());
    const jwt = new gauth.JWT({ email, key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), subject: CAL, scopes: ['https://www.googleapis.com/auth/calendar'], transporterOptions });
    // google-auth-library hard-codes https://oauth2.googleapis.com/token: redirect it to the emulator.
    jwt.transporter.interceptors.request.add({
      resolved: async (o) => {
        if (String(o.url) === 'https://oauth2.googleapis.com/token') o.url = new URL(emu.url + '/token');
        return o;
      },
    });
    const cal = calendar({ version: 'v3', rootUrl: emu.url + '/', auth: jwt, fetchImplementation: fetch });
    const res = await cal.events.list({ calendarId: 'primary' }); // primary = the impersonated user
    expect(res.status).toBe(200);
    expect(emu.log.count({ api: 'oauth', status: 200 })).toBe(1);
  });

  test('JWT with a wrong signature or audience is refused', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const { publicKey: other } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const email = 'sa@p.iam.gserviceaccount.com';
    emu.google.registerServiceAccount(email, other.export({ type: 'spki', format: 'pem' }).toString());
    const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const now = Math.floor(emu.clock.now() / 1000);
    const make = (aud: string) => {
      const head = `${b64({ alg: 'RS256', typ: 'JWT' })}.${b64({ iss: email, aud, iat: now, exp: now + 3600, scope: 's' })}`;
      return `${head}.${createSign('RSA-SHA256').update(head).sign(privateKey).toString('base64url')}`;
    };
    const post = (assertion: string) => fetch(emu.url + '/token', { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion }) });
    const bad = await post(make('https://oauth2.googleapis.com/token'));
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as Json).error_description).toMatch(/Signature/);
    const wrongAud = await post(make('https://example.com/'));
    expect(((await wrongAud.json()) as Json).error_description).toMatch(/aud/);
  });

  test('refresh_token grant through the real OAuth2Client', async () => {
    emu.google.registerRefreshToken('1//refresh-me');
    const o = new gauth.OAuth2({ clientId: 'id', clientSecret: 'secret', endpoints: { oauth2TokenUrl: emu.url + '/token' }, transporterOptions });
    o.setCredentials({ refresh_token: '1//refresh-me' });
    const cal = calendar({ version: 'v3', rootUrl: emu.url + '/', auth: o, fetchImplementation: fetch });
    const res = await cal.events.list({ calendarId: CAL });
    expect(res.status).toBe(200);
    const unknown = await fetch(emu.url + '/token', { method: 'POST', body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: 'nope' }) });
    expect(unknown.status).toBe(400);
    expect(((await unknown.json()) as Json).error).toBe('invalid_grant');
  });
});

describe('insert, get, patch, update, delete', () => {
  test('insert with the real client returns server fields and a new etag per write', async () => {
    const cal = client();
    const { data: ev } = await cal.events.insert({ calendarId: CAL, requestBody: { summary: 'Lecture', start: { dateTime: '2024-11-14T09:00:00+01:00' }, end: { dateTime: '2024-11-14T10:00:00+01:00' } } });
    expect(ev).toMatchObject({ kind: 'calendar#event', status: 'confirmed', summary: 'Lecture', sequence: 0 });
    expect(ev.id).toMatch(/^[a-v0-9]{5,}$/);
    expect(ev.iCalUID).toBe(`${ev.id}@google.com`);
    const { data: got } = await cal.events.get({ calendarId: CAL, eventId: ev.id! });
    expect(got.etag).toBe(ev.etag);
    const { data: patched } = await cal.events.patch({ calendarId: CAL, eventId: ev.id!, requestBody: { summary: 'Lecture 2' } });
    expect(patched.etag).not.toBe(ev.etag);
    expect(patched.summary).toBe('Lecture 2');
  });

  test.each([
    ['too short', 'abcd', 400, 'invalid'],
    ['outside base32hex (w)', 'abcdw1234', 400, 'invalid'],
    ['upper case', 'ABCDE12345', 400, 'invalid'],
    ['ok', 'abcde12345', 200, undefined],
  ])('client-supplied id %s', async (_n, id, status, reason) => {
    const r = await api('POST', events(), timed('2024-11-14T09:00:00Z', '2024-11-14T10:00:00Z', { id }));
    expect(r.status).toBe(status);
    if (reason) expect(r.json.error.errors[0].reason).toBe(reason);
  });

  test('duplicate id → 409 duplicate, also after the event was deleted', async () => {
    const body = timed('2024-11-14T09:00:00Z', '2024-11-14T10:00:00Z', { id: 'abc0000001' });
    expect((await api('POST', events(), body)).status).toBe(200);
    const dup = await api('POST', events(), body);
    expect(dup.status).toBe(409);
    expect(dup.json.error.errors[0]).toEqual({ domain: 'global', reason: 'duplicate', message: 'The requested identifier already exists.' });
    expect((await api('DELETE', `${events()}/abc0000001`)).status).toBe(204);
    expect((await api('POST', events(), body)).status).toBe(409);
  });

  test('delete: status becomes cancelled, get still returns it, second delete → 410 deleted', async () => {
    const { json: ev } = await api('POST', events(), timed('2024-11-14T09:00:00Z', '2024-11-14T10:00:00Z'));
    expect((await api('DELETE', `${events()}/${ev.id}`)).status).toBe(204);
    const got = await api('GET', `${events()}/${ev.id}`);
    expect(got.status).toBe(200);
    expect(got.json.status).toBe('cancelled');
    const again = await api('DELETE', `${events()}/${ev.id}`);
    expect(again.status).toBe(410);
    expect(again.json.error.errors[0].reason).toBe('deleted');
    expect(emu.google.listRaw(CAL).map((e) => e.status)).toEqual(['cancelled']);
  });

  test('patch replaces arrays and null deletes a key', async () => {
    const { json: ev } = await api('POST', events(), timed('2024-11-14T09:00:00Z', '2024-11-14T10:00:00Z', {
      location: 'Room 1', attendees: [{ email: 'a@x.org' }, { email: 'b@x.org' }], extendedProperties: { private: { k1: 'v1', k2: 'v2' } },
    }));
    const r = await api('PATCH', `${events()}/${ev.id}`, { location: null, attendees: [{ email: 'c@x.org' }], extendedProperties: { private: { k2: null, k3: 'v3' } } });
    expect(r.status).toBe(200);
    expect(r.json.location).toBeUndefined();
    expect(r.json.attendees).toEqual([{ email: 'c@x.org' }]);
    expect(r.json.extendedProperties.private).toEqual({ k1: 'v1', k3: 'v3' });
  });

  test('update (PUT) replaces the event: omitted extendedProperties are dropped', async () => {
    const { json: ev } = await api('POST', events(), timed('2024-11-14T09:00:00Z', '2024-11-14T10:00:00Z', { description: 'd', extendedProperties: { private: { relay: '1' } } }));
    const r = await client().events.update({ calendarId: CAL, eventId: ev.id, requestBody: { summary: 'new', start: ev.start, end: ev.end } });
    expect(r.data.summary).toBe('new');
    expect(r.data.description).toBeUndefined();
    expect(r.data.extendedProperties).toBeUndefined();
    expect(r.data.created).toBe(ev.created);
  });

  test('If-Match with a stale etag → 412 conditionNotMet; current etag passes', async () => {
    const { json: ev } = await api('POST', events(), timed('2024-11-14T09:00:00Z', '2024-11-14T10:00:00Z'));
    const { json: v2 } = await api('PATCH', `${events()}/${ev.id}`, { summary: 'v2' });
    const stale = await api('PATCH', `${events()}/${ev.id}`, { summary: 'v3' }, { 'If-Match': ev.etag });
    expect(stale.status).toBe(412);
    expect(stale.json.error.errors[0].reason).toBe('conditionNotMet');
    expect((await api('DELETE', `${events()}/${ev.id}`, undefined, { 'If-Match': ev.etag })).status).toBe(412);
    expect((await api('PATCH', `${events()}/${ev.id}`, { summary: 'v3' }, { 'If-Match': v2.etag })).status).toBe(200);
  });

  test('If-None-Match with the current etag → 304 without a body; a stale one → 200', async () => {
    const { json: ev } = await api('POST', events(), timed('2024-11-14T09:00:00Z', '2024-11-14T10:00:00Z'));
    const r = await fetch(`${emu.url}${events()}/${ev.id}`, { headers: { Authorization: `Bearer ${token}`, 'If-None-Match': ev.etag } });
    expect(r.status).toBe(304);
    expect(await r.text()).toBe('');
    await api('PATCH', `${events()}/${ev.id}`, { summary: 'v2' });
    const fresh = await api('GET', `${events()}/${ev.id}`, undefined, { 'If-None-Match': ev.etag });
    expect([fresh.status, fresh.json.summary]).toEqual([200, 'v2']);
  });

  test('sequence is kept, can be raised, not lowered', async () => {
    const { json: ev } = await api('POST', events(), timed('2024-11-14T09:00:00Z', '2024-11-14T10:00:00Z', { sequence: 3 }));
    expect(ev.sequence).toBe(3);
    expect((await api('PATCH', `${events()}/${ev.id}`, { sequence: 4 })).json.sequence).toBe(4);
    const low = await api('PATCH', `${events()}/${ev.id}`, { sequence: 1 });
    expect(low.status).toBe(400);
  });

  test('import requires iCalUID and updates the event with the same iCalUID', async () => {
    expect((await api('POST', `${events()}/import`, timed('2024-11-14T09:00:00Z', '2024-11-14T10:00:00Z'))).json.error.errors[0].reason).toBe('required');
    const a = await api('POST', `${events()}/import`, timed('2024-11-14T09:00:00Z', '2024-11-14T10:00:00Z', { iCalUID: 'uid-1@feed' }));
    expect(a.status).toBe(200);
    expect(a.json.iCalUID).toBe('uid-1@feed');
    const b = await api('POST', `${events()}/import`, timed('2024-11-14T09:00:00Z', '2024-11-14T11:00:00Z', { iCalUID: 'uid-1@feed', summary: 'moved' }));
    expect(b.json.id).toBe(a.json.id);
    expect(emu.google.listRaw(CAL)).toHaveLength(1);
  });

  test('import with a client id: the id rules of insert; an id taken by another event (live or deleted) → 409, never replaced', async () => {
    const other = await api('POST', events(), timed('2024-11-14T09:00:00Z', '2024-11-14T10:00:00Z', { id: 'taken00001', summary: 'other' }));
    expect(other.status).toBe(200);
    const clash = await api('POST', `${events()}/import`, timed('2024-11-15T09:00:00Z', '2024-11-15T10:00:00Z', { id: 'taken00001', iCalUID: 'new-uid@feed', summary: 'intruder' }));
    expect(clash.status).toBe(409);
    expect(clash.json.error.errors[0].reason).toBe('duplicate');
    expect((await api('GET', `${events()}/taken00001`)).json.summary).toBe('other');
    // Deleted: the id stays taken, the event is not resurrected.
    expect((await api('DELETE', `${events()}/taken00001`)).status).toBe(204);
    expect((await api('POST', `${events()}/import`, timed('2024-11-15T09:00:00Z', '2024-11-15T10:00:00Z', { id: 'taken00001', iCalUID: 'new-uid@feed' }))).status).toBe(409);
    expect((await api('GET', `${events()}/taken00001`)).json.status).toBe('cancelled');
    expect((await api('POST', `${events()}/import`, timed('2024-11-15T09:00:00Z', '2024-11-15T10:00:00Z', { id: 'bad', iCalUID: 'x@feed' }))).status).toBe(400);
    // A fresh id is used as given; re-importing the same iCalUID with that id updates it.
    const fresh = await api('POST', `${events()}/import`, timed('2024-11-15T09:00:00Z', '2024-11-15T10:00:00Z', { id: 'fresh00001', iCalUID: 'uid-2@feed' }));
    expect(fresh.json.id).toBe('fresh00001');
    const again = await api('POST', `${events()}/import`, timed('2024-11-15T09:00:00Z', '2024-11-15T11:00:00Z', { id: 'fresh00001', iCalUID: 'uid-2@feed', summary: 'v2' }));
    expect([again.status, again.json.id, again.json.summary]).toEqual([200, 'fresh00001', 'v2']);
    // The iCalUID names one event and the id another → 409 too.
    const mixed = await api('POST', `${events()}/import`, timed('2024-11-15T09:00:00Z', '2024-11-15T11:00:00Z', { id: 'other00001', iCalUID: 'uid-2@feed' }));
    expect(mixed.status).toBe(409);
    expect(emu.google.listRaw(CAL).map((e) => e.id).sort()).toEqual(['fresh00001', 'taken00001']);
  });

  test.each([
    ['insert', 'POST', '', { location: null }, 'location'],
    ['insert (nested)', 'POST', '', { start: { dateTime: '2024-11-14T09:00:00Z', timeZone: null } }, 'start.timeZone'],
    ['insert (in an array)', 'POST', '', { attendees: [{ email: 'a@x.org', displayName: null }] }, 'attendees[0].displayName'],
    ['import', 'POST', '/import', { iCalUID: 'n@feed', description: null }, 'description'],
    ['update (PUT)', 'PUT', '/nul0000001', { extendedProperties: { private: { k: null } } }, 'extendedProperties.private.k'],
  ])('null outside PATCH (%s) → 400 naming the field; PATCH accepts it', async (_n, method, suffix, extra, path) => {
    await api('POST', events(), timed('2024-11-14T09:00:00Z', '2024-11-14T10:00:00Z', { id: 'nul0000001' }));
    const r = await api(method, `${events()}${suffix}`, { ...timed('2024-11-14T09:00:00Z', '2024-11-14T10:00:00Z'), ...extra });
    expect(r.status).toBe(400);
    expect(r.json.error.errors[0]).toMatchObject({ reason: 'invalid', location: path });
    expect(r.json.error.message).toContain(path);
    expect((await api('PATCH', `${events()}/nul0000001`, { location: null, description: null })).status).toBe(200);
  });

  test.each([
    ['misspelled top-level field', { summry: 'x' }, 'summry'],
    ['misspelled nested field', { attendees: [{ emial: 'a@b.c' }] }, 'attendees[0].emial'],
    ['wrong type', { start: { dateTime: 1234 }, end: { dateTime: '2024-11-14T10:00:00Z' } }, 'start.dateTime'],
    ['non-string extended property value', { extendedProperties: { private: { n: 5 } } }, 'extendedProperties.private.n'],
  ])('schema: %s → 400 naming the field', async (_n, extra, path) => {
    const r = await api('POST', events(), { ...timed('2024-11-14T09:00:00Z', '2024-11-14T10:00:00Z'), ...extra });
    expect(r.status).toBe(400);
    expect(r.json.error.message).toContain(path);
    expect(r.json.error.errors[0].location).toBe(path);
  });

  test('time checks: missing end, empty range, recurring without timeZone', async () => {
    expect((await api('POST', events(), { start: { dateTime: '2024-11-14T09:00:00Z' } })).json.error.errors[0].reason).toBe('required');
    expect((await api('POST', events(), timed('2024-11-14T10:00:00Z', '2024-11-14T09:00:00Z'))).json.error.errors[0].reason).toBe('timeRangeEmpty');
    const r = await api('POST', events(), timed('2024-11-14T09:00:00', '2024-11-14T10:00:00', { recurrence: ['RRULE:FREQ=DAILY;COUNT=2'] }));
    expect(r.status).toBe(400);
    expect(r.json.error.message).toMatch(/time zone/);
  });

  test('extendedProperties limits: long keys dropped, long values truncated, >300 refused', async () => {
    const longKey = 'k'.repeat(45);
    const r = await api('POST', events(), timed('2024-11-14T09:00:00Z', '2024-11-14T10:00:00Z', { extendedProperties: { private: { [longKey]: 'x', ok: 'v'.repeat(2000), ['k'.repeat(44)]: 'y' } } }));
    expect(r.status).toBe(200);
    expect(Object.keys(r.json.extendedProperties.private).sort()).toEqual(['k'.repeat(44), 'ok']);
    expect(r.json.extendedProperties.private.ok).toHaveLength(1024);
    const many = Object.fromEntries(Array.from({ length: 301 }, (_, i) => [`p${i}`, 'v']));
    expect((await api('POST', events(), timed('2024-11-14T09:00:00Z', '2024-11-14T10:00:00Z', { extendedProperties: { shared: many } }))).status).toBe(400);
  });
});

describe('list', () => {
  async function seedN(n: number) {
    for (let i = 0; i < n; i++) emu.google.seedEvent(CAL, timed(`2024-11-${String(1 + (i % 28)).padStart(2, '0')}T09:00:00Z`, `2024-11-${String(1 + (i % 28)).padStart(2, '0')}T10:00:00Z`, { summary: `e${i}` }));
  }
  async function listAll(params: Record<string, string>): Promise<{ items: Json[]; pages: number; last: Json }> {
    const items: Json[] = [];
    let pageToken: string | undefined;
    let pages = 0;
    let last: Json = {};
    do {
      const qs = new URLSearchParams({ ...params, ...(pageToken ? { pageToken } : {}) });
      const r = await api('GET', `${events()}?${qs}`);
      expect(r.status).toBe(200);
      last = r.json;
      expect(!!last.nextPageToken && !!last.nextSyncToken).toBe(false); // never both
      items.push(...last.items);
      pageToken = last.nextPageToken;
      pages++;
    } while (pageToken);
    return { items, pages, last };
  }

  test('maxResults default 250; nextSyncToken only on the last page', async () => {
    await seedN(260);
    const first = await api('GET', events());
    expect(first.json.items).toHaveLength(250);
    expect(first.json.nextPageToken).toBeDefined();
    expect(first.json.nextSyncToken).toBeUndefined();
    const all = await listAll({ maxResults: '100' });
    expect(all.items).toHaveLength(260);
    expect(all.pages).toBe(3);
    expect(all.last.nextSyncToken).toBeDefined();
    expect((await api('GET', `${events()}?maxResults=0`)).status).toBe(400);
  });

  test('maxResults above 2500 is capped at 2500', async () => {
    await seedN(2510);
    const big = await api('GET', `${events()}?maxResults=5000`);
    expect(big.json.items).toHaveLength(2500);
    expect(big.json.nextPageToken).toBeDefined();
    const rest = await api('GET', `${events()}?maxResults=5000&pageToken=${encodeURIComponent(big.json.nextPageToken)}`);
    expect(rest.json.items).toHaveLength(10);
    expect(rest.json.nextSyncToken).toBeDefined();
    expect((await api('GET', `${events()}?maxResults=2500`)).json.items).toHaveLength(2500);
  });

  test('random short and empty pages still carry tokens; following them yields everything once', async () => {
    await seedN(57);
    emu.google.randomShortPages(3);
    const all = await listAll({ maxResults: '10' });
    expect(all.pages).toBeGreaterThan(6);
    expect(new Set(all.items.map((e) => e.id)).size).toBe(57);
    expect(all.items).toHaveLength(57);
    emu.google.setPageShaper((_size, page) => (page === 0 ? 0 : 100));
    const first = await api('GET', events());
    expect(first.json.items).toEqual([]);
    expect(first.json.nextPageToken).toBeDefined();
  });

  test('real client pages with pageToken', async () => {
    await seedN(12);
    const cal = client();
    const seen: string[] = [];
    let pageToken: string | undefined;
    do {
      const { data } = await cal.events.list({ calendarId: CAL, maxResults: 5, pageToken });
      seen.push(...data.items!.map((e) => e.id!));
      pageToken = data.nextPageToken ?? undefined;
    } while (pageToken);
    expect(new Set(seen).size).toBe(12);
  });

  test('timeMin is exclusive on end, timeMax exclusive on start; offsets required', async () => {
    emu.google.seedEvent(CAL, timed('2024-11-14T08:00:00Z', '2024-11-14T09:00:00Z', { summary: 'ends at min' }));
    emu.google.seedEvent(CAL, timed('2024-11-14T09:30:00Z', '2024-11-14T10:30:00Z', { summary: 'inside' }));
    emu.google.seedEvent(CAL, timed('2024-11-14T11:00:00Z', '2024-11-14T12:00:00Z', { summary: 'starts at max' }));
    const r = await api('GET', `${events()}?timeMin=2024-11-14T10:00:00%2B01:00&timeMax=2024-11-14T11:00:00Z`);
    expect(r.json.items.map((e: Json) => e.summary)).toEqual(['inside']);
    expect((await api('GET', `${events()}?timeMin=2024-11-14T10:00:00`)).status).toBe(400);
  });

  test('showDeleted and updatedMin include cancelled events; default list does not', async () => {
    const a = emu.google.seedEvent(CAL, timed('2024-11-14T08:00:00Z', '2024-11-14T09:00:00Z'));
    emu.google.seedEvent(CAL, timed('2024-11-15T08:00:00Z', '2024-11-15T09:00:00Z'));
    await api('DELETE', `${events()}/${a.id}`);
    expect((await api('GET', events())).json.items).toHaveLength(1);
    const withDeleted = await api('GET', `${events()}?showDeleted=true`);
    expect(withDeleted.json.items.map((e: Json) => e.status).sort()).toEqual(['cancelled', 'confirmed']);
    const since = await api('GET', `${events()}?updatedMin=2000-01-01T00:00:00Z`);
    expect(since.json.items).toHaveLength(2);
  });

  test('privateExtendedProperty / sharedExtendedProperty filters (repeatable, all must match)', async () => {
    emu.google.seedEvent(CAL, timed('2024-11-14T08:00:00Z', '2024-11-14T09:00:00Z', { summary: 'a', extendedProperties: { private: { relay: 's1', kind: 'x' } } }));
    emu.google.seedEvent(CAL, timed('2024-11-14T08:00:00Z', '2024-11-14T09:00:00Z', { summary: 'b', extendedProperties: { private: { relay: 's1' }, shared: { tag: 't' } } }));
    emu.google.seedEvent(CAL, timed('2024-11-14T08:00:00Z', '2024-11-14T09:00:00Z', { summary: 'c', extendedProperties: { private: { relay: 's2' } } }));
    const names = async (qs: string) => (await api('GET', `${events()}?${qs}`)).json.items.map((e: Json) => e.summary).sort();
    expect(await names('privateExtendedProperty=relay%3Ds1')).toEqual(['a', 'b']);
    expect(await names('privateExtendedProperty=relay%3Ds1&privateExtendedProperty=kind%3Dx')).toEqual(['a']);
    expect(await names('sharedExtendedProperty=tag%3Dt')).toEqual(['b']);
    const viaClient = await client().events.list({ calendarId: CAL, privateExtendedProperty: ['relay=s2'] });
    expect(viaClient.data.items!.map((e) => e.summary)).toEqual(['c']);
    expect((await api('GET', `${events()}?privateExtendedProperty=novalue`)).status).toBe(400);
  });

  test('orderBy=startTime needs singleEvents', async () => {
    expect((await api('GET', `${events()}?orderBy=startTime`)).status).toBe(400);
    emu.google.seedEvent(CAL, timed('2024-11-15T08:00:00Z', '2024-11-15T09:00:00Z', { summary: 'later' }));
    emu.google.seedEvent(CAL, timed('2024-11-14T08:00:00Z', '2024-11-14T09:00:00Z', { summary: 'earlier' }));
    const r = await api('GET', `${events()}?orderBy=startTime&singleEvents=true`);
    expect(r.json.items.map((e: Json) => e.summary)).toEqual(['earlier', 'later']);
  });
});

describe('recurring events', () => {
  const series = {
    summary: 'Weekly', start: { dateTime: '2024-10-21T09:00:00', timeZone: 'Europe/Berlin' }, end: { dateTime: '2024-10-21T10:00:00', timeZone: 'Europe/Berlin' },
    recurrence: ['RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=4', 'EXDATE;TZID=Europe/Berlin:20241104T090000'],
  };

  test('singleEvents expands a series across DST with EXDATE; instance ids and originalStartTime', async () => {
    const { json: master } = await api('POST', events(), series);
    const r = await api('GET', `${events()}?singleEvents=true&orderBy=startTime`);
    // 21 Oct (CEST, +02:00), [4 Nov excluded], 28 Oct and 11 Nov (CET, +01:00)
    expect(r.json.items.map((e: Json) => e.start.dateTime)).toEqual(['2024-10-21T09:00:00+02:00', '2024-10-28T09:00:00+01:00', '2024-11-11T09:00:00+01:00']);
    expect(r.json.items.map((e: Json) => e.id)).toEqual([`${master.id}_20241021T070000Z`, `${master.id}_20241028T080000Z`, `${master.id}_20241111T080000Z`]);
    for (const i of r.json.items) {
      expect(i.recurringEventId).toBe(master.id);
      expect(i.originalStartTime).toEqual(i.start);
      expect(i.recurrence).toBeUndefined();
    }
    const unexpanded = await api('GET', events());
    expect(unexpanded.json.items.map((e: Json) => e.id)).toEqual([master.id]);
  });

  test('modifying and cancelling instances creates exceptions seen by list and instances', async () => {
    const { json: master } = await api('POST', events(), series);
    const moved = await api('PATCH', `${events()}/${master.id}_20241028T080000Z`, { summary: 'moved', start: { dateTime: '2024-10-29T09:00:00+01:00' }, end: { dateTime: '2024-10-29T10:00:00+01:00' } });
    expect(moved.status).toBe(200);
    expect(moved.json.recurringEventId).toBe(master.id);
    expect((await api('DELETE', `${events()}/${master.id}_20241111T080000Z`)).status).toBe(204);
    const inst = await client().events.instances({ calendarId: CAL, eventId: master.id });
    expect(inst.data.items!.map((e) => e.summary)).toEqual(['Weekly', 'moved']);
    const withDeleted = await api('GET', `${events()}/${master.id}/instances?showDeleted=true`);
    expect(withDeleted.json.items.map((e: Json) => e.status)).toEqual(['confirmed', 'confirmed', 'cancelled']);
    // Not expanded: the master plus its exceptions (the cancelled one too, since showDeleted=false and singleEvents=false).
    const plain = await api('GET', events());
    expect(plain.json.items).toHaveLength(3);
  });

  test('singleEvents: an exception moved into the window from a slot outside it is listed (and one moved out is not)', async () => {
    const { json: master } = await api('POST', events(), series);
    // 21 Oct → 30 Oct, into a window that does not hold its original slot.
    await api('PATCH', `${events()}/${master.id}_20241021T070000Z`, { summary: 'moved in', start: { dateTime: '2024-10-30T09:00:00+01:00' }, end: { dateTime: '2024-10-30T10:00:00+01:00' } });
    // 28 Oct → 15 Nov, out of the window that holds its original slot.
    await api('PATCH', `${events()}/${master.id}_20241028T080000Z`, { summary: 'moved out', start: { dateTime: '2024-11-15T09:00:00+01:00' }, end: { dateTime: '2024-11-15T10:00:00+01:00' } });
    const r = await api('GET', `${events()}?singleEvents=true&timeMin=2024-10-27T00:00:00Z&timeMax=2024-11-01T00:00:00Z`);
    expect(r.json.items.map((e: Json) => [e.id, e.summary])).toEqual([[`${master.id}_20241021T070000Z`, 'moved in']]);
    // Also when the original slot lies beyond the open-series expansion horizon.
    const far = await api('POST', events(), { ...series, summary: 'Open', recurrence: ['RRULE:FREQ=YEARLY'] });
    const farId = `${far.json.id}_20301021T070000Z`;
    expect((await api('PATCH', `${events()}/${farId}`, { summary: 'pulled in', start: { dateTime: '2024-10-31T09:00:00+01:00' }, end: { dateTime: '2024-10-31T10:00:00+01:00' } })).status).toBe(200);
    const r2 = await api('GET', `${events()}?singleEvents=true&orderBy=startTime&timeMin=2024-10-27T00:00:00Z&timeMax=2024-11-01T00:00:00Z`);
    expect(r2.json.items.map((e: Json) => e.summary)).toEqual(['moved in', 'pulled in']);
  });

  test('window bounds apply to instances; unknown instance id → 404', async () => {
    const { json: master } = await api('POST', events(), series);
    const r = await api('GET', `${events()}?singleEvents=true&timeMin=2024-10-27T00:00:00Z&timeMax=2024-11-01T00:00:00Z`);
    expect(r.json.items).toHaveLength(1);
    expect((await api('GET', `${events()}/${master.id}_20241029T080000Z`)).status).toBe(404);
  });
});

describe('sync tokens', () => {
  test('incremental list returns only changes, deletions as cancelled', async () => {
    const a = emu.google.seedEvent(CAL, timed('2024-11-14T08:00:00Z', '2024-11-14T09:00:00Z', { summary: 'a' }));
    emu.google.seedEvent(CAL, timed('2024-11-14T08:00:00Z', '2024-11-14T09:00:00Z', { summary: 'b' }));
    const full = await client().events.list({ calendarId: CAL });
    const t1 = full.data.nextSyncToken!;
    expect(t1).toBeTruthy();
    const nothing = await api('GET', `${events()}?syncToken=${encodeURIComponent(t1)}`);
    expect(nothing.json.items).toEqual([]);
    await api('DELETE', `${events()}/${a.id}`);
    const { json: c } = await api('POST', events(), timed('2024-11-16T08:00:00Z', '2024-11-16T09:00:00Z', { summary: 'c' }));
    const inc = await api('GET', `${events()}?syncToken=${encodeURIComponent(t1)}`);
    expect(inc.json.items.map((e: Json) => [e.id, e.status])).toEqual([[a.id, 'cancelled'], [c.id, 'confirmed']]);
    const t2 = inc.json.nextSyncToken;
    expect((await api('GET', `${events()}?syncToken=${encodeURIComponent(t2)}`)).json.items).toEqual([]);
  });

  test('singleEvents incremental: an exception is listed once when master and exception both changed', async () => {
    const { json: master } = await api('POST', events(), {
      summary: 'Weekly', start: { dateTime: '2024-10-21T09:00:00', timeZone: 'Europe/Berlin' }, end: { dateTime: '2024-10-21T10:00:00', timeZone: 'Europe/Berlin' },
      recurrence: ['RRULE:FREQ=WEEKLY;COUNT=3'],
    });
    const t = (await api('GET', `${events()}?singleEvents=true`)).json.nextSyncToken;
    await api('PATCH', `${events()}/${master.id}_20241028T080000Z`, { summary: 'changed instance' });
    await api('PATCH', `${events()}/${master.id}`, { description: 'changed series' });
    const inc = await api('GET', `${events()}?singleEvents=true&syncToken=${encodeURIComponent(t)}`);
    const ids = inc.json.items.map((e: Json) => e.id);
    expect(ids).toEqual([...new Set(ids)]);
    expect(ids).toContain(`${master.id}_20241028T080000Z`);
    expect(inc.json.items.find((e: Json) => e.id === `${master.id}_20241028T080000Z`).summary).toBe('changed instance');
  });

  test('incremental results: a cancelled exception carries recurringEventId and originalStartTime; deleting a series cancels its exceptions', async () => {
    const { json: master } = await api('POST', events(), {
      summary: 'Weekly', start: { dateTime: '2024-10-21T09:00:00', timeZone: 'Europe/Berlin' }, end: { dateTime: '2024-10-21T10:00:00', timeZone: 'Europe/Berlin' },
      recurrence: ['RRULE:FREQ=WEEKLY;COUNT=3'],
    });
    await api('PATCH', `${events()}/${master.id}_20241104T080000Z`, { summary: 'kept exception' });
    const t = (await api('GET', events())).json.nextSyncToken;
    expect((await api('DELETE', `${events()}/${master.id}_20241028T080000Z`)).status).toBe(204);
    const inc = await api('GET', `${events()}?syncToken=${encodeURIComponent(t)}`);
    expect(inc.json.items).toEqual([{
      kind: 'calendar#event', etag: expect.any(String), id: `${master.id}_20241028T080000Z`, status: 'cancelled',
      recurringEventId: master.id, originalStartTime: { dateTime: '2024-10-28T09:00:00+01:00', timeZone: 'Europe/Berlin' },
    }]);
    const t2 = inc.json.nextSyncToken;
    expect((await api('DELETE', `${events()}/${master.id}`)).status).toBe(204);
    expect(emu.google.listRaw(CAL).map((e) => [e.id, e.status]).sort()).toEqual([
      [master.id, 'cancelled'], [`${master.id}_20241028T080000Z`, 'cancelled'], [`${master.id}_20241104T080000Z`, 'cancelled'],
    ]);
    const after = await api('GET', `${events()}?syncToken=${encodeURIComponent(t2)}`);
    expect(after.json.items.map((e: Json) => [e.id, e.status, e.recurringEventId])).toEqual([
      [master.id, 'cancelled', undefined], [`${master.id}_20241104T080000Z`, 'cancelled', master.id],
    ]);
    expect((await api('GET', `${events()}/${master.id}_20241104T080000Z`)).json.status).toBe('cancelled');
  });

  test.each(['timeMin=2024-01-01T00:00:00Z', 'orderBy=updated', 'privateExtendedProperty=a%3Db', 'q=x', 'iCalUID=u', 'updatedMin=2024-01-01T00:00:00Z', 'timeMax=2024-01-01T00:00:00Z', 'sharedExtendedProperty=a%3Db'])('syncToken with %s → 400', async (extra) => {
    const t = (await api('GET', events())).json.nextSyncToken;
    const r = await api('GET', `${events()}?syncToken=${encodeURIComponent(t)}&${extra}`);
    expect(r.status).toBe(400);
  });

  test('expired sync tokens → 410 fullSyncRequired', async () => {
    const t = (await api('GET', events())).json.nextSyncToken;
    emu.google.expireSyncTokens(CAL);
    const r = await api('GET', `${events()}?syncToken=${encodeURIComponent(t)}`);
    expect(r.status).toBe(410);
    expect(r.json.error.errors[0]).toMatchObject({ domain: 'calendar', reason: 'fullSyncRequired' });
  });
});

describe('batch', () => {
  function batchBody(parts: { method: string; path: string; body?: unknown; id?: string }[], boundary = 'b0undary') {
    return parts.map((p) => `--${boundary}\r\nContent-Type: application/http\r\n${p.id ? `Content-ID: <${p.id}>\r\n` : ''}\r\n${p.method} ${p.path} HTTP/1.1\r\n${p.body ? 'Content-Type: application/json\r\n' : ''}\r\n${p.body ? JSON.stringify(p.body) : ''}\r\n`).join('') + `--${boundary}--\r\n`;
  }
  async function batch(parts: Parameters<typeof batchBody>[0]) {
    const r = await fetch(emu.url + '/batch/calendar/v3', { method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'multipart/mixed; boundary=b0undary' }, body: batchBody(parts) });
    return { status: r.status, parts: r.status === 200 ? parseMultipart(r.headers.get('content-type')!, await r.text()) : [], json: r.status === 200 ? undefined : ((await r.json()) as Json) };
  }

  test('parts answered in request order with per-part status and Content-ID response-<id>', async () => {
    const r = await batch([
      { method: 'POST', path: events(), body: timed('2024-11-14T08:00:00Z', '2024-11-14T09:00:00Z', { id: 'batch00001' }), id: 'a' },
      { method: 'POST', path: events(), body: timed('2024-11-14T08:00:00Z', '2024-11-14T09:00:00Z', { id: 'batch00001' }), id: 'b' },
      { method: 'GET', path: `${events()}/nosuchevent`, id: 'c' },
      { method: 'DELETE', path: `${events()}/batch00001`, id: 'd' },
    ]);
    expect(r.status).toBe(200);
    expect(r.parts.map((p) => [p.contentId, p.status])).toEqual([['response-a', 200], ['response-b', 409], ['response-c', 404], ['response-d', 204]]);
    expect(r.parts[1].body!.error.errors[0].reason).toBe('duplicate');
    expect(emu.log.batchSizes).toEqual([4]);
    expect(emu.log.count({ inBatch: true })).toBe(4);
  });

  test('per-part faults: a scripted throttle hits only the second insert', async () => {
    emu.faults.script({ api: 'google', kind: 'insert', inBatch: true }, ['ok', { kind: 'throttle', status: 403 }, { kind: 'quota' }]);
    const r = await batch([0, 1, 2, 3].map((i) => ({ method: 'POST', path: events(), body: timed('2024-11-14T08:00:00Z', '2024-11-14T09:00:00Z'), id: String(i) })));
    expect(r.parts.map((p) => p.status)).toEqual([200, 403, 403, 200]);
    expect(r.parts[1].body!.error.errors[0]).toMatchObject({ domain: 'usageLimits', reason: 'rateLimitExceeded' });
    expect(r.parts[2].body!.error.errors[0]).toMatchObject({ domain: 'usageLimits', reason: 'quotaExceeded', message: 'Calendar usage limits exceeded.' });
  });

  test('a connection reset injected into one part drops the whole batch connection', async () => {
    emu.faults.script({ api: 'google', kind: 'insert', inBatch: true }, ['ok', { kind: 'reset' }]);
    await expect(batch([0, 1, 2].map((i) => ({ method: 'POST', path: events(), body: timed('2024-11-14T08:00:00Z', '2024-11-14T09:00:00Z'), id: String(i) })))).rejects.toThrow();
    expect(emu.log.count({ fault: 'reset' })).toBe(1);
  });

  test('more than 1000 parts → 400; parts without auth → 401 each', async () => {
    const many = Array.from({ length: 1001 }, () => ({ method: 'GET', path: events() }));
    expect((await batch(many)).status).toBe(400);
    const r = await fetch(emu.url + '/batch/calendar/v3', { method: 'POST', headers: { 'Content-Type': 'multipart/mixed; boundary=b0undary' }, body: batchBody([{ method: 'GET', path: events() }]) });
    const parts = parseMultipart(r.headers.get('content-type')!, await r.text());
    expect(parts[0].status).toBe(401);
  });
});

describe('faults and limits in Google envelopes', () => {
  test.each([
    [{ kind: 'throttle', status: 403 } as const, 403, 'rateLimitExceeded'],
    [{ kind: 'throttle', status: 403, reason: 'userRateLimitExceeded' } as const, 403, 'userRateLimitExceeded'],
    [{ kind: 'throttle', status: 429 } as const, 429, 'rateLimitExceeded'],
    [{ kind: 'quota' } as const, 403, 'quotaExceeded'],
    [{ kind: 'error', status: 500 } as const, 500, 'backendError'],
  ])('%j → %i %s', async (fault, status, reason) => {
    emu.faults.next({ api: 'google', target: CAL }, fault);
    const r = await api('GET', events());
    expect(r.status).toBe(status);
    expect(r.json.error.code).toBe(status);
    expect(r.json.error.errors[0].reason).toBe(reason);
    expect((await api('GET', events())).status).toBe(200);
  });

  test('600 requests per minute per user: one impersonated user writing to several calendars shares one budget', async () => {
    emu.faults.setLimits('google', { windowMs: 60_000, maxRequests: 5 });
    const rooms = ['r1@resource.calendar.google.com', 'r2@resource.calendar.google.com', 'r3@resource.calendar.google.com'];
    for (const r of rooms) emu.google.createCalendar(r);
    token = emu.google.issueAccessToken({ subject: 'admin@rooms.example' });
    const st: number[] = [];
    for (let i = 0; i < 6; i++) st.push((await api('GET', events(rooms[i % 3]))).status);
    expect(st).toEqual([200, 200, 200, 200, 200, 403]);
    const r = await api('GET', events(rooms[2]));
    expect(r.json.error.errors[0]).toMatchObject({ domain: 'usageLimits', reason: 'rateLimitExceeded' });
    // Another user has a budget of its own.
    token = emu.google.issueAccessToken({ subject: 'other@rooms.example' });
    expect((await api('GET', events(rooms[0]))).status).toBe(200);
    emu.clock.advance(60_001);
    token = emu.google.issueAccessToken({ subject: 'admin@rooms.example' });
    expect((await api('GET', events(rooms[0]))).status).toBe(200);
  });

  test('batch parts count against the user of the batch token', async () => {
    emu.faults.setLimits('google', { windowMs: 60_000, maxRequests: 3 });
    emu.google.createCalendar('r9@resource.calendar.google.com');
    token = emu.google.issueAccessToken({ subject: 'admin@rooms.example' });
    const parts = [CAL, 'r9@resource.calendar.google.com', CAL, 'r9@resource.calendar.google.com'].map((c, i) => `--b\r\nContent-Type: application/http\r\nContent-ID: <${i}>\r\n\r\nGET ${events(c)} HTTP/1.1\r\n\r\n\r\n`).join('') + '--b--\r\n';
    const r = await fetch(emu.url + '/batch/calendar/v3', { method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'multipart/mixed; boundary=b' }, body: parts });
    expect(parseMultipart(r.headers.get('content-type')!, await r.text()).map((p) => p.status)).toEqual([200, 200, 200, 403]);
  });

  test('without a user in the token the calendar id stands in for the user', async () => {
    emu.faults.setLimits('google', { windowMs: 60_000, maxRequests: 2 });
    emu.google.createCalendar('other@example.com');
    const st: number[] = [];
    for (const c of [CAL, CAL, CAL, 'other@example.com', 'other@example.com']) st.push((await api('GET', events(c))).status);
    expect(st).toEqual([200, 200, 403, 200, 200]);
    emu.faults.setLimits('google', undefined);
    expect((await api('GET', events())).status).toBe(200);
  });
});

describe('Admin Directory rooms', () => {
  test('rooms are listed with paging and get a calendar', async () => {
    for (let i = 1; i <= 3; i++) emu.google.addRoom({ resourceName: `Room ${i}`, capacity: 10 * i, buildingId: 'main' });
    const page1 = await api('GET', '/admin/directory/v1/customer/my_customer/resources/calendars?maxResults=2');
    expect(page1.json.items).toHaveLength(2);
    expect(page1.json.items[0]).toMatchObject({ resourceName: 'Room 1', resourceCategory: 'CONFERENCE_ROOM', capacity: 10, buildingId: 'main' });
    expect(page1.json.items[0].resourceEmail).toMatch(/@resource\.calendar\.google\.com$/);
    const page2 = await api('GET', `/admin/directory/v1/customer/my_customer/resources/calendars?maxResults=2&pageToken=${page1.json.nextPageToken}`);
    expect(page2.json.items.map((r: Json) => r.resourceName)).toEqual(['Room 3']);
    expect(page2.json.nextPageToken).toBeUndefined();
    expect((await api('GET', events(page1.json.items[0].resourceEmail))).status).toBe(200);
  });
});
