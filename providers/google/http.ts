/**
 * An authenticated HttpPort for Google, for the bridge and CLI (n8n supplies its own).
 * The bearer token goes only to the origins of the Calendar and Directory roots, so it never
 * leaks to another host; a 401 refreshes the token once and repeats the request (auth.ts).
 * The transport defaults to the bare fetch transport; reads are retried by the provider itself
 * (providers/retry.ts withReadRetries), so the transport should not retry.
 */
import type { HttpPort, TokenSource } from '../port';
import { fetchTransport, withBearerToken } from '../http';
import { GOOGLE_DIRECTORY_ROOT_URL, GOOGLE_ROOT_URL } from './adapter';

/** The bare fetch transport (providers/http.ts), kept under the name the Google tests and docs use. */
export function googleFetchPort(opts: { timeoutMs?: number } = {}): HttpPort {
  return fetchTransport(opts);
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
  return withBearerToken(transport, opts.tokenSource, { origins: [...origins] });
}
