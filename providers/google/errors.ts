/**
 * Google error envelopes → ProviderError, the one place that decides what is retryable and how far
 * a failure reaches. The provider never sleeps: providers/apply.ts backs off using these fields.
 */
import { ProviderError } from '../port';
import { parseRetryAfter } from '../retry';

export interface GoogleErrorInfo {
  status: number;
  reason?: string;
  domain?: string;
  message: string;
}

/** Reads `{"error":{"errors":[{domain,reason,message}],code,message}}` (or anything else). */
export function readGoogleError(status: number, body: string): GoogleErrorInfo {
  try {
    const j = JSON.parse(body) as { error?: { errors?: Array<{ reason?: string; domain?: string; message?: string }>; message?: string; status?: string } | string; error_description?: string };
    if (j.error && typeof j.error === 'object') {
      const first = j.error.errors?.[0];
      return { status, reason: first?.reason ?? j.error.status, domain: first?.domain, message: j.error.message ?? first?.message ?? `HTTP ${status}` };
    }
    if (typeof j.error === 'string') return { status, reason: j.error, message: j.error_description ?? j.error };
  } catch { /* not JSON */ }
  const text = body.trim().slice(0, 200);
  return { status, message: text ? `HTTP ${status}: ${text}` : `HTTP ${status}` };
}

/** Retry-After → milliseconds: the one parser, providers/retry.ts (re-exported under its name). */
export { parseRetryAfter } from '../retry';

const RATE_LIMIT = new Set(['rateLimitExceeded', 'userRateLimitExceeded']);
const QUOTA = new Set(['quotaExceeded', 'dailyLimitExceeded']);
const NO_ACCESS = new Set(['forbidden', 'requiredAccessLevel', 'insufficientPermissions', 'accessNotConfigured', 'domainPolicy']);

/**
 * `what` names the request for the message, e.g. "insert event abc in room@x"; `nowMs` is the
 * caller's clock (for HTTP-date Retry-After values; the provider passes its injected one).
 * - 403/429 rate limits, 408, 5xx → retryable (exponential backoff; Google sends no Retry-After,
 *   but one that arrives is honoured)
 * - 403 quotaExceeded → scope 'calendar', not retryable (Calendar usage limits last hours)
 * - 403 without access → scope 'calendar'; 401 → scope 'auth'
 */
export function googleProviderError(status: number, body: string, headers: Record<string, string>, what: string, nowMs: number = Date.now()): ProviderError {
  const info = readGoogleError(status, body);
  const code = info.reason ?? String(status);
  const message = `${what}: ${status} ${info.reason ? `${info.reason} — ` : ''}${info.message}`;
  const retryAfterMs = parseRetryAfter(headers['retry-after'], nowMs);
  const base = { status, code, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
  if (status === 401) return new ProviderError(message, { ...base, retryable: false, scope: 'auth' });
  if (status === 429 || (status === 403 && RATE_LIMIT.has(code))) return new ProviderError(message, { ...base, retryable: true, scope: 'op' });
  if (status === 403 && QUOTA.has(code)) return new ProviderError(message, { ...base, retryable: false, scope: 'calendar' });
  if (status === 403 && NO_ACCESS.has(code)) return new ProviderError(message, { ...base, retryable: false, scope: 'calendar' });
  if (status === 408 || status >= 500 || status === 0) return new ProviderError(message, { ...base, retryable: true, scope: 'op' });
  return new ProviderError(message, { ...base, retryable: false, scope: 'op' });
}
