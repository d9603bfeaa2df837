/**
 * The demo's last step: the bridge (workspace package `calendar-relay-bridge`, loaded at run time
 * like `calendar-relay bridge` does). It starts on loopback with embedded SQLite in a folder of the
 * demo's temporary directory and a generated admin token, publishes a feed, fetches it as a
 * calendar app would (200, then 304 with the ETag), subscribes to that feed URL as an import
 * subscription and waits for the bridge's poller to read it once. Loopback is allow-listed
 * (subscriptions.allowPrivate 127.0.0.1/32) for this bridge only: the demo's feed is on loopback.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { BRIDGE_PACKAGE } from './commands';

/** The parts of the bridge package the demo uses (bridge/src/index.ts). */
interface BridgeModule {
  defaultConfig: () => Record<string, unknown> & { subscriptions: Record<string, unknown> };
  startBridge: (config: Record<string, unknown>) => Promise<{ url: string; generatedAdminToken?: string; close: () => Promise<void> }>;
}

export interface DemoBridgeStatus {
  id: number;
  calendar_url: string;
  last_checked_date: number | null;
  last_parsed_date: number | null;
  last_error: string | null;
  event_count: number | null;
}

export interface DemoBridgeResult {
  /** false: the package could not be loaded and the step was skipped (`skipped` says why). */
  ran: boolean;
  skipped?: string;
  url?: string;
  adminToken?: string;
  feed?: { name: string; subscribeUrl: string; events: number; etag: string; firstStatus: number; secondStatus: number; bytes: number };
  subscription?: DemoBridgeStatus;
  ok: boolean;
  close: () => Promise<void>;
}

export interface DemoBridgeOptions {
  print: (line: string) => void;
  /** Where the SQLite file goes (inside the demo's temporary directory, removed with it). */
  dataDir: string;
  /** The feed to publish: iCalendar text, and what it is (for the output). */
  ics: string;
  what: string;
  /** Whether the bridge stays up after the demo (the curl lines work then). */
  keep: boolean;
  load?: () => BridgeModule;
  /** How long to wait for the first poll (ms). */
  pollTimeoutMs?: number;
}

const FEED_NAME = 'demo-ckalender';

export async function runDemoBridge(opts: DemoBridgeOptions): Promise<DemoBridgeResult> {
  const { print } = opts;
  print('');
  print('━━ Bridge: publish a feed, subscribe to it, poll it');
  let mod: BridgeModule;
  try {
    mod = (opts.load ?? (() => createRequire(__filename)(BRIDGE_PACKAGE) as BridgeModule))();
  } catch (err) {
    const why = (err as Error).message.split('\n')[0];
    print(`  · skipped: the bridge package (${BRIDGE_PACKAGE}) could not be loaded (${why}); run \`npm install\` at the repository root`);
    return { ran: false, skipped: why, ok: true, close: async () => undefined };
  }
  const config = mod.defaultConfig();
  Object.assign(config, { host: '127.0.0.1', port: 0, dataDir: opts.dataDir, logLevel: 'silent', instanceId: 'demo-bridge' });
  // Loopback is refused by the safe fetch unless allow-listed: allowed here, for the demo's feed only.
  Object.assign(config.subscriptions, { allowPrivate: ['127.0.0.1/32'], pollMs: 100 });
  const bridge = await mod.startBridge(config);
  const result: DemoBridgeResult = { ran: true, url: bridge.url, ok: false, close: () => bridge.close() };
  try {
    const admin = bridge.generatedAdminToken;
    if (!admin) throw new Error('the bridge did not generate an admin token on its first start');
    result.adminToken = admin;
    const auth = { Authorization: `Bearer ${admin}` };
    print(`▸ bridge on ${bridge.url} (SQLite in ${opts.dataDir}; admin token generated: ${admin}; loopback allow-listed for subscriptions in this demo only)`);

    // Publish (what the Feed Export node does).
    const put = await fetch(`${bridge.url}/api/feeds/${FEED_NAME}`, { method: 'PUT', headers: { ...auth, 'Content-Type': 'text/calendar' }, body: opts.ics });
    const published = (await put.json()) as { version?: number; events?: number; subscribeUrl?: string; error?: string };
    if (put.status !== 200 || !published.subscribeUrl) throw new Error(`publishing the feed: HTTP ${put.status} ${JSON.stringify(published)}`);
    print(`▸ PUT /api/feeds/${FEED_NAME}: published ${opts.what} (version ${published.version}, ${published.events} events)`);
    print(`  subscribe URL: ${published.subscribeUrl}`);

    // Fetch as a subscriber: full GET, then a conditional GET with the ETag. Plain (identity)
    // encoding, as the curl lines below, so the ETag printed is the one curl gets.
    const plain = { 'Accept-Encoding': 'identity' };
    const first = await fetch(published.subscribeUrl, { headers: plain });
    const body = await first.text();
    const etag = first.headers.get('etag') ?? '';
    print(`  GET  → ${first.status}, ${first.headers.get('content-type')}, ${Buffer.byteLength(body)} bytes, ETag ${etag}`);
    const second = await fetch(published.subscribeUrl, { headers: { ...plain, 'If-None-Match': etag } });
    await second.arrayBuffer();
    print(`  GET with If-None-Match → ${second.status}${second.status === 304 ? ' Not Modified (nothing sent again)' : ''}`);
    result.feed = { name: FEED_NAME, subscribeUrl: published.subscribeUrl, events: published.events ?? 0, etag, firstStatus: first.status, secondStatus: second.status, bytes: Buffer.byteLength(body) };

    // Subscribe (Sonderplan-style import subscription) and wait for the poller's first read.
    const created = await fetch(`${bridge.url}/api/subscriptions`, {
      method: 'POST', headers: { ...auth, 'Content-Type': 'application/json' },
      body: JSON.stringify({ calendar_url: published.subscribeUrl, name: 'demo: the bridge feed itself', interval: 3600 }),
    });
    const sub = ((await created.json()) as { data?: DemoBridgeStatus }).data;
    if (created.status !== 201 || !sub) throw new Error(`creating the subscription: HTTP ${created.status}`);
    print(`▸ subscription ${sub.id} → that feed URL (POST /api/subscriptions, interval 3600 s); waiting for the bridge to poll it…`);
    const deadline = Date.now() + (opts.pollTimeoutMs ?? 15_000);
    let status: DemoBridgeStatus = sub;
    while (status.last_checked_date === null && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      const res = await fetch(`${bridge.url}/api/subscriptions/${sub.id}`, { headers: auth });
      status = ((await res.json()) as { data: DemoBridgeStatus }).data;
    }
    result.subscription = status;
    const date = (s: number | null) => (s === null ? 'null' : `${s} (${new Date(s * 1000).toISOString().slice(11, 19)} UTC)`);
    print(`  polled: last_checked_date ${date(status.last_checked_date)}, last_parsed_date ${date(status.last_parsed_date)}, event_count ${status.event_count}, last_error ${status.last_error ?? 'null'}`);

    result.ok = first.status === 200 && second.status === 304 && status.last_parsed_date !== null && (status.event_count ?? 0) > 0
      && status.event_count === published.events && status.last_error === null;
    print(result.ok ? `  ✓ feed served (200, then 304) and read back by a subscription: ${status.event_count} events` : '  ✗ the bridge step did not go as expected (see above)');

    print(opts.keep
      ? `  The bridge keeps running on ${bridge.url} until you press Ctrl-C: try these now.`
      : '  Note: the bridge stops when the demo ends, so these lines only work with `npm run demo -- --keep`.');
    print(`  Feed, as a calendar app reads it:  curl -si '${published.subscribeUrl}'`);
    print(`  …again with its ETag (304):        curl -si -H 'If-None-Match: ${etag}' '${published.subscribeUrl}'`);
    print(`  Subscriptions and status fields:   curl -s -H "Authorization: Bearer ${admin}" '${bridge.url}/api/subscriptions'`);
    print(`  Status page (asks for the admin token): ${bridge.url}/   API description: ${bridge.url}/openapi.json`);
    print(`  (feed requests are budgeted: 20 per token per hour; the SQLite file is in ${join(opts.dataDir)}, removed when the demo ends)`);
    return result;
  } catch (err) {
    print(`  ✗ bridge step failed: ${(err as Error).message}`);
    return result;
  }
}
