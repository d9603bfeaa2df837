/**
 * Google's OAuth 2.0 token endpoint (served at `<emulator>/token`) and the bearer check for API
 * calls. Accepts a service-account JWT assertion (RS256; structure and claims checked, signature
 * checked when the test registered the account's public key) and known refresh tokens, the two
 * grants the real google-auth-library code paths use.
 */
import { createPublicKey, randomBytes, verify } from 'node:crypto';
import type { EmuRequest, EmuResponse } from '../types';
import type { GoogleStore } from './store';

export const TOKEN_LIFETIME_S = 3600;
export const TOKEN_AUDIENCES = ['https://oauth2.googleapis.com/token', 'https://www.googleapis.com/oauth2/v4/token', 'https://accounts.google.com/o/oauth2/token'];

const oauthError = (status: number, error: string, description: string): EmuResponse => ({ status, body: { error, error_description: description } });

function formOf(req: EmuRequest): URLSearchParams {
  const text = req.body.toString('utf8');
  if ((req.headers['content-type'] ?? '').includes('application/json')) {
    try {
      return new URLSearchParams(JSON.parse(text) as Record<string, string>);
    } catch {
      return new URLSearchParams();
    }
  }
  return new URLSearchParams(text);
}

function issue(store: GoogleStore, nowMs: number, subject: string | undefined, scope: string | undefined, extra: Record<string, unknown> = {}): EmuResponse {
  const token = `ya29.emu-${randomBytes(18).toString('base64url')}`;
  store.tokens.set(token, { subject, scope, expiresAt: nowMs + TOKEN_LIFETIME_S * 1000 });
  return { status: 200, body: { access_token: token, expires_in: TOKEN_LIFETIME_S, token_type: 'Bearer', ...(scope ? { scope } : {}), ...extra } };
}

export function handleToken(store: GoogleStore, req: EmuRequest, nowMs: number, tokenUrl: string): EmuResponse {
  if (req.method !== 'POST') return oauthError(405, 'invalid_request', 'Use POST');
  const form = formOf(req);
  const grant = form.get('grant_type');
  if (grant === 'refresh_token') {
    const rt = form.get('refresh_token') ?? '';
    if (!store.refreshTokens.has(rt)) return oauthError(400, 'invalid_grant', 'Token has been expired or revoked.');
    return issue(store, nowMs, store.refreshTokens.get(rt), form.get('scope') ?? undefined);
  }
  if (grant === 'urn:ietf:params:oauth:grant-type:jwt-bearer') {
    const assertion = form.get('assertion') ?? '';
    const parts = assertion.split('.');
    if (parts.length !== 3) return oauthError(400, 'invalid_grant', 'Invalid JWT: not three base64url segments.');
    let header: Record<string, unknown>;
    let claims: Record<string, unknown>;
    try {
      header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8'));
      claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    } catch {
      return oauthError(400, 'invalid_grant', 'Invalid JWT: header or claims are not JSON.');
    }
    if (header.alg !== 'RS256') return oauthError(400, 'invalid_grant', `Invalid JWT: alg must be RS256, got ${String(header.alg)}.`);
    const { iss, sub, aud, exp, iat, scope } = claims as { iss?: string; sub?: string; aud?: string; exp?: number; iat?: number; scope?: string };
    if (typeof iss !== 'string' || !iss.includes('@')) return oauthError(400, 'invalid_grant', 'Invalid JWT: iss must be the service account email.');
    if (typeof aud !== 'string' || !(TOKEN_AUDIENCES.includes(aud) || aud === tokenUrl)) return oauthError(400, 'invalid_grant', `Invalid JWT: aud must be ${TOKEN_AUDIENCES[0]}.`);
    if (typeof iat !== 'number' || typeof exp !== 'number') return oauthError(400, 'invalid_grant', 'Invalid JWT: iat and exp are required.');
    const nowS = nowMs / 1000;
    if (exp - iat > 3600) return oauthError(400, 'invalid_grant', 'Invalid JWT: exp may be at most one hour after iat.');
    if (exp < nowS - 300 || iat > nowS + 300) return oauthError(400, 'invalid_grant', 'Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.');
    if (!store.serviceAccounts.has(iss.toLowerCase())) return oauthError(401, 'invalid_client', 'The OAuth client was not found.');
    const pem = store.serviceAccounts.get(iss.toLowerCase());
    if (pem) {
      const ok = verify('sha256', Buffer.from(`${parts[0]}.${parts[1]}`), createPublicKey(pem), Buffer.from(parts[2], 'base64url'));
      if (!ok) return oauthError(400, 'invalid_grant', 'Invalid JWT Signature.');
    }
    return issue(store, nowMs, sub ?? iss, scope);
  }
  return oauthError(400, 'unsupported_grant_type', `Invalid grant_type: ${grant ?? '(missing)'}`);
}

/** True when the request carries a valid, unexpired access token. */
export function bearerIsValid(store: GoogleStore, req: EmuRequest, nowMs: number): boolean {
  const m = /^Bearer\s+(.+)$/i.exec(req.headers['authorization'] ?? '');
  if (!m) return false;
  const t = store.tokens.get(m[1].trim());
  return !!t && t.expiresAt > nowMs;
}

/** Mints a token directly (tests that want a static bearer without the OAuth dance). */
export function mintToken(store: GoogleStore, nowMs: number, subject?: string, lifetimeS = TOKEN_LIFETIME_S): string {
  const token = `ya29.emu-${randomBytes(18).toString('base64url')}`;
  store.tokens.set(token, { subject, expiresAt: nowMs + lifetimeS * 1000 });
  return token;
}
