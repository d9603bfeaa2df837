/** Source feeds (ICS/JSON over http(s) or from files): see read.ts and url.ts. */
export { readFeed, readUrlFeed, pollFeed, toFeedPollState, feedStateKey, redactUrl, FeedReadError, MemoryFeedStateStore, DEFAULT_FEED_MAX_BYTES, DEFAULT_FEED_TIMEOUT_MS } from './read';
export type { FeedSource, FeedStateStore, FeedReadResult, FeedOrigin, FeedFailure, ReadFeedOptions, FeedPollState, FeedPollResult, FeedPollOrigin } from './read';
export { JsonFileStateStore } from './state-file';
