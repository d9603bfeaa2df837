/**
 * Google's JSON error envelope, exactly as the real API sends it:
 * {"error":{"errors":[{domain,reason,message,locationType?,location?}],"code","message"}}.
 */
import type { EmuResponse, FaultDecision } from '../types';

export interface GoogleErrorItem {
  domain: string;
  reason: string;
  message: string;
  locationType?: string;
  location?: string;
}

export function googleError(code: number, reason: string, message: string, extra: Partial<GoogleErrorItem> = {}, headers?: Record<string, string>): EmuResponse {
  const item: GoogleErrorItem = { domain: extra.domain ?? 'global', reason, message, ...extra };
  return { status: code, headers, body: { error: { errors: [item], code, message } } };
}

export const notFound = () => googleError(404, 'notFound', 'Not Found');
export const badRequest = (message: string, location?: string) =>
  googleError(400, 'invalid', message, location ? { locationType: 'parameter', location } : {});
export const required = (field: string) => googleError(400, 'required', 'Missing required field: ' + field);

/** Fault decisions in Google's words. */
export function googleFaultResponse(d: FaultDecision): EmuResponse {
  switch (d.kind) {
    case 'throttle':
      if (d.status === 429) return googleError(429, 'rateLimitExceeded', 'Rate Limit Exceeded', { domain: 'usageLimits' });
      if (d.reason === 'userRateLimitExceeded' || d.limit === 'concurrency') {
        return googleError(403, 'userRateLimitExceeded', 'User Rate Limit Exceeded', { domain: 'usageLimits' });
      }
      return googleError(403, 'rateLimitExceeded', 'Rate Limit Exceeded', { domain: 'usageLimits' });
    case 'quota':
      return googleError(403, 'quotaExceeded', 'Calendar usage limits exceeded.', { domain: 'usageLimits' });
    case 'error':
      if (d.status === 500) return googleError(500, 'backendError', 'Backend Error');
      if (d.status === 503) return googleError(503, 'backendError', 'The service is currently unavailable.');
      return { status: d.status, headers: { 'Content-Type': 'text/html; charset=UTF-8' }, body: `<html><body>Error ${d.status}</body></html>` };
    case 'tokenExpired':
      return unauthorized();
    default:
      return googleError(500, 'backendError', 'Backend Error');
  }
}

export function unauthorized(): EmuResponse {
  return googleError(401, 'authError', 'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.', { locationType: 'header', location: 'Authorization' }, { 'WWW-Authenticate': 'Bearer realm="https://accounts.google.com/"' });
}
