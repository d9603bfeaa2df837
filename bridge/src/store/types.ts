/**
 * One store interface, two engines (store/sqlite.ts, store/postgres.ts). Every method that
 * writes more than one row does so in one transaction: a push's snapshot, its idempotency receipt
 * and its outbox entry are committed together or not at all.
 */
import type { SnapshotEntry } from '../diff';

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
}
