/**
 * The contract between the emulator's HTTP server (emulator/server.ts), its fault-injection and
 * observation layer (emulator/faults.ts, emulator/log.ts) and the API modules
 * (emulator/google/, emulator/graph/). The server parses a request once, asks the fault layer
 * whether to interfere, then hands it to the first API module that claims it. Batch endpoints
 * re-enter `dispatch` for each part so faults and counters apply per inner request.
 */

export interface EmuRequest {
  method: string;
  /** Path without the query string, percent-decoded per segment by the module that needs it. */
  path: string;
  query: URLSearchParams;
  /** Lower-cased header names. */
  headers: Record<string, string>;
  body: Buffer;
  /** True for a request that arrived inside a batch (Google multipart or Graph $batch). */
  inBatch?: boolean;
}

export interface EmuResponse {
  status: number;
  headers?: Record<string, string>;
  /** Objects are sent as JSON; strings/Buffers as given. */
  body?: unknown;
}

/** What the fault layer decided for one request. API modules turn it into their own envelope. */
export type FaultDecision =
  | { kind: 'none' }
  /** Google: 403 rateLimitExceeded / 429; Graph: 429 with Retry-After (seconds, may be fractional). */
  | {
      kind: 'throttle';
      status?: 403 | 429;
      retryAfter?: string;
      reason?: string;
      /** Set when a modelled limit (not a script) produced it: the sliding request window or the
       * concurrent-request cap. Graph answers both with 429 ApplicationThrottled; Google with 403
       * rateLimitExceeded (rate) / userRateLimitExceeded. */
      limit?: 'rate' | 'concurrency';
    }
  | { kind: 'quota' }
  | { kind: 'error'; status: 500 | 502 | 503 | 504 }
  | { kind: 'reset' }
  | { kind: 'delay'; ms: number }
  | { kind: 'tokenExpired' };

/** Which API a request belongs to, and the calendar/mailbox it addresses (for scoped faults). */
export interface RequestScope {
  api: 'google' | 'graph' | 'oauth' | 'directory';
  /** Google calendarId or Graph mailbox (user id / UPN), lower-cased; undefined when n/a. */
  target?: string;
  /** A short name of the operation: 'list', 'insert', 'patch', 'delete', 'batch', 'delta', … */
  kind: string;
  /** Whose request budget the modelled rate limit charges, when that is not `target`: Google's
   * quota is per user (the access token's subject), not per calendar. */
  quotaKey?: string;
  /** Optional route pattern for the request log, e.g. "/calendar/v3/calendars/{calendarId}/events".
   * When absent the log uses "api:kind". */
  route?: string;
}

export interface ApiModule {
  readonly name: string;
  /** Returns the scope when this module serves the request, or undefined. */
  claim(req: EmuRequest): RequestScope | undefined;
  /** Serves a claimed request. `fault` is the fault layer's decision (not 'none'/'delay'/'reset'). */
  handle(req: EmuRequest, scope: RequestScope, ctx: EmuContext): Promise<EmuResponse>;
  /** Formats an injected fault in this API's own error envelope. */
  faultResponse(decision: FaultDecision, scope: RequestScope): EmuResponse;
  /** Drops all stored state. */
  reset(): void;
}

export interface EmuContext {
  /** The emulator's clock (tests can move it). */
  now(): number;
  /** Serve an inner request of a batch through the full pipeline (faults, limits, log). */
  dispatch(req: EmuRequest): Promise<EmuResponse>;
  /** Base URL the server is reachable at, e.g. "http://127.0.0.1:4010". */
  baseUrl: string;
  /** Batch handlers report their part count here (request log: batch count and sizes). */
  recordBatch(parts: number): void;
}
