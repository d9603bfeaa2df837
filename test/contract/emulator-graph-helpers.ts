/* eslint-disable @typescript-eslint/no-explicit-any -- contract tests read JSON responses loosely */
/**
 * Shared set-up for the Graph emulator contract tests: an https emulator with a bearer token, the
 * REAL @microsoft/microsoft-graph-client with its stock middleware chain pointed at it, and a raw
 * fetch helper.
 *
 * Why https: the Graph client attaches the bearer token only to https Graph hosts or
 * `customHosts`, and it only recognises absolute `@odata.nextLink`s that start with https://.
 * The emulator's self-signed certificate is trusted per request through an undici dispatcher
 * (`fetchOptions.dispatcher`); a separate process could use NODE_EXTRA_CA_CERTS instead.
 */
import { Client } from '@microsoft/microsoft-graph-client';
import { startEmulator, type Emulator } from '../../emulator';

// undici ships with the dev tree (transitively); Node 20's fetch accepts its Agent as dispatcher.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Agent } = require('undici') as { Agent: new (o: unknown) => unknown };

export interface GraphFixture {
  emu: Emulator;
  token: string;
  client: Client;
  dispatcher: unknown;
  raw(method: string, path: string, opts?: { body?: unknown; headers?: Record<string, string>; token?: string | null }): Promise<{ status: number; headers: Headers; json: any }>;
}

export function graphClient(fx: Pick<GraphFixture, 'emu' | 'dispatcher'>, token: () => string): Client {
  return Client.init({
    authProvider: (done) => done(null, token()),
    baseUrl: fx.emu.url,
    customHosts: new Set([new URL(fx.emu.url).hostname]),
    fetchOptions: { dispatcher: fx.dispatcher } as RequestInit,
  });
}

export async function startGraphFixture(): Promise<GraphFixture> {
  const emu = await startEmulator({ https: true });
  const dispatcher = new Agent({ connect: { ca: emu.tls!.certPem } });
  const fx: GraphFixture = {
    emu,
    token: '',
    client: undefined as unknown as Client,
    dispatcher,
    async raw(method, path, opts = {}) {
      const headers: Record<string, string> = { ...(opts.headers ?? {}) };
      const token = opts.token === undefined ? fx.token : opts.token;
      if (token) headers.Authorization = `Bearer ${token}`;
      let body: string | undefined;
      if (opts.body !== undefined) {
        body = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
        headers['Content-Type'] ??= 'application/json';
      }
      const res = await fetch(path.startsWith('http') ? path : `${emu.url}${path}`, { method, headers, body, dispatcher } as RequestInit);
      const text = await res.text();
      let json: unknown;
      try {
        json = text ? JSON.parse(text) : undefined;
      } catch {
        json = text;
      }
      return { status: res.status, headers: res.headers, json };
    },
  };
  fx.token = emu.graph.issueToken();
  fx.client = graphClient(fx, () => fx.token);
  return fx;
}

/** Resets data and faults between tests, keeping the server; issues a fresh app token. */
export function resetFixture(fx: GraphFixture): void {
  fx.emu.reset();
  fx.token = fx.emu.graph.issueToken();
}

export const event = (subject: string, start: string, end: string, timeZone = 'UTC', extra: Record<string, unknown> = {}) => ({
  subject,
  start: { dateTime: start, timeZone },
  end: { dateTime: end, timeZone },
  ...extra,
});
