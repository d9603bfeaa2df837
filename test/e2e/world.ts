/**
 * The outside world of the end-to-end run: the project's emulator (Google Calendar v3 + Microsoft
 * Graph, in-process on loopback) with room calendars, people's own bookings and credentials, and a
 * small mutable feed server that plays the source systems (CKalender, LearningSpace, Kaltura,
 * caldn, …) from the sample feeds in test/fixtures/feeds, and the project's bridge (workspace
 * package, SQLite in a temporary folder, loopback, an admin token made up per run) that Feed
 * Export publishes to.
 */
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmulator, type Emulator } from '../../emulator';

export const GOOGLE_SERVICE_ACCOUNT = 'relay-e2e@calendar-relay-e2e.iam.gserviceaccount.com';
export const GOOGLE_SUBJECT = 'calendar-relay@e2e.example';
/** The Microsoft app the emulator knows; its secret is made up per run. */
export const GRAPH_APP = { tenantId: 'e2e-tenant', clientId: 'relay-e2e-client', clientSecret: randomBytes(18).toString('base64url') } as const;

export interface World {
  emu: Emulator;
  feeds: FeedServer;
  googleKey: { privateKeyPem: string; email: string };
  bridge: BridgeProcess;
  close(): Promise<void>;
}

export async function startWorld(root = process.env.CALENDAR_RELAY_ROOT ?? process.cwd()): Promise<World> {
  // limits stay on: the nodes must live within the modelled quotas like any client.
  const emu = await startEmulator({ port: 0, host: '127.0.0.1' });
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
  emu.google.registerServiceAccount(GOOGLE_SERVICE_ACCOUNT, publicKey);
  emu.graph.registerApp(GRAPH_APP.clientId, GRAPH_APP.clientSecret, GRAPH_APP.tenantId);
  const feeds = await startFeedServer();
  const bridge = await startBridgeProcess(root);
  return {
    emu, feeds, bridge, googleKey: { privateKeyPem: privateKey, email: GOOGLE_SERVICE_ACCOUNT },
    async close() {
      await bridge.close();
      await feeds.close();
      await emu.close();
    },
  };
}

export interface BridgeProcess {
  url: string;
  /** The admin token the bridge was started with (the Bridge API credential's token). */
  adminToken: string;
  close(): Promise<void>;
}

/**
 * Starts the bridge as `calendar-relay-bridge` (bridge/bin) in a child process: the harness runs
 * on n8n's Node 24, while the bridge's better-sqlite3 is built for the repository's Node
 * (CALENDAR_RELAY_BRIDGE_NODE, set by scripts/n8n/e2e.mjs). Loopback, a free port, SQLite in a
 * temporary folder removed on close, a known admin token.
 */
export async function startBridgeProcess(root: string, nodeBin = process.env.CALENDAR_RELAY_BRIDGE_NODE ?? process.execPath): Promise<BridgeProcess> {
  const dataDir = mkdtempSync(join(tmpdir(), 'calendar-relay-e2e-bridge-'));
  const adminToken = randomBytes(18).toString('base64url');
  const child = spawn(nodeBin, [join(root, 'bridge', 'bin', 'calendar-relay-bridge.js'), '--host', '127.0.0.1', '--port', '0', '--data-dir', dataDir, '--log-level', 'warn', '--instance-id', 'e2e-bridge'], {
    cwd: root,
    env: { ...process.env, CALENDAR_RELAY_ADMIN_TOKEN: adminToken },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the bridge did not start within 60 s: ${output}`)), 60_000);
      const onData = (chunk: Buffer) => {
        output += chunk.toString('utf8');
        const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`the bridge exited (code ${code}) before listening: ${output}`));
      });
    });
    return {
      url,
      adminToken,
      async close() {
        if (child.exitCode === null) child.kill('SIGTERM');
        await exited;
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    if (child.exitCode === null) child.kill('SIGTERM');
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
}

/** One feed the server serves: body, content type, and how often it was fetched. */
interface Feed {
  body: string;
  auth?: boolean;
  /** Requests refused for a missing or wrong token. */
  unauthorized: number;
  contentType: string;
  requests: number;
  /** Answers that carried a body (not 304). */
  fullResponses: number;
}

export interface FeedServer {
  url: string;
  /** Bearer token the feeds marked `auth` require (made up per run). */
  token: string;
  set(path: string, body: string, contentType: string, opts?: { auth?: boolean }): void;
  get(path: string): Feed;
  close(): Promise<void>;
}

/** Serves mutable feeds with ETag / If-None-Match, so conditional GET is real. */
export async function startFeedServer(): Promise<FeedServer> {
  const feeds = new Map<string, Feed>();
  const token = randomBytes(12).toString('hex');
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://feeds').pathname;
    const feed = feeds.get(path);
    if (!feed) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`no feed at ${path}`);
      return;
    }
    feed.requests++;
    if (feed.auth && req.headers.authorization !== `Bearer ${token}`) {
      feed.unauthorized++;
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"unauthorized"}');
      return;
    }
    const etag = `"${createHash('sha256').update(feed.body).digest('hex').slice(0, 16)}"`;
    if (req.headers['if-none-match'] === etag) {
      res.writeHead(304, { etag }).end();
      return;
    }
    feed.fullResponses++;
    res.writeHead(200, { 'content-type': feed.contentType, etag }).end(feed.body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return {
    url,
    token,
    set(path, body, contentType, opts = {}) {
      const old = feeds.get(path);
      feeds.set(path, { body, contentType, auth: opts.auth ?? old?.auth, requests: old?.requests ?? 0, fullResponses: old?.fullResponses ?? 0, unauthorized: old?.unauthorized ?? 0 });
    },
    get(path) {
      const f = feeds.get(path);
      if (!f) throw new Error(`no feed ${path}`);
      return f;
    },
    close: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}

/** The sample feeds are dated around 2026-11-22; they are moved by whole weeks (weekdays, and so
 * weekly rules, stay true) to sit around today, so a sync window around "now" holds them. */
export const FIXTURE_ANCHOR = Date.UTC(2026, 10, 22);
const WEEK = 7 * 86_400_000;

export function fixtureShiftWeeks(now = Date.now()): number {
  return Math.max(0, Math.floor((now - FIXTURE_ANCHOR) / WEEK));
}

/** Shifts every date from 2000 on in ICS (20261124, 20261124T100000Z) or JSON (2026-11-24…) text,
 * and unix-second stamps in JSON ("start": 1795420800), by `weeks`. Only values are moved (a date
 * after ':', ';', ',', '=', '"' or a space), not ids that contain a date (UID:ck-20261001-0042):
 * identities must stay what the fixture says. VTIMEZONE's 1970 rules stay. */
export function shiftDates(text: string, weeks: number): string {
  if (weeks === 0) return text;
  const shiftDay = (y: string, m: string, d: string): [string, string, string] => {
    const t = new Date(Date.UTC(+y, +m - 1, +d) + weeks * WEEK);
    return [String(t.getUTCFullYear()), String(t.getUTCMonth() + 1).padStart(2, '0'), String(t.getUTCDate()).padStart(2, '0')];
  };
  return text
    .replace(/(?<=[:;,="\s])(2\d{3})(\d{2})(\d{2})(?=T\d{6}|\b)/g, (_m, y: string, mo: string, d: string) => shiftDay(y, mo, d).join(''))
    .replace(/(?<=["\s])(2\d{3})-(\d{2})-(\d{2})(?=T|"|\b)/g, (_m, y: string, mo: string, d: string) => shiftDay(y, mo, d).join('-'))
    .replace(/("(?:start|end|created|updated)"\s*:\s*)(1[6-9]\d{8})\b/g, (_m, k: string, s: string) => `${k}${Number(s) + weeks * 7 * 86_400}`);
}

export function fixture(root: string, name: string, weeks: number): string {
  return shiftDates(readFileSync(join(root, 'test', 'fixtures', 'feeds', name), 'utf8'), weeks);
}
