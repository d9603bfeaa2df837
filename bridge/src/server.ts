/**
 * The bridge's HTTP face (Fastify): feed publishing and serving, webhook intake. Routes are thin:
 * parsing is core's parseCalendarInput, rendering core's serializeIcs, change detection
 * diffSnapshots, persistence the Store, delivery the OutboxDispatcher.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import Fastify, { type LogLevel, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { ParseIssue } from '../../core/event';
import { parseCalendarInput, CalendarInputError, type InputPreset } from '../../core/input';
import { serializeIcs, serializeEventIcs } from '../../core/ics/serialize';
import { sha256Hex } from '../../core/fingerprint';
import { DEFAULT_BUDGET_SYNC_MS, type BridgeConfig, type SourceConfig } from './config';
import type { Store } from './store/types';
import { snapshotEntries } from './snapshot';
import { planPush, PushRefused } from './push-plan';
import { bearerOf, checkSignature, hashEquals, newFeedToken, secretEquals, tokenHash } from './tokens';
import { chooseAnswer, FeedCache, feedVariant, renderFeed, type FeedRepresentation, type FeedVariant, type RenderedFeed, type TokenDigest } from './feed-serving';
import { installFeedSocketPath, type FeedRequestHeaders, type FeedSocketHandler, type FeedSocketPath } from './feed-socket';
import { openApiDocument } from './openapi';
import { STATUS_CSP, STATUS_CSS, STATUS_HTML, STATUS_JS } from './status-page';
import { RequestBudget, SharedBudget } from './budget';
import { OutboxDispatcher } from './outbox';
import { Metrics, type MetricsSnapshot } from './metrics';
import type { Peers } from './cluster';
import { createSafeFetch } from './safe-fetch';
import { listSubscriptionsView, sameRoom, SubscriptionEventRemover, SubscriptionInputError, subscriptionInputOf, SubscriptionPoller, SubscriptionRemovalError, subscriptionSource, subscriptionView, syncRoomOf, type ListQuery, type SyncRoom } from './subscriptions';

export interface BridgeDeps {
  store: Store;
  log: Logger;
  now?: () => number;
  /** The fetch subscriptions are read with; default the safe fetch (safe-fetch.ts) with the configured allow-list. */
  fetch?: typeof fetch;
  /** The other worker processes with `workers: N` (cluster.ts); absent for a single process. */
  peers?: Peers;
  /** Whether listen() starts the outbox dispatcher and subscription poller (default true; false in `serve` workers). */
  background?: boolean;
}

export interface Bridge {
  app: FastifyInstance;
  store: Store;
  dispatcher: OutboxDispatcher;
  poller: SubscriptionPoller;
  /** Every route registered (method + Fastify URL template), for the OpenAPI check. */
  routes: Array<{ method: string; url: string }>;
  /** The socket path for feed GETs (feed-socket.ts), unless `feedSocketPath` is off; its counters are for tests. */
  feedSocket: () => FeedSocketPath | undefined;
  /** The feed budget: shared through the store (synced every `feedBudget.syncMs` once listening; `sync()` for tests), or per process with syncMs 0. */
  budget: SharedBudget | RequestBudget;
  /** The base URL subscribe links use (publicUrl, or the listening address once started). */
  baseUrl: () => string;
  listen(): Promise<string>;
  close(): Promise<void>;
}


const NAME = /^[A-Za-z0-9._-]{1,100}$/;
const DELIVERY_ID = /^[\x21-\x7e]{1,200}$/;
const MEDIA_TYPES = ['application/json', 'text/calendar'];

function mediaType(req: FastifyRequest): string {
  return String(req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
}


function issueList(errors: ParseIssue[]): ParseIssue[] {
  return errors.slice(0, 1000);
}

/** `/feeds/<token>.ics|.json`, optionally with a query string (ignored, as Fastify's router does). */
const FEED_URL = /^\/feeds\/([A-Za-z0-9_-]{22,128})\.(ics|json)(?:\?|$)/;
const FEED_ROUTE = '/feeds/:file';

export function createBridge(config: BridgeConfig, deps: BridgeDeps): Bridge {
  const { store, log } = deps;
  const now = deps.now ?? Date.now;
  // The server's own request handler answers cached feed GETs (serveFromMemory) before Fastify's
  // routing; everything else — and any feed request it cannot answer from memory — goes to Fastify.
  let socketPath: FeedSocketPath | undefined;
  let closing = false;
  const app = Fastify({
    loggerInstance: log as FastifyBaseLogger,
    bodyLimit: config.bodyLimit,
    return503OnClosing: true,
    serverFactory: (handler) => {
      const server = createServer((req, res) => {
        if (!serveFromMemory(req, res)) handler(req, res);
      });
      // What Fastify's own factory sets with its defaults (lib/server.js getServerInstance).
      server.keepAliveTimeout = 72_000;
      server.requestTimeout = 0;
      server.setTimeout(0);
      if (config.feedSocketPath) socketPath = installFeedSocketPath(server, feedsOnSocket());
      return server;
    },
  });
  const { peers } = deps;
  // Shared through the store by every instance and worker (budget.ts); with syncMs 0 counted per
  // process, and then with `workers: N` each worker allows its share (the instance: budget + N − 1 at most).
  const budgetSyncMs = config.feedBudget.syncMs ?? DEFAULT_BUDGET_SYNC_MS;
  const budget = budgetSyncMs > 0
    ? new SharedBudget(new RequestBudget(config.feedBudget.requests, config.feedBudget.windowSec), { store, syncMs: budgetSyncMs, now, log })
    : new RequestBudget(Math.ceil(config.feedBudget.requests / (peers?.workers ?? 1)), config.feedBudget.windowSec);
  const metrics = new Metrics();
  const dispatcher = new OutboxDispatcher({ store, config: config.outbox, instanceId: config.instanceId, deliverySecret: config.deliverySecret, log, metrics, now });
  const poller = new SubscriptionPoller({
    store, config: config.subscriptions, instanceId: config.instanceId, deliveryUrl: config.deliveryUrl, log, metrics, now, keepSnapshots: config.keepSnapshots,
    fetch: deps.fetch ?? createSafeFetch({ allow: config.subscriptions.allowPrivate }),
    onDelivery: () => dispatcher.wake(),
  });
  const feeds = new FeedCache(config.feedCacheMs);
  peers?.handle('feeds-changed', () => feeds.invalidate());
  peers?.handle('metrics', () => metrics.snapshot());
  app.addHook('preClose', (done) => {
    closing = true; // from here on Fastify answers (503 while closing), not the fast path
    socketPath?.closeIdle();
    done();
  });
  let listening = '';
  const baseUrl = () => config.publicUrl ?? listening;

  const routes: Array<{ method: string; url: string }> = [];
  app.addHook('onRoute', (r) => {
    for (const m of Array.isArray(r.method) ? r.method : [r.method]) if (m !== 'HEAD') routes.push({ method: m, url: r.url });
  });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(MEDIA_TYPES, { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  app.setErrorHandler((err: { statusCode?: number; message: string; code?: string }, req, reply) => {
    if (err instanceof PushRefused) return reply.code(err.status).send(err.body);
    const status = err.statusCode && err.statusCode >= 400 ? err.statusCode : 500;
    if (status >= 500) req.log.error({ err: { message: err.message, code: err.code } }, 'request failed');
    let message = status >= 500 ? 'internal error' : err.message;
    if (status === 413) message = `request body is larger than ${config.bodyLimit} bytes`;
    if (status === 415) message = `unsupported content type; send ${MEDIA_TYPES.join(' or ')}`;
    return reply.code(status).send({ error: message });
  });
  app.setNotFoundHandler((_req, reply) => reply.code(404).send({ error: 'not found' }));

  const requireAdmin = async (req: FastifyRequest, reply: FastifyReply) => {
    const token = bearerOf(req.headers.authorization);
    const ok = token !== undefined && (config.adminToken ? secretEquals(token, config.adminToken) : config.adminTokenHash ? hashEquals(tokenHash(token), config.adminTokenHash) : false);
    if (!ok) {
      return reply.code(401).header('www-authenticate', 'Bearer').send({ error: 'missing or wrong admin token' });
    }
  };

  const feedUrls = (token: string) => ({ subscribeUrl: `${baseUrl()}/feeds/${token}.ics`, jsonUrl: `${baseUrl()}/feeds/${token}.json` });

  // Route templates, not URLs, label the request counter: no feed token becomes a label.
  app.addHook('onResponse', (req, reply, done) => {
    metrics.inc('calendar_relay_bridge_http_requests_total', { route: req.routeOptions.url ?? 'unmatched', method: req.method, status: String(reply.statusCode) });
    done();
  });

  app.get('/healthz', async () => ({ ok: true }));
  app.get('/openapi.json', async () => openApiDocument(baseUrl()));

  // ---- Status page (the page is static; its data comes from /api/status with the admin token) ----
  const page = (type: string, body: string) => async (_req: FastifyRequest, reply: FastifyReply) =>
    reply.type(type).header('content-security-policy', STATUS_CSP).header('x-content-type-options', 'nosniff').header('referrer-policy', 'no-referrer').header('cache-control', 'no-cache').send(body);
  app.get('/', page('text/html; charset=utf-8', STATUS_HTML));
  app.get('/status.js', page('text/javascript; charset=utf-8', STATUS_JS));
  app.get('/status.css', page('text/css; charset=utf-8', STATUS_CSS));
  app.get('/api/status', { onRequest: requireAdmin }, async () => {
    const [feeds, subscriptions, outbox, outboxErrors] = await Promise.all([store.listFeeds(), store.listSubscriptions(), store.outboxStats(), store.outboxProblems(20)]);
    return { instance: config.instanceId, feeds, subscriptions: subscriptions.map(subscriptionView), outbox, outboxErrors };
  });
  app.get('/readyz', async (_req, reply) => {
    try {
      await store.outboxStats();
      return { ready: true };
    } catch (err) {
      return reply.code(503).send({ ready: false, error: `store unavailable: ${(err as Error).message}` });
    }
  });
  app.get('/metrics', { onRequest: requireAdmin }, async (_req, reply) => {
    const stats = await store.outboxStats();
    const age = stats.oldestPendingAt === undefined ? 0 : Math.max(0, (now() - stats.oldestPendingAt) / 1000);
    const others = peers ? ((await peers.ask('metrics')) as MetricsSnapshot[]) : [];
    const text = metrics.render([
      { name: 'calendar_relay_bridge_outbox_pending', help: 'Outbox entries not yet delivered (all instances)', value: stats.pending },
      { name: 'calendar_relay_bridge_outbox_oldest_pending_age_seconds', help: 'Age of the oldest undelivered outbox entry', value: age },
      { name: 'calendar_relay_bridge_outbox_delivered', help: 'Outbox entries delivered (all instances, since the database was created)', value: stats.delivered },
    ], others);
    return reply.type('text/plain; version=0.0.4; charset=utf-8').send(text);
  });

  // ---- Feeds: publish (admin) -------------------------------------------------------------------
  app.put<{ Params: { name: string } }>('/api/feeds/:name', { onRequest: requireAdmin }, async (req, reply) => {
    const name = req.params.name;
    if (!NAME.test(name)) return reply.code(400).send({ error: 'feed name may only use letters, digits, . _ - (1–100 characters)' });
    const body = req.body as Buffer | undefined;
    if (!body || body.length === 0) return reply.code(400).send({ error: 'empty body: send {"events":[...]} or text/calendar' });
    const preset: InputPreset = mediaType(req) === 'text/calendar' ? 'ics' : 'events';
    let parsed;
    try {
      parsed = parseCalendarInput(body, { preset });
    } catch (err) {
      if (err instanceof CalendarInputError) return reply.code(400).send({ error: err.message, items: [] });
      throw err;
    }
    if (parsed.errors.length) return reply.code(400).send({ error: `${parsed.errors.length} invalid item(s); nothing published`, items: issueList(parsed.errors) });
    const events = parsed.events;
    const json = JSON.stringify({ events });
    const at = now();
    const ics = serializeIcs(events, { now: at, method: 'PUBLISH', calendarName: parsed.calendar?.name ?? name });
    feeds.invalidate();
    const { record, changed } = await store.publishFeed({ feed: name, hash: sha256Hex(json), json, ics, now: at, newToken: newFeedToken(), keepVersions: config.keepFeedVersions });
    feeds.invalidate();
    await peers?.ask('feeds-changed'); // the other workers forget their lookups before this answer
    req.log.info({ feed: name, version: record.current?.version, changed, events: events.length }, 'feed published');
    metrics.inc('calendar_relay_bridge_feed_publishes_total', { result: changed ? 'new_version' : 'unchanged' });
    return { feed: name, version: record.current?.version, changed, hash: record.current?.hash, events: events.length, ...feedUrls(record.token) };
  });

  app.get<{ Params: { name: string } }>('/api/feeds/:name', { onRequest: requireAdmin }, async (req, reply) => {
    const record = await store.getFeed(req.params.name);
    if (!record) return reply.code(404).send({ error: `no feed named "${req.params.name}"` });
    return { feed: record.name, version: record.current?.version ?? 0, hash: record.current?.hash, publishedAt: record.current ? new Date(record.current.createdAt).toISOString() : null, tokenRotatedAt: new Date(record.tokenRotatedAt).toISOString(), ...feedUrls(record.token) };
  });

  app.post<{ Params: { name: string } }>('/api/feeds/:name/rotate-token', { onRequest: requireAdmin }, async (req, reply) => {
    const record = await store.rotateFeedToken(req.params.name, newFeedToken(), now());
    feeds.invalidate();
    await peers?.ask('feeds-changed');
    if (!record) return reply.code(404).send({ error: `no feed named "${req.params.name}"` });
    req.log.info({ feed: record.name }, 'feed token rotated');
    return { feed: record.name, version: record.current?.version ?? 0, ...feedUrls(record.token) };
  });

  // ---- Feeds: subscribe ---------------------------------------------------------------------------
  // Successful feed GETs are calendar clients polling (every few minutes per subscriber): at the
  // default level they are not logged line by line (2 lines per request would dominate the log and
  // the CPU); they are counted in /metrics. Refusals (404, 429) are logged at info, failures at
  // error; at debug or trace every feed request is logged as before.
  const feedLogLevel = (log.level === 'info' ? 'warn' : log.level) as LogLevel;
  const refused = (req: FastifyRequest, statusCode: number) => log.info({ req, res: { statusCode } }, 'feed request refused');

  /**
   * The token's feed, rendered: its lookup from the cache while fresh, else from the store; its
   * version rendered once. Undefined: no feed has this token (or its version is gone).
   */
  async function loadFeed(d: TokenDigest): Promise<RenderedFeed | undefined> {
    // Only the token's current version per request (cached for feedCacheMs; the content is loaded
    // once per version). Publishing or rotating here clears the cache at once; another instance
    // sees a new version or a rotated token at most feedCacheMs later.
    let entry = feeds.fresh(d.hex, now());
    if (!entry) {
      const generation = feeds.generation;
      entry = feeds.remember(d.hex, await store.getFeedHeadByTokenHash(d.hex), now(), generation);
    }
    if (!FeedCache.matches(entry, d)) return undefined;
    const cached = feeds.renderedFor(entry);
    if (cached) return cached;
    let v = await store.getFeedVersion(entry.head.name, entry.head.version);
    if (!v) {
      // A head cached before another instance published and pruned old versions (keepFeedVersions): look again.
      const generation = feeds.generation;
      const fresh = feeds.remember(d.hex, await store.getFeedHeadByTokenHash(d.hex), now(), generation);
      if (FeedCache.matches(fresh, d)) {
        entry = fresh;
        v = await store.getFeedVersion(fresh.head.name, fresh.head.version);
      }
    }
    if (!v) return undefined;
    const r = renderFeed(v);
    feeds.addRendered(entry, r);
    return r;
  }

  async function feedFor(token: string, req: FastifyRequest, reply: FastifyReply): Promise<RenderedFeed | undefined> {
    const d = FeedCache.digest(token);
    const r = d && (await loadFeed(d));
    if (!d || !r) {
      refused(req, 404);
      reply.code(404).send({ error: 'not found' });
      return undefined;
    }
    const allowed = budget.take(d.hex, now());
    if (!allowed.ok) {
      refused(req, 429);
      reply.code(429).header('retry-after', String(allowed.retryAfterSec)).send({ error: 'request budget for this feed exhausted', retryAfterSec: allowed.retryAfterSec });
      return undefined;
    }
    return r;
  }

  function send(req: FastifyRequest, reply: FastifyReply, variant: FeedVariant) {
    const { status, rep } = chooseAnswer(req.headers, variant);
    return status === 304 ? reply.code(304).headers(rep.notModified).send() : reply.headers(rep.ok).send(rep.body);
  }

  const countFeedGet = { 200: metrics.counter('calendar_relay_bridge_http_requests_total', { route: FEED_ROUTE, method: 'GET', status: '200' }), 304: metrics.counter('calendar_relay_bridge_http_requests_total', { route: FEED_ROUTE, method: 'GET', status: '304' }) };

  /**
   * The fast path of `GET /feeds/<token>.ics|.json`, before Fastify: answers only when the token's
   * version is cached and fresh, its bytes are rendered and the budget allows — with the same
   * token check (digest, constant time), budget, headers and metrics as the route below. Returns
   * false for everything else, which then takes the route (404, 429, cache refresh, HEAD, closing).
   */
  function fromMemory(url: string, headers: FeedRequestHeaders): { status: 200 | 304; rep: FeedRepresentation } | undefined {
    if (closing || !url.startsWith('/feeds/')) return undefined;
    const m = FEED_URL.exec(url);
    if (!m) return undefined;
    const d = FeedCache.digest(m[1]);
    const at = now();
    const entry = d && feeds.fresh(d.hex, at);
    if (!d || !FeedCache.matches(entry, d)) return undefined;
    const r = feeds.renderedFor(entry);
    // take() does not count a refused request, so the route's second take() for the 429 is exact.
    if (!r || !budget.take(d.hex, at).ok) return undefined;
    const answer = chooseAnswer(headers, m[2] === 'ics' ? r.ics : r.json);
    countFeedGet[answer.status]();
    if (log.isLevelEnabled('debug')) log.debug({ req: { method: 'GET', url }, res: { statusCode: answer.status } }, 'feed served from memory');
    return answer;
  }

  function serveFromMemory(req: IncomingMessage, res: ServerResponse): boolean {
    if (req.method !== 'GET') return false;
    const a = fromMemory(req.url as string, req.headers);
    if (!a) return false;
    if (a.status === 304) res.writeHead(304, a.rep.notModifiedFlat).end();
    else res.writeHead(200, a.rep.okFlat).end(a.rep.body);
    return true;
  }

  /** The socket path (feed-socket.ts) answers from the same lookups and representations (hoisted: the server is made first). */
  function feedsOnSocket(): FeedSocketHandler {
    return {
      answer(url, headers) {
        const a = fromMemory(url, headers);
        return a && (a.status === 304 ? { head: a.rep.rawHead[304] } : { head: a.rep.rawHead[200], body: a.rep.body });
      },
      load(url) {
        const m = FEED_URL.exec(url);
        const d = m && FeedCache.digest(m[1]);
        if (!d) return undefined;
        const entry = feeds.fresh(d.hex, now());
        // Cached, fresh and rendered: it declined for another reason (no such feed, budget) — Node answers.
        if (entry && (!FeedCache.matches(entry, d) || feeds.renderedFor(entry))) return undefined;
        return loadFeed(d).then((r) => r !== undefined);
      },
      active: () => !closing,
    };
  }

  app.get<{ Params: { file: string } }>(FEED_ROUTE, { logLevel: feedLogLevel }, async (req, reply) => {
    const m = /^(.+)\.(ics|json)$/.exec(req.params.file);
    if (!m) return reply.code(404).send({ error: 'not found' });
    const r = await feedFor(m[1], req, reply);
    if (!r) return reply;
    return send(req, reply, m[2] === 'ics' ? r.ics : r.json);
  });

  app.get<{ Params: { token: string; file: string } }>('/feeds/:token/events/:file', { logLevel: feedLogLevel }, async (req, reply) => {
    const r = await feedFor(req.params.token, req, reply);
    if (!r) return reply;
    if (!req.params.file.endsWith('.ics')) return reply.code(404).send({ error: 'not found' });
    const uid = req.params.file.slice(0, -4);
    const events = r.events.filter((e) => e.uid === uid);
    if (!events.length) return reply.code(404).send({ error: 'no event with that UID in this feed' });
    const body = Buffer.from(serializeEventIcs(events, { now: r.lastModified, method: 'PUBLISH' }), 'utf8');
    return send(req, reply, feedVariant(`${r.etagBase}-${sha256Hex(uid).slice(0, 12)}`, 'text/calendar; charset=utf-8', r.lastModified, body));
  });

  // ---- Import subscriptions (admin) ----------------------------------------------------------------
  const subId = (raw: string): number => {
    if (!/^\d{1,15}$/.test(raw)) throw new PushRefused(404, { error: `no subscription with id ${JSON.stringify(raw)}` });
    return Number(raw);
  };
  const jsonBody = (req: FastifyRequest): unknown => {
    if (mediaType(req) !== 'application/json') throw new PushRefused(415, { error: 'send the subscription as application/json' });
    try {
      return JSON.parse((req.body as Buffer | undefined)?.toString('utf8') ?? '');
    } catch (err) {
      throw new PushRefused(400, { error: `body is not JSON: ${(err as Error).message}` });
    }
  };
  const asInput = <T>(fn: () => T): T => {
    try {
      return fn();
    } catch (err) {
      if (err instanceof SubscriptionInputError) throw new PushRefused(400, { error: err.message });
      throw err;
    }
  };

  app.get<{ Querystring: ListQuery }>('/api/subscriptions', { onRequest: requireAdmin }, async (req) => {
    const all = await store.listSubscriptions();
    return asInput(() => listSubscriptionsView(all, req.query));
  });
  app.post('/api/subscriptions', { onRequest: requireAdmin }, async (req, reply) => {
    const input = asInput(() => subscriptionInputOf(jsonBody(req), config.subscriptions));
    const record = await store.createSubscription(input, now());
    req.log.info({ subscription: record.id }, 'subscription created');
    poller.wake();
    return reply.code(201).send({ data: subscriptionView(record) });
  });
  app.get<{ Params: { id: string } }>('/api/subscriptions/:id', { onRequest: requireAdmin }, async (req, reply) => {
    const record = await store.getSubscription(subId(req.params.id));
    if (!record) return reply.code(404).send({ error: `no subscription with id ${req.params.id}` });
    return { data: subscriptionView(record) };
  });
  // `remove_events=true`: the events the subscription wrote into its room are removed first, under
  // its lease (subscriptions.ts SubscriptionEventRemover); without it they are left, and the answer says so.
  type RemoveQuery = { remove_events?: string };
  const removeEventsParam = (q: RemoveQuery): boolean => {
    const v = q.remove_events;
    if (v === undefined || v === 'false') return false;
    if (v === 'true') return true;
    throw new PushRefused(400, { error: `remove_events must be true or false (got ${JSON.stringify(String(v).slice(0, 20))})` });
  };
  const remover = new SubscriptionEventRemover({ store, config: config.subscriptions, instanceId: config.instanceId, log, metrics, now });
  /** A removal that did not happen or did not finish, as its answer (409 with Retry-After while another lease runs). */
  const refuseRemoval = (err: unknown, reply: FastifyReply) => {
    if (!(err instanceof SubscriptionRemovalError)) throw err;
    const until = err.body.locked_until;
    if (err.status === 409 && typeof until === 'number') reply.header('retry-after', String(Math.max(1, until - Math.floor(now() / 1000))));
    return reply.code(err.status).send(err.body);
  };
  const roomView = (room: SyncRoom) => ({ sync_target: room.target, sync_calendar: room.calendar ?? null });
  const leftNote = (room: SyncRoom, how: string) => `the events this subscription synced into ${room.calendar ?? '(no calendar)'} (sync target "${room.target}") were left there; ${how} with ?remove_events=true removes them first`;

  app.put<{ Params: { id: string }; Querystring: RemoveQuery }>('/api/subscriptions/:id', { onRequest: requireAdmin }, async (req, reply) => {
    const id = subId(req.params.id);
    const removeEvents = removeEventsParam(req.query);
    const existing = await store.getSubscription(id);
    if (!existing) return reply.code(404).send({ error: `no subscription with id ${req.params.id}` });
    const input = asInput(() => subscriptionInputOf(jsonBody(req), config.subscriptions, existing));
    const oldRoom = syncRoomOf(existing, config.subscriptions);
    // A new room (target, calendar, or syncing turned off) starts clean: the providers' state of the old one is forgotten.
    const moved = !sameRoom(oldRoom, syncRoomOf(input, config.subscriptions));
    let record;
    let removed = 0;
    if (moved && removeEvents && oldRoom) {
      let r;
      try {
        r = await remover.removeThen(id, { what: 'changed', expectRoom: oldRoom }, (holder) => store.updateSubscription(id, input, now(), { resetSync: true, leasedBy: holder }));
      } catch (err) {
        return refuseRemoval(err, reply);
      }
      record = r.result;
      removed = r.removed;
    } else {
      record = await store.updateSubscription(id, input, now(), { resetSync: moved });
    }
    if (!record) return reply.code(404).send({ error: `no subscription with id ${req.params.id}` });
    req.log.info({ subscription: id, roomChanged: moved, removedEvents: removed }, 'subscription updated');
    poller.wake();
    const left = moved && oldRoom !== null && !removeEvents;
    return {
      data: subscriptionView(record),
      ...(moved || removeEvents ? { removed_events: removed, events_left: left } : {}),
      ...(left ? { note: leftNote(oldRoom, 'the same PUT') } : {}),
    };
  });
  app.delete<{ Params: { id: string }; Querystring: RemoveQuery }>('/api/subscriptions/:id', { onRequest: requireAdmin }, async (req, reply) => {
    const id = subId(req.params.id);
    const removeEvents = removeEventsParam(req.query);
    let answer: Record<string, unknown>;
    if (removeEvents) {
      let r;
      try {
        r = await remover.removeThen(id, { what: 'deleted' }, async (holder) => (await store.deleteSubscription(id, holder)) || undefined);
      } catch (err) {
        return refuseRemoval(err, reply);
      }
      answer = { deleted: true, removed_events: r.removed, kept_events: r.kept, events_left: false, ...(r.room ? roomView(r.room) : {}) };
    } else {
      const existing = await store.getSubscription(id);
      if (!existing || !(await store.deleteSubscription(id))) return reply.code(404).send({ error: `no subscription with id ${req.params.id}` });
      const room = syncRoomOf(existing, config.subscriptions);
      answer = { deleted: true, removed_events: 0, events_left: room !== null, ...(room ? { ...roomView(room), note: leftNote(room, 'DELETE') } : {}) };
    }
    // Ids are never reused, so its snapshots would never be read again.
    await store.forgetSource(subscriptionSource(id));
    req.log.info({ subscription: id, removedEvents: answer.removed_events, eventsLeft: answer.events_left }, 'subscription deleted');
    return answer;
  });

  // ---- Intake -----------------------------------------------------------------------------------
  const sourceOf = (req: FastifyRequest<{ Params: { source: string } }>): SourceConfig | undefined =>
    Object.prototype.hasOwnProperty.call(config.sources, req.params.source) ? config.sources[req.params.source] : undefined;

  // Before the body is read: unknown source, missing credentials.
  const intakeGate = async (req: FastifyRequest<{ Params: { source: string } }>, reply: FastifyReply) => {
    const source = sourceOf(req);
    if (!source) return reply.code(404).send({ error: 'not found' });
    if (source.bearerToken !== undefined) {
      const token = bearerOf(req.headers.authorization);
      if (!token || !secretEquals(token, source.bearerToken)) return reply.code(401).header('www-authenticate', 'Bearer').send({ error: 'missing or wrong bearer token' });
    } else if (!req.headers['x-relay-signature'] || !req.headers['x-relay-timestamp']) {
      return reply.code(401).send({ error: 'this source needs X-Relay-Timestamp and X-Relay-Signature (HMAC-SHA256)' });
    }
  };

  app.post<{ Params: { source: string } }>('/hooks/:source', { onRequest: intakeGate }, async (req, reply) => {
    const name = req.params.source;
    const source = sourceOf(req) as SourceConfig;
    const body = req.body as Buffer | undefined;
    if (!body) return reply.code(415).send({ error: `send a body as ${MEDIA_TYPES.join(' or ')}` });
    if (source.hmacSecret !== undefined) {
      const check = checkSignature(source.hmacSecret, req.headers['x-relay-timestamp'] as string | undefined, req.headers['x-relay-signature'] as string | undefined, body, now(), config.signatureToleranceSec);
      if (!check.ok) return reply.code(401).send({ error: check.reason });
    }
    const rawId = req.headers['x-delivery-id'] ?? req.headers['idempotency-key'];
    const pushId = typeof rawId === 'string' ? rawId : undefined;
    if (rawId !== undefined && (pushId === undefined || !DELIVERY_ID.test(pushId))) return reply.code(400).send({ error: 'X-Delivery-Id must be 1–200 printable ASCII characters' });
    const preset: InputPreset = mediaType(req) === 'text/calendar' ? 'ics' : source.preset ?? 'auto';
    let parsed;
    try {
      parsed = parseCalendarInput(body, { preset, map: source.map, sourceId: name, defaultTimeZone: source.defaultTimeZone });
    } catch (err) {
      if (err instanceof CalendarInputError) return reply.code(400).send({ error: err.message, items: [] });
      throw err;
    }
    if (parsed.errors.length && !source.partial) return reply.code(400).send({ error: `${parsed.errors.length} invalid item(s); nothing stored`, items: issueList(parsed.errors) });
    const entries = snapshotEntries(parsed.events);
    const at = now();
    const result = await store.recordPush({
      source: name,
      deliveryId: pushId,
      now: at,
      keepSnapshots: config.keepSnapshots,
      plan: planPush({ source: name, events: parsed.events, entries, rejected: issueList(parsed.errors), at, deliveryUrl: source.deliveryUrl ?? config.deliveryUrl, pushId, allowEmpty: req.headers['x-relay-allow-empty'] === 'true' }),
    });
    if (!result.duplicate && result.response.delivery) dispatcher.wake();
    metrics.inc('calendar_relay_bridge_pushes_total', { source: name, result: result.duplicate ? 'duplicate' : result.response.unchanged ? 'unchanged' : 'stored' });
    req.log.info({ source: name, version: result.response.version, duplicate: result.duplicate }, 'push stored');
    return reply.header('x-relay-duplicate', String(result.duplicate)).send({ ...result.response, duplicate: result.duplicate });
  });

  return {
    app,
    store,
    dispatcher,
    poller,
    routes,
    baseUrl,
    feedSocket: () => socketPath,
    budget,
    async listen() {
      const address = await app.listen({ host: config.host, port: config.port });
      const u = new URL(address);
      listening = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${u.port}`;
      if (deps.background !== false) {
        dispatcher.start();
        poller.start();
      }
      if (budget instanceof SharedBudget) budget.start();
      return listening;
    },
    async close() {
      await poller.stop();
      await dispatcher.stop();
      await app.close();
      if (budget instanceof SharedBudget) await budget.stop(); // the timer ends; the last counts go to the store
      await store.close();
    },
  };
}
