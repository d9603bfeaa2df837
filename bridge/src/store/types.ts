/**
 * One store interface, two engines (store/sqlite.ts, store/postgres.ts). Every method that
 * writes more than one row does so in one transaction: a push's snapshot, its idempotency receipt
 * and its outbox entry are committed together or not at all.
 */
import type { SnapshotEntry } from '../snapshot';

export interface FeedVersion {
  feed: string;
  version: number;
  hash: string;
  /** Our event JSON ({"events":[...]}) and its ICS rendering, both as served. */
  json: string;
  ics: string;
  createdAt: number;
}

export interface FeedRecord {
  name: string;
  token: string;
  tokenRotatedAt: number;
  current?: FeedVersion;
}

export interface PublishInput {
  feed: string;
  hash: string;
  json: string;
  ics: string;
  now: number;
  /** Used only when the feed is new. */
  newToken: string;
  /** Versions kept (the newest; at least 1); older ones are deleted in the same transaction. Default: all. */
  keepVersions?: number;
}

export interface PublishResult {
  record: FeedRecord;
  /** false when the content hash equals the current version's: no new version was written. */
  changed: boolean;
}

export interface PushSnapshot {
  version: number;
  entries: SnapshotEntry[];
}

/** What the intake route decides inside the transaction, given the previous snapshot. */
export interface PushPlan {
  /** undefined: content unchanged, no new snapshot version. */
  snapshot?: { hash: string; entries: SnapshotEntry[] };
  outbox?: { deliveryId: string; url: string; payload: string };
  /** The 2xx body, stored with the receipt so a retried delivery id gets the same answer. */
  response: Record<string, unknown>;
}

export interface PushInput {
  source: string;
  /** The sender's delivery id (idempotency key); undefined when the sender sent none. */
  deliveryId?: string;
  now: number;
  plan: (prev: PushSnapshot | undefined) => PushPlan;
  /** Snapshot versions kept (the newest; at least 1); older ones are deleted in the same transaction. Default: all. */
  keepSnapshots?: number;
}

export interface PushResult {
  duplicate: boolean;
  response: Record<string, unknown>;
}

export interface OutboxEntry {
  id: number;
  deliveryId: string;
  source: string;
  url: string;
  payload: string;
  attempts: number;
}

export interface OutboxStats {
  pending: number;
  delivered: number;
  /** created_at of the oldest undelivered entry (epoch ms), when there is one. */
  oldestPendingAt?: number;
}

/** Default properties given to every event imported by a subscription. */
export interface BookingProperty {
  room?: string;
  status?: 'CONFIRMED' | 'TENTATIVE' | 'CANCELLED';
  categories?: string[];
}

/** How the bridge authenticates to the remote feed (write-only through the API). */
export type FeedAuth = { type: 'bearer'; token: string } | { type: 'basic'; username: string; password: string } | { type: 'header'; name: string; value: string };

export interface SubscriptionInput {
  name: string;
  calendar_url: string;
  enabled: boolean;
  interval_sec: number;
  booking_property: BookingProperty;
  auth?: FeedAuth | null;
  /** Name of a sync target configured on the bridge (subscriptions.syncTargets); null: diffs go to the outbox. */
  sync_target?: string | null;
  /** The calendar (room) the target writes into; null: the target's configured `calendar`. */
  sync_calendar?: string | null;
  /** Guard overrides for the next poll only (cleared when it is recorded). */
  sync_override?: SyncOverride[] | null;
}

export const SYNC_OVERRIDES = ['allow-empty', 'allow-shrink', 'force'] as const;
export type SyncOverride = (typeof SYNC_OVERRIDES)[number];

/** The result of a subscription's last sync into its target (sync-target.ts). */
export interface SyncStatus {
  target: string;
  calendar: string;
  /** Epoch ms. */
  at: number;
  ok: boolean;
  /** Snapshot hash of the events the last successful sync wrote (null after a failed one): unchanged means no sync is needed. */
  hash: string | null;
  created: number;
  updated: number;
  deleted: number;
  /** Target events left as they were (unchanged, or kept by a rule: a person's edit, an unreadable item). */
  kept: number;
  failed: number;
  /** The guard that refused the run (SourceEmptyError, SourceShrankError, DeleteLimitError), if one did. */
  guard: string | null;
  error: string | null;
}

export interface SubscriptionRecord extends SubscriptionInput {
  id: number;
  created_at: number;
  updated_at: number;
  next_poll_at: number;
  locked_until: number;
  locked_by: string | null;
  fetch_state: string | null;
  /** Epoch ms (the API shows UNIX seconds, as Sonderplan does). */
  last_checked_date: number | null;
  last_checked_filesize: number | null;
  last_parsed_date: number | null;
  last_error: string | null;
  event_count: number;
  polls: number;
  /** The providers' state between syncs (Graph's created-event records, sync tokens, the shrink guard's counts). */
  sync_state: string | null;
  sync_status: SyncStatus | null;
}

export interface PollOutcome {
  checkedAt: number;
  fetchState: string | null;
  filesize?: number;
  parsedAt?: number;
  eventCount?: number;
  error: string | null;
  /** Set when the poll ran a sync (both are kept as they were otherwise). */
  syncStatus?: SyncStatus;
  syncState?: string;
  /** The overrides this poll read (JSON as stored): cleared unless they were changed meanwhile. */
  usedOverride?: string | null;
}

/** The answer to Store.leaseSubscription: the leased row, or who holds the lease until when. */
export type SubscriptionLease = { leased: true; record: SubscriptionRecord } | { leased: false; lockedBy: string | null; lockedUntil: number };

export interface FeedSummary {
  name: string;
  version: number;
  publishedAt: number | null;
  events: number | null;
}

export interface OutboxProblem {
  deliveryId: string;
  source: string;
  attempts: number;
  createdAt: number;
  nextAttemptAt: number;
  lastError: string;
}

/** A feed's token and current version without the content (the per-request lookup of feed serving). */
export interface FeedHead {
  name: string;
  token: string;
  version: number;
  hash: string;
  createdAt: number;
}

export interface Store {
  readonly kind: 'sqlite' | 'postgres';
  /** Applies pending migrations; safe to call from several instances at once. */
  migrate(): Promise<void>;
  close(): Promise<void>;

  publishFeed(input: PublishInput): Promise<PublishResult>;
  getFeed(name: string): Promise<FeedRecord | undefined>;
  /** Looks a feed up by the SHA-256 of its token (the caller compares the token in constant time). */
  getFeedByTokenHash(hash: string): Promise<FeedRecord | undefined>;
  rotateFeedToken(name: string, token: string, now: number): Promise<FeedRecord | undefined>;

  recordPush(input: PushInput): Promise<PushResult>;
  latestSnapshot(source: string): Promise<PushSnapshot | undefined>;
  /** The receipt stored for a delivery id (tests and operators: "was this push stored?"). */
  hasReceipt(source: string, deliveryId: string): Promise<boolean>;

  /**
   * Leases up to `limit` due outbox entries for `leaseMs`: the oldest undelivered entry of each
   * source only (diffs of one source arrive in order), and never one another instance holds.
   */
  claimOutbox(now: number, limit: number, leaseMs: number): Promise<OutboxEntry[]>;
  markDelivered(id: number, now: number): Promise<void>;
  markFailed(id: number, nextAttemptAt: number, error: string): Promise<void>;
  outboxStats(): Promise<OutboxStats>;

  createSubscription(input: SubscriptionInput, now: number): Promise<SubscriptionRecord>;
  getSubscription(id: number): Promise<SubscriptionRecord | undefined>;
  /** All subscriptions, fetch_state left out (null). */
  listSubscriptions(): Promise<SubscriptionRecord[]>;
  /**
   * Replaces the editable fields; re-schedules the subscription to be polled now. `resetSync` (the
   * room changed) also forgets the providers' state and the last sync's status, and ends any lease
   * (a poll still syncing into the old room then loses it: its writes stop and its result is not
   * recorded). `leasedBy`: only when that holder has the lease (undefined otherwise).
   */
  updateSubscription(id: number, input: SubscriptionInput, now: number, opts?: { resetSync?: boolean; leasedBy?: string }): Promise<SubscriptionRecord | undefined>;
  /** `leasedBy`: only when that holder has the lease (false otherwise). */
  deleteSubscription(id: number, leasedBy?: string): Promise<boolean>;
  /**
   * Leases one subscription to `holder` for `leaseMs` — enabled or not, due or not — unless another
   * lease on it is still running: an API operation that must not overlap a poll (removing its
   * events). undefined when there is no such subscription.
   */
  leaseSubscription(id: number, now: number, leaseMs: number, holder: string): Promise<SubscriptionLease | undefined>;
  /** Ends `holder`'s lease, storing the providers' state and a sync status when given; false when the lease was not `holder`'s. */
  releaseSubscriptionLease(id: number, holder: string, update?: { syncState?: string; syncStatus?: SyncStatus }): Promise<boolean>;
  /**
   * Leases up to `limit` enabled subscriptions that are due and not leased by anyone (PostgreSQL:
   * `FOR UPDATE SKIP LOCKED`), for `leaseMs`: with several instances each one is polled by one
   * instance at a time.
   */
  claimSubscriptions(now: number, limit: number, leaseMs: number, instanceId: string): Promise<SubscriptionRecord[]>;
  /** Records a poll's status and schedules the next one; only the lease holder's call counts. */
  finishPoll(id: number, instanceId: string, outcome: PollOutcome, nextPollAt: number): Promise<boolean>;
  /** Extends this instance's lease on a subscription (a long sync); false when the lease is no longer ours. */
  renewSubscriptionLease(id: number, instanceId: string, lockedUntil: number): Promise<boolean>;
  /** Deletes a source's snapshots and its version counter (a deleted subscription); returns how many snapshots went. */
  forgetSource(source: string): Promise<number>;
  /** How many snapshot versions of a source are stored (tests, operators). */
  countSnapshots(source: string): Promise<number>;
  /** Sets `key` to `value` unless it is set already; returns the value now stored. */
  initSetting(key: string, value: string): Promise<string>;
  getSetting(key: string): Promise<string | undefined>;
  /** Every feed with its current version (status page). */
  listFeeds(): Promise<FeedSummary[]>;
  /** Undelivered outbox entries whose last attempt failed, newest first. */
  outboxProblems(limit: number): Promise<OutboxProblem[]>;
  /** The feed a token hash names, with its current version's hash but not its content; undefined when none or unpublished. */
  getFeedHeadByTokenHash(hash: string): Promise<FeedHead | undefined>;
  getFeedVersion(feed: string, version: number): Promise<FeedVersion | undefined>;
  /**
   * The feed budget shared by every instance (bridge/src/budget.ts), in one transaction: adds each
   * delta to its token hash's count in the clock-aligned window `windowStart` (an atomic
   * upsert-increment), deletes windows that ended by `windowStart`, and returns every key's total
   * in this window, the new ones included.
   */
  addFeedBudgetCounts(input: { windowStart: number; windowMs: number; deltas: Array<{ key: string; count: number }> }): Promise<Array<{ key: string; total: number }>>;
}
