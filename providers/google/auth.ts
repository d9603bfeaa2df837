/**
 * Google OAuth access tokens for the bridge and CLI (n8n supplies its own authenticated requests):
 * - service account: an RS256-signed JWT (`iss` = client email, `sub` = the impersonated user for
 *   domain-wide delegation, `scope`, `aud` = token URL) exchanged at the token endpoint
 *   (grant_type jwt-bearer);
 * - OAuth refresh token: grant_type refresh_token with the client id/secret.
 * A TokenSource caches the token until shortly before expiry, shares one in-flight fetch between
 * concurrent callers, and drops the cache on `invalidate()` (called after a 401).
 */
import { createSign } from 'node:crypto';
import type { HttpPort, HttpResponse, TokenSource } from '../port';
import { ProviderError } from '../port';

export const GOOGLE_TOKEN_URL = 'https://oauth2.googleapis.com/token';
export const CALENDAR_SCOPE = 'https://www.googleapis.com/auth/calendar';
export const DIRECTORY_RESOURCE_SCOPE = 'https://www.googleapis.com/auth/admin.directory.resource.calendar.readonly';

export type { TokenSource };

export interface ServiceAccountCredentials {
  clientEmail: string;
  /** PEM PKCS#8 private key (the key file's `private_key`). */
  privateKey: string;
  privateKeyId?: string;
  /** User to impersonate (domain-wide delegation), e.g. an admin for room access. */
  subject?: string;
  scopes: string[];
  /** Token endpoint; default the key file's token_uri or GOOGLE_TOKEN_URL. Also the JWT `aud`. */
  tokenUrl?: string;
}

/** Reads a Google service-account key file (JSON) into credentials. */
export function serviceAccountFromKeyFile(json: string | Record<string, unknown>, scopes: string[], subject?: string): ServiceAccountCredentials {
  const k = (typeof json === 'string' ? JSON.parse(json) : json) as Record<string, unknown>;
  if (typeof k.client_email !== 'string' || typeof k.private_key !== 'string') {
    throw new ProviderError('service account key needs "client_email" and "private_key"', { retryable: false, scope: 'auth', code: 'invalidKeyFile' });
  }
  const creds: ServiceAccountCredentials = { clientEmail: k.client_email, privateKey: k.private_key, scopes };
  if (typeof k.private_key_id === 'string') creds.privateKeyId = k.private_key_id;
  if (typeof k.token_uri === 'string') creds.tokenUrl = k.token_uri;
  if (subject) creds.subject = subject;
  return creds;
}

function b64url(data: string | Buffer): string {
  return Buffer.from(data).toString('base64url');
}

/** The signed assertion for the jwt-bearer grant, valid one hour from `nowMs`. */
export function signServiceAccountJwt(creds: ServiceAccountCredentials, nowMs: number): string {
  const iat = Math.floor(nowMs / 1000);
  const header: Record<string, string> = { alg: 'RS256', typ: 'JWT' };
  if (creds.privateKeyId) header.kid = creds.privateKeyId;
  const claims: Record<string, string | number> = {
    iss: creds.clientEmail,
    scope: creds.scopes.join(' '),
    aud: creds.tokenUrl ?? GOOGLE_TOKEN_URL,
    iat,
    exp: iat + 3600,
  };
  if (creds.subject) claims.sub = creds.subject;
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  const signature = createSign('RSA-SHA256').update(input).sign(creds.privateKey);
  return `${input}.${b64url(signature)}`;
}

interface TokenResponse {
  accessToken: string;
  expiresAtMs: number;
}

/** Refresh this long before the stated expiry, so a token never expires in flight. */
const EXPIRY_SKEW_MS = 60_000;

function tokenError(res: HttpResponse, what: string): ProviderError {
  let code: string | undefined;
  let description = '';
  try {
    const j = JSON.parse(res.body) as { error?: string | { message?: string; status?: string }; error_description?: string };
    if (typeof j.error === 'string') code = j.error;
    else if (j.error) code = j.error.status;
    description = j.error_description ?? (typeof j.error === 'object' ? j.error.message ?? '' : '');
  } catch { /* not JSON */ }
  const retryable = res.status === 429 || res.status >= 500;
  return new ProviderError(`${what} failed: HTTP ${res.status}${code ? ` ${code}` : ''}${description ? ` — ${description}` : ''}`, {
    status: res.status, code, retryable, scope: retryable ? 'op' : 'auth',
  });
}

async function exchange(http: HttpPort, url: string, form: Record<string, string>, nowMs: number, what: string): Promise<TokenResponse> {
  const res = await http({
    method: 'POST',
    url,
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: new URLSearchParams(form).toString(),
  });
  if (res.status < 200 || res.status >= 300) throw tokenError(res, what);
  let j: { access_token?: unknown; expires_in?: unknown };
  try {
    j = JSON.parse(res.body);
  } catch {
    throw new ProviderError(`${what}: token endpoint answered non-JSON`, { status: res.status, retryable: true });
  }
  if (typeof j.access_token !== 'string') throw new ProviderError(`${what}: no access_token in the answer`, { status: res.status, retryable: false, scope: 'auth' });
  const expiresIn = typeof j.expires_in === 'number' ? j.expires_in : Number(j.expires_in ?? 3600);
  return { accessToken: j.access_token, expiresAtMs: nowMs + (Number.isFinite(expiresIn) ? expiresIn : 3600) * 1000 };
}

/** A TokenSource around a fetch function: cache until expiry − 60 s, one fetch at a time. */
export function cachingTokenSource(fetchToken: (nowMs: number) => Promise<TokenResponse>, now: () => number = Date.now): Required<TokenSource> {
  let cached: TokenResponse | undefined;
  let inFlight: Promise<TokenResponse> | undefined;
  let epoch = 0;
  return {
    async getToken() {
      if (cached && now() < cached.expiresAtMs - EXPIRY_SKEW_MS) return cached.accessToken;
      if (!inFlight) {
        const mine = epoch;
        inFlight = fetchToken(now()).then(
          (t) => {
            if (mine === epoch) cached = t;
            inFlight = undefined;
            return t;
          },
          (err) => {
            inFlight = undefined;
            throw err;
          },
        );
      }
      return (await inFlight).accessToken;
    },
    invalidate() {
      cached = undefined;
      epoch++;
    },
  };
}

export interface TokenSourceOptions {
  http: HttpPort;
  now?: () => number;
}

export function serviceAccountTokenSource(creds: ServiceAccountCredentials, opts: TokenSourceOptions): Required<TokenSource> {
  const url = creds.tokenUrl ?? GOOGLE_TOKEN_URL;
  return cachingTokenSource((nowMs) => exchange(opts.http, url, {
    grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
    assertion: signServiceAccountJwt(creds, nowMs),
  }, nowMs, `service account token for ${creds.clientEmail}${creds.subject ? ` as ${creds.subject}` : ''}`), opts.now);
}

export interface RefreshTokenCredentials {
  clientId: string;
  clientSecret: string;
  refreshToken: string;
  tokenUrl?: string;
}

export function refreshTokenSource(creds: RefreshTokenCredentials, opts: TokenSourceOptions): Required<TokenSource> {
  const url = creds.tokenUrl ?? GOOGLE_TOKEN_URL;
  return cachingTokenSource((nowMs) => exchange(opts.http, url, {
    grant_type: 'refresh_token',
    client_id: creds.clientId,
    client_secret: creds.clientSecret,
    refresh_token: creds.refreshToken,
  }, nowMs, 'OAuth refresh'), opts.now);
}

/** A fixed token (tests, tokens minted elsewhere). */
export function staticTokenSource(token: string): Required<TokenSource> {
  return { getToken: async () => token, invalidate: () => undefined };
}


/** Bearer wrapper shared by both providers (providers/http.ts). */
export { withBearerToken as withBearerAuth } from '../http';
