/**
 * An authenticated HttpPort for Google, for the bridge and CLI (n8n supplies its own).
 * The bearer token goes only to the origins of the Calendar and Directory roots, so it never
 * leaks to another host; a 401 refreshes the token once and repeats the request (auth.ts).
 * The transport defaults to a minimal fetch port; pass providers/http.ts's port (timeouts,
 * keep-alive) as `transport` where it is available.
 */
import { TransportError, type HttpPort, type HttpRequest } from '../port';
import { withBearerAuth, type TokenSource } from './auth';
import { GOOGLE_DIRECTORY_ROOT_URL, GOOGLE_ROOT_URL } from './adapter';

/** Minimal fetch transport: resolves for every status, rejects with TransportError when no response arrived. */
export function googleFetchPort(opts: { timeoutMs?: number } = {}): HttpPort {
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

export interface GoogleHttpPortOptions {
  tokenSource: TokenSource;
  /** Calendar API root (default https://www.googleapis.com/). */
  rootUrl?: string;
  /** Admin Directory root (default https://admin.googleapis.com/, or rootUrl when that is set). */
  directoryRootUrl?: string;
  transport?: HttpPort;
}

export function createGoogleHttpPort(opts: GoogleHttpPortOptions): HttpPort {
  const transport = opts.transport ?? googleFetchPort();
  const origins = new Set([
    new URL(opts.rootUrl ?? GOOGLE_ROOT_URL).origin,
    new URL(opts.directoryRootUrl ?? opts.rootUrl ?? GOOGLE_DIRECTORY_ROOT_URL).origin,
  ]);
  const authed = withBearerAuth(transport, opts.tokenSource);
  return (req) => (origins.has(new URL(req.url).origin) ? authed(req) : transport(req));
}
