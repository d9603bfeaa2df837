/**
 * An authenticated HttpPort for Graph, for the bridge and CLI (n8n supplies its own).
 *
 * `createGraphHttpPort` adds the bearer token only to requests for the Graph base URL's origin,
 * so a token never leaks to another host (nextLinks point at the same origin). On a 401 it
 * refreshes the token once and repeats the request: a 401 means the request was not executed.
 *
 * The transport defaults to the bare fetch transport; reads are retried by the provider itself
 * (providers/retry.ts withReadRetries), so the transport should not retry.
 */
import type { HttpPort, TokenSource } from '../port';
import { fetchTransport, withBearerToken } from '../http';
import { GRAPH_BASE_URL } from './adapter';

/** The bare fetch transport (providers/http.ts), kept under the name the Graph tests and docs use. */
export function fetchHttpPort(opts: { timeoutMs?: number } = {}): HttpPort {
  return fetchTransport(opts);
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
  return withBearerToken(transport, opts.tokenSource, { origins: [origin] });
}
