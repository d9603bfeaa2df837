/**
 * Graph JSON batching (`POST /v1.0/$batch`) and Graph error → ProviderError mapping.
 *
 * Facts this relies on (Microsoft Graph "Combine multiple requests in one HTTP call"):
 * - at most 20 requests; ids unique within the batch (a duplicate fails the whole batch with 400);
 * - `url` is relative to the version root ("/users/x/events"); a body needs a Content-Type header;
 * - responses may arrive in any order, each with its own `id`, `status`, `headers`, `body`;
 * - a request whose `dependsOn` target failed comes back 424 Failed Dependency;
 * - throttled items come back 429 with their own Retry-After (seconds, possibly fractional);
 * - requests inside a batch are not retried by anyone but us (providers/apply.ts).
 */
import { ProviderError, type HttpMethod } from '../port';
import { parseRetryAfter } from '../retry';

export const MAX_BATCH_REQUESTS = 20;

export interface BatchRequestItem {
  id: string;
  method: HttpMethod;
  /** Relative to the version root, starting with "/". */
  url: string;
  headers?: Record<string, string>;
  body?: unknown;
  dependsOn?: string[];
}

export interface BatchResponseItem {
  id: string;
  status: number;
  /** Lower-cased header names. */
  headers: Record<string, string>;
  body: unknown;
}

export class BatchFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BatchFormatError';
  }
}

/** The JSON body of a $batch request. Throws BatchFormatError on >20 items, duplicate ids, bad urls, unknown dependsOn. */
export function buildBatchBody(items: BatchRequestItem[]): string {
  if (items.length === 0) throw new BatchFormatError('a $batch needs at least one request');
  if (items.length > MAX_BATCH_REQUESTS) throw new BatchFormatError(`a $batch holds at most ${MAX_BATCH_REQUESTS} requests, got ${items.length}`);
  const ids = new Set<string>();
  for (const item of items) {
    if (ids.has(item.id)) throw new BatchFormatError(`request id "${item.id}" appears twice in one $batch`);
    ids.add(item.id);
    if (!item.url.startsWith('/')) throw new BatchFormatError(`request "${item.id}": url "${item.url}" must be relative to the version root and start with "/"`);
  }
  const requests = items.map((item) => {
    const req: Record<string, unknown> = { id: item.id, method: item.method, url: item.url };
    const headers = { ...(item.headers ?? {}) };
    if (item.body !== undefined) {
      req.body = item.body;
      if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['Content-Type'] = 'application/json';
    }
    if (Object.keys(headers).length) req.headers = headers;
    if (item.dependsOn?.length) {
      for (const dep of item.dependsOn) {
        if (!ids.has(dep)) throw new BatchFormatError(`request "${item.id}" depends on unknown request "${dep}"`);
      }
      req.dependsOn = item.dependsOn;
    }
    return req;
  });
  return JSON.stringify({ requests });
}

function lowerHeaders(h: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (h && typeof h === 'object') {
    for (const [k, v] of Object.entries(h as Record<string, unknown>)) out[k.toLowerCase()] = String(v);
  }
  return out;
}

/**
 * Parses a $batch response body into items keyed by id. Responses are matched by id, never by
 * position. Ids we did not send are ignored; ids we sent that are missing are absent from the map
 * (the caller decides what a missing answer means).
 */
export function parseBatchResponse(text: string, sentIds: Iterable<string>): Map<string, BatchResponseItem> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new BatchFormatError(`$batch response is not JSON: ${text.slice(0, 120)}`);
  }
  const responses = (parsed as { responses?: unknown })?.responses;
  if (!Array.isArray(responses)) throw new BatchFormatError('$batch response has no "responses" array');
  const wanted = new Set(sentIds);
  const out = new Map<string, BatchResponseItem>();
  for (const r of responses as Record<string, unknown>[]) {
    const id = String(r?.id ?? '');
    if (!wanted.has(id) || out.has(id)) continue;
    const headers = lowerHeaders(r.headers);
    let body: unknown = r.body;
    // Non-JSON bodies come base64-encoded; JSON ones may arrive as a string in some gateways.
    if (typeof body === 'string' && (headers['content-type'] ?? '').includes('json')) {
      try {
        body = JSON.parse(body);
      } catch {
        /* keep the string */
      }
    }
    out.set(id, { id, status: Number(r.status), headers, body });
  }
  return out;
}

/** Retry-After in milliseconds: the one parser, providers/retry.ts (kept under this name for callers). */
export const retryAfterMs = parseRetryAfter;

/** Graph's `{error:{code,message}}` envelope, tolerant of anything else. */
export function graphErrorOf(body: unknown): { code?: string; message?: string } {
  let b = body;
  if (typeof b === 'string') {
    try {
      b = JSON.parse(b);
    } catch {
      return { message: (body as string).slice(0, 200) || undefined };
    }
  }
  const err = (b as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  if (!err || typeof err !== 'object') return {};
  return {
    code: typeof err.code === 'string' ? err.code : undefined,
    message: typeof err.message === 'string' ? err.message : undefined,
  };
}

// Graph answers a missing or unlicensed mailbox with these codes: nothing in that calendar can work.
const MAILBOX_CODES = new Set(['ErrorInvalidUser', 'MailboxNotEnabledForRESTAPI', 'MailboxNotSupportedForRESTAPI', 'ResourceNotFound', 'ErrorNonExistentMailbox']);

/**
 * A Graph error response as a ProviderError:
 * - 429 and 500/502/503/504 → retryable, with Retry-After when sent;
 * - 409 (ErrorIrresolvableConflict: another writer changed the item meanwhile) → retryable;
 * - 424 (a dependsOn request failed) → retryable;
 * - 412 (If-Match etag no longer current) → not retryable: the event changed since we read it,
 *   the next run re-reads and re-plans;
 * - 401 → scope 'auth'; 403 (ErrorAccessDenied, application access policy) and an unknown
 *   mailbox → scope 'calendar'; anything else → this op only, not retryable.
 */
export function providerErrorFrom(status: number, headers: Record<string, string>, body: unknown, what: string, nowMs: number): ProviderError {
  const { code, message } = graphErrorOf(body);
  const text = `${what}: HTTP ${status}${code ? ` ${code}` : ''}${message ? ` — ${message}` : ''}`;
  const retryAfter = retryAfterMs(headers['retry-after'], nowMs);
  const base = { status, code: code ?? `http${status}` };
  if (status === 429 || status === 500 || status === 502 || status === 503 || status === 504) {
    return new ProviderError(text, { ...base, retryable: true, retryAfterMs: retryAfter, scope: 'op' });
  }
  if (status === 409 || status === 424) return new ProviderError(text, { ...base, retryable: true, retryAfterMs: retryAfter, scope: 'op' });
  if (status === 401) return new ProviderError(text, { ...base, retryable: false, scope: 'auth' });
  if (status === 403) return new ProviderError(text, { ...base, retryable: false, scope: 'calendar' });
  if (code && MAILBOX_CODES.has(code)) return new ProviderError(text, { ...base, retryable: false, scope: 'calendar' });
  return new ProviderError(text, { ...base, retryable: false, scope: 'op' });
}
