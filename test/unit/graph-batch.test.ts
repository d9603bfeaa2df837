/** $batch build/parse, Graph error mapping, token caching. */
import type { HttpRequest, HttpResponse } from '../../providers/port';
import { ProviderError } from '../../providers/port';
import {
  BatchFormatError, buildBatchBody, parseBatchResponse, providerErrorFrom, retryAfterMs, type BatchRequestItem,
} from '../../providers/graph/batch';
import { clientCredentialsTokenSource, refreshTokenSource, withBearerToken } from '../../providers/graph/auth';

const item = (id: string, extra: Partial<BatchRequestItem> = {}): BatchRequestItem => ({ id, method: 'POST', url: '/users/r%40x/events', body: { subject: id }, ...extra });

describe('buildBatchBody', () => {
  test('adds Content-Type to bodies, keeps dependsOn, leaves body-less requests bare', () => {
    const body = JSON.parse(buildBatchBody([item('1'), { id: '2', method: 'DELETE', url: '/users/r%40x/events/A', dependsOn: ['1'] }]));
    expect(body).toEqual({
      requests: [
        { id: '1', method: 'POST', url: '/users/r%40x/events', body: { subject: '1' }, headers: { 'Content-Type': 'application/json' } },
        { id: '2', method: 'DELETE', url: '/users/r%40x/events/A', dependsOn: ['1'] },
      ],
    });
  });
  test.each([
    ['more than 20', Array.from({ length: 21 }, (_, i) => item(String(i))), /at most 20/],
    ['none', [], /at least one/],
    ['duplicate ids', [item('1'), item('1')], /"1" appears twice/],
    ['absolute url', [item('1', { url: 'https://graph.microsoft.com/v1.0/users' })], /relative/],
    ['unknown dependsOn', [item('1', { dependsOn: ['9'] })], /unknown request "9"/],
  ])('refuses %s', (_n, items, msg) => {
    expect(() => buildBatchBody(items as BatchRequestItem[])).toThrow(BatchFormatError);
    expect(() => buildBatchBody(items as BatchRequestItem[])).toThrow(msg);
  });
});

describe('parseBatchResponse', () => {
  const text = JSON.stringify({
    responses: [
      { id: '3', status: 424, body: { error: { code: 'FailedDependency', message: 'dependency 2 failed' } } },
      { id: '1', status: 201, headers: { 'Content-Type': 'application/json' }, body: { id: 'EV1' } },
      { id: '2', status: 429, headers: { 'Retry-After': '2.128' }, body: { error: { code: 'ApplicationThrottled', message: 'MailboxConcurrency' } } },
      { id: '99', status: 200, body: {} },
    ],
  });
  test('matches out-of-order responses by id; ignores ids not sent; missing ids are absent', () => {
    const m = parseBatchResponse(text, ['1', '2', '3', '4']);
    expect([...m.keys()].sort()).toEqual(['1', '2', '3']);
    expect(m.get('1')).toMatchObject({ status: 201, body: { id: 'EV1' }, headers: { 'content-type': 'application/json' } });
    expect(m.get('2')!.headers['retry-after']).toBe('2.128');
    expect(m.has('4')).toBe(false);
  });
  test('per-item 429 with a fractional Retry-After → retryable with retryAfterMs; 424 → retryable', () => {
    const m = parseBatchResponse(text, ['1', '2', '3']);
    const r2 = m.get('2')!;
    const e2 = providerErrorFrom(r2.status, r2.headers, r2.body, 'create k2', 0);
    expect(e2).toMatchObject({ status: 429, code: 'ApplicationThrottled', retryable: true, retryAfterMs: 2128, scope: 'op' });
    expect(e2.message).toContain('create k2: HTTP 429 ApplicationThrottled — MailboxConcurrency');
    const r3 = m.get('3')!;
    expect(providerErrorFrom(r3.status, r3.headers, r3.body, 'x', 0)).toMatchObject({ status: 424, retryable: true });
  });
  test('a JSON body delivered as a string is parsed', () => {
    const m = parseBatchResponse(JSON.stringify({ responses: [{ id: '1', status: 200, headers: { 'content-type': 'application/json' }, body: '{"id":"E"}' }] }), ['1']);
    expect(m.get('1')!.body).toEqual({ id: 'E' });
  });
  test('not JSON / no responses array', () => {
    expect(() => parseBatchResponse('<html>', ['1'])).toThrow(/not JSON/);
    expect(() => parseBatchResponse('{}', ['1'])).toThrow(/responses/);
  });
});

describe('providerErrorFrom', () => {
  test.each([
    [500, {}, { retryable: true, scope: 'op' }],
    [503, { 'retry-after': '7' }, { retryable: true, retryAfterMs: 7000 }],
    [504, {}, { retryable: true }],
    [409, {}, { retryable: true }],
    [412, {}, { retryable: false, scope: 'op' }],
    [401, {}, { retryable: false, scope: 'auth' }],
    [403, {}, { retryable: false, scope: 'calendar' }],
    [400, {}, { retryable: false, scope: 'op' }],
  ] as [number, Record<string, string>, object][])('HTTP %s', (status, headers, expected) => {
    const e = providerErrorFrom(status, headers, { error: { code: 'C', message: 'm' } }, 'op', 0);
    expect(e).toBeInstanceOf(ProviderError);
    expect(e).toMatchObject({ status, code: 'C', ...expected });
  });
  test('an unknown mailbox stops the calendar', () => {
    expect(providerErrorFrom(404, {}, { error: { code: 'ErrorInvalidUser', message: 'x' } }, 'op', 0).scope).toBe('calendar');
    expect(providerErrorFrom(404, {}, { error: { code: 'ErrorItemNotFound', message: 'x' } }, 'op', 0).scope).toBe('op');
  });
  test('Retry-After as seconds, fraction or HTTP date', () => {
    const now = Date.UTC(2024, 0, 1, 12, 0, 0);
    expect(retryAfterMs('2', now)).toBe(2000);
    expect(retryAfterMs('0.5', now)).toBe(500);
    expect(retryAfterMs('Mon, 01 Jan 2024 12:00:30 GMT', now)).toBe(30_000);
    expect(retryAfterMs('soon', now)).toBeUndefined();
    expect(retryAfterMs(undefined, now)).toBeUndefined();
  });
});

describe('token sources', () => {
  function tokenServer(): { http: (r: HttpRequest) => Promise<HttpResponse>; calls: URLSearchParams[]; urls: string[]; status: number } {
    const s = {
      calls: [] as URLSearchParams[], urls: [] as string[], status: 200,
      http: async (r: HttpRequest): Promise<HttpResponse> => {
        const form = new URLSearchParams(String(r.body));
        s.calls.push(form);
        s.urls.push(r.url);
        if (s.status !== 200) return { status: s.status, headers: { 'retry-after': '4' }, body: JSON.stringify({ error: 'invalid_client', error_description: 'AADSTS7000215: Invalid client secret provided.\r\nTrace ID: x' }) };
        return { status: 200, headers: {}, body: JSON.stringify({ access_token: `tok${s.calls.length}`, expires_in: 3600, refresh_token: `rt${s.calls.length}` }) };
      },
    };
    return s;
  }

  test('client credentials: cached until shortly before expiry, one request for concurrent callers', async () => {
    let now = 1_000_000;
    const srv = tokenServer();
    const ts = clientCredentialsTokenSource({ http: srv.http, tenantId: 'contoso.onmicrosoft.com', clientId: 'app', clientSecret: 's3cret', now: () => now });
    const [a, b] = await Promise.all([ts.getToken(), ts.getToken()]);
    expect([a, b]).toEqual(['tok1', 'tok1']);
    expect(srv.calls).toHaveLength(1);
    expect(srv.urls[0]).toBe('https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token');
    expect(Object.fromEntries(srv.calls[0])).toEqual({ grant_type: 'client_credentials', client_id: 'app', client_secret: 's3cret', scope: 'https://graph.microsoft.com/.default' });
    now += 3600_000 - 6 * 60_000; // still 6 minutes left: cached
    expect(await ts.getToken()).toBe('tok1');
    now += 2 * 60_000; // inside the 5-minute skew: refreshed
    expect(await ts.getToken()).toBe('tok2');
    ts.invalidate();
    expect(await ts.getToken()).toBe('tok3');
  });

  test('bad credentials → ProviderError scope auth, not retryable; 5xx → retryable', async () => {
    const srv = tokenServer();
    srv.status = 401;
    const ts = clientCredentialsTokenSource({ http: srv.http, tenantId: 't', clientId: 'app', clientSecret: 'wrong' });
    const err = await ts.getToken().catch((e) => e);
    expect(err).toMatchObject({ status: 401, code: 'invalid_client', retryable: false, scope: 'auth' });
    expect(err.message).toContain('AADSTS7000215');
    srv.status = 503;
    expect(await ts.getToken().catch((e) => e)).toMatchObject({ retryable: true, retryAfterMs: 4000 });
  });

  test('refresh token: rotation is followed and reported', async () => {
    const srv = tokenServer();
    const seen: string[] = [];
    const ts = refreshTokenSource({ http: srv.http, tenantId: 'common', clientId: 'app', refreshToken: 'rt0', onRefreshToken: (t) => void seen.push(t) });
    expect(await ts.getToken()).toBe('tok1');
    ts.invalidate();
    await ts.getToken();
    expect(srv.calls.map((c) => c.get('refresh_token'))).toEqual(['rt0', 'rt1']);
    expect(srv.calls[0].get('client_secret')).toBeNull();
    expect(seen).toEqual(['rt1', 'rt2']);
  });

  test('withBearerToken: adds the header, refreshes once on 401', async () => {
    let n = 0;
    const tokens = { getToken: async () => `t${n}`, invalidate: () => void n++ };
    const sent: string[] = [];
    const port = withBearerToken(async (r) => {
      sent.push(r.headers!.authorization); // header names are case-insensitive; ours are lower-case
      return { status: sent.length === 1 ? 401 : 200, headers: {}, body: '' };
    }, tokens);
    expect((await port({ method: 'POST', url: 'https://graph.microsoft.com/v1.0/$batch' })).status).toBe(200);
    expect(sent).toEqual(['Bearer t0', 'Bearer t1']);
  });
});
