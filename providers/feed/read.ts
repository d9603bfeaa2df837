/**
 * readFeed: one source from a file or an http(s) URL (providers/feed/url.ts, which the n8n nodes
 * use on their own because it needs no file system). The CLI and the bridge keep the last good
 * body in their FeedStateStore so a 304 or a used-up request budget still hands the whole feed to
 * the sync (which plans against the full desired set); the ICS Trigger uses pollFeed's small state
 * instead (validators + body hash, no body).
 *
 * A failed or empty source is a FeedReadError, never "zero events": the sync then keeps that
 * source's events on the target (policy.failedSources) instead of deleting them.
 */
import { readFile, stat } from 'node:fs/promises';
import {
  DEFAULT_FEED_MAX_BYTES, FeedReadError, isBlank, readUrlFeed as readUrl, pollFeed as pollUrl,
  type FeedPollResult, type FeedPollState, type FeedReadResult, type FeedSource, type ReadFeedOptions,
} from './url';
import { fetchRawGet } from './fetch';

export { MemoryKeyValueStore as MemoryFeedStateStore } from '../state';
export {
  toFeedPollState, feedStateKey, redactUrl, FeedReadError, DEFAULT_FEED_MAX_BYTES, DEFAULT_FEED_TIMEOUT_MS,
} from './url';
export type {
  FeedSource, FeedStateStore, FeedReadResult, FeedOrigin, FeedFailure, ReadFeedOptions, FeedPollState, FeedPollResult, FeedPollOrigin,
} from './url';

function withTransport<T extends ReadFeedOptions>(opts: T): T {
  return opts.http || opts.rawGet ? opts : { ...opts, rawGet: fetchRawGet(opts.fetch ?? fetch) };
}

/** url.ts readUrlFeed, over fetch unless an HttpPort is given. */
export function readUrlFeed(source: FeedSource, opts: ReadFeedOptions = {}): Promise<FeedReadResult> {
  return readUrl(source, withTransport(opts));
}

/** url.ts pollFeed, over fetch unless an HttpPort is given. */
export function pollFeed(source: FeedSource, previous: FeedPollState | undefined, opts: Omit<ReadFeedOptions, 'store'> = {}): Promise<FeedPollResult> {
  return pollUrl(source, previous, withTransport(opts));
}

/** Reads one source. Throws FeedReadError when it cannot deliver a non-empty body. */
export async function readFeed(source: FeedSource, opts: ReadFeedOptions = {}): Promise<FeedReadResult> {
  const now = opts.now ?? Date.now;
  const maxBytes = source.maxBytes ?? DEFAULT_FEED_MAX_BYTES;
  if (source.file !== undefined) return readFileSource(source, maxBytes, now());
  return readUrlFeed(source, opts);
}

async function readFileSource(source: FeedSource, maxBytes: number, at: number): Promise<FeedReadResult> {
  const file = source.file!;
  let bytes: Uint8Array;
  try {
    const st = await stat(file);
    if (st.size > maxBytes) throw new FeedReadError(source.id, 'too-large', `${file} is ${st.size} bytes, over the limit of ${maxBytes} (maxBytes)`);
    bytes = await readFile(file);
  } catch (err) {
    if (err instanceof FeedReadError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new FeedReadError(source.id, 'file', `cannot read ${file}: ${code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  if (isBlank(bytes)) throw new FeedReadError(source.id, 'empty', `${file} is empty`);
  return { sourceId: source.id, bytes, origin: 'file', requests: 0, fetchedAt: at, warnings: [] };
}
