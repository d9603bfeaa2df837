/**
 * Schema migrations, numbered and applied in order inside one transaction each; the table
 * `schema_migrations` records what ran. Times are epoch milliseconds in both engines; JSON is
 * stored as text (we only ever read it back whole).
 */
export type Dialect = 'sqlite' | 'postgres';

export interface Migration {
  id: number;
  name: string;
  sql: (d: Dialect) => string[];
}

const int64 = (d: Dialect) => (d === 'postgres' ? 'BIGINT' : 'INTEGER');

export const MIGRATIONS: Migration[] = [
  {
    id: 1,
    name: 'feeds, snapshots, receipts, outbox',
    sql: (d) => [
      `CREATE TABLE feeds (
        name TEXT PRIMARY KEY,
        token TEXT NOT NULL,
        token_hash TEXT NOT NULL UNIQUE,
        token_rotated_at ${int64(d)} NOT NULL,
        current_version INTEGER NOT NULL DEFAULT 0)`,
      `CREATE TABLE feed_versions (
        feed TEXT NOT NULL REFERENCES feeds(name),
        version INTEGER NOT NULL,
        hash TEXT NOT NULL,
        json TEXT NOT NULL,
        ics TEXT NOT NULL,
        created_at ${int64(d)} NOT NULL,
        PRIMARY KEY (feed, version))`,
      `CREATE TABLE sources (
        name TEXT PRIMARY KEY,
        current_version INTEGER NOT NULL DEFAULT 0)`,
      `CREATE TABLE snapshots (
        source TEXT NOT NULL,
        version INTEGER NOT NULL,
        hash TEXT NOT NULL,
        entries TEXT NOT NULL,
        delivery_id TEXT,
        created_at ${int64(d)} NOT NULL,
        PRIMARY KEY (source, version))`,
      `CREATE TABLE receipts (
        source TEXT NOT NULL,
        delivery_id TEXT NOT NULL,
        response TEXT NOT NULL,
        created_at ${int64(d)} NOT NULL,
        PRIMARY KEY (source, delivery_id))`,
      `CREATE TABLE outbox (
        id ${d === 'postgres' ? 'BIGSERIAL PRIMARY KEY' : 'INTEGER PRIMARY KEY AUTOINCREMENT'},
        delivery_id TEXT NOT NULL UNIQUE,
        source TEXT NOT NULL,
        url TEXT NOT NULL,
        payload TEXT NOT NULL,
        created_at ${int64(d)} NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at ${int64(d)} NOT NULL,
        locked_until ${int64(d)} NOT NULL DEFAULT 0,
        delivered_at ${int64(d)},
        last_error TEXT)`,
      `CREATE INDEX outbox_pending ON outbox (source, id) WHERE delivered_at IS NULL`,
    ],
  },
  {
    id: 2,
    name: 'import subscriptions',
    sql: (d) => [
      `CREATE TABLE subscriptions (
        id ${d === 'postgres' ? 'BIGSERIAL PRIMARY KEY' : 'INTEGER PRIMARY KEY AUTOINCREMENT'},
        name TEXT NOT NULL,
        calendar_url TEXT NOT NULL,
        enabled INTEGER NOT NULL DEFAULT 1,
        interval_sec INTEGER NOT NULL,
        booking_property TEXT NOT NULL DEFAULT '{}',
        auth TEXT,
        created_at ${int64(d)} NOT NULL,
        updated_at ${int64(d)} NOT NULL,
        next_poll_at ${int64(d)} NOT NULL DEFAULT 0,
        locked_until ${int64(d)} NOT NULL DEFAULT 0,
        locked_by TEXT,
        fetch_state TEXT,
        last_checked_date ${int64(d)},
        last_checked_filesize INTEGER,
        last_parsed_date ${int64(d)},
        last_error TEXT,
        event_count INTEGER NOT NULL DEFAULT 0,
        polls INTEGER NOT NULL DEFAULT 0)`,
      `CREATE INDEX subscriptions_due ON subscriptions (next_poll_at) WHERE enabled = 1`,
    ],
  },
  {
    id: 3,
    name: 'settings (the admin token hash)',
    sql: () => [`CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)`],
  },
  {
    id: 4,
    name: 'subscription sync targets',
    sql: () => [
      'ALTER TABLE subscriptions ADD COLUMN sync_target TEXT',
      'ALTER TABLE subscriptions ADD COLUMN sync_calendar TEXT',
      'ALTER TABLE subscriptions ADD COLUMN sync_state TEXT',
      'ALTER TABLE subscriptions ADD COLUMN sync_status TEXT',
      'ALTER TABLE subscriptions ADD COLUMN sync_override TEXT',
    ],
  },
  {
    id: 5,
    name: 'feed request budget counts shared by every instance',
    sql: (d) => [
      // One row per (clock-aligned window, token hash): every process's admitted requests, summed.
      `CREATE TABLE feed_budget (
        window_start ${int64(d)} NOT NULL,
        window_ms ${int64(d)} NOT NULL,
        token_hash TEXT NOT NULL,
        count ${int64(d)} NOT NULL,
        PRIMARY KEY (window_start, window_ms, token_hash))`,
    ],
  },
];
