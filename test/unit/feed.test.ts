/**
 * providers/feed readFeed against a local HTTP server: conditional GET (304 reuses the stored
 * body), request budget (exhausted → last good body with a warning, no request), failures
 * (HTTP 500, timeout, connection refused, empty body, too large) surface as FeedReadError, files,
 * and the JSON state file.
 */
import { mkdtemp, writeFile, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFeed, FeedReadError, MemoryFeedStateStore, JsonFileStateStore, type FeedSource } from '../../providers/feed';
import { ICS, useFeedServer } from './feed-server';

const feed = useFeedServer((_req, res) => res.end(ICS));

function src(over: Partial<FeedSource> = {}): FeedSource {
  return { id: 'feed', url: `${feed.base}/cal.ics?token=secret`, ...over };
}

async function failure(p: Promise<unknown>): Promise<FeedReadError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(FeedReadError);
    return err as FeedReadError;
  }
  throw new Error('expected a FeedReadError');
}

describe('conditional GET', () => {
  it('sends the stored ETag and Last-Modified back and reuses the body on 304', async () => {
    const store = new MemoryFeedStateStore();
    feed.handler = (req, res) => {
      if (req.headers['if-none-match'] === '"v1"') {
        res.writeHead(304);
        res.end();
        return;
      }
      res.writeHead(200, { etag: '"v1"', 'last-modified': 'Sat, 21 Nov 2026 10:00:00 GMT', 'content-type': 'text/calendar' });
      res.end(ICS);
    };
    let t = 1_000_000;
    const first = await readFeed(src(), { store, now: () => t });
    expect(first.origin).toBe('fetched');
    expect(Buffer.from(first.bytes).toString()).toBe(ICS);
    expect(feed.hits[0].headers['if-none-match']).toBeUndefined();

    t += 60_000;
    const second = await readFeed(src(), { store, now: () => t });
    expect(feed.hits).toHaveLength(2);
    expect(feed.hits[1].headers['if-none-match']).toBe('"v1"');
    expect(feed.hits[1].headers['if-modified-since']).toBe('Sat, 21 Nov 2026 10:00:00 GMT');
    expect(second.origin).toBe('not-modified');
    expect(second.requests).toBe(1);
    expect(second.fetchedAt).toBe(1_000_000);
    expect(Buffer.from(second.bytes).toString()).toBe(ICS);
  });

  it('a new body replaces the stored one and its validators', async () => {
    const store = new MemoryFeedStateStore();
    let version = 1;
    feed.handler = (req, res) => {
      if (req.headers['if-none-match'] === `"v${version}"`) {
        res.writeHead(304);
        res.end();
        return;
      }
      res.writeHead(200, { etag: `"v${version}"` });
      res.end(ICS.replace('SUMMARY:A', `SUMMARY:v${version}`));
    };
    await readFeed(src(), { store });
    version = 2;
    const r = await readFeed(src(), { store });
    expect(r.origin).toBe('fetched');
    expect(Buffer.from(r.bytes).toString()).toContain('SUMMARY:v2');
    expect((await readFeed(src(), { store })).origin).toBe('not-modified');
  });

  it('sends configured headers (e.g. a bearer token)', async () => {
    await readFeed(src({ headers: { authorization: 'Bearer abc' } }));
    expect(feed.hits[0].headers.authorization).toBe('Bearer abc');
  });
});

describe('request budget', () => {
  it('makes at most N requests per window, then reuses the last good body with a warning', async () => {
    const store = new MemoryFeedStateStore();
    let t = Date.UTC(2026, 10, 22, 8, 0);
    const source = src({ budget: { requests: 3, perMinutes: 60 } });
    for (let i = 0; i < 3; i++) {
      const r = await readFeed(source, { store, now: () => t });
      expect(r.origin).toBe('fetched');
      t += 5 * 60_000;
    }
    const reused = await readFeed(source, { store, now: () => t });
    expect(feed.hits).toHaveLength(3);
    expect(reused.origin).toBe('budget-reuse');
    expect(reused.requests).toBe(0);
    expect(Buffer.from(reused.bytes).toString()).toBe(ICS);
    expect(reused.warnings.join('\n')).toMatch(/budget of 3 per 60 min is used up \(next request allowed at 2026-11-22T09:00:00Z\); reusing the body fetched at 2026-11-22T08:10:00Z/);

    // The window slides: an hour after the first request one more is allowed.
    t = Date.UTC(2026, 10, 22, 9, 0, 1);
    expect((await readFeed(source, { store, now: () => t })).origin).toBe('fetched');
    expect(feed.hits).toHaveLength(4);
  });

  it('with the budget used up and nothing stored, the source fails', async () => {
    const store = new MemoryFeedStateStore();
    feed.handler = (_req, res) => {
      res.writeHead(500);
      res.end('boom');
    };
    const source = src({ budget: { requests: 1, perMinutes: 60 } });
    expect((await failure(readFeed(source, { store, now: () => 0 }))).reason).toBe('http');
    const err = await failure(readFeed(source, { store, now: () => 1000 }));
    expect(err.reason).toBe('budget');
    expect(feed.hits).toHaveLength(1); // the failed request counted against the budget
  });
});

describe('failures are failures, never zero events', () => {
  it('HTTP 500 → FeedReadError with the status, URL secrets redacted', async () => {
    feed.handler = (_req, res) => {
      res.writeHead(500, { 'retry-after': '120' });
      res.end('internal');
    };
    const err = await failure(readFeed(src()));
    expect(err.reason).toBe('http');
    expect(err.status).toBe(500);
    expect(err.message).toContain('HTTP 500');
    expect(err.message).toContain('Retry-After: 120');
    expect(err.message).not.toContain('secret');
  });

  it('a slow server → timeout', async () => {
    feed.handler = () => undefined; // never answers
    const err = await failure(readFeed(src({ timeoutMs: 150 })));
    expect(err.reason).toBe('timeout');
    expect(err.message).toMatch(/within 150 ms/);
  });

  it('a body that stalls half-way → timeout', async () => {
    feed.handler = (_req, res) => {
      res.writeHead(200);
      res.write('BEGIN:VCALENDAR\r\n');
    };
    expect((await failure(readFeed(src({ timeoutMs: 200 })))).reason).toBe('timeout');
  });

  it('connection refused → network', async () => {
    const err = await failure(readFeed(src({ url: 'http://127.0.0.1:1/x.ics' })));
    expect(err.reason).toBe('network');
  });

  it.each([['empty', ''], ['whitespace only', ' \r\n\t\r\n']])('an %s body with 200 → empty', async (_n, body) => {
    feed.handler = (_req, res) => res.end(body);
    const err = await failure(readFeed(src()));
    expect(err.reason).toBe('empty');
  });

  it('a body over maxBytes → too-large (declared length and streamed)', async () => {
    feed.handler = (_req, res) => res.end('x'.repeat(5000));
    expect((await failure(readFeed(src({ maxBytes: 1000 })))).reason).toBe('too-large');
    feed.handler = (_req, res) => {
      res.writeHead(200); // chunked, no content-length
      res.write('x'.repeat(800));
      res.end('y'.repeat(800));
    };
    expect((await failure(readFeed(src({ maxBytes: 1000 })))).reason).toBe('too-large');
  });

  it('a failed fetch keeps the last good body stored but does not hand it out', async () => {
    const store = new MemoryFeedStateStore();
    await readFeed(src(), { store });
    feed.handler = (_req, res) => {
      res.writeHead(503);
      res.end();
    };
    expect((await failure(readFeed(src(), { store }))).status).toBe(503);
  });
});

describe('files and the state file', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'feed-test-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads a file; a missing or empty file fails', async () => {
    const f = join(dir, 'a.ics');
    await writeFile(f, ICS);
    const r = await readFeed({ id: 'f', file: f });
    expect(r.origin).toBe('file');
    expect(Buffer.from(r.bytes).toString()).toBe(ICS);
    expect((await failure(readFeed({ id: 'f', file: join(dir, 'nope.ics') }))).reason).toBe('file');
    await writeFile(join(dir, 'empty.ics'), '');
    expect((await failure(readFeed({ id: 'f', file: join(dir, 'empty.ics') }))).reason).toBe('empty');
    expect((await failure(readFeed({ id: 'f', file: f, maxBytes: 10 }))).reason).toBe('too-large');
  });

  it('JsonFileStateStore persists validators between runs', async () => {
    const file = join(dir, 'state', 'relay-state.json');
    feed.handler = (req, res) => {
      if (req.headers['if-none-match'] === '"x"') {
        res.writeHead(304);
        res.end();
        return;
      }
      res.writeHead(200, { etag: '"x"' });
      res.end(ICS);
    };
    const s1 = await JsonFileStateStore.open(file);
    await readFeed(src(), { store: s1 });
    await s1.flush();
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual(expect.objectContaining({ [`feed:feed:${feed.base}/cal.ics?token=secret`]: expect.any(String) }));
    const s2 = await JsonFileStateStore.open(file);
    expect((await readFeed(src(), { store: s2 })).origin).toBe('not-modified');
  });
});
