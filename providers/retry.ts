/**
 * Retry timing, in one place: Retry-After parsing, exponential backoff with full jitter, and the
 * read-retry wrapper every provider puts over its HttpPort (writes are retried by applyPlan only).
 * Randomness, sleeping and the clock are injected so tests are deterministic and no code sleeps on
 * its own.
 */
import type { HttpPort, HttpResponse } from './port';
import { TransportError } from './port';
import { AbortedError } from './aborted';
import { platformSleep } from './platform-sleep';

export interface RetryPolicy {
  /** Retries after the first attempt (default 5). */
  maxRetries?: number;
  /** First backoff ceiling in ms (default 1000); doubles per retry. */
  baseDelayMs?: number;
  /** Largest backoff ceiling in ms (default 32000). */
  maxDelayMs?: number;
  /** A Retry-After longer than this is not waited for: the op fails now (default 120000). Google quotaExceeded-style waits of hours belong to the next run. */
  maxRetryAfterMs?: number;
}

export const DEFAULT_RETRY_POLICY: Required<RetryPolicy> = {
  maxRetries: 5,
  baseDelayMs: 1000,
  maxDelayMs: 32_000,
  maxRetryAfterMs: 120_000,
};

export function resolveRetryPolicy(p: RetryPolicy | undefined): Required<RetryPolicy> {
  return { ...DEFAULT_RETRY_POLICY, ...Object.fromEntries(Object.entries(p ?? {}).filter(([, v]) => v !== undefined)) };
}

/**
 * Milliseconds to wait according to a Retry-After header value (RFC 9110 §10.2.3): delay-seconds
 * ("120"; Graph also sends fractional seconds like "2.128") or an HTTP-date (any form Date.parse
 * reads: IMF-fixdate, RFC 850, asctime). A date in the past gives 0. Unparseable → undefined.
 */
export function parseRetryAfter(value: string | undefined | null, nowMs: number): number | undefined {
  if (value === undefined || value === null) return undefined;
  const v = value.trim();
  if (v === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  if (/^-/.test(v) || /^[\d.]+$/.test(v)) return undefined;
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}

/** Full-jitter backoff (AWS architecture blog): uniform in [0, min(max, base · 2^retry)). `retry` counts from 0. */
export function backoffDelay(retry: number, policy: RetryPolicy | undefined, random: () => number = Math.random): number {
  const p = resolveRetryPolicy(policy);
  const ceiling = Math.min(p.maxDelayMs, p.baseDelayMs * 2 ** Math.max(0, retry));
  return Math.floor(random() * ceiling);
}

/**
 * How long to wait before retrying a set of failed requests/ops: the largest Retry-After among
 * them when any carries one (the server said so), else full-jitter backoff.
 */
export function retryDelay(retryAfters: Array<number | undefined>, retry: number, policy: RetryPolicy | undefined, random: () => number = Math.random): number {
  const given = retryAfters.filter((x): x is number => typeof x === 'number' && Number.isFinite(x) && x >= 0);
  if (given.length) return Math.max(...given);
  return backoffDelay(retry, policy, random);
}

/** Statuses that mean "try again later" for an idempotent request. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status === 500 || status === 502 || status === 503 || status === 504;
}

export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

export { AbortedError };

/** setTimeout-based sleep that ends early (rejecting with AbortedError) when `signal` aborts (n8n node bundles: n8n's sleep). */
export const realSleep: Sleep = platformSleep;

/** Google's "slow down" reasons on 403 (per-user/per-project rate limits, seconds to clear); quotaExceeded/dailyLimitExceeded last hours and are not retried. */
const GOOGLE_RATE_LIMIT_REASONS = new Set(['rateLimitExceeded', 'userRateLimitExceeded']);

/** The first `error.errors[].reason` of a Google error body, if any. */
function googleReason(body: string): string | undefined {
  if (!body || body[0] !== '{') return undefined;
  try {
    const j = JSON.parse(body) as { error?: { errors?: Array<{ reason?: string }>; status?: string } };
    return j.error?.errors?.[0]?.reason;
  } catch {
    return undefined;
  }
}

/** Whether a read's answer means "try again soon": 408/429/5xx, and Google's 403 rate limits. */
export function isRetryableRead(res: HttpResponse): boolean {
  if (isRetryableStatus(res.status)) return true;
  return res.status === 403 && GOOGLE_RATE_LIMIT_REASONS.has(googleReason(res.body) ?? '');
}

export interface ReadRetryOptions extends RetryPolicy {
  sleep?: Sleep;
  random?: () => number;
  /** Clock for HTTP-date Retry-After values. Default Date.now. */
  now?: () => number;
}

const READ_RETRIES = Symbol('calendar-relay.readRetries');

/**
 * Retries reads (GET) sent through `port` when they answer isRetryableRead or no answer arrives
 * (TransportError): after the server's Retry-After (Graph 429/503 send one; fractional seconds or
 * an HTTP date), else full-jitter backoff. A Retry-After beyond `maxRetryAfterMs`, or running out
 * of retries, returns the last answer (or rethrows) for the caller to report. Writes pass through
 * untouched. Wrapping an already wrapped port returns it as is; `false` disables.
 */
export function withReadRetries(port: HttpPort, opts: ReadRetryOptions | false = {}): HttpPort {
  if (opts === false || (port as { [READ_RETRIES]?: true })[READ_RETRIES]) return port;
  const policy = resolveRetryPolicy(opts);
  const sleep = opts.sleep ?? realSleep;
  const random = opts.random ?? Math.random;
  const now = opts.now ?? Date.now;
  const retrying: HttpPort = async (req) => {
    if (req.method !== 'GET') return port(req);
    for (let retry = 0; ; retry++) {
      let res: HttpResponse | undefined;
      let err: unknown;
      try {
        res = await port(req);
      } catch (e) {
        if (!(e instanceof TransportError)) throw e;
        err = e;
      }
      const again = res ? isRetryableRead(res) : true;
      if (!again || retry >= policy.maxRetries) {
        if (res) return res;
        throw err;
      }
      const after = res ? parseRetryAfter(res.headers['retry-after'], now()) : undefined;
      if (after !== undefined && after > policy.maxRetryAfterMs) return res!; // not worth waiting in-process
      await sleep(retryDelay([after], retry, policy, random));
    }
  };
  return Object.assign(retrying, { [READ_RETRIES]: true as const });
}
