/**
 * The store on SQL, shared by both engines: each engine supplies a transaction runner with
 * PostgreSQL-style `$n` parameters (sqlite.ts rewrites them). Row locks (`FOR UPDATE`,
 * `SKIP LOCKED`) are PostgreSQL's; SQLite has one writer at a time, which gives the same guarantees.
 */
import { MIGRATIONS, type Dialect } from './migrations';
import type { FeedHead, FeedSummary, OutboxProblem, FeedRecord, FeedVersion, OutboxEntry, OutboxStats, PollOutcome, PublishInput, PublishResult, PushInput, PushResult, PushSnapshot, Store, SubscriptionInput, SubscriptionLease, SubscriptionRecord, SyncStatus } from './types';
import { tokenHash } from '../tokens';

export type Row = Record<string, unknown>;
export type Query = (sql: string, params?: unknown[]) => Promise<Row[]>;

export interface SqlEngine {
  dialect: Dialect;
  /** Runs `fn` in one transaction (write-locked from the start on SQLite), committing on success. */
  tx<T>(fn: (q: Query) => Promise<T>): Promise<T>;
  /** A lock that keeps two instances from migrating at once, taken inside the migration transaction. */
  migrationLock(q: Query): Promise<void>;
  close(): Promise<void>;
}

const num = (v: unknown) => Number(v);
const numOrNull = (v: unknown) => (v === null || v === undefined ? null : Number(v));
const overrideJson = (o: string[] | null | undefined) => (o && o.length ? JSON.stringify(o) : null);
const strOrNull = (v: unknown) => (v === null || v === undefined ? null : String(v));
/** Below this version nothing is kept when `keep` versions are (undefined: keep all). */
const keepBelow = (version: number, keep: number | undefined) => (keep === undefined ? 0 : version - Math.max(1, Math.floor(keep)) + 1);

const SUB_COLUMNS = 'id, name, calendar_url, enabled, interval_sec, booking_property, auth, created_at, updated_at, next_poll_at, locked_until, locked_by, fetch_state, last_checked_date, last_checked_filesize, last_parsed_date, last_error, event_count, polls, sync_target, sync_calendar, sync_state, sync_status, sync_override';

function subscriptionOf(r: Row): SubscriptionRecord {
  return {
    id: num(r.id),
    name: String(r.name),
    calendar_url: String(r.calendar_url),
    enabled: num(r.enabled) === 1,
    interval_sec: num(r.interval_sec),
    booking_property: JSON.parse(String(r.booking_property)),
    auth: r.auth === null || r.auth === undefined ? null : JSON.parse(String(r.auth)),
    created_at: num(r.created_at),
    updated_at: num(r.updated_at),
    next_poll_at: num(r.next_poll_at),
    locked_until: num(r.locked_until),
    locked_by: r.locked_by === null || r.locked_by === undefined ? null : String(r.locked_by),
    fetch_state: r.fetch_state === null || r.fetch_state === undefined ? null : String(r.fetch_state),
    last_checked_date: numOrNull(r.last_checked_date),
    last_checked_filesize: numOrNull(r.last_checked_filesize),
    last_parsed_date: numOrNull(r.last_parsed_date),
    last_error: r.last_error === null || r.last_error === undefined ? null : String(r.last_error),
    event_count: num(r.event_count),
    polls: num(r.polls),
    sync_target: strOrNull(r.sync_target),
    sync_calendar: strOrNull(r.sync_calendar),
    sync_state: strOrNull(r.sync_state),
    sync_status: r.sync_status === null || r.sync_status === undefined ? null : JSON.parse(String(r.sync_status)),
    sync_override: r.sync_override === null || r.sync_override === undefined ? null : JSON.parse(String(r.sync_override)),
  };
}

export class SqlStore implements Store {
  readonly kind: Dialect;
  constructor(private readonly engine: SqlEngine) {
    this.kind = engine.dialect;
  }

  private get forUpdate() {
    return this.kind === 'postgres' ? ' FOR UPDATE' : '';
  }

  async migrate(): Promise<void> {
    await this.engine.tx(async (q) => {
      await this.engine.migrationLock(q);
      await q(`CREATE TABLE IF NOT EXISTS schema_migrations (id INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at ${this.kind === 'postgres' ? 'BIGINT' : 'INTEGER'} NOT NULL)`);
      const done = new Set((await q('SELECT id FROM schema_migrations')).map((r) => num(r.id)));
      for (const m of MIGRATIONS) {
        if (done.has(m.id)) continue;
        for (const stmt of m.sql(this.kind)) await q(stmt);
        await q('INSERT INTO schema_migrations (id, name, applied_at) VALUES ($1, $2, $3)', [m.id, m.name, Date.now()]);
      }
    });
  }

  close(): Promise<void> {
    return this.engine.close();
  }

  private async feedRecord(q: Query, row: Row | undefined): Promise<FeedRecord | undefined> {
    if (!row) return undefined;
    const rec: FeedRecord = { name: String(row.name), token: String(row.token), tokenRotatedAt: num(row.token_rotated_at) };
    const version = num(row.current_version);
    if (version > 0) {
      const [v] = await q('SELECT feed, version, hash, json, ics, created_at FROM feed_versions WHERE feed = $1 AND version = $2', [rec.name, version]);
      if (v) rec.current = { feed: String(v.feed), version: num(v.version), hash: String(v.hash), json: String(v.json), ics: String(v.ics), createdAt: num(v.created_at) } satisfies FeedVersion;
    }
    return rec;
  }

  publishFeed(input: PublishInput): Promise<PublishResult> {
    return this.engine.tx(async (q) => {
      await q('INSERT INTO feeds (name, token, token_hash, token_rotated_at) VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO NOTHING', [input.feed, input.newToken, tokenHash(input.newToken), input.now]);
      const [row] = await q(`SELECT name, token, token_rotated_at, current_version FROM feeds WHERE name = $1${this.forUpdate}`, [input.feed]);
      const current = await this.feedRecord(q, row);
      if (current?.current && current.current.hash === input.hash) return { record: current, changed: false };
      const version = num(row.current_version) + 1;
      await q('INSERT INTO feed_versions (feed, version, hash, json, ics, created_at) VALUES ($1, $2, $3, $4, $5, $6)', [input.feed, version, input.hash, input.json, input.ics, input.now]);
      await q('UPDATE feeds SET current_version = $2 WHERE name = $1', [input.feed, version]);
      if (input.keepVersions !== undefined) await q('DELETE FROM feed_versions WHERE feed = $1 AND version < $2', [input.feed, keepBelow(version, input.keepVersions)]);
      const record = (await this.feedRecord(q, { ...row, current_version: version })) as FeedRecord;
      return { record, changed: true };
    });
  }

  getFeed(name: string): Promise<FeedRecord | undefined> {
    return this.engine.tx(async (q) => this.feedRecord(q, (await q('SELECT name, token, token_rotated_at, current_version FROM feeds WHERE name = $1', [name]))[0]));
  }

  getFeedByTokenHash(hash: string): Promise<FeedRecord | undefined> {
    return this.engine.tx(async (q) => this.feedRecord(q, (await q('SELECT name, token, token_rotated_at, current_version FROM feeds WHERE token_hash = $1', [hash]))[0]));
  }

  rotateFeedToken(name: string, token: string, now: number): Promise<FeedRecord | undefined> {
    return this.engine.tx(async (q) => {
      const rows = await q('UPDATE feeds SET token = $2, token_hash = $3, token_rotated_at = $4 WHERE name = $1 RETURNING name, token, token_rotated_at, current_version', [name, token, tokenHash(token), now]);
      return this.feedRecord(q, rows[0]);
    });
  }

  recordPush(input: PushInput): Promise<PushResult> {
    return this.engine.tx(async (q) => {
      await q('INSERT INTO sources (name) VALUES ($1) ON CONFLICT (name) DO NOTHING', [input.source]);
      // The source row lock serialises pushes of one source (and retries of one delivery id).
      const [src] = await q(`SELECT current_version FROM sources WHERE name = $1${this.forUpdate}`, [input.source]);
      if (input.deliveryId !== undefined) {
        const [receipt] = await q('SELECT response FROM receipts WHERE source = $1 AND delivery_id = $2', [input.source, input.deliveryId]);
        if (receipt) return { duplicate: true, response: JSON.parse(String(receipt.response)) as Record<string, unknown> };
      }
      const current = num(src.current_version);
      let prev: PushSnapshot | undefined;
      if (current > 0) {
        const [snap] = await q('SELECT version, entries FROM snapshots WHERE source = $1 AND version = $2', [input.source, current]);
        prev = { version: current, entries: JSON.parse(String(snap.entries)) };
      }
      const plan = input.plan(prev);
      if (plan.snapshot) {
        const version = current + 1;
        await q('INSERT INTO snapshots (source, version, hash, entries, delivery_id, created_at) VALUES ($1, $2, $3, $4, $5, $6)', [input.source, version, plan.snapshot.hash, JSON.stringify(plan.snapshot.entries), input.deliveryId ?? null, input.now]);
        await q('UPDATE sources SET current_version = $2 WHERE name = $1', [input.source, version]);
        if (input.keepSnapshots !== undefined) await q('DELETE FROM snapshots WHERE source = $1 AND version < $2', [input.source, keepBelow(version, input.keepSnapshots)]);
      }
      if (plan.outbox) {
        await q('INSERT INTO outbox (delivery_id, source, url, payload, created_at, next_attempt_at) VALUES ($1, $2, $3, $4, $5, $5)', [plan.outbox.deliveryId, input.source, plan.outbox.url, plan.outbox.payload, input.now]);
      }
      if (input.deliveryId !== undefined) {
        await q('INSERT INTO receipts (source, delivery_id, response, created_at) VALUES ($1, $2, $3, $4)', [input.source, input.deliveryId, JSON.stringify(plan.response), input.now]);
      }
      return { duplicate: false, response: plan.response };
    });
  }

  latestSnapshot(source: string): Promise<PushSnapshot | undefined> {
    return this.engine.tx(async (q) => {
      const [row] = await q('SELECT s.version, s.entries FROM snapshots s JOIN sources c ON c.name = s.source AND c.current_version = s.version WHERE s.source = $1', [source]);
      return row ? { version: num(row.version), entries: JSON.parse(String(row.entries)) } : undefined;
    });
  }

  hasReceipt(source: string, deliveryId: string): Promise<boolean> {
    return this.engine.tx(async (q) => (await q('SELECT 1 AS one FROM receipts WHERE source = $1 AND delivery_id = $2', [source, deliveryId])).length > 0);
  }

  claimOutbox(now: number, limit: number, leaseMs: number): Promise<OutboxEntry[]> {
    const lock = this.kind === 'postgres' ? ' FOR UPDATE OF o SKIP LOCKED' : '';
    return this.engine.tx(async (q) => {
      const rows = await q(
        `UPDATE outbox SET locked_until = $2, attempts = attempts + 1
         WHERE id IN (
           SELECT o.id FROM outbox o
           WHERE o.delivered_at IS NULL AND o.next_attempt_at <= $1 AND o.locked_until <= $1
             AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.source = o.source AND p.id < o.id AND p.delivered_at IS NULL)
           ORDER BY o.id LIMIT $3${lock})
         RETURNING id, delivery_id, source, url, payload, attempts`,
        [now, now + leaseMs, limit],
      );
      return rows
        .map((r) => ({ id: num(r.id), deliveryId: String(r.delivery_id), source: String(r.source), url: String(r.url), payload: String(r.payload), attempts: num(r.attempts) }))
        .sort((a, b) => a.id - b.id);
    });
  }

  async markDelivered(id: number, now: number): Promise<void> {
    await this.engine.tx((q) => q('UPDATE outbox SET delivered_at = $2, locked_until = 0, last_error = NULL WHERE id = $1', [id, now]));
  }

  async markFailed(id: number, nextAttemptAt: number, error: string): Promise<void> {
    await this.engine.tx((q) => q('UPDATE outbox SET next_attempt_at = $2, locked_until = 0, last_error = $3 WHERE id = $1', [id, nextAttemptAt, error.slice(0, 500)]));
  }

  outboxStats(): Promise<OutboxStats> {
    return this.engine.tx(async (q) => {
      const [r] = await q('SELECT SUM(CASE WHEN delivered_at IS NULL THEN 1 ELSE 0 END) AS pending, SUM(CASE WHEN delivered_at IS NULL THEN 0 ELSE 1 END) AS delivered, MIN(CASE WHEN delivered_at IS NULL THEN created_at END) AS oldest FROM outbox');
      const stats: OutboxStats = { pending: num(r.pending ?? 0), delivered: num(r.delivered ?? 0) };
      if (r.oldest !== null && r.oldest !== undefined) stats.oldestPendingAt = num(r.oldest);
      return stats;
    });
  }

  // ---- Import subscriptions ----------------------------------------------------------------------
  createSubscription(input: SubscriptionInput, now: number): Promise<SubscriptionRecord> {
    return this.engine.tx(async (q) => {
      const [row] = await q(
        `INSERT INTO subscriptions (name, calendar_url, enabled, interval_sec, booking_property, auth, created_at, updated_at, next_poll_at, sync_target, sync_calendar, sync_override) VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $7, $8, $9, $10) RETURNING ${SUB_COLUMNS}`,
        [input.name, input.calendar_url, input.enabled ? 1 : 0, input.interval_sec, JSON.stringify(input.booking_property), input.auth ? JSON.stringify(input.auth) : null, now, input.sync_target ?? null, input.sync_calendar ?? null, overrideJson(input.sync_override)],
      );
      return subscriptionOf(row);
    });
  }

  getSubscription(id: number): Promise<SubscriptionRecord | undefined> {
    return this.engine.tx(async (q) => {
      const [row] = await q(`SELECT ${SUB_COLUMNS} FROM subscriptions WHERE id = $1`, [id]);
      return row ? subscriptionOf(row) : undefined;
    });
  }

  listSubscriptions(): Promise<SubscriptionRecord[]> {
    // Without fetch_state (readFeed's state holds the last body, up to maxBytes): lists never need it.
    return this.engine.tx(async (q) => (await q(`SELECT ${SUB_COLUMNS.replace('fetch_state', 'NULL AS fetch_state').replace('sync_state', 'NULL AS sync_state')} FROM subscriptions ORDER BY id`)).map(subscriptionOf));
  }

  updateSubscription(id: number, input: SubscriptionInput, now: number, opts: { resetSync?: boolean; leasedBy?: string } = {}): Promise<SubscriptionRecord | undefined> {
    // A new room starts clean: no provider state, no last sync, and no lease of a poll still writing into the old room.
    const reset = opts.resetSync ? ', sync_state = NULL, sync_status = NULL, locked_until = 0, locked_by = NULL' : '';
    const leased = opts.leasedBy !== undefined ? ' AND locked_by = $12' : '';
    return this.engine.tx(async (q) => {
      const [row] = await q(
        `UPDATE subscriptions SET name = $2, calendar_url = $3, enabled = $4, interval_sec = $5, booking_property = $6, auth = $7, updated_at = $8, next_poll_at = $8, sync_target = $9, sync_calendar = $10, sync_override = $11${reset} WHERE id = $1${leased} RETURNING ${SUB_COLUMNS}`,
        [id, input.name, input.calendar_url, input.enabled ? 1 : 0, input.interval_sec, JSON.stringify(input.booking_property), input.auth ? JSON.stringify(input.auth) : null, now, input.sync_target ?? null, input.sync_calendar ?? null, overrideJson(input.sync_override), ...(opts.leasedBy !== undefined ? [opts.leasedBy] : [])],
      );
      return row ? subscriptionOf(row) : undefined;
    });
  }

  deleteSubscription(id: number, leasedBy?: string): Promise<boolean> {
    const sql = leasedBy === undefined ? 'DELETE FROM subscriptions WHERE id = $1 RETURNING id' : 'DELETE FROM subscriptions WHERE id = $1 AND locked_by = $2 RETURNING id';
    return this.engine.tx(async (q) => (await q(sql, leasedBy === undefined ? [id] : [id, leasedBy])).length > 0);
  }

  leaseSubscription(id: number, now: number, leaseMs: number, holder: string): Promise<SubscriptionLease | undefined> {
    return this.engine.tx(async (q) => {
      // On PostgreSQL a concurrent claim of the row waits for this UPDATE and then re-checks locked_until.
      const [row] = await q(`UPDATE subscriptions SET locked_until = $3, locked_by = $4 WHERE id = $1 AND locked_until <= $2 RETURNING ${SUB_COLUMNS}`, [id, now, now + leaseMs, holder]);
      if (row) return { leased: true as const, record: subscriptionOf(row) };
      const [held] = await q('SELECT locked_by, locked_until FROM subscriptions WHERE id = $1', [id]);
      return held ? { leased: false as const, lockedBy: strOrNull(held.locked_by), lockedUntil: num(held.locked_until) } : undefined;
    });
  }

  releaseSubscriptionLease(id: number, holder: string, update: { syncState?: string; syncStatus?: SyncStatus } = {}): Promise<boolean> {
    return this.engine.tx(async (q) => (await q(
      'UPDATE subscriptions SET locked_until = 0, locked_by = NULL, sync_state = COALESCE($3, sync_state), sync_status = COALESCE($4, sync_status) WHERE id = $1 AND locked_by = $2 RETURNING id',
      [id, holder, update.syncState ?? null, update.syncStatus ? JSON.stringify(update.syncStatus) : null],
    )).length > 0);
  }

  claimSubscriptions(now: number, limit: number, leaseMs: number, instanceId: string): Promise<SubscriptionRecord[]> {
    const lock = this.kind === 'postgres' ? ' FOR UPDATE SKIP LOCKED' : '';
    return this.engine.tx(async (q) => {
      const rows = await q(
        `UPDATE subscriptions SET locked_until = $2, locked_by = $4
         WHERE id IN (
           SELECT id FROM subscriptions
           WHERE enabled = 1 AND next_poll_at <= $1 AND locked_until <= $1
           ORDER BY next_poll_at, id LIMIT $3${lock})
         RETURNING ${SUB_COLUMNS}`,
        [now, now + leaseMs, limit, instanceId],
      );
      return rows.map(subscriptionOf).sort((a, b) => a.id - b.id);
    });
  }

  finishPoll(id: number, instanceId: string, o: PollOutcome, nextPollAt: number): Promise<boolean> {
    return this.engine.tx(async (q) => {
      const rows = await q(
        `UPDATE subscriptions SET locked_until = 0, locked_by = NULL, next_poll_at = $3, fetch_state = $4, last_checked_date = $5,
           last_checked_filesize = COALESCE($6, last_checked_filesize), last_parsed_date = COALESCE($7, last_parsed_date),
           event_count = COALESCE($8, event_count), last_error = $9, polls = polls + 1,
           sync_status = COALESCE($10, sync_status), sync_state = COALESCE($11, sync_state),
           sync_override = CASE WHEN sync_override = $12 THEN NULL ELSE sync_override END
         WHERE id = $1 AND locked_by = $2 RETURNING id`,
        [id, instanceId, nextPollAt, o.fetchState, o.checkedAt, o.filesize ?? null, o.parsedAt ?? null, o.eventCount ?? null, o.error, o.syncStatus ? JSON.stringify(o.syncStatus) : null, o.syncState ?? null, o.usedOverride ?? null],
      );
      return rows.length > 0;
    });
  }

  renewSubscriptionLease(id: number, instanceId: string, lockedUntil: number): Promise<boolean> {
    return this.engine.tx(async (q) => (await q('UPDATE subscriptions SET locked_until = $3 WHERE id = $1 AND locked_by = $2 RETURNING id', [id, instanceId, lockedUntil])).length > 0);
  }

  forgetSource(source: string): Promise<number> {
    return this.engine.tx(async (q) => {
      const gone = await q('DELETE FROM snapshots WHERE source = $1 RETURNING version', [source]);
      await q('DELETE FROM sources WHERE name = $1', [source]);
      return gone.length;
    });
  }

  countSnapshots(source: string): Promise<number> {
    return this.engine.tx(async (q) => num((await q('SELECT COUNT(*) AS n FROM snapshots WHERE source = $1', [source]))[0].n));
  }

  initSetting(key: string, value: string): Promise<string> {
    return this.engine.tx(async (q) => {
      await q('INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING', [key, value]);
      return String((await q('SELECT value FROM settings WHERE key = $1', [key]))[0].value);
    });
  }

  getSetting(key: string): Promise<string | undefined> {
    return this.engine.tx(async (q) => {
      const [row] = await q('SELECT value FROM settings WHERE key = $1', [key]);
      return row ? String(row.value) : undefined;
    });
  }

  listFeeds(): Promise<FeedSummary[]> {
    return this.engine.tx(async (q) =>
      (await q('SELECT f.name, f.current_version, v.created_at, v.json FROM feeds f LEFT JOIN feed_versions v ON v.feed = f.name AND v.version = f.current_version ORDER BY f.name')).map((r) => {
        let events: number | null = null;
        try {
          events = r.json ? (JSON.parse(String(r.json)) as { events: unknown[] }).events.length : null;
        } catch {
          events = null;
        }
        return { name: String(r.name), version: num(r.current_version), publishedAt: numOrNull(r.created_at), events };
      }),
    );
  }

  outboxProblems(limit: number): Promise<OutboxProblem[]> {
    return this.engine.tx(async (q) =>
      (await q('SELECT delivery_id, source, attempts, created_at, next_attempt_at, last_error FROM outbox WHERE delivered_at IS NULL AND last_error IS NOT NULL ORDER BY id DESC LIMIT $1', [limit])).map((r) => ({
        deliveryId: String(r.delivery_id), source: String(r.source), attempts: num(r.attempts), createdAt: num(r.created_at), nextAttemptAt: num(r.next_attempt_at), lastError: String(r.last_error),
      })),
    );
  }

  getFeedHeadByTokenHash(hash: string): Promise<FeedHead | undefined> {
    return this.engine.tx(async (q) => {
      const [r] = await q('SELECT f.name, f.token, f.current_version, v.hash, v.created_at FROM feeds f JOIN feed_versions v ON v.feed = f.name AND v.version = f.current_version WHERE f.token_hash = $1', [hash]);
      return r ? { name: String(r.name), token: String(r.token), version: num(r.current_version), hash: String(r.hash), createdAt: num(r.created_at) } : undefined;
    });
  }

  addFeedBudgetCounts(input: { windowStart: number; windowMs: number; deltas: Array<{ key: string; count: number }> }): Promise<Array<{ key: string; total: number }>> {
    const { windowStart, windowMs } = input;
    // Sorted by key: concurrent instances take PostgreSQL's row locks in the same order.
    const deltas = input.deltas.filter((d) => d.count > 0).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return this.engine.tx(async (q) => {
      if (deltas.length) {
        // One statement for every key: insert, or add to the count already there (atomic per row).
        const rows = this.kind === 'postgres'
          ? 'SELECT $1::bigint, $2::bigint, d.k, d.n FROM unnest($3::text[], $4::bigint[]) AS d(k, n) ORDER BY d.k'
          : "SELECT $1, $2, json_extract(value, '$.k'), json_extract(value, '$.n') FROM json_each($3) WHERE true";
        const params = this.kind === 'postgres' ? [windowStart, windowMs, deltas.map((d) => d.key), deltas.map((d) => d.count)] : [windowStart, windowMs, JSON.stringify(deltas.map((d) => ({ k: d.key, n: d.count })))];
        await q(`INSERT INTO feed_budget (window_start, window_ms, token_hash, count) ${rows} ON CONFLICT (window_start, window_ms, token_hash) DO UPDATE SET count = feed_budget.count + excluded.count`, params);
      }
      // Windows that ended are of no use to anyone.
      await q('DELETE FROM feed_budget WHERE window_start < $1 AND window_start + window_ms <= $1', [windowStart]);
      return (await q('SELECT token_hash, count FROM feed_budget WHERE window_start = $1 AND window_ms = $2', [windowStart, windowMs])).map((r) => ({ key: String(r.token_hash), total: num(r.count) }));
    });
  }

  getFeedVersion(feed: string, version: number): Promise<FeedVersion | undefined> {
    return this.engine.tx(async (q) => {
      const [v] = await q('SELECT feed, version, hash, json, ics, created_at FROM feed_versions WHERE feed = $1 AND version = $2', [feed, version]);
      return v ? { feed: String(v.feed), version: num(v.version), hash: String(v.hash), json: String(v.json), ics: String(v.ics), createdAt: num(v.created_at) } : undefined;
    });
  }
}
