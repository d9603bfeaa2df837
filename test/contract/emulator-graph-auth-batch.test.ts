/* eslint-disable @typescript-eslint/no-explicit-any -- contract tests read JSON responses loosely */
/**
 * Contract tests of the Graph emulator's $batch, the Microsoft identity token endpoint and the
 * bearer check, with the real @microsoft/microsoft-graph-client and raw HTTP.
 */
import { Client, type GraphError } from '@microsoft/microsoft-graph-client';
import { event, graphClient, resetFixture, startGraphFixture, type GraphFixture } from './emulator-graph-helpers';
import { startEmulator } from '../../emulator';

let fx: GraphFixture;
const ALICE = 'alice@contoso.example';
const ROOM = 'room1@contoso.example';
const TENANT = 'contoso-tenant';

beforeAll(async () => {
  fx = await startGraphFixture();
});
afterAll(async () => {
  await fx.emu.close();
});
beforeEach(() => {
  resetFixture(fx);
  fx.emu.graph.createMailbox(ALICE);
  fx.emu.graph.createMailbox(ROOM, { room: true });
});

const create = (id: string, subject: string, extra: Record<string, unknown> = {}) => ({
  id, method: 'POST', url: `/users/${ROOM}/events`, headers: { 'Content-Type': 'application/json' },
  body: event(subject, '2024-05-06T09:00:00', '2024-05-06T10:00:00'), ...extra,
});

describe('$batch', () => {
  test('items run through the pipeline with their own status, headers and body (real client post)', async () => {
    const res = await fx.client.api('/$batch').post({
      requests: [create('1', 'a'), { id: '2', method: 'GET', url: `/users/${ROOM}/events/AAMkADnope` }, create('3', 'c')],
    });
    const byId = Object.fromEntries(res.responses.map((r: any) => [r.id, r]));
    expect(byId['1'].status).toBe(201);
    expect(byId['1'].body.subject).toBe('a');
    expect(byId['1'].headers['Content-Type']).toMatch(/application\/json/);
    expect(byId['2'].status).toBe(404);
    expect(byId['2'].body.error.code).toBe('ErrorItemNotFound');
    expect(byId['3'].status).toBe(201);
    expect(fx.emu.graph.listRaw(ROOM).map((e) => e.fields.subject).sort()).toEqual(['a', 'c']);
    expect(fx.emu.log.summary().batchSizes).toEqual([3]);
  });

  test.each([
    ['more than 20 requests', { requests: Array.from({ length: 21 }, (_, i) => ({ id: String(i), method: 'GET', url: `/users/${ROOM}/events` })) }, /limit of 20/],
    ['duplicate ids', { requests: [create('1', 'a'), create('1', 'b')] }, /unique/],
    ['a body without Content-Type', { requests: [{ id: '1', method: 'POST', url: `/users/${ROOM}/events`, body: event('a', '2024-05-06T09:00:00', '2024-05-06T10:00:00') }] }, /does not contain Content-Type header/],
    ['dependsOn an unknown id', { requests: [create('1', 'a', { dependsOn: ['9'] })] }, /not in the batch/],
  ])('%s → the whole batch is 400 and nothing runs', async (_n, body, message) => {
    const res = await fx.raw('POST', '/v1.0/$batch', { body });
    expect(res.status).toBe(400);
    expect(res.json.error.message).toMatch(message);
    expect(fx.emu.graph.listRaw(ROOM)).toHaveLength(0);
  });

  test('a failed dependency → 424 for the dependent, which does not run', async () => {
    const res = await fx.raw('POST', '/v1.0/$batch', {
      body: { requests: [
        { id: '1', method: 'GET', url: '/users/ghost@contoso.example/events' },
        create('2', 'after-failure', { dependsOn: ['1'] }),
        create('3', 'independent'),
        create('4', 'after-success', { dependsOn: ['3'] }),
      ] },
    });
    const status = Object.fromEntries(res.json.responses.map((r: any) => [r.id, r.status]));
    expect(status).toEqual({ 1: 404, 2: 424, 3: 201, 4: 201 });
    expect(fx.emu.graph.listRaw(ROOM).map((e) => e.fields.subject).sort()).toEqual(['after-success', 'independent']);
  });

  test('a connection reset injected into one item → that item alone is 503 ServiceUnavailable', async () => {
    fx.emu.faults.script({ api: 'graph', kind: 'create', inBatch: true }, ['ok', { kind: 'reset' }]);
    fx.emu.graph.setBatchOrder('request');
    const res = await fx.raw('POST', '/v1.0/$batch', { body: { requests: [create('1', 'a'), create('2', 'b'), create('3', 'c')] } });
    expect(res.status).toBe(200);
    expect(res.json.responses.map((r: any) => r.status)).toEqual([201, 503, 201]);
    expect(res.json.responses[1].body.error.code).toBe('ServiceUnavailable');
    expect(fx.emu.graph.listRaw(ROOM).map((e) => e.fields.subject).sort()).toEqual(['a', 'c']);
  });

  test('a throttled item is its own 429 with its own Retry-After; the others succeed', async () => {
    fx.emu.faults.script({ api: 'graph', kind: 'create', inBatch: true }, ['ok', { kind: 'throttle', status: 429, retryAfter: '2.128' }]);
    fx.emu.graph.setBatchOrder('request');
    const res = await fx.raw('POST', '/v1.0/$batch', { body: { requests: [create('1', 'a'), create('2', 'b'), create('3', 'c')] } });
    expect(res.status).toBe(200);
    expect(res.json.responses.map((r: any) => r.status)).toEqual([201, 429, 201]);
    expect(res.json.responses[1].headers['Retry-After']).toBe('2.128');
    expect(res.json.responses[1].body.error.code).toBe('TooManyRequests');
  });

  test('at most 4 items run in parallel (no concurrency throttling for a 20-item batch on one mailbox)', async () => {
    fx.emu.setLatency(20);
    const res = await fx.raw('POST', '/v1.0/$batch', { body: { requests: Array.from({ length: 20 }, (_, i) => ({ id: String(i), method: 'GET', url: `/users/${ROOM}/events` })) } });
    fx.emu.setLatency(0);
    expect(res.json.responses.map((r: any) => r.status)).toEqual(Array(20).fill(200));
    expect(fx.emu.log.summary().maxConcurrency[ROOM]).toBe(4);
  });

  test('response order is scriptable (reverse, seeded shuffle)', async () => {
    const requests = Array.from({ length: 6 }, (_, i) => ({ id: `r${i}`, method: 'GET', url: `/users/${ROOM}/events` }));
    fx.emu.graph.setBatchOrder('reverse');
    const rev = await fx.raw('POST', '/v1.0/$batch', { body: { requests } });
    expect(rev.json.responses.map((r: any) => r.id)).toEqual(['r5', 'r4', 'r3', 'r2', 'r1', 'r0']);
    fx.emu.graph.setBatchOrder({ shuffleSeed: 7 });
    const a = await fx.raw('POST', '/v1.0/$batch', { body: { requests } });
    const b = await fx.raw('POST', '/v1.0/$batch', { body: { requests } });
    const ids = a.json.responses.map((r: any) => r.id);
    expect(ids).toEqual(b.json.responses.map((r: any) => r.id));
    expect([...ids].sort()).toEqual(requests.map((r) => r.id));
    expect(ids).not.toEqual(requests.map((r) => r.id));
  });
});

describe('OAuth2 token endpoint and bearer check', () => {
  const token = (form: Record<string, string>) => fx.raw('POST', `/${TENANT}/oauth2/v2.0/token`, {
    body: new URLSearchParams(form).toString(), headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, token: null,
  });

  test('client_credentials → app-only token that Graph accepts; bad secret / scope / client are rejected like AAD', async () => {
    fx.emu.graph.registerApp('app-1', 's3cret', TENANT);
    const ok = await token({ grant_type: 'client_credentials', client_id: 'app-1', client_secret: 's3cret', scope: 'https://graph.microsoft.com/.default' });
    expect(ok.status).toBe(200);
    expect(ok.json).toMatchObject({ token_type: 'Bearer', expires_in: 3599, access_token: expect.any(String) });
    const client = graphClient(fx, () => ok.json.access_token);
    await expect(client.api(`/users/${ROOM}/events`).get()).resolves.toHaveProperty('value');

    const badSecret = await token({ grant_type: 'client_credentials', client_id: 'app-1', client_secret: 'nope', scope: 'https://graph.microsoft.com/.default' });
    expect([badSecret.status, badSecret.json.error, badSecret.json.error_codes]).toEqual([401, 'invalid_client', [7000215]]);
    const badScope = await token({ grant_type: 'client_credentials', client_id: 'app-1', client_secret: 's3cret', scope: 'Calendars.ReadWrite' });
    expect([badScope.status, badScope.json.error]).toEqual([400, 'invalid_scope']);
    const unknown = await token({ grant_type: 'client_credentials', client_id: 'app-2', client_secret: 'x', scope: 'https://graph.microsoft.com/.default' });
    expect([unknown.status, unknown.json.error]).toEqual([400, 'unauthorized_client']);
  });

  test('refresh_token → delegated token (+ new refresh token) that serves /me', async () => {
    fx.emu.graph.registerRefreshToken('rt-1', { user: ALICE, clientId: 'public-app' });
    const res = await token({ grant_type: 'refresh_token', client_id: 'public-app', refresh_token: 'rt-1', scope: 'https://graph.microsoft.com/Calendars.ReadWrite offline_access' });
    expect(res.status).toBe(200);
    expect(res.json.refresh_token).toEqual(expect.any(String));
    expect(res.json.refresh_token).not.toBe('rt-1');
    const me = graphClient(fx, () => res.json.access_token);
    const created = await me.api('/me/events').post(event('mine', '2024-05-06T09:00:00', '2024-05-06T10:00:00'));
    expect(fx.emu.graph.listRaw(ALICE).map((e) => e.id)).toEqual([created.id]);
    const again = await token({ grant_type: 'refresh_token', client_id: 'public-app', refresh_token: res.json.refresh_token });
    expect(again.status).toBe(200);
    const bad = await token({ grant_type: 'refresh_token', client_id: 'public-app', refresh_token: 'forged' });
    expect([bad.status, bad.json.error]).toEqual([400, 'invalid_grant']);
    // /me needs a delegated token.
    const app = await fx.raw('GET', '/v1.0/me/events');
    expect(app.status).toBe(400);
  });

  test('missing, unknown and expired tokens → 401 InvalidAuthenticationToken; the admin switch disables the check', async () => {
    for (const t of [null, 'not-a-token']) {
      const res = await fx.raw('GET', `/v1.0/users/${ROOM}/events`, { token: t });
      expect(res.status).toBe(401);
      expect(res.json.error.code).toBe('InvalidAuthenticationToken');
    }
    const short = fx.emu.graph.issueToken({ lifetimeS: 60 });
    expect((await fx.raw('GET', `/v1.0/users/${ROOM}/events`, { token: short })).status).toBe(200);
    fx.emu.clock.advance(61_000);
    const expired = await fx.raw('GET', `/v1.0/users/${ROOM}/events`, { token: short });
    expect(expired.status).toBe(401);
    expect(expired.json.error.message).toMatch(/expired/);
    fx.emu.graph.setAuthRequired(false);
    expect((await fx.raw('GET', `/v1.0/users/${ROOM}/events`, { token: null })).status).toBe(200);
  });

  test('the stock client chain sends the token to https customHosts, but not to a host outside them', async () => {
    const other = Client.init({
      authProvider: (done) => done(null, fx.token),
      baseUrl: fx.emu.url,
      // The host is not listed, so the AuthenticationHandler leaves the request unauthenticated.
      customHosts: new Set(['graph.example.invalid']),
      fetchOptions: { dispatcher: fx.dispatcher } as RequestInit,
    });
    const err = await other.api(`/users/${ROOM}/events`).get().catch((e: GraphError) => e);
    expect((err as GraphError).statusCode).toBe(401);
    await expect(fx.client.api(`/users/${ROOM}/events`).get()).resolves.toHaveProperty('value');
  });

  test('injected faults come back in Graph envelopes: 429 with fractional Retry-After, 503, token expiry', async () => {
    fx.emu.faults.script({ api: 'graph', target: ROOM, kind: 'list' }, [
      { kind: 'throttle', status: 429, retryAfter: '0.5' }, { kind: 'error', status: 503 }, { kind: 'tokenExpired' },
    ]);
    const a = await fx.raw('GET', `/v1.0/users/${ROOM}/events`);
    expect([a.status, a.headers.get('retry-after'), a.json.error.code]).toEqual([429, '0.5', 'TooManyRequests']);
    const b = await fx.raw('GET', `/v1.0/users/${ROOM}/events`);
    expect([b.status, b.json.error.code]).toEqual([503, 'ServiceUnavailable']);
    const c = await fx.raw('GET', `/v1.0/users/${ROOM}/events`);
    expect([c.status, c.json.error.code]).toEqual([401, 'InvalidAuthenticationToken']);
  });

  test('the modelled 10,000 requests / 10 min per mailbox: 429 ApplicationThrottled, Retry-After from the window', async () => {
    fx.emu.faults.setLimits('graph', { windowMs: 600_000, maxRequests: 3, maxConcurrent: 4 });
    const get = (who = ROOM) => fx.raw('GET', `/v1.0/users/${who}/events`);
    for (let i = 0; i < 3; i++) expect((await get()).status).toBe(200);
    const over = await get();
    expect(over.status).toBe(429);
    expect(over.json.error.code).toBe('ApplicationThrottled');
    expect(over.json.error.message).toMatch(/10000 requests per 10 minutes/);
    expect(Number(over.headers.get('retry-after'))).toBe(600);
    expect((await get(ALICE)).status).toBe(200); // per mailbox
    fx.emu.clock.advance(400_000);
    expect(Number((await get()).headers.get('retry-after'))).toBe(200);
    fx.emu.clock.advance(200_001);
    expect((await get()).status).toBe(200);
  });

  test('the modelled mailbox concurrency limit answers 429 ApplicationThrottled with Retry-After', async () => {
    fx.emu.setLatency(50);
    const results = await Promise.all(Array.from({ length: 6 }, () => fx.raw('GET', `/v1.0/users/${ROOM}/events`)));
    fx.emu.setLatency(0);
    const throttled = results.filter((r) => r.status === 429);
    expect(throttled).toHaveLength(2);
    expect(throttled[0].json.error.code).toBe('ApplicationThrottled');
    expect(throttled[0].json.error.message).toMatch(/MailboxConcurrency/);
    expect(Number(throttled[0].headers.get('retry-after'))).toBeGreaterThan(0);
  });
});

describe('the emulator clock drives the Graph module', () => {
  test('tokens, seeded events and error dates follow a shifted clock', async () => {
    const base = Date.UTC(2031, 5, 1, 12, 0, 0);
    const emu = await startEmulator({ now: () => base });
    try {
      emu.graph.createMailbox(ROOM, { room: true });
      // Before any request: links still use the server's URL.
      expect(emu.graph.seedEvent(ROOM, event('Early', '2031-06-02T07:00:00', '2031-06-02T08:00:00')).webLink).toMatch(new RegExp(`^${emu.url}/owa/`));
      const token = emu.graph.issueToken({ lifetimeS: 600 });
      const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8'));
      expect(claims.iat).toBe(base / 1000);
      const get = () => fetch(`${emu.url}/v1.0/users/${ROOM}/events`, { headers: { Authorization: `Bearer ${token}` } });
      expect((await get()).status).toBe(200);
      const seeded = emu.graph.seedEvent(ROOM, event('Seeded', '2031-06-02T09:00:00', '2031-06-02T10:00:00'));
      expect(seeded.createdDateTime).toBe('2031-06-01T12:00:00.0000000Z');
      emu.clock.advance(601_000);
      const expired = await get();
      expect(expired.status).toBe(401);
      expect(((await expired.json()) as any).error.innerError.date).toBe('2031-06-01T12:10:01');
      emu.faults.next({ api: 'graph', target: ROOM }, { kind: 'error', status: 503 });
      const t2 = emu.graph.issueToken();
      const r = await fetch(`${emu.url}/v1.0/users/${ROOM}/events`, { headers: { Authorization: `Bearer ${t2}` } });
      expect(((await r.json()) as any).error.innerError.date).toBe('2031-06-01T12:10:01');
    } finally {
      await emu.close();
    }
  });
});
