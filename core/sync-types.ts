/**
 * The data a sync is made of: the policy going in, the plan coming out. Everything here is plain
 * JSON (functions only in the policy's optional callbacks), so a plan can be printed as a dry run,
 * stored, sent over the wire and applied later.
 */
import type { CalendarEvent, EventTime } from './event';

/**
 * A target event as the planner sees it. Structurally the same as providers/port.ts TargetEvent
 * (core may not import providers/), so the provider's listOwned results can be passed as they are.
 */
export interface PlanTargetEvent {
  id: string;
  calendarId: string;
  /** Absent = foreign. */
  stamp?: { syncId: string; sourceKey: string; fingerprint: string; digest?: string };
  event: CalendarEvent;
  etag?: string;
  /**
   * Set by the provider when the event carries our stamp but is not the event this sync wrote (a
   * person's copy: Google — its id is not the id derived for the stamp's key; Graph — not the id
   * recorded when we created it). Says why. Never updated or deleted: reported as a conflict.
   */
  copy?: string;
  /**
   * Set by the provider when the event's content on the target differs from what this sync wrote
   * (the stamp's digest of the written fields, recomputed on read): the fields a person changed.
   */
  edited?: string[];
}

/** The sync window. Relative days are measured from `now`; explicit bounds are UTC epoch ms. */
export type SyncWindowSpec = { pastDays: number; futureDays: number } | { from: number; to: number };

/** Expands one series (master + its overrides) into single occurrences overlapping [from, to). */
export type SeriesExpander = (
  master: CalendarEvent,
  overrides: CalendarEvent[],
  window: { from: number; to: number },
) => {
  /** One event per occurrence, `recurrenceId` = the occurrence's original start, overrides applied, cancelled ones left out. */
  events: CalendarEvent[];
  errors: string[];
};

/**
 * The delete limit per calendar (core/guards.ts DEFAULT_MAX_DELETES when the policy has none). A
 * calendar may always lose `floor` events; beyond that, at most `percent` % of the events we own
 * there, and never more than `count`.
 */
export interface MaxDeletes {
  /** More deletes than this in one calendar → DeleteLimitError. */
  count?: number;
  /** Deletes above this percentage of a calendar's owned events → DeleteLimitError (unless within `floor`). */
  percent?: number;
  /** Deletes a calendar may always take, whatever its size (default DEFAULT_DELETE_FLOOR when `percent` is set). */
  floor?: number;
}

/** A source item that could not be read but whose UID is known: its events on the target are kept. */
export interface UnreadableItem {
  /** The sourceId of the source it came from (absent: no sourceId). */
  sourceId?: string;
  uid: string;
  /** What went wrong (for the report). */
  message?: string;
}

/** What the "source shrank" guard remembers between runs: per source part of the key, its events inside the window. */
export interface SyncRunState {
  v: 1;
  /** When the run that produced it planned (epoch ms). */
  at: number;
  sources: Record<string, number>;
}

export interface FailedSource {
  /** The sourceId of its events. */
  id: string;
  /** What went wrong (for the error and the report). */
  failure?: string;
}

export interface SyncPolicy {
  /** Identifies this sync; only events stamped with it are ever updated or deleted. */
  syncId: string;
  /** 'uid' (default): UID + RECURRENCE-ID; 'content': a hash of title/start/end/location, for sources that regenerate UIDs on every fetch. */
  identity?: 'uid' | 'content';
  /** Default: 7 days back, 365 ahead. */
  window?: SyncWindowSpec;
  /** Zone used to place floating times and all-day dates on the timeline for window tests (default UTC). */
  floatingTimeZone?: string;
  /**
   * Per target calendar (calendar id → IANA zone): the zone the writer places that calendar's
   * floating times and all-day dates in (configured, or the calendar's / mailbox's own). Wins over
   * floatingTimeZone for that calendar. syncCalendars fills it from the provider after listing.
   */
  floatingTimeZoneFor?: Record<string, string>;
  /** Calendar for plain (unrouted) desired events. */
  calendarId?: string;
  /** Whether the target can store this series as a series (provider.capabilities.seriesSupport). Default: always. */
  seriesSupport?: (master: CalendarEvent, overrides: CalendarEvent[]) => true | string;
  /**
   * The target can remove an override on its own, the occurrence then following its series
   * (provider.capabilities.overridesRemovable; CalDAV). Then an override the source dropped is
   * removed; otherwise (Google, Graph, default) it is rewritten as its series has it.
   */
  overridesRemovable?: boolean;
  /** Used when seriesSupport says no. Default: core/recurrence (recurrenceExpander); null = do not expand (such series are skipped and kept as they are). */
  expandSeries?: SeriesExpander | null;
  /**
   * Sources whose fetch failed this run (ids, or ids with what went wrong). Their events on the
   * target are never deleted; unless `keepFailedSources` is set, a failed source that has events
   * on the target raises SourceEmptyError (so an API caller cannot miss it).
   */
  failedSources?: Array<string | FailedSource>;
  /** Override for SourceEmptyError on failed sources: sync the healthy sources, keep the failed sources' events untouched. */
  keepFailedSources?: boolean;
  /**
   * Items a source delivered but the parser could not read, with their UID (ParseIssue.uid): they
   * are unknown, not gone, so their events on the target are kept ("kept: unreadable in source").
   * With identity 'content' a UID names no key, so no event of such a source is deleted this run.
   */
  unreadable?: UnreadableItem[];
  /** Default DEFAULT_MAX_DELETES (core/guards.ts); override per run with `force`. */
  maxDeletes?: MaxDeletes;
  /**
   * The state of the last successful run (SyncRunState, kept by the caller; providers/sync.ts
   * keeps it in a KeyValueStore). With it, a source that lost more than half of its events inside
   * the window since then stops the run with SourceShrankError (override `allowShrink`).
   */
  lastRun?: SyncRunState;
  /** Override for SourceShrankError. */
  allowShrink?: boolean;
  /**
   * A synced event a person edited on the target (title, time, location, …): 'restore' (default)
   * writes the source's version again (one-way mirror, op reason "edited on the target: restored");
   * 'keep' leaves the person's version alone (a skip) until they or the source change it again.
   */
  targetEdits?: 'restore' | 'keep';
  /**
   * Target copies of events the source still delivers but routing maps to no room (a renamed room,
   * a typo in the room map): 'keep' (default) leaves them as they are (a skip op, and the event is
   * in plan.unmapped); 'delete' deletes them (counted by maxDeletes).
   */
  unmapped?: 'keep' | 'delete';
  /** Override for SourceEmptyError. */
  allowEmptySource?: boolean;
  /** Override for DeleteLimitError. */
  force?: boolean;
  /** Include 'skip' ops for foreign events (default true; they are never updated or deleted either way). */
  reportForeign?: boolean;
}

export type PlanAction = 'create' | 'update' | 'delete' | 'unchanged' | 'skip';

export interface PlannedOp {
  action: PlanAction;
  calendarId: string;
  /** Source key (the stamp's sourceKey). For a foreign event: its target id. */
  key: string;
  /** One line saying why, like vdirsyncer's comments. */
  reason: string;
  /** Target event id (update, delete, unchanged, skip of a target event). */
  targetId?: string;
  /** Content to write (create, update). */
  event?: CalendarEvent;
  /** Fingerprint of `event` (create, update, unchanged). */
  fingerprint?: string;
  /** For update: the target's ETag when it was read. */
  etag?: string;
  /** Write phase inside a calendar: 'series-override' ops go after their masters. */
  phase?: 'main' | 'series-override';
  /** For an override: the key of its series master (so a failed master can hold it back). */
  masterKey?: string;
  /** True for a delete that only removes a duplicate (counted by the delete guard unless `exactDouble`). */
  duplicate?: boolean;
  /** A duplicate with the very stamp of the event kept (what a retried or concurrent create leaves): loses nothing, not counted. */
  exactDouble?: boolean;
  /** Set on an update that writes the source's version over a person's edit on the target. */
  restored?: boolean;
  /** Set on a skip of an event that needs a person's attention (a copy of a synced event, a kept edit). */
  conflict?: boolean;
  /** True for a delete whose content is written again in another form in the same plan: a series master replaced by its expanded occurrences, or the reverse (not counted by the delete guard). */
  replaced?: boolean;
}

export interface UnmappedEvent {
  uid: string;
  title: string;
  start: EventTime;
  sourceId?: string;
  reason: string;
}

export interface CalendarPlanStats {
  /** Desired events routed to this calendar (before the window). */
  desired: number;
  /** Target events carrying our syncId. */
  owned: number;
  /** Owned events inside the window. */
  ownedInWindow: number;
}

export interface SourcePlanStats {
  /** Events the source delivered (routed or not). */
  desired: number;
  /** Of those, the ones overlapping the window (what SourceEmptyError looks at). */
  desiredInWindow?: number;
  /** Owned events of the source inside the window (0 for a failed source: see kept). */
  owned: number;
  /** Set when the source failed this run (policy.failedSources): what went wrong ('' when not told). */
  failure?: string;
  /** Failed source: its owned events left untouched. */
  kept?: number;
  /** Items of the source that could not be read (policy.unreadable). */
  unreadable?: number;
}

export interface SyncPlan {
  syncId: string;
  now: number;
  window: { from: number; to: number };
  ops: PlannedOp[];
  counts: Record<PlanAction, number>;
  unmapped: UnmappedEvent[];
  warnings: string[];
  calendars: Record<string, CalendarPlanStats>;
  /** Per source part of the key (sourceId as encoded in keys, '' = no sourceId): desired events and owned events. */
  sources: Record<string, SourcePlanStats>;
  /** Events that need a person's attention: copies of synced events, edits kept (policy targetEdits 'keep'). */
  conflicts: Array<{ calendarId: string; targetId: string; key: string; reason: string }>;
}
