/** Shared pieces of the bridge tests: a throwaway PostgreSQL cluster, a webhook receiver, a remote feed, a log sink. */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Client } from 'pg';
import type { Logger } from 'pino';
import { defaultConfig, type BridgeConfig } from '../../bridge/src/config';
import { createLogger } from '../../bridge/src/logging';
import { createBridge, type Bridge } from '../../bridge/src/server';
import type { Store } from '../../bridge/src/store/types';
import { defaultSubscriptionsConfig, type SubscriptionsConfig } from '../../bridge/src/subscriptions';

const root = join(__dirname, '..', '..');

export interface Postgres {
  url: string;
  dir: string;
}

/**
 * Starts a cluster through scripts/postgres.mjs (installing PostgreSQL if needed). Returns
 * undefined only when CALENDAR_RELAY_SKIP_POSTGRES=1 and no server exists — never on CI.
 */
export function startPostgres(): Postgres | undefined {
  const out = execFileSync(process.execPath, [join(root, 'scripts', 'postgres.mjs'), 'start'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const r = JSON.parse(out.trim().split('\n').pop() as string) as Postgres & { skipped?: string };
  if (r.skipped) {
    if (process.env.CI) throw new Error(`PostgreSQL is required on CI: ${r.skipped}`);
    console.warn(`PostgreSQL suite skipped: ${r.skipped}`);
    return undefined;
  }
  return r;
}

export function stopPostgres(pg: Postgres | undefined): void {
  if (pg) execFileSync(process.execPath, [join(root, 'scripts', 'postgres.mjs'), 'stop', pg.dir], { stdio: 'inherit' });
}

/** A database of its own for each test group, on the shared throwaway cluster. */
export async function createDatabase(pg: Postgres, name: string): Promise<string> {
  const c = new Client({ connectionString: pg.url });
  await c.connect();
  await c.query(`CREATE DATABASE ${name}`);
  await c.end();
  return pg.url.replace(/\/postgres$/, `/${name}`);
}

export interface Delivery {
  id: string;
  instance: string;
  body: Record<string, unknown>;
  headers: IncomingMessage['headers'];
}

/** The "n8n webhook": records every delivery; can be taken down and brought back on the same port. */
export class Receiver {
  readonly deliveries: Delivery[] = [];
  private server: Server | undefined;
  port = 0;
  /** Answer with this status instead of 200 (e.g. 503 to refuse). */
  status = 200;

  async up(): Promise<void> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (this.status === 200) {
          this.deliveries.push({ id: String(req.headers['x-relay-delivery-id']), instance: String(req.headers['x-relay-instance']), body: JSON.parse(Buffer.concat(chunks).toString('utf8')), headers: req.headers });
        }
        res.writeHead(this.status, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', () => resolve()));
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  async down(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/webhook/relay`;
  }
}

/** Collects everything a logger writes, as text. */
export class LogSink extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.text += chunk.toString('utf8');
    cb();
  }
}

export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export interface HttpReply {
  statusCode: number;
  headers: IncomingMessage['headers'];
  rawPayload: Buffer;
  body: string;
  json: () => any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/**
 * A plain HTTP request (no automatic decompression, unlike fetch), shaped like Fastify's inject.
 * Fastify's inject cannot run under Jest here (light-my-request needs an ESM-only `cookie`).
 */
export async function httpRequest(base: string, opts: { method: string; url: string; headers?: Record<string, string>; payload?: string | Buffer }): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    // A connection of its own per request (agent: false): Node's global agent keeps sockets alive,
    // and a pooled socket to a server an earlier test file closed on the same port (the OS may hand
    // that port out again) ends in "socket hang up". It also lets node:cluster spread requests over workers.
    const req = request(base + opts.url, { method: opts.method, headers: opts.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const raw = Buffer.concat(chunks);
        resolve({ statusCode: res.statusCode ?? 0, headers: res.headers, rawPayload: raw, body: raw.toString('utf8'), json: () => JSON.parse(raw.toString('utf8')) });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(opts.payload);
  });
}

/** One VEVENT on day `day` of January 2030, 09:00–10:00 UTC. */
export function vevent(uid: string, summary: string, day: number): string {
  const d = `203001${String(day).padStart(2, '0')}`;
  return `BEGIN:VEVENT\r\nUID:${uid}\r\nDTSTAMP:20300101T000000Z\r\nDTSTART:${d}T090000Z\r\nDTEND:${d}T100000Z\r\nSUMMARY:${summary}\r\nEND:VEVENT\r\n`;
}
export const calendar = (...events: string[]) => `BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n${events.join('')}END:VCALENDAR\r\n`;

/** The remote calendar: `body` with an ETag (304 to it), or `status` when not 200. */
export class FeedServer {
  body = calendar();
  status = 200;
  requests = 0;
  private server: Server | undefined;
  base = '';
  async up(): Promise<void> {
    this.server = createServer((req, res) => {
      this.requests++;
      if (this.status !== 200) return res.writeHead(this.status).end('broken');
      const etag = `"${createHash('sha256').update(this.body).digest('hex').slice(0, 16)}"`;
      if (req.headers['if-none-match'] === etag) return res.writeHead(304, { etag }).end();
      res.writeHead(200, { 'content-type': 'text/calendar', etag }).end(this.body);
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.2', () => r()));
    this.base = `http://127.0.0.2:${(this.server.address() as AddressInfo).port}`;
  }
  async down(): Promise<void> {
    await new Promise((r) => this.server?.close(r));
  }
}

/**
 * A bridge whose subscriptions may sync into `syncTargets`, for the sync-target and removal tests:
 * remote feeds on 127.0.0.2 allowed, 5 s target timeout, the poller stopped (the tests drive polls
 * with runOnce and their own clock). `config` and `subscriptions` add to or change those settings.
 */
export async function startSyncBridge(o: {
  store: Store;
  adminToken: string;
  syncTargets: SubscriptionsConfig['syncTargets'];
  now: () => number;
  config?: Partial<BridgeConfig>;
  subscriptions?: Partial<SubscriptionsConfig>;
  log?: Logger;
}): Promise<{ bridge: Bridge; base: string }> {
  const config: BridgeConfig = {
    ...defaultConfig(), port: 0, adminToken: o.adminToken, ...o.config,
    subscriptions: { ...defaultSubscriptionsConfig(), allowPrivate: ['127.0.0.2/32'], timeoutMs: 5000, ...o.subscriptions, syncTargets: o.syncTargets },
  };
  const bridge = createBridge(config, { store: o.store, log: o.log ?? createLogger('silent', new LogSink()), now: o.now });
  const base = await bridge.listen();
  await bridge.poller.stop();
  return { bridge, base };
}
