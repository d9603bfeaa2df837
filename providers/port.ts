/**
 * The ports every target calendar provider implements, and the transport they talk through.
 *
 * - HttpPort is the only way a provider reaches the network. n8n nodes supply one built on
 *   `this.helpers.httpRequestWithAuthentication`, the bridge and CLI one built on fetch + a token
 *   source (providers/http.ts), tests one pointed at the emulator. It resolves for every HTTP status
 *   and rejects only when no response arrived (TransportError), so status handling stays in one place.
 * - CalendarProvider maps CalendarEvent ⇄ the API's JSON and executes writes. It never sleeps or
 *   retries writes itself: providers/apply.ts schedules, batches, limits concurrency and retries,
 *   using the per-op results and the ProviderError fields (retryable, retryAfterMs, scope).
 */
import type { CalendarEvent } from '../core/event';

/** PROPFIND, REPORT and MKCALENDAR are WebDAV/CalDAV methods (RFC 4918, 4791). */
export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'PROPFIND' | 'REPORT' | 'MKCALENDAR';

export interface HttpRequest {
  method: HttpMethod;
  /** Absolute URL. */
  url: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
}

export interface HttpResponse {
  status: number;
  /** Header names lower-cased. */
  headers: Record<string, string>;
  body: string;
}

export type HttpPort = (req: HttpRequest) => Promise<HttpResponse>;

/** Where an authenticated HttpPort gets its bearer token (Google and Microsoft token sources implement it). */
export interface TokenSource {
  getToken(): Promise<string>;
  /** Drops a cached token so the next getToken() fetches a fresh one (after a 401); absent for static tokens. */
  invalidate?(): void;
}

/** No HTTP response was received (connection reset, DNS, timeout). Safe to retry only if the request was idempotent. */
export class TransportError extends Error {
  constructor(message: string, readonly code?: string) {
    super(message);
    this.name = 'TransportError';
  }
}

/**
 * What every event a sync writes carries, so the target describes itself (Google
 * `extendedProperties.private`, Graph `singleValueExtendedProperties`): any worker can re-sync it,
 * and events without our syncId are never touched.
 */
export interface OwnershipStamp {
  syncId: string;
  sourceKey: string;
  fingerprint: string;
  /**
   * Digest of the API fields the provider wrote (providers/ownership.ts), set by the provider on
   * write and recomputed on read: a difference is a person's edit (TargetEvent.edited).
   */
  digest?: string;
}

/** An event as read back from a target calendar. */
export interface TargetEvent {
  /** The provider's id (Google event id, Graph event id). */
  id: string;
  calendarId: string;
  /** Present only on events a sync wrote. Absent = foreign (a person's own event, another tool's). */
  stamp?: OwnershipStamp;
  /** Best-effort mapping of the target's content. */
  event: CalendarEvent;
  etag?: string;
  /** Carries our stamp but is not the event we wrote (a person's copy): why. Never updated or deleted. */
  copy?: string;
  /** Fields a person changed since we wrote the event (stamp digest vs the content read). */
  edited?: string[];
}

/** UTC epoch milliseconds, [from, to). */
export interface TimeWindow {
  from: number;
  to: number;
}

export type WriteOp =
  /** Creates carry no clock-derived id: Graph derives the transactionId from key, content and what the target held (providers/graph/mapper.ts). */
  | { op: 'create'; calendarId: string; key: string; event: CalendarEvent; stamp: OwnershipStamp }
  | { op: 'update'; calendarId: string; key: string; targetId: string; event: CalendarEvent; stamp: OwnershipStamp; etag?: string }
  | { op: 'delete'; calendarId: string; key: string; targetId: string };

export interface WriteResult {
  op: WriteOp;
  ok: boolean;
  /** Id of the created/updated event in the target. */
  targetId?: string;
  error?: ProviderError;
  /** e.g. "already existed (deterministic id) — reconciled", "already deleted". */
  note?: string;
}

/**
 * `scope` says how far a failure reaches: 'op' (this write only), 'calendar' (stop this calendar's
 * sync, e.g. Google quotaExceeded), 'auth' (credentials: stop everything).
 */
export class ProviderError extends Error {
  constructor(
    message: string,
    readonly details: {
      status?: number;
      code?: string;
      retryable: boolean;
      retryAfterMs?: number;
      scope?: 'op' | 'calendar' | 'auth';
    },
  ) {
    super(message);
    this.name = 'ProviderError';
  }
  get status(): number | undefined { return this.details.status; }
  get code(): string | undefined { return this.details.code; }
  get retryable(): boolean { return this.details.retryable; }
  get retryAfterMs(): number | undefined { return this.details.retryAfterMs; }
  get scope(): 'op' | 'calendar' | 'auth' { return this.details.scope ?? 'op'; }
}

export interface ProviderCapabilities {
  /** Largest batch the provider sends in one HTTP request (Google 50, Graph 20). */
  maxBatchSize: number;
  /** Most concurrent requests per target calendar/mailbox (Graph/Outlook: 4). */
  maxConcurrencyPerCalendar: number;
  /**
   * Whether a recurring series (master + its overrides) can be written as a series. When it
   * returns a string, the series is expanded into single events inside the window and the string
   * (the reason) is reported. Google: always true; Graph: only RRULEs that fit patternedRecurrence.
   */
  seriesSupport(master: CalendarEvent, overrides: CalendarEvent[]): true | string;
  /**
   * The service's request quota that applyPlan paces writes to (each op in a batch counts as one
   * request, as Google and Graph count batch parts): Google 600 per 60 s per user ('account': every
   * calendar written with one credential shares it), Outlook 10,000 per 10 min per mailbox
   * ('calendar'). Absent: no pacing (rate-limit answers are still retried with backoff).
   */
  quota?: { maxRequests: number; windowMs: number; per: 'account' | 'calendar' };
  /**
   * Whether an override can be removed on its own, its occurrence then following the series again
   * (CalDAV: the VEVENT with that RECURRENCE-ID is dropped from the resource). Absent/false (Google,
   * Graph): removing an instance cancels that occurrence, so an override the source dropped is
   * rewritten as its series has it.
   */
  overridesRemovable?: boolean;
}

export interface Room {
  /** What to use as calendarId when syncing into this room. */
  calendarId: string;
  email: string;
  name: string;
  capacity?: number;
  building?: string;
}

export interface CalendarProvider {
  readonly kind: 'google' | 'graph' | 'caldav';
  readonly capabilities: ProviderCapabilities;
  /** Events stamped with `syncId` that overlap `window` (series masters included, not expanded). */
  listOwned(calendarId: string, syncId: string, window: TimeWindow): Promise<TargetEvent[]>;
  /** All events overlapping `window` (for the Event CRUD node and foreign-event checks). */
  listEvents(calendarId: string, window: TimeWindow, opts?: { expandSeries?: boolean; maxResults?: number }): Promise<TargetEvent[]>;
  getEvent(calendarId: string, targetId: string): Promise<TargetEvent | undefined>;
  /**
   * Executes writes for one calendar as one HTTP batch (ops.length ≤ maxBatchSize) or single
   * requests. Resolves with one result per op, in op order; per-op failures are results, not
   * throws. Rejects only when the whole request failed before any op ran (ProviderError or
   * TransportError), which applyPlan treats as "every op failed with that error".
   * Series masters must be written before their overrides: applyPlan orders ops accordingly.
   */
  write(calendarId: string, ops: WriteOp[]): Promise<WriteResult[]>;
  listRooms(): Promise<Room[]>;
  /**
   * The IANA zone this provider writes `calendarId`'s floating times and all-day dates in
   * (configured, else the calendar's / mailbox's own; cached after listOwned). syncCalendars hands
   * it to the planner (policy.floatingTimeZoneFor) so window checks use the writer's zone.
   */
  floatingTimeZone?(calendarId: string): Promise<string>;
}
