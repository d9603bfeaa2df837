/**
 * Feed GETs answered on the socket (bridge/src/feed-socket.ts), tested over raw TCP against an
 * oracle: the same bridge code with `feedSocketPath: false`, where every request goes through
 * Node's HTTP server. For each kind of request — the plain feed GETs the socket path takes, and
 * everything it must hand to Node (bodies, Connection: close, HTTP/1.0, bad or odd syntax,
 * smuggling attempts) — both must send the same bytes (Date aside), alone, mid-connection and
 * pipelined, and the path's own counter says which requests it answered.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBridge, type Bridge } from '../../bridge/src/server';
import { createLogger } from '../../bridge/src/logging';
import { defaultConfig, type BridgeConfig } from '../../bridge/src/config';
import { openStore } from '../../bridge/src/store';
import { httpRequest, LogSink } from './helpers';

const ADMIN = randomBytes(18).toString('base64url');
const auth = { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' };

interface Running {
  bridge: Bridge;
  url: string;
  port: number;
}

function events(n: number, title = 'Session') {
  return Array.from({ length: n }, (_, i) => ({
    uid: `ev-${i}@socket`,
    title: `${title} ${i}`,
    start: { dateTime: '2030-01-10T09:00:00', timeZone: 'Europe/Berlin' },
    end: { dateTime: '2030-01-10T10:00:00', timeZone: 'Europe/Berlin' },
  }));
}

async function start(dir: string, extra: Partial<BridgeConfig>, store: Awaited<ReturnType<typeof openStore>>): Promise<Running> {
  const config: BridgeConfig = { ...defaultConfig(), port: 0, dataDir: dir, adminToken: ADMIN, feedCacheMs: 60_000, feedBudget: { requests: 100_000, windowSec: 60 }, ...extra };
  const bridge = createBridge(config, { store, log: createLogger('warn', new LogSink()) });
  const url = await bridge.listen();
  return { bridge, url, port: Number(new URL(url).port) };
}

interface Exchange {
  /** Everything the server sent, with each Date value replaced. */
  bytes: string;
  /** The server closed the connection. */
  closed: boolean;
}

/**
 * Sends `parts` on one connection, one write each (`gapMs` apart), and reads until the server has
 * been quiet for `quietMs` after the last write, or closed.
 */
function exchange(port: number, parts: string[], opts: { gapMs?: number; quietMs?: number } = {}): Promise<Exchange> {
  const { gapMs = 40, quietMs = 150 } = opts;
  return new Promise((resolve, reject) => {
    const socket: Socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let closed = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      // Node writes its interim 100 Continue before or inside the answer, depending on socket timing.
      const bytes = Buffer.concat(chunks).toString('latin1').replace(/\r\nDate: [^\r]*/g, '\r\nDate: X').replace('HTTP/1.1 100 Continue\r\n\r\n', '');
      resolve({ bytes, closed });
    };
    const quiet = () => {
      clearTimeout(timer);
      timer = setTimeout(finish, quietMs);
    };
    socket.on('data', (c: Buffer) => {
      chunks.push(c);
      if (sent === parts.length) quiet();
    });
    socket.on('close', () => {
      closed = true;
      finish();
    });
    socket.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' ? undefined : reject(err)));
    let sent = 0;
    const next = () => {
      if (closed) return;
      socket.write(parts[sent++], 'latin1');
      if (sent < parts.length) setTimeout(next, gapMs);
      else quiet();
    };
    socket.on('connect', next);
  });
}

describe('feed GETs on the socket, against Node’s HTTP server as the oracle', () => {
  let dir: string;
  let fast: Running;
  let node: Running;
  let path: string;
  let gzEtag: string;
  let plainEtag: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cr-feed-socket-'));
    const stores = [await openStore({ dataDir: dir }), await openStore({ dataDir: dir })];
    fast = await start(dir, {}, stores[0]);
    node = await start(dir, { feedSocketPath: false }, stores[1]);
    const published = await httpRequest(fast.url, { method: 'PUT', url: '/api/feeds/f', headers: auth, payload: JSON.stringify({ events: events(3) }) });
    path = new URL(published.json().subscribeUrl).pathname;
    for (const r of [fast, node]) await httpRequest(r.url, { method: 'GET', url: path, headers: {} }); // caches the token lookup and the rendering
    gzEtag = String((await httpRequest(fast.url, { method: 'GET', url: path, headers: { 'accept-encoding': 'gzip' } })).headers.etag);
    plainEtag = String((await httpRequest(fast.url, { method: 'GET', url: path, headers: {} })).headers.etag);
  });

  afterAll(async () => {
    await fast.bridge.close();
    await node.bridge.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const get = (target: string, headers: string) => `GET ${target} HTTP/1.1\r\nHost: bridge.test\r\n${headers}\r\n`;
  const revalidate = () => get(path, `Accept-Encoding: gzip\r\nIf-None-Match: ${gzEtag}\r\n`);

  /** Sends `parts` to both bridges; the bytes must be equal; returns what the socket path answered. */
  async function both(parts: string[], opts?: { gapMs?: number }): Promise<{ answered: number; ex: Exchange }> {
    const before = fast.bridge.feedSocket()!.answered;
    const ex = await exchange(fast.port, parts, opts);
    const oracle = await exchange(node.port, parts, opts);
    expect({ parts, ...ex }).toEqual({ parts, ...oracle });
    expect(node.bridge.feedSocket()).toBeUndefined();
    return { answered: fast.bridge.feedSocket()!.answered - before, ex };
  }

  test('plain feed GETs are answered on the socket, byte for byte as Node answers them', async () => {
    const cases = [
      revalidate(),
      get(path, 'Accept-Encoding: gzip\r\n'),
      get(path, ''),
      get(path, `If-None-Match: ${plainEtag}\r\n`),
      get(path, `Accept-Encoding: gzip\r\nIf-None-Match: ${plainEtag}\r\n`), // the other encoding's ETag
      get(path, `If-None-Match: "nope", W/${gzEtag}\r\nAccept-Encoding: gzip\r\n`),
      get(path, 'If-Modified-Since: Thu, 01 Jan 1970 00:00:00 GMT\r\n'),
      get(path, 'If-None-Match: *\r\n'),
      get(`${path}?x=1`, ''),
      get(path.replace(/\.ics$/, '.json'), 'Accept-Encoding: gzip\r\n'),
      get(path, 'CONNECTION: Keep-Alive\r\nuser-agent: Google-Calendar-Importer\r\nAccept-Encoding:   gzip  \r\n'),
      `GET ${path} HTTP/1.1\r\nhOsT: bridge.test\r\nif-NONE-match: ${gzEtag}\r\naccept-encoding: gzip\r\n\r\n`,
    ];
    for (const c of cases) {
      const { answered, ex } = await both([c]);
      expect({ c, answered }).toEqual({ c, answered: 1 });
      expect(ex.closed).toBe(false);
      expect(ex.bytes).toMatch(/^HTTP\/1\.1 (200 OK|304 Not Modified)\r\n/);
      expect(ex.bytes).toContain('\r\nConnection: keep-alive\r\nKeep-Alive: timeout=72\r\n\r\n');
    }
  });

  // Each is what the socket path must leave to Node: the requests a strict parser and a lenient one
  // could read differently, or that need Node's answer (errors, bodies, closing, other methods).
  // (A request after one that closes the connection would race the server's close, and unread data is lost on a reset.)
  const closes = new Set(['Connection: close', 'HTTP/1.0']);
  const handedOff: Array<[string, () => string]> = [
    ['Connection: close', () => get(path, 'Connection: close\r\n')],
    ['Content-Length: 0 on a GET', () => get(path, 'Content-Length: 0\r\n')],
    ['a chunked body on a GET (smuggling shape)', () => `${get(path, 'Transfer-Encoding: chunked\r\n')}0\r\n\r\n`],
    ['a GET with a body that looks like a request', () => `${get(path, 'Content-Length: 44\r\n')}GET /feeds/x.ics HTTP/1.1\r\nHost: evil\r\n\r\n`],
    ['HTTP/1.0', () => `GET ${path} HTTP/1.0\r\nHost: bridge.test\r\n\r\n`],
    ['no Host', () => `GET ${path} HTTP/1.1\r\nAccept: */*\r\n\r\n`],
    ['two Hosts', () => get(path, 'Host: other.test\r\n')],
    ['two If-None-Match', () => get(path, `If-None-Match: "nope"\r\nIf-None-Match: ${plainEtag}\r\n`)],
    ['an obs-folded header', () => get(path, `If-None-Match: "nope",\r\n ${plainEtag}\r\n`)],
    ['a space before the colon', () => get(path, 'Accept-Encoding : gzip\r\n')],
    ['a control character in a value', () => get(path, 'User-Agent: a\x01b\r\n')],
    ['a non-ASCII byte in a value', () => get(path, 'User-Agent: caf\xe9\r\n')],
    ['HEAD', () => `HEAD ${path} HTTP/1.1\r\nHost: bridge.test\r\n\r\n`],
    ['a lower-case method', () => `get ${path} HTTP/1.1\r\nHost: bridge.test\r\n\r\n`],
    ['absolute form', () => `GET http://bridge.test${path} HTTP/1.1\r\nHost: bridge.test\r\n\r\n`],
    ['bare LF line ends', () => `GET ${path} HTTP/1.1\nHost: bridge.test\n\n`],
    ['Expect: 100-continue', () => get(path, 'Expect: 100-continue\r\n')],
    ['Upgrade', () => get(path, 'Connection: Upgrade\r\nUpgrade: websocket\r\n')],
    ['a wrong token (404)', () => get(path.replace(/.\.ics$/, (m) => (m[0] === 'A' ? 'B' : 'A') + '.ics'), '')],
    ['a head of 17 KiB (431)', () => get(path, `X-Pad: ${'p'.repeat(17 * 1024)}\r\n`)],
    ['a leading empty line', () => `\r\n${revalidate()}`],
    ['another route', () => 'GET /healthz HTTP/1.1\r\nHost: bridge.test\r\n\r\n'],
  ];

  test.each(handedOff)('%s: Node answers it, also after a request the socket path answered', async (what, request) => {
    const alone = await both([request()]);
    expect(alone.answered).toBe(0);
    const then = closes.has(what) ? [] : [revalidate()];
    // Mid-connection: answered on the socket, then handed to Node, which keeps the connection.
    const after = await both([revalidate(), request(), ...then]);
    expect(after.answered).toBe(1);
    // Pipelined in one write: the same answers in the same order.
    const pipelined = await both([[revalidate(), request(), ...then].join('')]);
    expect(pipelined.answered).toBe(1);
    expect(pipelined.ex.bytes.startsWith('HTTP/1.1 304 Not Modified\r\n')).toBe(true);
  });

  test('pipelined plain GETs are all answered on the socket, in order', async () => {
    const { answered, ex } = await both([revalidate() + get(path, '') + revalidate() + revalidate()]);
    expect(answered).toBe(4);
    expect(ex.bytes.match(/^HTTP\/1\.1 \d+/gm)).toEqual(['HTTP/1.1 304', 'HTTP/1.1 200', 'HTTP/1.1 304', 'HTTP/1.1 304']);
  });

  test('a request split over two writes goes to Node, whole', async () => {
    const r = revalidate();
    const { answered, ex } = await both([revalidate(), r.slice(0, 30), r.slice(30)], { gapMs: 60 });
    expect(answered).toBe(1);
    expect(ex.bytes.match(/^HTTP\/1\.1 304/gm)).toHaveLength(2);
  });
});

describe('the socket path under a slow reader, at shutdown, and switched off', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'cr-feed-socket-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('a client that does not read: the path stops at backpressure, then answers everything once read', async () => {
    const r = await start(dir, {}, await openStore({ dataDir: dir }));
    try {
      const published = await httpRequest(r.url, { method: 'PUT', url: '/api/feeds/big', headers: auth, payload: JSON.stringify({ events: events(4000, 'A long title that makes the feed large') }) });
      const path = new URL(published.json().subscribeUrl).pathname;
      const full = await httpRequest(r.url, { method: 'GET', url: path, headers: {} });
      const size = full.rawPayload.length;
      expect(size).toBeGreaterThan(500_000);
      const n = 40;
      const socket = connect(r.port, '127.0.0.1');
      await new Promise((res) => socket.on('connect', res));
      socket.pause();
      const before = r.bridge.feedSocket()!.answered;
      socket.write(`GET ${path} HTTP/1.1\r\nHost: b\r\n\r\n`.repeat(n));
      await new Promise((res) => setTimeout(res, 400));
      const whileStalled = r.bridge.feedSocket()!.answered - before;
      expect(whileStalled).toBeGreaterThan(0);
      expect(whileStalled).toBeLessThan(n); // it did not queue n × 0.5 MB for a client that reads nothing
      let received = 0;
      socket.on('data', (c: Buffer) => (received += c.length));
      socket.resume();
      const expected = n * size;
      const deadline = Date.now() + 20_000;
      while (received < expected && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
      socket.destroy();
      expect(r.bridge.feedSocket()!.answered - before).toBe(n);
      expect(received).toBeGreaterThan(expected); // the n bodies and their heads
      expect(received).toBeLessThan(expected + n * 400);
    } finally {
      await r.bridge.close();
    }
  });

  test('an idle keep-alive connection held by the path does not hold up shutdown', async () => {
    const r = await start(dir, {}, await openStore({ dataDir: dir }));
    const published = await httpRequest(r.url, { method: 'PUT', url: '/api/feeds/f', headers: auth, payload: JSON.stringify({ events: events(2) }) });
    const path = new URL(published.json().subscribeUrl).pathname;
    await httpRequest(r.url, { method: 'GET', url: path, headers: {} });
    const socket = connect(r.port, '127.0.0.1');
    const closed = new Promise<void>((res) => socket.on('close', () => res()));
    socket.on('error', () => undefined);
    const answer = new Promise<string>((res) => socket.once('data', (c: Buffer) => res(c.toString('latin1'))));
    socket.write(`GET ${path} HTTP/1.1\r\nHost: b\r\n\r\n`);
    expect(await answer).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(r.bridge.feedSocket()!.held).toBe(1);
    const t0 = Date.now();
    await r.bridge.close(); // without closeIdle this waits for the 72 s keep-alive timeout
    await closed;
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(r.bridge.feedSocket()!.held).toBe(0);
  });

  test('a lookup older than feedCacheMs is made again with reading paused; the connection stays on the socket path', async () => {
    const stores = [await openStore({ dataDir: dir }), await openStore({ dataDir: dir })];
    const a = await start(dir, { feedCacheMs: 100 }, stores[0]);
    const other = await start(dir, { feedSocketPath: false }, stores[1]); // another instance on the same database
    try {
      const publish = (r: Running, title: string) => httpRequest(r.url, { method: 'PUT', url: '/api/feeds/f', headers: auth, payload: JSON.stringify({ events: events(1, title) }) });
      const path = new URL((await publish(a, 'One')).json().subscribeUrl).pathname;
      const socket = connect(a.port, '127.0.0.1');
      await new Promise((res) => socket.on('connect', res));
      const ask = () =>
        new Promise<string>((res) => {
          let got = '';
          const onData = (c: Buffer) => {
            got += c.toString('latin1');
            const m = /content-length: (\d+)\r\n[^]*?\r\n\r\n/.exec(got);
            if (m && got.length >= m.index + m[0].length + Number(m[1])) {
              socket.off('data', onData);
              res(got);
            }
          };
          socket.on('data', onData);
          socket.write(`GET ${path} HTTP/1.1\r\nHost: b\r\n\r\n`);
        });
      const before = a.bridge.feedSocket()!.answered;
      expect(await ask()).toContain('SUMMARY:One 0'); // publishing cleared the cache: looked up, then answered here
      await publish(other, 'Two');
      expect(await ask()).toContain('SUMMARY:One 0'); // still within feedCacheMs
      await new Promise((res) => setTimeout(res, 150));
      expect(await ask()).toContain('SUMMARY:Two 0'); // looked up again, on the same connection
      expect(a.bridge.feedSocket()!.answered - before).toBe(3);
      expect(a.bridge.feedSocket()!.held).toBe(1);
      socket.destroy();
    } finally {
      await a.bridge.close();
      await other.bridge.close();
    }
  });

  test('feedSocketPath: false leaves every request to Node', async () => {
    const r = await start(dir, { feedSocketPath: false }, await openStore({ dataDir: dir }));
    try {
      const published = await httpRequest(r.url, { method: 'PUT', url: '/api/feeds/f', headers: auth, payload: JSON.stringify({ events: events(2) }) });
      const path = new URL(published.json().subscribeUrl).pathname;
      const ex = await exchange(r.port, [`GET ${path} HTTP/1.1\r\nHost: b\r\n\r\n`, `GET ${path} HTTP/1.1\r\nHost: b\r\n\r\n`]);
      expect(ex.bytes.match(/^HTTP\/1\.1 200 OK/gm)).toHaveLength(2);
      expect(r.bridge.feedSocket()).toBeUndefined();
    } finally {
      await r.bridge.close();
    }
  });
});
