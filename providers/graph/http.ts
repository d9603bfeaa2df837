/**
 * An authenticated HttpPort for Graph, for the bridge and CLI (n8n supplies its own).
 *
 * `createGraphHttpPort` adds the bearer token only to requests for the Graph base URL's origin,
 * so a token never leaks to another host (nextLinks point at the same origin). On a 401 it
 * refreshes the token once and repeats the request: a 401 means the request was not executed.
 *
 * The transport defaults to a minimal fetch-based port (Node ≥ 18 fetch) defined here; pass
 * providers/http.ts's port (timeouts, keep-alive) as `transport` where it is available.
 */
import { TransportError, type HttpPort, type HttpRequest } from '../port';
import { withBearerToken, type TokenSource } from './auth';
import { GRAPH_BASE_URL } from './adapter';

/** Minimal fetch transport: resolves for every HTTP status, rejects with TransportError when no response arrived. */
export function fetchHttpPort(opts: { timeoutMs?: number } = {}): HttpPort {
  return async (req: HttpRequest) => {
    const ctrl = new AbortController();
    const timer = setTimeout(() => ctrl.abort(), opts.timeoutMs ?? 60_000);
    try {
      const res = await fetch(req.url, { method: req.method, headers: req.headers, body: req.body as string | Uint8Array | undefined, signal: ctrl.signal });
      const headers: Record<string, string> = {};
      res.headers.forEach((v, k) => {
        headers[k.toLowerCase()] = v;
      });
      return { status: res.status, headers, body: await res.text() };
    } catch (e) {
      const err = e as Error & { cause?: { code?: string } };
      throw new TransportError(`${req.method} ${req.url}: ${err.name === 'AbortError' ? 'timed out' : err.message}`, err.cause?.code ?? err.name);
    } finally {
      clearTimeout(timer);
    }
  };
}

export interface GraphHttpPortOptions {
  tokenSource: TokenSource;
  /** Graph base URL (default https://graph.microsoft.com/v1.0); the token goes only to its origin. */
  baseUrl?: string;
  transport?: HttpPort;
}

export function createGraphHttpPort(opts: GraphHttpPortOptions): HttpPort {
  const transport = opts.transport ?? fetchHttpPort();
  const origin = new URL(opts.baseUrl ?? GRAPH_BASE_URL).origin;
  const authed = withBearerToken(transport, opts.tokenSource);
  return (req) => (new URL(req.url).origin === origin ? authed(req) : transport(req));
}
