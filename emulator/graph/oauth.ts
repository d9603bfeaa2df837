/**
 * Microsoft identity platform token endpoint `POST /{tenant}/oauth2/v2.0/token` (client
 * credentials → app-only token; refresh_token → delegated token + new refresh token) and the
 * bearer check Graph applies to every request. Tokens look like JWTs (header.payload.signature,
 * unsigned) so code that peeks at claims works; the emulator itself only looks them up.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { EmuRequest, EmuResponse } from '../types';
import { GraphHttpError } from './errors';
import type { GraphStore, IssuedToken } from './store';

export const GRAPH_DEFAULT_SCOPE = 'https://graph.microsoft.com/.default';

/** AAD's error body: {error, error_description, error_codes, timestamp, trace_id, correlation_id}. */
function aadError(status: number, error: string, code: number, description: string, nowMs: number): EmuResponse {
  const trace = randomUUID();
  const correlation = randomUUID();
  const ts = new Date(nowMs).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
  return {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8' },
    body: {
      error,
      error_description: `AADSTS${code}: ${description} Trace ID: ${trace} Correlation ID: ${correlation} Timestamp: ${ts}`,
      error_codes: [code],
      timestamp: ts,
      trace_id: trace,
      correlation_id: correlation,
    },
  };
}

function b64(o: unknown): string {
  return Buffer.from(JSON.stringify(o)).toString('base64url');
}

export function issueToken(store: GraphStore, t: Omit<IssuedToken, 'expiresMs'>, nowMs: number, lifetimeS: number, tenant: string): string {
  const exp = nowMs + lifetimeS * 1000;
  const claims: Record<string, unknown> = {
    aud: 'https://graph.microsoft.com', iss: `https://sts.windows.net/${tenant}/`, tid: tenant,
    iat: Math.floor(nowMs / 1000), nbf: Math.floor(nowMs / 1000), exp: Math.floor(exp / 1000),
    appid: t.clientId, uti: randomBytes(8).toString('base64url'),
  };
  if (t.kind === 'app') claims.roles = ['Calendars.ReadWrite', 'Place.Read.All'];
  else Object.assign(claims, { scp: 'Calendars.ReadWrite Place.Read.All', upn: t.userUpn });
  const token = `${b64({ typ: 'JWT', alg: 'none' })}.${b64(claims)}.${randomBytes(16).toString('base64url')}`;
  store.tokens.set(token, { ...t, expiresMs: exp });
  return token;
}

export function handleToken(store: GraphStore, req: EmuRequest, tenant: string, nowMs: number, lifetimeS: number): EmuResponse {
  if (req.method !== 'POST') return aadError(405, 'invalid_request', 900561, 'The endpoint only accepts POST requests.', nowMs);
  const form = new URLSearchParams(req.body.toString('utf8'));
  let clientId = form.get('client_id') ?? undefined;
  let secret = form.get('client_secret') ?? undefined;
  const basic = /^Basic\s+(.+)$/i.exec(req.headers['authorization'] ?? '');
  if (basic) {
    const [id, s] = Buffer.from(basic[1], 'base64').toString('utf8').split(':');
    clientId ??= decodeURIComponent(id);
    secret ??= decodeURIComponent(s ?? '');
  }
  const grant = form.get('grant_type');
  if (!grant) return aadError(400, 'invalid_request', 900144, "The request body must contain the following parameter: 'grant_type'.", nowMs);
  if (!clientId) return aadError(400, 'invalid_request', 900144, "The request body must contain the following parameter: 'client_id'.", nowMs);
  const app = store.apps.get(clientId);
  if (grant === 'client_credentials') {
    if (!app || (app.tenant !== tenant && tenant !== app.tenant.toLowerCase())) {
      return aadError(400, 'unauthorized_client', 700016, `Application with identifier '${clientId}' was not found in the directory '${tenant}'.`, nowMs);
    }
    if (!secret || secret !== app.secret) {
      return aadError(401, 'invalid_client', 7000215, 'Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.', nowMs);
    }
    const scope = form.get('scope') ?? '';
    if (!scope.split(' ').every((s) => s.endsWith('/.default')) || scope === '') {
      return aadError(400, 'invalid_scope', 1002012, `The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`, nowMs);
    }
    const token = issueToken(store, { kind: 'app', clientId }, nowMs, lifetimeS, tenant);
    return { status: 200, headers: { 'content-type': 'application/json; charset=utf-8' }, body: { token_type: 'Bearer', expires_in: lifetimeS, ext_expires_in: lifetimeS, access_token: token } };
  }
  if (grant === 'refresh_token') {
    const rt = form.get('refresh_token') ?? '';
    const known = store.refreshTokens.get(rt);
    if (!known || (known.clientId && known.clientId !== clientId)) {
      return aadError(400, 'invalid_grant', 9002313, 'Invalid request. Request is malformed or invalid.', nowMs);
    }
    if (app && secret !== undefined && secret !== app.secret) {
      return aadError(401, 'invalid_client', 7000215, 'Invalid client secret provided.', nowMs);
    }
    const token = issueToken(store, { kind: 'delegated', clientId, userUpn: known.userUpn }, nowMs, lifetimeS, tenant);
    // AAD rotates refresh tokens; the old one stays usable until it expires.
    const next = '0.A' + randomBytes(48).toString('base64url');
    store.refreshTokens.set(next, { ...known });
    return {
      status: 200,
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body: { token_type: 'Bearer', scope: form.get('scope') ?? 'https://graph.microsoft.com/Calendars.ReadWrite', expires_in: lifetimeS, ext_expires_in: lifetimeS, access_token: token, refresh_token: next },
    };
  }
  return aadError(400, 'unsupported_grant_type', 70003, `The app requested an unsupported grant type '${grant}'.`, nowMs);
}

/** The Graph bearer check; returns the token's grant or throws 401 InvalidAuthenticationToken. */
export function checkBearer(store: GraphStore, req: EmuRequest, nowMs: number): IssuedToken {
  const m = /^Bearer\s+(\S+)$/i.exec(req.headers['authorization'] ?? '');
  if (!m) throw new GraphHttpError(401, 'InvalidAuthenticationToken', 'Access token is empty.');
  const t = store.tokens.get(m[1]);
  if (!t) throw new GraphHttpError(401, 'InvalidAuthenticationToken', 'IDX14100: JWT is not well formed, or was not issued by this emulator.');
  if (t.expiresMs <= nowMs) throw new GraphHttpError(401, 'InvalidAuthenticationToken', 'Lifetime validation failed, the token is expired.');
  return t;
}
