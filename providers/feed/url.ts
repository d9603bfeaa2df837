/**
 * Reading a source feed over http(s), with no file-system access (so the n8n nodes can bundle it):
 *
 * - transport: an HttpPort (`opts.http`: n8n's authenticated request helpers, or any port; the port
 *   enforces the time limit) or the fetch-based transport of fetch.ts with a streaming size limit,
 *   which read.ts fills in (kept out of this file so the node bundles carry no timers);
 * - conditional GET: ETag / Last-Modified of the last good answer are sent back;
 * - a request budget per source (CKalender allows 20 requests per hour and user);
 * - size and time limits; a failed or empty answer is a FeedReadError, never "zero events".
 *
 * Two ways to keep state between reads:
 * - `readUrlFeed` (the CLI, the bridge): a FeedStateStore holding validators, request times and the
 *   last good body, so a 304 or a used-up budget can hand the previous body back to a caller that
 *   needs the whole feed every run (a sync plans against the full desired set).
 * - `pollFeed` (the ICS Trigger): the state is small (validators, a hash of the last body, request
 *   times; no body) and handed in and out as a value, so the caller stores it only after its own
 *   work succeeded. A 304, an identical body or a used-up budget is reported as "nothing new"
 *   without bytes: a trigger has nothing to emit then anyway.
 */
import { sha256Hex } from '../../core/fingerprint';
import type { HttpPort } from '../port';
import type { KeyValueStore } from '../state';

export interface FeedSource {
  /** Names the source in messages and state keys. */
  id: string;
  url?: string;
  /** Absolute path (readFeed only). */
  file?: string;
  headers?: Record<string, string>;
  budget?: { requests: number; perMinutes: number };
  /** Whole request including the body. Default 30 s. */
  timeoutMs?: number;
  /** Default 20 MB. */
  maxBytes?: number;
}

export type FeedStateStore = KeyValueStore;

export type FeedOrigin = 'file' | 'fetched' | 'not-modified' | 'budget-reuse';

export interface FeedReadResult {
  sourceId: string;
  bytes: Uint8Array;
  /** file: read from disk; fetched: 200; not-modified: 304, stored body; budget-reuse: no request made. */
  origin: FeedOrigin;
  /** HTTP requests made for this read (0 or 1). */
  requests: number;
  /** When the bytes were fetched (epoch ms); older than now for not-modified/budget-reuse. */
  fetchedAt: number;
  warnings: string[];
}

export type FeedFailure = 'http' | 'timeout' | 'network' | 'too-large' | 'empty' | 'file' | 'budget';

/** The source could not deliver usable bytes this run. */
export class FeedReadError extends Error {
  /** pollFeed only: the state to keep even though the poll failed (the request still counts against the budget). */
  pollState?: FeedPollState;
  constructor(
    readonly sourceId: string,
    readonly reason: FeedFailure,
    message: string,
    readonly status?: number,
  ) {
    super(`source "${sourceId}": ${message}`);
    this.name = 'FeedReadError';
  }
}

export interface ReadFeedOptions {
  store?: FeedStateStore;
  now?: () => number;
  /** Transport for the request (n8n's authenticated helpers); default global fetch. */
  http?: HttpPort;
  /** Injected for tests when no `http` port is given; default global fetch (providers/feed/read.ts). */
  fetch?: typeof fetch;
  /** The fetch-based transport (providers/feed/fetch.ts), filled in by read.ts when no `http` port is given. */
  rawGet?: RawGet;
  userAgent?: string;
}

/** One GET, every status resolved; FeedReadError when no usable answer arrived. */
export type RawGet = (source: FeedSource, url: string, headers: Record<string, string>, timeoutMs: number, maxBytes: number) => Promise<RawAnswer>;

export const DEFAULT_FEED_TIMEOUT_MS = 30_000;
export const DEFAULT_FEED_MAX_BYTES = 20 * 1024 * 1024;

const ACCEPT = 'text/calendar, application/json;q=0.9, */*;q=0.5';

export function feedStateKey(source: FeedSource): string {
  return `feed:${source.id}:${source.url ?? source.file ?? ''}`;
}

export function isBlank(bytes: Uint8Array): boolean {
  for (const b of bytes) if (b !== 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d && b !== 0xef && b !== 0xbb && b !== 0xbf) return false;
  return true;
}

function clock(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

// ---------------------------------------------------------------------------------------------
// The two building blocks: the budget and one conditional request.

interface BudgetVerdict {
  /** Request times inside the window (the new one included when allowed). */
  requests: number[];
  /** Set when the budget is used up: why, and when the next request is allowed. */
  exhausted?: string;
}

function checkBudget(source: FeedSource, requests: number[], at: number): BudgetVerdict {
  if (!source.budget) return { requests };
  const windowMs = source.budget.perMinutes * 60_000;
  const inWindow = requests.filter((t) => t > at - windowMs && t <= at);
  if (inWindow.length >= source.budget.requests) {
    const nextAt = Math.min(...inWindow) + windowMs;
    return { requests: inWindow, exhausted: `request budget of ${source.budget.requests} per ${source.budget.perMinutes} min is used up (next request allowed at ${clock(nextAt)})` };
  }
  return { requests: [...inWindow, at] };
}

type Answer = { status: 304 } | { status: 200; bytes: Uint8Array; etag?: string; lastModified?: string };

/** One GET with validators. Resolves 304 or a non-blank 2xx body; anything else is a FeedReadError. */
async function conditionalGet(source: FeedSource, validators: { etag?: string; lastModified?: string } | undefined, opts: ReadFeedOptions): Promise<Answer> {
  const url = source.url!;
  const maxBytes = source.maxBytes ?? DEFAULT_FEED_MAX_BYTES;
  const timeoutMs = source.timeoutMs ?? DEFAULT_FEED_TIMEOUT_MS;
  const headers: Record<string, string> = { accept: ACCEPT, 'user-agent': opts.userAgent ?? 'calendar-relay', ...(source.headers ?? {}) };
  if (validators?.etag) headers['if-none-match'] = validators.etag;
  if (validators?.lastModified) headers['if-modified-since'] = validators.lastModified;
  let got: RawAnswer;
  if (opts.http) got = await viaPort(opts.http, source, url, headers);
  else if (opts.rawGet) got = await opts.rawGet(source, url, headers, timeoutMs, maxBytes);
  else throw new Error(`source "${source.id}": reading a URL needs an HttpPort (opts.http); providers/feed's readFeed adds a fetch-based one`);
  if (got.status === 304) return { status: 304 };
  if (got.status < 200 || got.status >= 300) {
    throw new FeedReadError(source.id, 'http', `${redactUrl(url)} answered HTTP ${got.status}${got.statusText ? ` ${got.statusText}` : ''}${got.retryAfter ? ` (Retry-After: ${got.retryAfter})` : ''}`, got.status);
  }
  if (got.bytes.byteLength > maxBytes) throw new FeedReadError(source.id, 'too-large', `${redactUrl(url)} sent more than the limit of ${maxBytes} bytes (maxBytes)`);
  if (isBlank(got.bytes)) throw new FeedReadError(source.id, 'empty', `${redactUrl(url)} answered HTTP ${got.status} with an empty body`, got.status);
  return { status: 200, bytes: got.bytes, etag: got.etag, lastModified: got.lastModified };
}

export interface RawAnswer {
  status: number;
  statusText?: string;
  retryAfter?: string;
  etag?: string;
  lastModified?: string;
  bytes: Uint8Array;
}

/** Through an HttpPort; the port enforces the time limit (the n8n port passes `timeout`). */
async function viaPort(http: HttpPort, source: FeedSource, url: string, headers: Record<string, string>): Promise<RawAnswer> {
  try {
    const res = await http({ method: 'GET', url, headers });
    return { status: res.status, retryAfter: res.headers['retry-after'], etag: res.headers.etag, lastModified: res.headers['last-modified'], bytes: new TextEncoder().encode(res.body) };
  } catch (err) {
    throw new FeedReadError(source.id, 'network', `cannot reach ${redactUrl(url)}: ${(err as Error).message}`);
  }
}

// ---------------------------------------------------------------------------------------------
// readUrlFeed: the whole feed every run (stored body reused on 304 / used-up budget).

/** What readUrlFeed keeps per URL source between reads. */
interface StoredFeedState {
  v: 1;
  etag?: string;
  lastModified?: string;
  /** The last good body, base64. */
  body?: string;
  /** When that body was fetched (epoch ms). */
  fetchedAt?: number;
  /** Times of the requests made inside the budget window. */
  requests: number[];
}

async function loadState(store: FeedStateStore | undefined, key: string): Promise<StoredFeedState> {
  const raw = store ? await store.get(key) : undefined;
  if (raw) {
    try {
      const s = JSON.parse(raw) as StoredFeedState;
      if (s && s.v === 1 && Array.isArray(s.requests)) return s;
    } catch {
      // A damaged state entry only costs one unconditional request.
    }
  }
  return { v: 1, requests: [] };
}

/** Reads one URL source, returning a body every time (the stored one on 304 or a used-up budget). */
export async function readUrlFeed(source: FeedSource, opts: ReadFeedOptions = {}): Promise<FeedReadResult> {
  if (!source.url) throw new FeedReadError(source.id, 'file', 'has neither url nor file');
  const now = opts.now ?? Date.now;
  const key = feedStateKey(source);
  const state = await loadState(opts.store, key);
  const save = async () => {
    if (opts.store) await opts.store.set(key, JSON.stringify(state));
  };
  const storedBody = state.body !== undefined ? new Uint8Array(Buffer.from(state.body, 'base64')) : undefined;

  const budget = checkBudget(source, state.requests, now());
  state.requests = budget.requests;
  if (budget.exhausted) {
    if (!storedBody || state.fetchedAt === undefined) throw new FeedReadError(source.id, 'budget', `${budget.exhausted} and no earlier body is stored to reuse`);
    await save();
    return {
      sourceId: source.id, bytes: storedBody, origin: 'budget-reuse', requests: 0, fetchedAt: state.fetchedAt,
      warnings: [`source "${source.id}": ${budget.exhausted}; reusing the body fetched at ${clock(state.fetchedAt)} without asking the server`],
    };
  }
  let answer: Answer;
  try {
    answer = await conditionalGet(source, storedBody ? state : undefined, opts);
  } catch (err) {
    await save(); // the request still counts against the budget
    throw err;
  }
  if (answer.status === 304) {
    if (!storedBody || state.fetchedAt === undefined) {
      await save();
      throw new FeedReadError(source.id, 'http', `${redactUrl(source.url)} answered 304 Not Modified but no earlier body is stored`, 304);
    }
    await save();
    return { sourceId: source.id, bytes: storedBody, origin: 'not-modified', requests: 1, fetchedAt: state.fetchedAt, warnings: [] };
  }
  const at = now();
  state.etag = answer.etag;
  state.lastModified = answer.lastModified;
  state.body = Buffer.from(answer.bytes).toString('base64');
  state.fetchedAt = at;
  await save();
  return { sourceId: source.id, bytes: answer.bytes, origin: 'fetched', requests: 1, fetchedAt: at, warnings: [] };
}

// ---------------------------------------------------------------------------------------------
// pollFeed: small state, "nothing new" without bytes.

/** What a poller keeps per source: validators, a hash of the last good body, request times. No body. */
export interface FeedPollState {
  etag?: string;
  lastModified?: string;
  /** SHA-256 (hex, 32 chars) of the last good body: a 200 with the same bytes is "unchanged" too. */
  bodyHash?: string;
  /** When the last good body was fetched (epoch ms). */
  fetchedAt?: number;
  /** Times of the requests made inside the budget window. */
  requests: number[];
}

export type FeedPollOrigin = 'fetched' | 'not-modified' | 'same-body' | 'budget-skip';

export interface FeedPollResult {
  sourceId: string;
  /** fetched: new bytes; not-modified: 304; same-body: 200 with the bytes of the last good poll; budget-skip: no request made. */
  origin: FeedPollOrigin;
  /** Only for origin 'fetched'. */
  bytes?: Uint8Array;
  requests: number;
  warnings: string[];
  /** Store this once the caller's own work on the bytes succeeded. */
  state: FeedPollState;
  /** Store this instead when the caller's work failed: the request counts, the validators stay as they were. */
  stateIfUnused: FeedPollState;
}

/** Reads a damaged or missing poll state as empty (it costs one unconditional request). */
export function toFeedPollState(value: unknown): FeedPollState {
  if (!value || typeof value !== 'object') return { requests: [] };
  const v = value as Record<string, unknown>;
  const s: FeedPollState = { requests: Array.isArray(v.requests) ? v.requests.filter((t): t is number => typeof t === 'number') : [] };
  if (typeof v.etag === 'string') s.etag = v.etag;
  if (typeof v.lastModified === 'string') s.lastModified = v.lastModified;
  if (typeof v.bodyHash === 'string') s.bodyHash = v.bodyHash;
  if (typeof v.fetchedAt === 'number') s.fetchedAt = v.fetchedAt;
  return s;
}

/**
 * One poll of a URL source. Conditional headers are sent only when the previous state has a body
 * hash (i.e. a poll was completed with those validators). Throws FeedReadError (with `pollState`)
 * on failure; a used-up budget is not a failure but origin 'budget-skip' with a warning.
 */
export async function pollFeed(source: FeedSource, previous: FeedPollState | undefined, opts: Omit<ReadFeedOptions, 'store'> = {}): Promise<FeedPollResult> {
  if (!source.url) throw new FeedReadError(source.id, 'file', 'has no url');
  const now = opts.now ?? Date.now;
  const prev = toFeedPollState(previous);
  const budget = checkBudget(source, prev.requests, now());
  const kept: FeedPollState = { ...prev, requests: budget.requests };
  if (budget.exhausted) {
    return { sourceId: source.id, origin: 'budget-skip', requests: 0, warnings: [`source "${source.id}": ${budget.exhausted}; skipped this poll without asking the server`], state: kept, stateIfUnused: kept };
  }
  let answer: Answer;
  try {
    answer = await conditionalGet(source, prev.bodyHash ? prev : undefined, opts);
  } catch (err) {
    if (err instanceof FeedReadError) err.pollState = kept;
    throw err;
  }
  if (answer.status === 304) {
    if (!prev.bodyHash) {
      const err = new FeedReadError(source.id, 'http', `${redactUrl(source.url)} answered 304 Not Modified to a request without validators`, 304);
      err.pollState = kept;
      throw err;
    }
    return { sourceId: source.id, origin: 'not-modified', requests: 1, warnings: [], state: kept, stateIfUnused: kept };
  }
  const bodyHash = sha256Hex(answer.bytes).slice(0, 32);
  const state: FeedPollState = { requests: budget.requests, bodyHash, fetchedAt: now() };
  if (answer.etag) state.etag = answer.etag;
  if (answer.lastModified) state.lastModified = answer.lastModified;
  if (bodyHash === prev.bodyHash) return { sourceId: source.id, origin: 'same-body', requests: 1, warnings: [], state, stateIfUnused: kept };
  return { sourceId: source.id, origin: 'fetched', bytes: answer.bytes, requests: 1, warnings: [], state, stateIfUnused: kept };
}

/** URLs of feeds often carry a secret token in the query: messages show only the origin and path. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}${u.search ? '?…' : ''}`;
  } catch {
    return url;
  }
}
