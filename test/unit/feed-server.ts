/**
 * The local HTTP server the feed reader tests (feed.test.ts, feed-poll.test.ts) fetch from. Call
 * `useFeedServer` at the top of a test file: it starts the server before the tests, closes it after
 * them, and before each test clears `hits` and puts `handler` back to the default.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A one-event calendar the feed tests serve. */
export const ICS = 'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTART:20261201T090000Z\r\nSUMMARY:A\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n';

export type FeedHandler = (req: IncomingMessage, res: ServerResponse) => void;

export interface FeedServer {
  /** `http://127.0.0.1:<port>`, once the server listens. */
  base: string;
  /** The requests of the current test, in order. */
  hits: IncomingMessage[];
  /** How the server answers; a test may replace it. */
  handler: FeedHandler;
}

export function useFeedServer(defaultHandler: FeedHandler): FeedServer {
  const feed: FeedServer = { base: '', hits: [], handler: defaultHandler };
  let server: Server;
  beforeAll(async () => {
    server = createServer((req, res) => {
      feed.hits.push(req);
      feed.handler(req, res);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    feed.base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });
  beforeEach(() => {
    feed.hits = [];
    feed.handler = defaultHandler;
  });
  return feed;
}
