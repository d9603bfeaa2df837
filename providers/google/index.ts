/** Google Calendar provider: see docs/providers-google.md. */
export { GoogleCalendarProvider, MemorySyncStateStore, GOOGLE_ROOT_URL, GOOGLE_DIRECTORY_ROOT_URL, GOOGLE_MAX_BATCH, GOOGLE_MAX_CONCURRENCY_PER_CALENDAR } from './adapter';
export type { GoogleProviderOptions, SyncStateStore } from './adapter';
export { createGoogleHttpPort, googleFetchPort } from './http';
export type { GoogleHttpPortOptions } from './http';
export {
  serviceAccountTokenSource, refreshTokenSource, staticTokenSource, cachingTokenSource, serviceAccountFromKeyFile, signServiceAccountJwt, withBearerAuth,
  GOOGLE_TOKEN_URL, CALENDAR_SCOPE, DIRECTORY_RESOURCE_SCOPE,
} from './auth';
export type { TokenSource, ServiceAccountCredentials, RefreshTokenCredentials } from './auth';
export { toGoogleEvent, toGoogleInstancePatch, fromGoogleEvent, toGoogleTime, fromGoogleTime, toGoogleRecurrence, fromGoogleRecurrence, GoogleMappingError } from './mapper';
export type { GoogleEvent, GoogleEventTime, ToGoogleOptions } from './mapper';
export { googleEventId, googleInstanceId, stampToProperties, stampFromProperties, STAMP_SYNC_ID, STAMP_KEY, STAMP_FINGERPRINT } from './ids';
export { googleProviderError, parseRetryAfter } from './errors';
