/**
 * Microsoft identity platform token sources for Graph, used by the bridge and CLI (n8n brings its
 * own authenticated HttpPort):
 * - app-only: OAuth 2.0 client credentials (`scope=https://graph.microsoft.com/.default`), the
 *   usual way to write into room mailboxes (application permission Calendars.ReadWrite);
 * - delegated: a refresh token obtained elsewhere (n8n's OAuth2 credential, a CLI login), rotated
 *   on every refresh (AAD returns a new refresh token; `onRefreshToken` persists it).
 * Tokens are cached until shortly before they expire; concurrent callers share one request.
 * `invalidate()` drops the cache (after a 401), so the next getToken fetches a fresh one.
 */
import { ProviderError, type HttpPort, type TokenSource } from '../port';
import { retryAfterMs } from './batch';

export type { TokenSource };

export const DEFAULT_AUTHORITY = 'https://login.microsoftonline.com';
export const GRAPH_DEFAULT_SCOPE = 'https://graph.microsoft.com/.default';

interface CommonOptions {
  http: HttpPort;
  /** Directory (tenant) id or domain; 'common'/'organizations' for delegated multi-tenant apps. */
  tenantId: string;
  clientId: string;
  /** Default https://login.microsoftonline.com (the emulator's base URL in tests). */
  authority?: string;
  /** Refresh this long before `expires_in` runs out. Default 5 minutes. */
  expirySkewMs?: number;
  /** Clock, for tests. Default Date.now. */
  now?: () => number;
}

export interface ClientCredentialsOptions extends CommonOptions {
  clientSecret: string;
  /** Default https://graph.microsoft.com/.default (client credentials need a /.default scope). */
  scope?: string;
}

export interface RefreshTokenOptions extends CommonOptions {
  refreshToken: string;
  /** Confidential clients send their secret; public clients leave it out. */
  clientSecret?: string;
  /** Default "https://graph.microsoft.com/.default offline_access". */
  scope?: string;
  /** Called with each rotated refresh token so the caller can store it. */
  onRefreshToken?: (refreshToken: string) => void | Promise<void>;
}

interface TokenResponse {
  access_token?: string;
  expires_in?: number | string;
  refresh_token?: string;
  error?: string;
  error_description?: string;
}

/** A token source that caches a bearer token until `expires_in` minus the skew. */
class CachingTokenSource implements TokenSource {
  private token?: string;
  private expiresAt = 0;
  private inflight?: Promise<string>;

  constructor(
    private readonly fetchToken: () => Promise<{ token: string; expiresInS: number }>,
    private readonly now: () => number,
    private readonly skewMs: number,
  ) {}

  getToken(): Promise<string> {
    if (this.token && this.now() < this.expiresAt) return Promise.resolve(this.token);
    if (!this.inflight) {
      this.inflight = this.fetchToken()
        .then(({ token, expiresInS }) => {
          this.token = token;
          // Short-lived tokens (tests) still get half their lifetime rather than none.
          const lifeMs = expiresInS * 1000;
          this.expiresAt = this.now() + Math.max(lifeMs - this.skewMs, lifeMs / 2);
          return token;
        })
        .finally(() => {
          this.inflight = undefined;
        });
    }
    return this.inflight;
  }

  invalidate(): void {
    this.token = undefined;
    this.expiresAt = 0;
  }
}

async function requestToken(opts: CommonOptions, form: Record<string, string>): Promise<TokenResponse & { access_token: string }> {
  const url = `${(opts.authority ?? DEFAULT_AUTHORITY).replace(/\/+$/, '')}/${encodeURIComponent(opts.tenantId)}/oauth2/v2.0/token`;
  const res = await opts.http({
    method: 'POST',
    url,
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
    body: new URLSearchParams(form).toString(),
  });
  let body: TokenResponse = {};
  try {
    body = JSON.parse(res.body) as TokenResponse;
  } catch {
    /* handled below */
  }
  if (res.status >= 200 && res.status < 300 && typeof body.access_token === 'string') {
    return body as TokenResponse & { access_token: string };
  }
  const what = `Microsoft token request for client ${opts.clientId} (tenant ${opts.tenantId})`;
  const detail = body.error ? `${body.error}: ${(body.error_description ?? '').split(/\r?\n/)[0]}` : res.body.slice(0, 200);
  const retryable = res.status === 429 || res.status >= 500;
  throw new ProviderError(`${what} failed: HTTP ${res.status} ${detail}`, {
    status: res.status,
    code: body.error ?? `http${res.status}`,
    retryable,
    retryAfterMs: retryable ? retryAfterMs(res.headers['retry-after'], (opts.now ?? Date.now)()) : undefined,
    // Bad secret, unknown app, revoked grant: no request can succeed until the credentials change.
    scope: retryable ? 'op' : 'auth',
  });
}

function expiresIn(body: TokenResponse): number {
  const n = Number(body.expires_in);
  return Number.isFinite(n) && n > 0 ? n : 3600;
}

/** App-only token source (client credentials grant). */
export function clientCredentialsTokenSource(opts: ClientCredentialsOptions): Required<TokenSource> {
  const now = opts.now ?? Date.now;
  return new CachingTokenSource(async () => {
    const body = await requestToken(opts, {
      grant_type: 'client_credentials',
      client_id: opts.clientId,
      client_secret: opts.clientSecret,
      scope: opts.scope ?? GRAPH_DEFAULT_SCOPE,
    });
    return { token: body.access_token, expiresInS: expiresIn(body) };
  }, now, opts.expirySkewMs ?? 5 * 60_000);
}

/** Delegated token source (refresh token grant); follows refresh-token rotation. */
export function refreshTokenSource(opts: RefreshTokenOptions): Required<TokenSource> {
  const now = opts.now ?? Date.now;
  let refreshToken = opts.refreshToken;
  return new CachingTokenSource(async () => {
    const form: Record<string, string> = {
      grant_type: 'refresh_token',
      client_id: opts.clientId,
      refresh_token: refreshToken,
      scope: opts.scope ?? `${GRAPH_DEFAULT_SCOPE} offline_access`,
    };
    if (opts.clientSecret !== undefined) form.client_secret = opts.clientSecret;
    const body = await requestToken(opts, form);
    if (body.refresh_token && body.refresh_token !== refreshToken) {
      refreshToken = body.refresh_token;
      await opts.onRefreshToken?.(refreshToken);
    }
    return { token: body.access_token, expiresInS: expiresIn(body) };
  }, now, opts.expirySkewMs ?? 5 * 60_000);
}


/** Bearer wrapper shared by both providers (providers/http.ts). */
export { withBearerToken } from '../http';
