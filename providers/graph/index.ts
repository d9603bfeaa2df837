/** Microsoft 365 (Graph v1.0) provider: room mailboxes as sync targets. See docs/providers-graph.md. */
export { GraphCalendarProvider, GRAPH_BASE_URL, MAILBOX_CONCURRENCY } from './adapter';
export type { GraphProviderOptions, SyncStateStore, GraphChanges } from './adapter';
export { clientCredentialsTokenSource, refreshTokenSource, withBearerToken, DEFAULT_AUTHORITY, GRAPH_DEFAULT_SCOPE } from './auth';
export type { TokenSource, ClientCredentialsOptions, RefreshTokenOptions } from './auth';
export { createGraphHttpPort, fetchHttpPort } from './http';
export type { GraphHttpPortOptions } from './http';
export { PROPERTY_IDS, PROPERTY_NAMESPACE, toGraphEvent, fromGraphEvent, transactionIdFor, GraphMappingError } from './mapper';
export type { GraphEvent, GraphMapOptions } from './mapper';
export { fitRecurrence, recurrenceToRRule } from './recurrence';
export type { GraphPatternedRecurrence, RecurrenceFit } from './recurrence';
export { ianaToWindows, graphZoneToIana, graphZoneName } from './timezones';
export type { TimeZoneStyle } from './timezones';
