/**
 * Feed GETs answered on the socket, before Node's HTTP parser.
 *
 * A subscribed feed is mostly revalidated: calendar clients send the same conditional GET again and
 * again, and the answer is a 304 of ~250 bytes. Node's HTTP layer costs more per request than the
 * whole answer (an IncomingMessage, a ServerResponse, header objects, events); this module reads
 * the request bytes of a new connection itself and, while they are plain feed GETs it can answer
 * from memory, writes precomputed answers straight to the socket.
 *
 * It is deliberately narrow. It takes only `GET /feeds/… HTTP/1.1` with a Host header, no body
 * headers (Content-Length, Transfer-Encoding), no Expect or Upgrade, no Connection header other
 * than `keep-alive`, no duplicate of the headers it reads, visible ASCII only, the whole head in
 * what has been read and at most 16 KiB. A token whose lookup is not cached (or older than
 * `feedCacheMs`) is looked up with reading paused, and the request answered after. On anything
 * else — and whenever the feeds decline (404, 429, a HEAD, shutdown) — the connection is handed
 * to Node's own HTTP server with the unread bytes put back, at a request boundary, and stays there.
 * So every request this path answers is one Node would parse the same way, and everything else is
 * Node's.
 *
 * The answers are byte for byte what Node's `writeHead` would send (status line, the
 * representation's headers, Date, Connection, Keep-Alive): test/bridge/feed-socket.test.ts
 * compares the raw bytes of both.
 */
import type { Server } from 'node:http';
import type { Socket } from 'node:net';

/** What `answer` returns: the head up to and including `Date: `, and the body of a 200. */
export interface SocketAnswer {
  head: string;
  body?: Buffer;
}

/** The request headers the feed answer depends on (lower-case names, as Node gives them). */
export interface FeedRequestHeaders {
  'accept-encoding'?: string;
  'if-none-match'?: string;
  'if-modified-since'?: string;
}

export interface FeedSocketPath {
  /** Ends the idle connections this path holds (shutdown; Node's closeIdleConnections cannot see them). */
  closeIdle(): void;
  /** Connections held by this path now (tests). */
  readonly held: number;
  /** Requests this path has answered (tests, the benchmark). */
  readonly answered: number;
}

/** Node's default `maxHeaderSize`: a longer head goes to Node, which answers 431. */
const MAX_HEAD = 16 * 1024;
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const VALUE = /^[\x20-\x7e\t]*$/;
const TARGET = /^\/feeds\/[\x21-\x7e]*$/;
const REQUEST_LINE_TAIL = ' HTTP/1.1';
const NOT_PARSED = 0;

/** One request head of `s` from `from`: its end (after the blank line) and what the answer needs. */
function parseHead(s: string, from: number): { next: number; url: string; headers: FeedRequestHeaders } | typeof NOT_PARSED {
  const end = s.indexOf('\r\n\r\n', from);
  if (end < 0 || end - from > MAX_HEAD) return NOT_PARSED;
  const lineEnd = s.indexOf('\r\n', from);
  if (!s.startsWith('GET /feeds/', from) || !s.endsWith(REQUEST_LINE_TAIL, lineEnd)) return NOT_PARSED;
  const url = s.slice(from + 4, lineEnd - REQUEST_LINE_TAIL.length);
  if (!TARGET.test(url)) return NOT_PARSED;
  const headers: FeedRequestHeaders = {};
  let hosts = 0;
  let at = lineEnd + 2;
  while (at < end) {
    let eol = s.indexOf('\r\n', at);
    if (eol > end) eol = end;
    const colon = s.indexOf(':', at);
    if (colon < 0 || colon > eol) return NOT_PARSED;
    const name = s.slice(at, colon);
    if (!TOKEN.test(name)) return NOT_PARSED;
    const raw = s.slice(colon + 1, eol);
    if (!VALUE.test(raw)) return NOT_PARSED;
    const value = raw.trim(); // only SP and HTAB can be trimmed here: VALUE allows no other white space
    const lower = name.toLowerCase();
    switch (lower) {
      case 'host':
        hosts++;
        break;
      case 'accept-encoding':
      case 'if-none-match':
      case 'if-modified-since': {
        const key = lower as keyof FeedRequestHeaders;
        if (headers[key] !== undefined) return NOT_PARSED;
        headers[key] = value;
        break;
      }
      case 'connection':
        if (value.toLowerCase() !== 'keep-alive') return NOT_PARSED;
        break;
      case 'content-length':
      case 'transfer-encoding':
      case 'expect':
      case 'upgrade':
      case 'http2-settings':
        return NOT_PARSED;
      default:
        break;
    }
    at = eol + 2;
  }
  return hosts === 1 ? { next: end + 4, url, headers } : NOT_PARSED;
}

let dateSecond = -1;
let dateText = '';
/** The Date header value, computed once a second (as Node does). */
function httpDate(): string {
  const ms = Date.now();
  const second = Math.floor(ms / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateText = new Date(second * 1000).toUTCString();
  }
  return dateText;
}

/** What the path asks of the feeds: an answer now, or (when that declines) a load to try once more after. */
export interface FeedSocketHandler {
  /** The answer from memory, or undefined when it cannot answer now. */
  answer(url: string, headers: FeedRequestHeaders): SocketAnswer | undefined;
  /**
   * Called when `answer` declined: a promise that loads what the answer needs (the token's lookup
   * after `feedCacheMs`, a new version's rendering) and resolves true when `answer` may now
   * succeed; undefined when nothing can be loaded (the request goes to Node).
   */
  load(url: string): Promise<boolean> | undefined;
  /** False from shutdown on: every request goes to Node. */
  active(): boolean;
}

interface Connection {
  /** Request bytes read and not yet answered (latin1). */
  queue: string;
  /** Waiting for a load or for the socket to drain: not idle. */
  waiting: boolean;
  /** The client ended its side while requests were still queued. */
  ended: boolean;
}

/**
 * Puts this path in front of `server`'s own connection handling (Node's listener is kept and
 * called for every connection or request this path does not take).
 */
export function installFeedSocketPath(server: Server, feeds: FeedSocketHandler): FeedSocketPath {
  const nodeListeners = server.listeners('connection') as Array<(socket: Socket) => void>;
  if (nodeListeners.length !== 1) throw new Error(`expected Node's one HTTP connection listener, found ${nodeListeners.length}`);
  const [node] = nodeListeners;
  server.removeListener('connection', node);
  // What Node writes after the headers of every keep-alive answer (lib/_http_outgoing.js).
  const tail = `\r\nConnection: keep-alive\r\nKeep-Alive: timeout=${Math.floor(server.keepAliveTimeout / 1000)}\r\n\r\n`;
  const held = new Map<Socket, Connection>();
  let answered = 0;

  server.on('connection', (socket: Socket) => {
    if (!feeds.active() || server.keepAliveTimeout <= 0) {
      node.call(server, socket);
      return;
    }
    const c: Connection = { queue: '', waiting: false, ended: false };
    held.set(socket, c);
    socket.setNoDelay(true);
    socket.setTimeout(server.keepAliveTimeout);

    const release = () => {
      held.delete(socket);
      socket.removeListener('data', onData);
      socket.removeListener('end', onEnd);
      socket.removeListener('timeout', onTimeout);
      socket.removeListener('error', onError);
      socket.removeListener('close', onClose);
      socket.setTimeout(0);
    };
    /** From the request at the start of the queue on, the connection is Node's. */
    const handOff = () => {
      const rest = c.queue;
      c.queue = '';
      release();
      socket.pause();
      if (rest) socket.unshift(Buffer.from(rest, 'latin1'));
      node.call(server, socket);
      socket.resume();
    };
    /** Waits for `until` with reading paused, then answers on (`retried`: the first request was loaded for). */
    const wait = (until: Promise<unknown>, retried: boolean) => {
      c.waiting = true;
      socket.pause();
      void until.then(() => {
        c.waiting = false;
        if (held.get(socket) !== c || socket.destroyed) return;
        socket.resume();
        pump(retried);
      });
    };
    const pump = (retried = false) => {
      let out = '';
      const flush = () => {
        if (out) socket.write(out, 'latin1');
        out = '';
      };
      while (c.queue) {
        const req = feeds.active() ? parseHead(c.queue, 0) : NOT_PARSED;
        const a = req === NOT_PARSED ? undefined : feeds.answer(req.url, req.headers);
        if (!a) {
          flush();
          const loading = req !== NOT_PARSED && !retried ? feeds.load(req.url) : undefined;
          if (loading)
            wait(
              loading.catch(() => false),
              true,
            );
          else handOff();
          return;
        }
        retried = false;
        c.queue = c.queue.slice((req as { next: number }).next);
        answered++;
        out += a.head + httpDate() + tail;
        if (a.body) {
          socket.cork();
          flush();
          socket.write(a.body);
          socket.uncork();
          // A slow reader: read nothing more until what is written has gone.
          if (socket.writableNeedDrain) return wait(new Promise((resolve) => socket.once('drain', resolve)), false);
        }
      }
      flush();
      if (c.ended) {
        release();
        socket.end();
      }
    };
    const onData = (chunk: Buffer) => {
      c.queue += chunk.toString('latin1');
      if (!c.waiting) pump();
    };
    const onEnd = () => {
      if (c.queue)
        c.ended = true; // answer what was sent first
      else {
        release();
        socket.end();
      }
    };
    const onTimeout = () => socket.destroy();
    const onError = () => socket.destroy();
    const onClose = () => held.delete(socket);
    socket.on('data', onData);
    socket.on('end', onEnd);
    socket.on('timeout', onTimeout);
    socket.on('error', onError);
    socket.on('close', onClose);
  });

  return {
    closeIdle() {
      for (const [socket, c] of held) {
        if (c.waiting || c.queue) continue; // answered or handed to Node once it reads on
        held.delete(socket);
        if (socket.writableLength === 0) socket.destroy();
        else socket.end(() => socket.destroy());
      }
    },
    get held() {
      return held.size;
    },
    get answered() {
      return answered;
    },
  };
}
