import { quotaWaitLine } from '../../cli/sync';

describe('CLI progress line while waiting for the request quota', () => {
  test('names the room, the wait, the quota, the progress and an estimate', () => {
    const line = quotaWaitLine({ type: 'quota-wait', calendarId: 'room@x', waitMs: 41_200, done: 600, total: 1500, etaMs: 90_000, quota: { maxRequests: 600, windowMs: 60_000 } });
    expect(line).toBe('  room room@x : waiting 41 s for the request quota (600 per 60 s) — 600/1500 written, about 1 min 30 s left');
    expect(quotaWaitLine({ type: 'quota-wait', calendarId: 'r', waitMs: 10, done: 0, total: 20_000, etaMs: 600_000 * 2, quota: { maxRequests: 10_000, windowMs: 600_000 } }))
      .toContain('(10000 per 10 min 00 s) — 0/20000 written, about 20 min 00 s left');
  });
});
