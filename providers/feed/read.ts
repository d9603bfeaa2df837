/**
 * Reading a source feed (ICS or JSON) from a file or an http(s) URL, politely and safely:
 *
 * - conditional GET: the ETag / Last-Modified of the last good answer are sent back
 *   (If-None-Match / If-Modified-Since); a 304 reuses the stored body;
 * - a request budget per source (CKalender allows 20 requests per hour and user): when it is used
 *   up, no request is made and the last good body is reused, with a warning saying so;
 * - size and time limits: a body over `maxBytes` or a request slower than `timeoutMs` is a failure;
 * - a failed or empty source is a FeedReadError, never "zero events": the sync then keeps that
 *   source's events on the target (policy.failedSources) instead of deleting them.
 *
 * State (validators, request times, the last good body) lives in an injectable FeedStateStore
 * (same get/set shape as the providers' sync-state stores), so the CLI can keep it in a file and
 * the bridge in its database.
 */
import type { KeyValueStore } from '../state';
import { readFile, stat } from 'node:fs/promises';

export interface FeedSource {
  /** Names the source in messages and state keys. */
  id: string;
  url?: string;
  /** Absolute path. */
  file?: string;
  headers?: Record<string, string>;
  budget?: { requests: number; perMinutes: number };
  /** Whole request including the body. Default 30 s. */
  timeoutMs?: number;
  /** Default 20 MB. */
  maxBytes?: number;
}

export type FeedStateStore = KeyValueStore;
export { MemoryKeyValueStore as MemoryFeedStateStore } from '../state';

/** What is kept per URL source between reads. */
interface FeedState {
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
  /** Injected for tests; default global fetch. */
  fetch?: typeof fetch;
  userAgent?: string;
}

export const DEFAULT_FEED_TIMEOUT_MS = 30_000;
export const DEFAULT_FEED_MAX_BYTES = 20 * 1024 * 1024;

const ACCEPT = 'text/calendar, application/json;q=0.9, */*;q=0.5';

export function feedStateKey(source: FeedSource): string {
  return `feed:${source.id}:${source.url ?? source.file ?? ''}`;
}

function isBlank(bytes: Uint8Array): boolean {
  for (const b of bytes) if (b !== 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d && b !== 0xef && b !== 0xbb && b !== 0xbf) return false;
  return true;
}

function clock(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Reads one source. Throws FeedReadError when it cannot deliver a non-empty body. */
export async function readFeed(source: FeedSource, opts: ReadFeedOptions = {}): Promise<FeedReadResult> {
  const now = opts.now ?? Date.now;
  const maxBytes = source.maxBytes ?? DEFAULT_FEED_MAX_BYTES;
  if (source.file !== undefined) return readFileSource(source, maxBytes, now());
  if (!source.url) throw new FeedReadError(source.id, 'file', 'has neither url nor file');
  return readUrlSource(source, opts, maxBytes, now);
}

async function readFileSource(source: FeedSource, maxBytes: number, at: number): Promise<FeedReadResult> {
  const file = source.file!;
  let bytes: Uint8Array;
  try {
    const st = await stat(file);
    if (st.size > maxBytes) throw new FeedReadError(source.id, 'too-large', `${file} is ${st.size} bytes, over the limit of ${maxBytes} (maxBytes)`);
    bytes = await readFile(file);
  } catch (err) {
    if (err instanceof FeedReadError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new FeedReadError(source.id, 'file', `cannot read ${file}: ${code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  if (isBlank(bytes)) throw new FeedReadError(source.id, 'empty', `${file} is empty`);
  return { sourceId: source.id, bytes, origin: 'file', requests: 0, fetchedAt: at, warnings: [] };
}

async function loadState(store: FeedStateStore | undefined, key: string): Promise<FeedState> {
  const raw = store ? await store.get(key) : undefined;
  if (raw) {
    try {
      const s = JSON.parse(raw) as FeedState;
      if (s && s.v === 1 && Array.isArray(s.requests)) return s;
    } catch {
      // A damaged state entry only costs one unconditional request.
    }
  }
  return { v: 1, requests: [] };
}

async function readUrlSource(source: FeedSource, opts: ReadFeedOptions, maxBytes: number, now: () => number): Promise<FeedReadResult> {
  const key = feedStateKey(source);
  const state = await loadState(opts.store, key);
  const save = async () => {
    if (opts.store) await opts.store.set(key, JSON.stringify(state));
  };
  const storedBody = state.body !== undefined ? new Uint8Array(Buffer.from(state.body, 'base64')) : undefined;
  const url = source.url!;

  // Budget: requests inside the sliding window.
  const startedAt = now();
  if (source.budget) {
    const windowMs = source.budget.perMinutes * 60_000;
    state.requests = state.requests.filter((t) => t > startedAt - windowMs && t <= startedAt);
    if (state.requests.length >= source.budget.requests) {
      const nextAt = Math.min(...state.requests) + windowMs;
      const limit = `request budget of ${source.budget.requests} per ${source.budget.perMinutes} min is used up (next request allowed at ${clock(nextAt)})`;
      if (!storedBody || state.fetchedAt === undefined) throw new FeedReadError(source.id, 'budget', `${limit} and no earlier body is stored to reuse`);
      await save();
      return {
        sourceId: source.id, bytes: storedBody, origin: 'budget-reuse', requests: 0, fetchedAt: state.fetchedAt,
        warnings: [`source "${source.id}": ${limit}; reusing the body fetched at ${clock(state.fetchedAt)} without asking the server`],
      };
    }
    state.requests.push(startedAt);
  }

  const headers: Record<string, string> = { accept: ACCEPT, 'user-agent': opts.userAgent ?? 'calendar-relay', ...(source.headers ?? {}) };
  if (storedBody) {
    if (state.etag) headers['if-none-match'] = state.etag;
    if (state.lastModified) headers['if-modified-since'] = state.lastModified;
  }
  const timeoutMs = source.timeoutMs ?? DEFAULT_FEED_TIMEOUT_MS;
  const ctrl = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    ctrl.abort();
  }, timeoutMs);
  const doFetch = opts.fetch ?? fetch;
  try {
    let res: Response;
    try {
      res = await doFetch(url, { headers, signal: ctrl.signal, redirect: 'follow' });
    } catch (err) {
      if (timedOut) throw new FeedReadError(source.id, 'timeout', `no answer from ${redactUrl(url)} within ${timeoutMs} ms (timeoutMs)`);
      const e = err as Error & { cause?: { code?: string; message?: string } };
      throw new FeedReadError(source.id, 'network', `cannot reach ${redactUrl(url)}: ${e.cause?.code ?? e.cause?.message ?? e.message}`);
    }
    if (res.status === 304) {
      await discard(res);
      if (!storedBody || state.fetchedAt === undefined) throw new FeedReadError(source.id, 'http', `${redactUrl(url)} answered 304 Not Modified but no earlier body is stored`, 304);
      await save();
      return { sourceId: source.id, bytes: storedBody, origin: 'not-modified', requests: 1, fetchedAt: state.fetchedAt, warnings: [] };
    }
    if (res.status < 200 || res.status >= 300) {
      await discard(res);
      const retryAfter = res.headers.get('retry-after');
      await save(); // the request still counts against the budget
      throw new FeedReadError(source.id, 'http', `${redactUrl(url)} answered HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}${retryAfter ? ` (Retry-After: ${retryAfter})` : ''}`, res.status);
    }
    const declared = Number(res.headers.get('content-length'));
    if (Number.isFinite(declared) && declared > maxBytes) {
      await discard(res);
      await save();
      throw new FeedReadError(source.id, 'too-large', `${redactUrl(url)} sends ${declared} bytes, over the limit of ${maxBytes} (maxBytes)`);
    }
    let bytes: Uint8Array;
    try {
      bytes = await readLimited(res, maxBytes);
    } catch (err) {
      await save();
      if (err instanceof BodyTooLarge) throw new FeedReadError(source.id, 'too-large', `${redactUrl(url)} sent more than the limit of ${maxBytes} bytes (maxBytes)`);
      if (timedOut) throw new FeedReadError(source.id, 'timeout', `body of ${redactUrl(url)} not complete within ${timeoutMs} ms (timeoutMs)`);
      throw new FeedReadError(source.id, 'network', `reading ${redactUrl(url)} failed: ${(err as Error).message}`);
    }
    if (isBlank(bytes)) {
      await save();
      throw new FeedReadError(source.id, 'empty', `${redactUrl(url)} answered HTTP ${res.status} with an empty body`, res.status);
    }
    const at = now();
    state.etag = res.headers.get('etag') ?? undefined;
    state.lastModified = res.headers.get('last-modified') ?? undefined;
    state.body = Buffer.from(bytes).toString('base64');
    state.fetchedAt = at;
    await save();
    return { sourceId: source.id, bytes, origin: 'fetched', requests: 1, fetchedAt: at, warnings: [] };
  } finally {
    clearTimeout(timer);
  }
}

class BodyTooLarge extends Error {}

async function readLimited(res: Response, maxBytes: number): Promise<Uint8Array> {
  if (!res.body) return new Uint8Array(await res.arrayBuffer());
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw new BodyTooLarge();
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}

async function discard(res: Response): Promise<void> {
  try {
    await res.body?.cancel();
  } catch {
    // Nothing to keep.
  }
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
