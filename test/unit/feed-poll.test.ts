/**
 * providers/feed pollFeed (the ICS Trigger's reader: small state, no body) and readUrlFeed through
 * an HttpPort (how a node fetches with n8n's authenticated helpers), against a local server.
 */
import { pollFeed, readUrlFeed, FeedReadError, MemoryFeedStateStore, type FeedSource, type FeedPollState } from '../../providers/feed';
import { fetchTransport } from '../../providers/http';
import { pollFeed as pollUrl } from '../../providers/feed/url';
import type { HttpPort } from '../../providers/port';
import { ICS, useFeedServer } from './feed-server';

const feed = useFeedServer((req, res) => {
  if (req.headers['if-none-match'] === '"v1"') {
    res.writeHead(304);
    res.end();
    return;
  }
  res.writeHead(200, { etag: '"v1"' });
  res.end(ICS);
});

function src(over: Partial<FeedSource> = {}): FeedSource {
  return { id: 'feed', url: `${feed.base}/cal.ics?token=secret`, ...over };
}

describe('pollFeed', () => {
  it('first poll fetches; the state has validators and a body hash but no body; then 304 is "not-modified" without bytes', async () => {
    const first = await pollFeed(src(), undefined, { now: () => 1000 });
    expect(first.origin).toBe('fetched');
    expect(Buffer.from(first.bytes!).toString()).toBe(ICS);
    expect(first.state).toEqual({ etag: '"v1"', bodyHash: expect.stringMatching(/^[0-9a-f]{32}$/), fetchedAt: 1000, requests: [] });
    expect(JSON.stringify(first.state).length).toBeLessThan(120);
    const second = await pollFeed(src(), first.state, { now: () => 2000 });
    expect(feed.hits[1].headers['if-none-match']).toBe('"v1"');
    expect(second.origin).toBe('not-modified');
    expect(second.bytes).toBeUndefined();
  });

  it('a 200 with the same bytes is "same-body"; new bytes are "fetched"', async () => {
    feed.handler = (_req, res) => res.end(ICS);
    const first = await pollFeed(src(), undefined);
    expect(feed.hits[0].headers['if-none-match']).toBeUndefined();
    expect((await pollFeed(src(), first.state)).origin).toBe('same-body');
    feed.handler = (_req, res) => res.end(ICS.replace('SUMMARY:A', 'SUMMARY:B'));
    expect((await pollFeed(src(), first.state)).origin).toBe('fetched');
  });

  it('validators of a poll that was never completed are not sent (stateIfUnused keeps the old ones)', async () => {
    const first = await pollFeed(src(), undefined);
    expect(first.stateIfUnused).toEqual({ requests: [] });
    await pollFeed(src(), first.stateIfUnused);
    expect(feed.hits[1].headers['if-none-match']).toBeUndefined();
  });

  it('budget: the third poll within the window makes no request and says when the next is allowed', async () => {
    const budget = { requests: 2, perMinutes: 60 };
    let t = Date.UTC(2026, 11, 1, 10, 0, 0);
    let state: FeedPollState | undefined;
    for (let i = 0; i < 2; i++) {
      state = (await pollFeed(src({ budget }), state, { now: () => t })).state;
      t += 60_000;
    }
    const skipped = await pollFeed(src({ budget }), state, { now: () => t });
    expect(feed.hits).toHaveLength(2);
    expect(skipped.origin).toBe('budget-skip');
    expect(skipped.warnings[0]).toMatch(/request budget of 2 per 60 min is used up \(next request allowed at 2026-12-01T11:00:00Z\)/);
    t = Date.UTC(2026, 11, 1, 11, 0, 1);
    expect((await pollFeed(src({ budget }), skipped.state, { now: () => t })).origin).toBe('not-modified');
  });

  it('a failed poll throws FeedReadError carrying the state to keep (the request counted, the validators unchanged)', async () => {
    const first = await pollFeed(src({ budget: { requests: 5, perMinutes: 60 } }), undefined, { now: () => 1000 });
    feed.handler = (_req, res) => {
      res.writeHead(503, { 'retry-after': '120' });
      res.end();
    };
    const err = await pollFeed(src({ budget: { requests: 5, perMinutes: 60 } }), first.state, { now: () => 2000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FeedReadError);
    expect((err as FeedReadError).message).toBe(`source "feed": ${feed.base}/cal.ics?… answered HTTP 503 Service Unavailable (Retry-After: 120)`);
    expect((err as FeedReadError).pollState).toEqual({ ...first.state, requests: [1000, 2000] });
  });
});

describe('reading through an HttpPort', () => {
  it('readUrlFeed sends the request through the port (headers included) and keeps conditional GET', async () => {
    const seen: string[] = [];
    const inner = fetchTransport();
    const port: HttpPort = async (req) => {
      seen.push(req.url);
      return inner({ ...req, headers: { ...req.headers, authorization: 'Bearer t' } });
    };
    const store = new MemoryFeedStateStore();
    const a = await readUrlFeed(src(), { http: port, store });
    const b = await readUrlFeed(src(), { http: port, store });
    expect([a.origin, b.origin]).toEqual(['fetched', 'not-modified']);
    expect(Buffer.from(b.bytes).toString()).toBe(ICS);
    expect(seen).toHaveLength(2);
    expect(feed.hits.map((h) => h.headers.authorization)).toEqual(['Bearer t', 'Bearer t']);
  });

  it('port errors and over-size bodies become FeedReadErrors; a port without a transport is refused', async () => {
    const broken: HttpPort = async () => {
      throw new Error('socket hang up');
    };
    await expect(pollFeed(src(), undefined, { http: broken })).rejects.toThrow('source "feed": cannot reach');
    await expect(pollFeed(src({ maxBytes: 10 }), undefined, { http: fetchTransport() })).rejects.toThrow('more than the limit of 10 bytes');
    await expect(pollUrl(src(), undefined, {})).rejects.toThrow('needs an HttpPort');
    // With a port, the port enforces the time limit (the n8n port passes `timeout`); over fetch, the feed's timer does.
  });
});
