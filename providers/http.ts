/**
 * A fetch-based HttpPort for the CLI, the bridge and tests (n8n nodes supply their own port built
 * on the n8n request helpers).
 *
 * - Resolves for every HTTP status; rejects with TransportError only when no response arrived
 *   (connection error, timeout) — the port contract in providers/port.ts.
 * - Bearer token from a TokenSource (same shape as the Google/Graph token sources); a 401
 *   invalidates it and the request is sent once more with a fresh token (a 401 means the request
 *   was not executed, so repeating it is safe for any method). With `tokenOrigins` the token is
 *   sent only to those origins.
 * - No retries by default: the providers retry their reads themselves (providers/retry.ts
 *   withReadRetries, over whatever port they are given), so a retrying port here would retry
 *   twice. `retryReads` (kept for callers that use this port without a provider) applies the same
 *   wrapper. Writes are NEVER retried here: applyPlan retries only the failed ops of a batch,
 *   where it knows they are idempotent.
 */
import type { HttpPort, HttpRequest, HttpResponse, TokenSource } from './port';
import { TransportError } from './port';
import type { RetryPolicy, Sleep } from './retry';
import { withReadRetries } from './retry';

export type { TokenSource } from './port';

/**
 * The bare transport: one fetch per request, every status resolved, TransportError when no
 * response arrived (connection error or no response within `timeoutMs`). No auth, no retries.
 */
export function fetchTransport(opts: { timeoutMs?: number; fetch?: typeof fetch } = {}): HttpPort {
  const doFetch = opts.fetch ?? fetch;
  const timeoutMs = opts.timeoutMs ?? 60_000;
  return async (req: HttpRequest): Promise<HttpResponse> => {
    const ctrl = new AbortController();
    const timer = setTimeout(() => ctrl.abort(), timeoutMs);
    try {
      const res = await doFetch(req.url, { method: req.method, headers: { ...(req.headers ?? {}) }, body: req.body as string | Uint8Array | undefined, signal: ctrl.signal });
      const out: Record<string, string> = {};
      res.headers.forEach((v, k) => {
        out[k.toLowerCase()] = v;
      });
      return { status: res.status, headers: out, body: await res.text() };
    } catch (e) {
      const err = e as Error & { cause?: { code?: string } };
      const timedOut = ctrl.signal.aborted;
      throw new TransportError(`${req.method} ${req.url}: ${timedOut ? `no response within ${timeoutMs} ms` : `${err.message}${err.cause?.code ? ` (${err.cause.code})` : ''}`}`, timedOut ? 'ETIMEDOUT' : err.cause?.code ?? err.name);
    } finally {
      clearTimeout(timer);
    }
  };
}

/**
 * Adds `Authorization: Bearer …` from `tokens` to requests sent through `inner` — only to
 * `origins` when given, so a token never leaks to another host. A 401 invalidates the token and
 * the request is sent once more with a fresh one (a 401 means it was not executed, so repeating
 * is safe for any method); a second 401 is returned as is.
 */
export function withBearerToken(inner: HttpPort, tokens: TokenSource, opts: { origins?: string[] } = {}): HttpPort {
  const origins = opts.origins ? new Set(opts.origins.map((o) => new URL(o).origin)) : undefined;
  return async (req) => {
    if (origins && !origins.has(new URL(req.url).origin)) return inner(req);
    const send = async () => inner({ ...req, headers: { ...(req.headers ?? {}), authorization: `Bearer ${await tokens.getToken()}` } });
    const res = await send();
    if (res.status !== 401) return res;
    tokens.invalidate?.();
    return send();
  };
}

export interface FetchHttpPortOptions {
  token?: TokenSource;
  /** Origins (e.g. "https://graph.microsoft.com") the token may be sent to; default: every origin. */
  tokenOrigins?: string[];
  /** Per attempt (default 60 s). */
  timeoutMs?: number;
  /**
   * Retry GETs here too (providers/retry.ts withReadRetries). Default: no retries — the providers
   * retry their reads themselves; set this only when using the port without a provider.
   */
  retryReads?: RetryPolicy;
  /** Injected for tests. */
  fetch?: typeof fetch;
  sleep?: Sleep;
  random?: () => number;
  now?: () => number;
}

export function createFetchHttpPort(opts: FetchHttpPortOptions = {}): HttpPort {
  const transport = fetchTransport({ timeoutMs: opts.timeoutMs, fetch: opts.fetch });
  const authed = opts.token ? withBearerToken(transport, opts.token, { origins: opts.tokenOrigins }) : transport;
  if (!opts.retryReads) return authed;
  return withReadRetries(authed, { ...opts.retryReads, ...(opts.sleep ? { sleep: opts.sleep } : {}), ...(opts.random ? { random: opts.random } : {}), ...(opts.now ? { now: opts.now } : {}) });
}
