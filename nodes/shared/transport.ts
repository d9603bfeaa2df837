/**
 * The one place the nodes reach the network: an HttpPort (providers/port.ts) built on n8n's
 * request helpers, and the calendar providers built on it with the chosen credential.
 *
 * - Every HTTP status resolves (ignoreHttpStatusErrors), so the providers keep their own status
 *   handling, Retry-After and batching; only "no response" rejects, as TransportError.
 * - OAuth2 credentials (ours extend n8n's oAuth2Api) go through httpRequestWithAuthentication:
 *   n8n attaches and refreshes the token. Service-account and app-only credentials run the
 *   project's token flows (providers/google/auth.ts, providers/graph/auth.ts) over plain n8n
 *   requests; their tokens are cached per credential for the life of the process, refreshed
 *   shortly before expiry and after a 401.
 * - Retry waits use n8n-workflow's sleep.
 */
import { sleep } from 'n8n-workflow';
import type { IDataObject, IHttpRequestOptions, IN8nHttpFullResponse, INode } from 'n8n-workflow';
import type { CalendarProvider, HttpPort, HttpRequest, HttpResponse, TokenSource } from '../../providers/port';
import { TransportError } from '../../providers/port';
import type { KeyValueStore } from '../../providers/state';
import { withBearerToken } from '../../providers/http';
import { GoogleCalendarProvider } from '../../providers/google/adapter';
import { serviceAccountTokenSource, CALENDAR_SCOPE, DIRECTORY_RESOURCE_SCOPE } from '../../providers/google/auth';
import { GraphCalendarProvider } from '../../providers/graph/adapter';
import { clientCredentialsTokenSource } from '../../providers/graph/auth';
import { CalDavCalendarProvider } from '../../providers/caldav/adapter';
import { sha256Hex } from '../../core/fingerprint';

/** What the nodes need of an n8n context (execute, poll and load-options contexts all have it). */
export interface RequestContext {
  getNode(): INode;
  helpers: {
    httpRequest(opts: IHttpRequestOptions): Promise<unknown>;
    httpRequestWithAuthentication(this: unknown, credentialType: string, opts: IHttpRequestOptions): Promise<unknown>;
  };
}

export interface N8nPortOptions {
  /** Credential type to authenticate with (n8n's httpRequestWithAuthentication). */
  credentialType?: string;
  /** Per request. Default 60 s. */
  timeoutMs?: number;
}

/** What n8n's request errors carry of the answer (axios-shaped). */
interface ErrorResponse {
  response?: { status?: number; headers?: unknown; data?: unknown };
}

function headerMap(h: IDataObject | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h ?? {})) if (v !== undefined && v !== null) out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : String(v);
  return out;
}

function bodyText(body: unknown): string {
  if (body === undefined || body === null) return '';
  if (typeof body === 'string') return body;
  if (Buffer.isBuffer(body)) return body.toString('utf8');
  if (body instanceof ArrayBuffer) return Buffer.from(body).toString('utf8');
  return JSON.stringify(body);
}

/** An HttpPort over n8n's request helpers. */
export function n8nHttpPort(ctx: RequestContext, opts: N8nPortOptions = {}): HttpPort {
  return async (req: HttpRequest): Promise<HttpResponse> => {
    const options: IHttpRequestOptions = {
      // WebDAV methods (PROPFIND, REPORT, MKCALENDAR for CalDAV) go through as they are: n8n's
      // request helper passes the method string to its HTTP client, its type only names the common ones.
      method: req.method as IHttpRequestOptions['method'],
      url: req.url,
      headers: { ...(req.headers ?? {}) },
      returnFullResponse: true,
      // With a credential, a 401 must reach n8n's auth layer so it refreshes the token (OAuth2) or
      // re-runs preAuthentication and retries once; every other status resolves.
      ignoreHttpStatusErrors: opts.credentialType ? { ignore: true, except: [401] } : true,
      encoding: 'text',
      json: false,
      timeout: opts.timeoutMs ?? 60_000,
    };
    if (req.body !== undefined) options.body = typeof req.body === 'string' ? req.body : Buffer.from(req.body);
    let res: IN8nHttpFullResponse | undefined;
    let failure: (Error & { cause?: { code?: string } & ErrorResponse; code?: string } & ErrorResponse) | undefined;
    try {
      res = (opts.credentialType
        ? await ctx.helpers.httpRequestWithAuthentication.call(ctx, opts.credentialType, options)
        : await ctx.helpers.httpRequest(options)) as IN8nHttpFullResponse;
    } catch (err) {
      failure = err as typeof failure;
    }
    // A 401 that survived the refresh comes back as an error carrying the response: resolve it.
    const rejected = failure?.response ?? failure?.cause?.response;
    if (!res && rejected?.status) return { status: rejected.status, headers: headerMap(rejected.headers as IDataObject), body: bodyText(rejected.data) };
    // The port contract (providers/port.ts): every status resolves; no response at all is a TransportError, mapped by toNodeError.
    if (!res) throw new TransportError(`${req.method} ${req.url}: ${failure?.message ?? 'no response'}`, failure?.cause?.code ?? failure?.code);
    return { status: res.statusCode, headers: headerMap(res.headers), body: bodyText(res.body) };
  };
}

export type ProviderKind = 'google' | 'microsoft' | 'caldav';
export type ProviderAuth = 'oAuth2' | 'serviceAccount' | 'appOnly';

/** The credential type (name) for a provider and authentication kind. */
export function credentialTypeName(kind: ProviderKind, auth: ProviderAuth): string {
  if (kind === 'caldav') return CALDAV_CREDENTIAL;
  if (kind === 'google') return auth === 'serviceAccount' ? 'calendarRelayGoogleServiceAccountApi' : 'calendarRelayGoogleOAuth2Api';
  return auth === 'appOnly' ? 'calendarRelayMicrosoftAppOnlyApi' : 'calendarRelayMicrosoftOAuth2Api';
}

/** The CalDAV credential (basic auth or bearer token, applied by its `authenticate`). */
export const CALDAV_CREDENTIAL = 'calendarRelayCalDavApi';

/**
 * The CalDAV port: requests to the base URL's origin go through httpRequestWithAuthentication (the
 * credential's `authenticate` adds basic or bearer auth), any other origin (a redirect or an href
 * elsewhere) goes out without credentials.
 */
export function calDavHttpPort(ctx: RequestContext, baseUrl: string): HttpPort {
  const origin = new URL(baseUrl).origin;
  const authed = n8nHttpPort(ctx, { credentialType: CALDAV_CREDENTIAL });
  const plain = n8nHttpPort(ctx);
  return (req) => (new URL(req.url).origin === origin ? authed(req) : plain(req));
}

// Token sources per credential content: one token per credential and process, not per execution.
const tokenSources = new Map<string, TokenSource>();

function cachedTokens(kind: string, creds: IDataObject, make: () => TokenSource): TokenSource {
  const key = sha256Hex(`${kind}\u0000${JSON.stringify(creds)}`);
  let t = tokenSources.get(key);
  if (!t) {
    t = make();
    tokenSources.set(key, t);
  }
  return t;
}

export interface ProviderSetup {
  provider: CalendarProvider;
  /** Authenticated port of that provider (for calls the provider does not offer, e.g. Google's calendar list). */
  http: HttpPort;
  /** Google API root / Graph base URL in use. */
  baseUrl: string;
}

function str(v: unknown, fallback: string): string {
  return typeof v === 'string' && v.trim() !== '' ? v.trim() : fallback;
}

export interface ProviderOptions {
  defaultTimeZone?: string;
  /**
   * Write the events' attendees (Google / Graph attendees; invitations may go out). Only the
   * Calendar Event node sets it; Room Sync never does (a room calendar would invite the people).
   */
  writeAttendees?: boolean;
  /** CalDAV: list by RFC 6578 sync-collection, the snapshot kept in this store (Room Sync: the node's static data). */
  caldavIncremental?: KeyValueStore;
}

/** The provider for the node's chosen credential. `getCredentials` is the context's (typed loosely on purpose: poll and execute contexts differ). */
export async function createProvider(
  ctx: RequestContext & { getCredentials(type: string, itemIndex?: number): Promise<IDataObject> },
  kind: ProviderKind,
  auth: ProviderAuth,
  options: ProviderOptions = {},
): Promise<ProviderSetup> {
  const readRetry = { sleep: async (ms: number) => sleep(ms) };
  const plain = n8nHttpPort(ctx);
  if (kind === 'google') {
    const type = credentialTypeName('google', auth);
    const creds = await ctx.getCredentials(type);
    const rootUrl = str(creds.apiRootUrl, 'https://www.googleapis.com/');
    let http: HttpPort;
    if (auth === 'serviceAccount') {
      const tokens = cachedTokens(type, creds, () => serviceAccountTokenSource({
        clientEmail: String(creds.email ?? ''),
        privateKey: String(creds.privateKey ?? '').replace(/\\n/g, '\n'),
        subject: creds.impersonate && creds.delegatedEmail ? String(creds.delegatedEmail) : undefined,
        scopes: [CALENDAR_SCOPE, DIRECTORY_RESOURCE_SCOPE],
        tokenUrl: str(creds.tokenUrl, 'https://oauth2.googleapis.com/token'),
      }, { http: plain }));
      http = withBearerToken(plain, tokens, { origins: [rootUrl] });
    } else {
      http = n8nHttpPort(ctx, { credentialType: type });
    }
    const provider = new GoogleCalendarProvider({ http, rootUrl, defaultTimeZone: options.defaultTimeZone, readRetry, ...(options.writeAttendees ? { attendees: 'invite' as const } : {}) });
    return { provider, http, baseUrl: rootUrl };
  }
  if (kind === 'caldav') {
    const creds = await ctx.getCredentials(CALDAV_CREDENTIAL);
    const baseUrl = str(creds.baseUrl, '');
    if (!/^https?:\/\//i.test(baseUrl)) throw new Error(`CalDAV credential: Base URL "${baseUrl}" must be an http(s) URL`);
    const http = calDavHttpPort(ctx, baseUrl);
    const provider = new CalDavCalendarProvider({ http, baseUrl, readRetry, ...(options.caldavIncremental ? { listMode: 'incremental' as const, stateStore: options.caldavIncremental } : {}) });
    return { provider, http, baseUrl };
  }
  const type = credentialTypeName('microsoft', auth);
  const creds = await ctx.getCredentials(type);
  const baseUrl = str(creds.graphBaseUrl, 'https://graph.microsoft.com/v1.0').replace(/\/$/, '');
  let http: HttpPort;
  if (auth === 'appOnly') {
    const graph = new URL(baseUrl);
    const local = graph.hostname === '127.0.0.1' || graph.hostname === 'localhost';
    const tokens = cachedTokens(type, creds, () => clientCredentialsTokenSource({
      http: plain,
      tenantId: String(creds.tenantId ?? ''),
      clientId: String(creds.clientId ?? ''),
      clientSecret: String(creds.clientSecret ?? ''),
      authority: str(creds.loginUrl, 'https://login.microsoftonline.com').replace(/\/$/, ''),
      scope: local ? undefined : `${graph.origin}/.default`,
    }));
    http = withBearerToken(plain, tokens, { origins: [graph.origin] });
  } else {
    http = n8nHttpPort(ctx, { credentialType: type });
  }
  const provider = new GraphCalendarProvider({ http, baseUrl, defaultTimeZone: options.defaultTimeZone, readRetry, ...(options.writeAttendees ? { attendees: 'invite' as const } : {}) });
  return { provider, http, baseUrl };
}
