/**
 * A sync target as configuration (provider, endpoint overrides, credentials) and the factory that
 * turns it into a CalendarProvider. Shared by the CLI (relay.yaml `target:`, cli/config.ts
 * validates it) and the bridge (configured sync targets, bridge/src/sync-target.ts), so both talk
 * to Google, Microsoft 365 and CalDAV the same way.
 */
import { readFile } from 'node:fs/promises';
import { createFetchHttpPort } from './http';
import type { CalendarProvider } from './port';
import type { KeyValueStore } from './state';
import {
  GoogleCalendarProvider, createGoogleHttpPort, serviceAccountFromKeyFile, serviceAccountTokenSource, refreshTokenSource as googleRefreshTokenSource,
  CALENDAR_SCOPE,
} from './google';
import { CalDavCalendarProvider, createCalDavHttpPort } from './caldav';
import { GraphCalendarProvider, createGraphHttpPort, clientCredentialsTokenSource, refreshTokenSource as graphRefreshTokenSource } from './graph';

export type GoogleAuthConfig =
  | { kind: 'serviceAccount'; serviceAccountKeyFile: string; subject?: string; tokenUrl?: string }
  | { kind: 'refreshToken'; clientId: string; clientSecret: string; refreshToken: string; tokenUrl?: string }
  | { kind: 'accessToken'; accessToken: string };

export type MicrosoftAuthConfig =
  | { kind: 'clientCredentials'; tenantId: string; clientId: string; clientSecret: string; authority?: string }
  | { kind: 'refreshToken'; tenantId: string; clientId: string; clientSecret?: string; refreshToken: string; authority?: string }
  | { kind: 'accessToken'; accessToken: string };

export type CalDavAuthConfig = { kind: 'basic'; username: string; password: string } | { kind: 'bearer'; token: string } | { kind: 'none' };

export type TargetConfig =
  | {
    provider: 'google'; rootUrl?: string; directoryRootUrl?: string; defaultTimeZone?: string; auth: GoogleAuthConfig;
    /** 'full' (default): a filtered list per run; 'incremental': sync tokens kept in the state store (410 → full list). */
    listMode?: 'full' | 'incremental';
  }
  | { provider: 'microsoft'; baseUrl?: string; defaultTimeZone?: string; timeZoneStyle?: 'iana' | 'windows'; auth: MicrosoftAuthConfig }
  | {
    /** CalDAV (Nextcloud, iCloud, Fastmail, Radicale, …): calendars in routing by URL or display name (docs/providers-caldav.md). */
    provider: 'caldav'; baseUrl: string; auth: CalDavAuthConfig;
    /** 'full' (default): calendar-query per run; 'incremental': sync-collection with a snapshot in the state store. */
    listMode?: 'full' | 'incremental';
  };

/** The target cannot be set up; `path` names the setting (e.g. `target.auth.serviceAccountKeyFile`). */
export class TargetSetupError extends Error {
  constructor(readonly path: string, message: string) {
    super(message);
    this.name = 'TargetSetupError';
  }
}

async function readKeyFile(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new TargetSetupError('target.auth.serviceAccountKeyFile', `cannot read ${file}: ${code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
}

/**
 * Builds the target provider (auth, endpoint overrides, zones). `store` keeps what the provider
 * needs between runs: Google/CalDAV incremental listing state, Graph's created-event records and
 * rotated Microsoft refresh tokens.
 */
export async function createTargetProvider(t: TargetConfig, store: KeyValueStore, now: () => number): Promise<CalendarProvider> {
  // Reads are retried by the providers (providers/retry.ts withReadRetries); writes only by applyPlan.
  const transport = createFetchHttpPort({ now });
  const fixed = (token: string) => ({ getToken: async () => token, invalidate: () => undefined });
  if (t.provider === 'google') {
    const a = t.auth;
    let tokenSource;
    if (a.kind === 'serviceAccount') {
      const text = await readKeyFile(a.serviceAccountKeyFile);
      let creds;
      try {
        creds = serviceAccountFromKeyFile(text, [CALENDAR_SCOPE], a.subject);
      } catch (err) {
        throw new TargetSetupError('target.auth.serviceAccountKeyFile', `${a.serviceAccountKeyFile} is not a service-account key file: ${(err as Error).message}`);
      }
      if (a.tokenUrl) creds.tokenUrl = a.tokenUrl;
      tokenSource = serviceAccountTokenSource(creds, { http: transport, now });
    } else if (a.kind === 'refreshToken') {
      tokenSource = googleRefreshTokenSource({ clientId: a.clientId, clientSecret: a.clientSecret, refreshToken: a.refreshToken, ...(a.tokenUrl ? { tokenUrl: a.tokenUrl } : {}) }, { http: transport, now });
    } else tokenSource = fixed(a.accessToken);
    const http = createGoogleHttpPort({ tokenSource, rootUrl: t.rootUrl, directoryRootUrl: t.directoryRootUrl, transport });
    return new GoogleCalendarProvider({
      http, onAuthRejected: () => tokenSource.invalidate?.(),
      ...(t.rootUrl ? { rootUrl: t.rootUrl } : {}), ...(t.directoryRootUrl ? { directoryRootUrl: t.directoryRootUrl } : {}),
      ...(t.defaultTimeZone ? { defaultTimeZone: t.defaultTimeZone } : {}),
      // Incremental listing keeps its sync token and a snapshot of the owned events in the state store.
      ...(t.listMode === 'incremental' ? { listMode: 'incremental' as const, stateStore: store } : {}),
    });
  }
  if (t.provider === 'caldav') {
    const a = t.auth;
    const http = createCalDavHttpPort({ baseUrl: t.baseUrl, auth: a.kind === 'basic' ? { type: 'basic', username: a.username, password: a.password } : a.kind === 'bearer' ? { type: 'bearer', token: a.token } : { type: 'none' } });
    return new CalDavCalendarProvider({ http, baseUrl: t.baseUrl, now, ...(t.listMode === 'incremental' ? { listMode: 'incremental' as const, stateStore: store } : {}) });
  }
  const a = t.auth;
  let tokenSource;
  if (a.kind === 'clientCredentials') {
    tokenSource = clientCredentialsTokenSource({ http: transport, tenantId: a.tenantId, clientId: a.clientId, clientSecret: a.clientSecret, now, ...(a.authority ? { authority: a.authority } : {}) });
  } else if (a.kind === 'refreshToken') {
    // Microsoft rotates refresh tokens: the newest one is kept in the state store and preferred.
    const key = `microsoft-refresh-token:${a.tenantId}:${a.clientId}`;
    const rotated = await store.get(key);
    tokenSource = graphRefreshTokenSource({
      http: transport, tenantId: a.tenantId, clientId: a.clientId, refreshToken: rotated ?? a.refreshToken, now,
      ...(a.clientSecret ? { clientSecret: a.clientSecret } : {}), ...(a.authority ? { authority: a.authority } : {}),
      onRefreshToken: (token) => store.set(key, token),
    });
  } else tokenSource = fixed(a.accessToken);
  const http = createGraphHttpPort({ tokenSource, baseUrl: t.baseUrl, transport });
  return new GraphCalendarProvider({
    // The ids of the events it created live in the state store: one record per mailbox that tells
    // ownership (a stamped event that is not one of them is a person's copy) and that create transactionIds derive from.
    http, now, stateStore: store,
    ...(t.baseUrl ? { baseUrl: t.baseUrl } : {}), ...(t.timeZoneStyle ? { timeZoneStyle: t.timeZoneStyle } : {}),
    ...(t.defaultTimeZone ? { defaultTimeZone: t.defaultTimeZone } : {}),
  });
}
