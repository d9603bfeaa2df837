/**
 * HttpPorts for CalDAV servers: basic auth (the app passwords Nextcloud, iCloud and Fastmail hand
 * out) or a bearer token, sent only to the server's own origin so a redirect elsewhere never
 * carries the credentials. n8n nodes build their port on the credential helpers instead.
 */
import { fetchTransport, withBearerToken } from '../http';
import type { HttpPort, TokenSource } from '../port';

export type CalDavAuth =
  | { type: 'basic'; username: string; password: string }
  | { type: 'bearer'; token: string | TokenSource }
  | { type: 'none' };

export interface CalDavHttpPortOptions {
  /** The server's base URL: credentials go to its origin only. */
  baseUrl: string;
  auth: CalDavAuth;
  /** Per request (default 60 s). */
  timeoutMs?: number;
  /** Injected for tests. */
  fetch?: typeof fetch;
}

/** The Authorization header value for basic auth (RFC 7617, UTF-8). */
export function basicAuthHeader(username: string, password: string): string {
  if (username.includes(':')) throw new Error('CalDAV basic auth: the user name must not contain ":"');
  return `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`;
}

export function createCalDavHttpPort(opts: CalDavHttpPortOptions): HttpPort {
  const transport = fetchTransport({ timeoutMs: opts.timeoutMs, fetch: opts.fetch });
  const origin = new URL(opts.baseUrl).origin;
  const a = opts.auth;
  if (a.type === 'none') return transport;
  if (a.type === 'bearer') {
    const tokens: TokenSource = typeof a.token === 'string' ? { getToken: async () => a.token as string } : a.token;
    return withBearerToken(transport, tokens, { origins: [origin] });
  }
  const header = basicAuthHeader(a.username, a.password);
  return (req) => (new URL(req.url).origin === origin ? transport({ ...req, headers: { ...(req.headers ?? {}), authorization: header } }) : transport(req));
}
