import fc from 'fast-check';
import { backoffDelay, parseRetryAfter, retryDelay, isRetryableStatus, realSleep, AbortedError, withReadRetries, isRetryableRead } from '../../providers/retry';
import { GoogleCalendarProvider } from '../../providers/google';
import { GraphCalendarProvider } from '../../providers/graph';
import type { HttpPort, HttpRequest, HttpResponse } from '../../providers/port';
import { googleProviderError } from '../../providers/google/errors';
import { providerErrorFrom, retryAfterMs } from '../../providers/graph/batch';
import { KeyedLimiter } from '../../providers/queue';
import { createFetchHttpPort } from '../../providers/http';
import { TransportError } from '../../providers/port';

const NOW = Date.parse('2025-01-15T12:00:00Z');

describe('parseRetryAfter', () => {
  test.each([
    ['120', 120_000],
    ['0', 0],
    ['2.128', 2128],
    ['  3 ', 3000],
    ['0.5', 500],
    ['Wed, 15 Jan 2025 12:00:30 GMT', 30_000], // IMF-fixdate
    ['Wednesday, 15-Jan-25 12:01:00 GMT', 60_000], // RFC 850
    ['Wed, 15 Jan 2025 11:00:00 GMT', 0], // in the past
    ['', undefined],
    ['soon', undefined],
    ['-5', undefined],
    ['1.2.3', undefined],
  ])('%j → %j ms', (value, ms) => {
    expect(parseRetryAfter(value, NOW)).toBe(ms);
  });
  test('undefined and null', () => {
    expect(parseRetryAfter(undefined, NOW)).toBeUndefined();
    expect(parseRetryAfter(null, NOW)).toBeUndefined();
  });
});

describe('backoff with full jitter', () => {
  test('bounds: 0 ≤ delay < min(max, base·2^retry), using the injected random', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 20 }), fc.double({ min: 0, max: 0.999999, noNaN: true }), (retry, r) => {
        const p = { baseDelayMs: 100, maxDelayMs: 5000 };
        const d = backoffDelay(retry, p, () => r);
        const ceiling = Math.min(5000, 100 * 2 ** retry);
        expect(d).toBeGreaterThanOrEqual(0);
        expect(d).toBeLessThan(ceiling);
        expect(d).toBe(Math.floor(r * ceiling));
      }),
    );
  });
  test('extremes of random', () => {
    expect(backoffDelay(3, { baseDelayMs: 1000, maxDelayMs: 32000 }, () => 0)).toBe(0);
    expect(backoffDelay(3, { baseDelayMs: 1000, maxDelayMs: 32000 }, () => 0.999999)).toBe(7999);
    expect(backoffDelay(10, { baseDelayMs: 1000, maxDelayMs: 32000 }, () => 0.5)).toBe(16000);
  });
  test('the largest Retry-After wins over backoff', () => {
    expect(retryDelay([undefined, 1500, 2128, undefined], 4, undefined, () => 0.9)).toBe(2128);
    expect(retryDelay([undefined], 0, { baseDelayMs: 1000 }, () => 0.5)).toBe(500);
  });
  test('retryable statuses', () => {
    expect([408, 429, 500, 502, 503, 504].every(isRetryableStatus)).toBe(true);
    expect([200, 400, 401, 403, 404, 409, 412].some(isRetryableStatus)).toBe(false);
  });
  test('realSleep ends early on abort', async () => {
    const ac = new AbortController();
    const p = realSleep(60_000, ac.signal);
    ac.abort();
    await expect(p).rejects.toBeInstanceOf(AbortedError);
  });
});

describe('KeyedLimiter', () => {
  test('never more than perKey per key nor total overall; all tasks run; FIFO per key', async () => {
    const lim = new KeyedLimiter({ perKey: 2, total: 3 });
    let inFlight = 0;
    let maxTotal = 0;
    const perKey = new Map<string, number>();
    const maxPerKey = new Map<string, number>();
    const order: string[] = [];
    const task = (key: string, i: number) => lim.run(key, async () => {
      inFlight++;
      perKey.set(key, (perKey.get(key) ?? 0) + 1);
      maxTotal = Math.max(maxTotal, inFlight);
      maxPerKey.set(key, Math.max(maxPerKey.get(key) ?? 0, perKey.get(key)!));
      order.push(`${key}${i}`);
      await new Promise((r) => setTimeout(r, 1 + (i % 3)));
      inFlight--;
      perKey.set(key, perKey.get(key)! - 1);
      return i;
    });
    const results = await Promise.all([...Array(10).keys()].flatMap((i) => [task('a', i), task('b', i), task('c', i)]));
    expect(results).toHaveLength(30);
    expect(maxTotal).toBeLessThanOrEqual(3);
    expect(Math.max(...maxPerKey.values())).toBeLessThanOrEqual(2);
    expect(lim.maxSeen.get('a')).toBe(maxPerKey.get('a'));
    const aOrder = order.filter((o) => o.startsWith('a'));
    expect(aOrder).toEqual([...Array(10).keys()].map((i) => `a${i}`));
  });
  test('a rejected task releases its slot', async () => {
    const lim = new KeyedLimiter({ perKey: 1 });
    await expect(lim.run('k', async () => { throw new Error('boom'); })).rejects.toThrow('boom');
    await expect(lim.run('k', async () => 7)).resolves.toBe(7);
    expect(lim.inFlight('k')).toBe(0);
  });
});

describe('createFetchHttpPort', () => {
  type Call = { url: string; method?: string; auth?: string };
  function fakeFetch(responses: Array<{ status: number; headers?: Record<string, string>; body?: string } | Error>) {
    const calls: Call[] = [];
    const f = (async (url: string, init: RequestInit) => {
      calls.push({ url, method: init.method, auth: (init.headers as Record<string, string>).authorization });
      const r = responses.shift();
      if (!r) throw new Error('no more responses');
      if (r instanceof Error) throw r;
      return new Response(r.body ?? '', { status: r.status, headers: r.headers });
    }) as unknown as typeof fetch;
    return { f, calls };
  }

  test('GET retried on 429 honouring Retry-After, then 503 with backoff; headers lower-cased', async () => {
    const { f, calls } = fakeFetch([
      { status: 429, headers: { 'Retry-After': '2.128' } },
      { status: 503 },
      { status: 200, headers: { 'X-Thing': 'v' }, body: '{"ok":true}' },
    ]);
    const sleeps: number[] = [];
    const port = createFetchHttpPort({ fetch: f, sleep: async (ms) => { sleeps.push(ms); }, random: () => 0.5, retryReads: { baseDelayMs: 1000 } });
    const res = await port({ method: 'GET', url: 'https://x.test/a' });
    expect(res).toEqual({ status: 200, headers: expect.objectContaining({ 'x-thing': 'v' }), body: '{"ok":true}' });
    expect(calls).toHaveLength(3);
    expect(sleeps).toEqual([2128, 1000]); // Retry-After, then 0.5 × 1000·2^1
  });

  test('GET retried on a connection error; gives up after maxRetries with TransportError', async () => {
    const { f, calls } = fakeFetch([new TypeError('fetch failed'), new TypeError('fetch failed'), new TypeError('fetch failed')]);
    const port = createFetchHttpPort({ fetch: f, sleep: async () => {}, retryReads: { maxRetries: 2 } });
    await expect(port({ method: 'GET', url: 'https://x.test/a' })).rejects.toBeInstanceOf(TransportError);
    expect(calls).toHaveLength(3);
  });

  test('writes are never retried here', async () => {
    const { f, calls } = fakeFetch([{ status: 503 }]);
    const port = createFetchHttpPort({ fetch: f, sleep: async () => { throw new Error('must not sleep'); } });
    expect((await port({ method: 'POST', url: 'https://x.test/a', body: '{}' })).status).toBe(503);
    const t = fakeFetch([new TypeError('reset')]);
    await expect(createFetchHttpPort({ fetch: t.f })({ method: 'PATCH', url: 'https://x.test/a' })).rejects.toBeInstanceOf(TransportError);
    expect(calls).toHaveLength(1);
    expect(t.calls).toHaveLength(1);
  });

  test('bearer token only to allowed origins; a 401 refreshes the token once', async () => {
    let n = 0;
    let invalidated = 0;
    const token = { getToken: async () => `tok${++n}`, invalidate: () => { invalidated++; } };
    const { f, calls } = fakeFetch([{ status: 401 }, { status: 201 }, { status: 200 }]);
    const port = createFetchHttpPort({ fetch: f, token, tokenOrigins: ['https://graph.test'] });
    expect((await port({ method: 'POST', url: 'https://graph.test/v1.0/x' })).status).toBe(201);
    await port({ method: 'GET', url: 'https://elsewhere.test/feed.ics' });
    expect(calls.map((c) => c.auth)).toEqual(['Bearer tok1', 'Bearer tok2', undefined]);
    expect(invalidated).toBe(1);
  });

  test('timeout → TransportError ETIMEDOUT', async () => {
    const hang = ((_u: string, init: RequestInit) => new Promise((_r, reject) => init.signal!.addEventListener('abort', () => reject(new Error('aborted'))))) as unknown as typeof fetch;
    const port = createFetchHttpPort({ fetch: hang, timeoutMs: 20, retryReads: { maxRetries: 0 } });
    await expect(port({ method: 'GET', url: 'https://x.test/' })).rejects.toMatchObject({ name: 'TransportError', code: 'ETIMEDOUT' });
  });
});

describe('withReadRetries: the one place reads are retried, over any HttpPort', () => {
  const googleError = (status: number, reason: string): HttpResponse => ({ status, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ error: { code: status, message: reason, errors: [{ domain: 'usageLimits', reason, message: reason }] } }) });
  const ok: HttpResponse = { status: 200, headers: {}, body: '{"items":[],"value":[]}' };
  function scripted(answers: Array<HttpResponse | Error>) {
    const seen: HttpRequest[] = [];
    const port: HttpPort = async (req) => {
      seen.push(req);
      const a = answers.shift();
      if (!a) throw new Error('no more answers');
      if (a instanceof Error) throw a;
      return a;
    };
    return { port, seen };
  }

  test.each<[string, boolean, HttpResponse]>([
    ['Google 403 rateLimitExceeded', true, googleError(403, 'rateLimitExceeded')],
    ['Google 403 userRateLimitExceeded', true, googleError(403, 'userRateLimitExceeded')],
    ['Google 403 quotaExceeded (lasts hours: not retried)', false, googleError(403, 'quotaExceeded')],
    ['Google 403 forbidden', false, googleError(403, 'forbidden')],
    ['Graph 429', true, { status: 429, headers: { 'retry-after': '2' }, body: '{"error":{"code":"ApplicationThrottled"}}' }],
    ['503', true, { status: 503, headers: {}, body: '' }],
    ['404', false, { status: 404, headers: {}, body: '' }],
  ])('%s → retryable %s', (_name, retryable, res) => {
    expect(isRetryableRead(res)).toBe(retryable);
  });

  test('GETs retried (403 rate limit with backoff, 429 honouring Retry-After, connection errors); writes never', async () => {
    const { port, seen } = scripted([googleError(403, 'userRateLimitExceeded'), { status: 429, headers: { 'retry-after': '2.128' }, body: '' }, new TransportError('reset', 'ECONNRESET'), ok, { status: 503, headers: {}, body: '' }]);
    const sleeps: number[] = [];
    const retrying = withReadRetries(port, { sleep: async (ms) => { sleeps.push(ms); }, random: () => 0.5, baseDelayMs: 1000, now: () => NOW });
    expect((await retrying({ method: 'GET', url: 'https://x.test/a' })).status).toBe(200);
    expect(sleeps).toEqual([500, 2128, 2000]);
    expect((await retrying({ method: 'POST', url: 'https://x.test/batch' })).status).toBe(503);
    expect(seen).toHaveLength(5);
  });

  test('gives up after maxRetries with the last answer; a Retry-After beyond maxRetryAfterMs is not waited for; wrapping twice does not multiply', async () => {
    const many = scripted(Array.from({ length: 10 }, () => googleError(403, 'rateLimitExceeded')));
    const once = withReadRetries(many.port, { sleep: async () => {}, maxRetries: 2 });
    expect(withReadRetries(once, { sleep: async () => {} })).toBe(once);
    expect((await withReadRetries(once)({ method: 'GET', url: 'https://x.test/a' })).status).toBe(403);
    expect(many.seen).toHaveLength(3);
    const long = scripted([{ status: 429, headers: { 'retry-after': '3600' }, body: '' }]);
    expect((await withReadRetries(long.port, { sleep: async () => { throw new Error('must not sleep'); } })({ method: 'GET', url: 'https://x.test/a' })).status).toBe(429);
    expect(withReadRetries(long.port, false)).toBe(long.port);
  });

  test('the providers retry their reads over a bare port (e.g. an n8n request helper)', async () => {
    const g = scripted([googleError(403, 'rateLimitExceeded'), { status: 200, headers: {}, body: '{"items":[]}' }]);
    const google = new GoogleCalendarProvider({ http: g.port, rootUrl: 'https://google.test/', defaultTimeZone: 'UTC', readRetry: { sleep: async () => {} } });
    expect(await google.listOwned('room@x', 's', { from: 0, to: 1 })).toEqual([]);
    expect(g.seen).toHaveLength(2);
    const m = scripted([{ status: 429, headers: { 'retry-after': '1' }, body: '{"error":{"code":"ApplicationThrottled"}}' }, { status: 200, headers: {}, body: '{"value":[]}' }]);
    const sleeps: number[] = [];
    const graph = new GraphCalendarProvider({ http: m.port, baseUrl: 'https://graph.test/v1.0', defaultTimeZone: 'UTC', readRetry: { sleep: async (ms) => { sleeps.push(ms); } } });
    expect(await graph.listOwned('room@x', 's', { from: 0, to: 1 })).toEqual([]);
    expect(sleeps).toEqual([1000]);
  });

  test('the fetch port does not retry reads by default (the providers do)', async () => {
    let calls = 0;
    const f = (async () => {
      calls++;
      return new Response('', { status: 503 });
    }) as unknown as typeof fetch;
    expect((await createFetchHttpPort({ fetch: f, sleep: async () => { throw new Error('must not sleep'); } })({ method: 'GET', url: 'https://x.test/a' })).status).toBe(503);
    expect(calls).toBe(1);
  });
});

describe('one Retry-After parser (providers/retry.ts) for every provider, on the injected clock', () => {
  const date = 'Wed, 15 Jan 2025 12:00:30 GMT'; // NOW + 30 s
  test('Google and Graph error mapping read HTTP dates against the given clock', () => {
    expect(googleProviderError(429, '', { 'retry-after': date }, 'x', NOW).retryAfterMs).toBe(30_000);
    expect(googleProviderError(503, '', { 'retry-after': '1.5' }, 'x', NOW).retryAfterMs).toBe(1500);
    expect(providerErrorFrom(429, { 'retry-after': date }, '', 'x', NOW).retryAfterMs).toBe(30_000);
    expect(retryAfterMs).toBe(parseRetryAfter);
  });

  test('the Google provider uses its injected clock for a throttled batch', async () => {
    const port: HttpPort = async () => ({ status: 429, headers: { 'retry-after': date }, body: '' });
    const google = new GoogleCalendarProvider({ http: port, rootUrl: 'https://google.test/', now: () => NOW });
    const ev = { uid: 'u', title: 't', start: { dateTime: '2025-01-20T09:00:00Z' }, end: { dateTime: '2025-01-20T10:00:00Z' } };
    const stamp = { syncId: 's', sourceKey: 'k1 - u:u', fingerprint: 'f' };
    const ops = [{ op: 'create' as const, calendarId: 'c', key: 'k1 - u:u', event: ev, stamp }, { op: 'create' as const, calendarId: 'c', key: 'k1 - u:v', event: { ...ev, uid: 'v' }, stamp: { ...stamp, sourceKey: 'k1 - u:v' } }];
    await expect(google.write('c', ops)).rejects.toMatchObject({ retryAfterMs: 30_000 });
  });
});
