import fc from 'fast-check';
import { backoffDelay, parseRetryAfter, retryDelay, isRetryableStatus, realSleep, AbortedError } from '../../providers/retry';
import { KeyedLimiter } from '../../providers/queue';

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
