/**
 * Library entry of `n8n-nodes-calendar-relay`: the same core the n8n nodes, the bridge and the
 * `calendar-relay` command run, for use from code. Everything here is bundled into dist/index.js
 * (no runtime dependencies).
 */
// The event model and its JSON checks
export * from './core/event';
export { findEventProblem, validateEventItems, looksLikeEventModel, type EventProblem } from './core/event-validate';
export * from './core/time';
// Reading and writing calendar data
export { parseCalendarInput, detectJsonPreset, CalendarInputError, INPUT_PRESETS, type InputPreset, type ParseInputOptions } from './core/input';
export { parseIcs, IcsInputError, type IcsParseOptions } from './core/ics/parse';
export { resolveTimeZone, windowsToIana } from './core/ics/timezones';
export { serializeIcs, serializeEventIcs, IcsSerializeError, type SerializeOptions } from './core/ics/serialize';
export { parseJsonEvents, fieldMapProblem, FIELD_MAP_KEYS, JSON_PRESETS, GENERIC_MAP, type JsonPreset, type FieldMap } from './core/json';
// Recurrence
export { expandOccurrences, parseRRule, formatRRule, iterateRRule, RRuleError, RecurrenceLimitError, type Occurrence, type ExpansionResult, type RRule } from './core/recurrence';
// Sync planning (pure)
export { planSync, buildPlan, recurrenceExpander, PlanInputError, type DesiredEvent, type DesiredInput, type SyncPlan, type SyncPolicy, type PlannedOp, type PlanAction } from './core/plan';
export { SourceEmptyError, SourceShrankError, DeleteLimitError, checkGuards, guardViolations, allowedDeletes, runStateOf, DEFAULT_MAX_DELETES } from './core/guards';
export { routeEvents, routingTargets, RoutingConfigError, type RoutingConfig, type RoutingResult, type RoutingField } from './core/routing';
export { fingerprint } from './core/fingerprint';
export { diffSnapshot, snapshotOf, keyEvents, describeKey, isSnapshot, type Snapshot, type SnapshotDiff, type SnapshotEntry, type SnapshotOptions } from './core/snapshot';
// Providers and applying plans
export * from './providers/port';
export { applyPlan, type ApplyReport } from './providers/apply';
export { syncCalendars, RUN_STATE_PREFIX, type SyncRunOptions, type SyncRunResult } from './providers/sync';
export { createFetchHttpPort, fetchTransport, withBearerToken, type FetchHttpPortOptions } from './providers/http';
export { readFeed, readUrlFeed, pollFeed, FeedReadError, MemoryFeedStateStore, type FeedSource, type FeedReadResult, type FeedPollState, type FeedPollResult } from './providers/feed';
export { GoogleCalendarProvider, createGoogleHttpPort, serviceAccountTokenSource, refreshTokenSource as googleRefreshTokenSource } from './providers/google';
export { GraphCalendarProvider, createGraphHttpPort, clientCredentialsTokenSource, refreshTokenSource as graphRefreshTokenSource } from './providers/graph';
