/**
 * Starts the Calendar Relay API emulator: Google Calendar v3 (+ OAuth token endpoint, Admin
 * Directory rooms) and Microsoft Graph v1.0 on one local server, with fault injection, modelled
 * limits and a request log. Used by contract tests, benchmarks, the demo and
 * `calendar-relay emulator --port N`. See emulator/README.md.
 */
import { FaultController, type LimitConfig } from './faults';
import { RequestLog } from './log';
import { EmulatorServer } from './server';
import { createGoogleModule, type GoogleAdmin } from './google';
import { createGraphModule } from './graph';
import type { RequestScope } from './types';

export type GraphAdmin = ReturnType<typeof createGraphModule>['admin'];
export type { GoogleAdmin } from './google';
export { FaultController } from './faults';
export type { FaultSpec, FaultMatch, ChaosOptions, LimitConfig, FaultRuleHandle, InjectedFault } from './faults';
export { RequestLog } from './log';
export type { LoggedRequest, LogFilter } from './log';

export interface EmulatorOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Serve https with a self-signed certificate generated at start-up (see `tls`). */
  https?: boolean;
  /** Added to every request (benchmarks). Default 0. */
  latencyMs?: number;
  /** Base clock; `clock.advance()` adds to it. Default Date.now. */
  now?: () => number;
  /** false switches the modelled limits off from the start (same as `faults.limitsEnabled = false`). */
  limits?: boolean;
  /** Seed of the chaos PRNG. Default 1. */
  seed?: number;
  /**
   * Multiplies the modelled limits' windows (default 1): 0.05 makes Google's 600 requests / 60 s
   * a 600 / 3 s budget, so a test of quota pacing takes seconds, not minutes. Request counts stay
   * as the services have them; clients must be told the scaled window (provider `quota` option).
   */
  limitScale?: number;
}

/** DEFAULT_LIMITS with every window multiplied by `scale`. */
export function scaledLimits(scale: number): Partial<Record<RequestScope['api'], LimitConfig>> {
  if (!(scale > 0)) throw new RangeError(`limitScale must be > 0, got ${scale}`);
  return Object.fromEntries(Object.entries(DEFAULT_LIMITS).map(([api, c]) => [api, { ...c, ...(c!.windowMs !== undefined ? { windowMs: c!.windowMs * scale } : {}) }]));
}

export interface Emulator {
  /** e.g. "http://127.0.0.1:41234" (no trailing slash). */
  url: string;
  close(): Promise<void>;
  /** Drops all stored data, scripted faults, limit windows and log counters. */
  reset(): void;
  faults: FaultController;
  log: RequestLog;
  google: GoogleAdmin;
  graph: GraphAdmin;
  clock: { now(): number; advance(ms: number): void };
  /** The generated certificate in https mode: trust `certPem` (or NODE_EXTRA_CA_CERTS) to connect. */
  tls?: { certPem: string };
  /** Global per-request latency, changeable at run time. */
  setLatency(ms: number): void;
  /** Exceptions thrown inside module handlers (answered as 500); should stay empty. */
  internalErrors: Error[];
}

/** The real services' quotas: Google per user (the token's subject, else the calendar id), Graph
 * per mailbox. */
export const DEFAULT_LIMITS: Partial<Record<RequestScope['api'], LimitConfig>> = {
  // Google: 600 requests per minute per user and project. The access token's user (a service
  // account's impersonated `sub`) owns the budget; a token naming no user charges the calendar.
  google: { windowMs: 60_000, maxRequests: 600 },
  // Outlook: 10,000 requests per 10 minutes and 4 concurrent requests per app and mailbox.
  graph: { windowMs: 600_000, maxRequests: 10_000, maxConcurrent: 4 },
};

export async function startEmulator(opts: EmulatorOptions = {}): Promise<Emulator> {
  const base = opts.now ?? Date.now;
  let offset = 0;
  const now = () => base() + offset;
  const faults = new FaultController(now, opts.limitScale !== undefined ? scaledLimits(opts.limitScale) : DEFAULT_LIMITS, opts.seed ?? 1);
  if (opts.limits === false) faults.limitsEnabled = false;
  const log = new RequestLog();
  const google = createGoogleModule(now);
  const graph = createGraphModule(now);
  const server = new EmulatorServer({
    port: opts.port, host: opts.host, https: opts.https, latencyMs: opts.latencyMs, now,
    modules: [google, graph], faults, log,
  });
  const url = await server.start();
  graph.setBaseUrl(url);
  return {
    url,
    close: () => server.close(),
    reset() {
      google.reset();
      graph.reset();
      faults.reset();
      if (opts.limits === false) faults.limitsEnabled = false;
      log.reset();
      server.internalErrors.length = 0;
    },
    faults,
    log,
    google: google.admin,
    graph: graph.admin,
    clock: { now, advance: (ms: number) => void (offset += ms) },
    tls: server.tls ? { certPem: server.tls.certPem } : undefined,
    setLatency: (ms: number) => void (server.latencyMs = ms),
    internalErrors: server.internalErrors,
  };
}

/**
 * Runs the emulator in the foreground (for `calendar-relay emulator --port N`): prints the URLs,
 * and stops cleanly on SIGINT/SIGTERM. Resolves with the running emulator.
 */
export async function runEmulatorCli(port: number, opts: Omit<EmulatorOptions, 'port'> = {}, print: (line: string) => void = console.log): Promise<Emulator> {
  const emu = await startEmulator({ ...opts, port });
  print(`Calendar Relay emulator listening on ${emu.url}`);
  print(`  Google Calendar v3 rootUrl: ${emu.url}/  (events at ${emu.url}/calendar/v3/calendars/{calendarId}/events)`);
  print(`  Google OAuth token:         ${emu.url}/token`);
  print(`  Google batch:               ${emu.url}/batch/calendar/v3`);
  print(`  Admin Directory rooms:      ${emu.url}/admin/directory/v1/customer/my_customer/resources/calendars`);
  print(`  Microsoft Graph:            ${emu.url}/v1.0  (see emulator/graph/README.md)`);
  const stop = () => void emu.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return emu;
}
