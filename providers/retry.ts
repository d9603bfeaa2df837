/**
 * Retry timing, in one place: Retry-After parsing and exponential backoff with full jitter.
 * Randomness and sleeping are injected so tests are deterministic and no code sleeps on its own.
 */

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

export class AbortedError extends Error {
  constructor(message = 'aborted') {
    super(message);
    this.name = 'AbortedError';
  }
}

/** setTimeout-based sleep that ends early (rejecting with AbortedError) when `signal` aborts. */
export const realSleep: Sleep = (ms, signal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(new AbortedError());
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, Math.max(0, ms));
    const onAbort = () => {
      clearTimeout(t);
      reject(new AbortedError());
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
