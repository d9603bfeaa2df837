/**
 * The ICS Trigger's poll: read the feed (providers/feed pollFeed: conditional GET, budget), parse
 * (core/input), filter and optionally expand, diff against the stored snapshot (core/snapshot).
 *
 * State (workflow static data, per node): `{ v: 1, source, feed, snapshot }` — validators and a
 * body hash (no body), and key → short fingerprint. It advances only after a poll that succeeded
 * end to end; a failed fetch, an unparseable body or a suddenly empty feed leaves the snapshot as
 * it was (only the request time is recorded, for the budget), so the next good poll reports the
 * real difference and never "everything removed". A manual run fetches once and returns a sample
 * without reading or writing the state.
 */
import { NodeOperationError } from 'n8n-workflow';
import type { IDataObject, INodeExecutionData, IPollFunctions } from 'n8n-workflow';
import type { CalendarEvent } from '../../core/event';
import { diffSnapshot, describeKey, isSnapshot, type Snapshot, type SnapshotOptions } from '../../core/snapshot';
import { pollFeed, toFeedPollState, FeedReadError, type FeedPollState, type FeedSource } from '../../providers/feed/url';
import { n8nHttpPort } from '../shared/transport';
import { toNodeError } from '../shared/errors';
import { eventPredicate, type EventFilter } from '../shared/filters';
import { feedUrl, feedCredentialType, eventsOfBody, type FeedParams, type FeedReadOptions as Options } from '../shared/feed';

interface TriggerState {
  v: 1;
  /** What the state belongs to: a changed URL or format starts afresh. */
  source: string;
  feed: FeedPollState;
  snapshot?: Snapshot;
}

function readState(data: IDataObject, source: string): TriggerState {
  const s = data.calendarRelay as Partial<TriggerState> | undefined;
  if (s && s.v === 1 && s.source === source) return { v: 1, source, feed: toFeedPollState(s.feed), snapshot: isSnapshot(s.snapshot) ? s.snapshot : undefined };
  return { v: 1, source, feed: { requests: [] } };
}

function writeState(data: IDataObject, state: TriggerState): void {
  data.calendarRelay = state as unknown as IDataObject;
}

export async function pollIcsTrigger(this: IPollFunctions): Promise<INodeExecutionData[][] | null> {
  const node = this.getNode();
  const params: FeedParams = {
    source: this.getNodeParameter('source') as FeedParams['source'],
    url: this.getNodeParameter('url') as string,
    jsonPreset: this.getNodeParameter('jsonPreset', 'auto') as string,
    fieldMap: this.getNodeParameter('fieldMap', {}) as IDataObject,
    authentication: this.getNodeParameter('authentication', 'none') as string,
    sourceId: 'feed',
  };
  const emit = this.getNodeParameter('emit', 'each') as 'each' | 'diff';
  const changes = new Set(this.getNodeParameter('changes', ['added', 'changed', 'removed']) as string[]);
  const filter = this.getNodeParameter('filters', {}) as EventFilter;
  const options = this.getNodeParameter('options', {}) as Options;
  let url: string;
  try {
    url = feedUrl(params.url);
    eventPredicate(filter);
  } catch (err) {
    throw new NodeOperationError(node, err as Error, { description: 'Check the URL and the filters.' });
  }
  const source: FeedSource = {
    id: params.sourceId,
    url,
    timeoutMs: (options.timeoutS ?? 30) * 1000,
    maxBytes: (options.maxMb ?? 20) * 1024 * 1024,
  };
  if (options.budgetRequests && options.budgetRequests > 0) source.budget = { requests: options.budgetRequests, perMinutes: options.budgetMinutes ?? 60 };
  const credentialType = feedCredentialType(params.authentication);
  const http = n8nHttpPort(this, { credentialType, timeoutMs: source.timeoutMs });
  const now = Date.now();
  const identity: SnapshotOptions = { identity: options.identity ?? 'uid' };

  if (this.getMode() === 'manual') {
    // A sample for building the workflow: no budget, no validators, no state read or written.
    let result;
    try {
      result = await pollFeed({ ...source, budget: undefined }, undefined, { http });
    } catch (err) {
      throw toNodeError(node, err);
    }
    const { events } = eventsOfBody(result.bytes!, params, options, filter, now);
    const sample = diffSnapshot(undefined, events, identity).added.slice(0, options.sampleSize ?? 5);
    if (sample.length === 0) return null;
    return [sample.map((a) => ({ json: { change: 'added', key: a.key, ...a.event } as unknown as IDataObject }))];
  }

  const data = this.getWorkflowStaticData('node');
  const state = readState(data, `${params.source} ${url}`);
  let result;
  try {
    result = await pollFeed(source, state.feed, { http });
  } catch (err) {
    if (err instanceof FeedReadError && err.pollState) writeState(data, { ...state, feed: err.pollState });
    throw toNodeError(node, err);
  }
  if (result.origin !== 'fetched') {
    // 304, identical body or budget used up: nothing new to report.
    writeState(data, { ...state, feed: result.state });
    for (const w of result.warnings) this.logger.info(w);
    return null;
  }
  let events: CalendarEvent[];
  let unreadable: string[];
  try {
    ({ events, warnings: unreadable } = eventsOfBody(result.bytes!, params, options, filter, now));
  } catch (err) {
    writeState(data, { ...state, feed: result.stateIfUnused });
    throw toNodeError(node, err);
  }
  const previous = state.snapshot;
  if (events.length === 0 && previous && Object.keys(previous).length > 0 && !options.allowEmpty) {
    writeState(data, { ...state, feed: result.stateIfUnused });
    this.logger.warn(`ICS Trigger "${node.name}": the feed has no events now (it had ${Object.keys(previous).length}); treated as broken, nothing emitted. Enable "Allow Empty Feed" if it really is empty.`);
    return null;
  }
  const diff = diffSnapshot(previous, events, identity);
  if (unreadable.length && diff.removed.length) {
    // Some entries of the feed could not be read: a missing event may be one of them, so nothing
    // is reported as removed this poll and those keys stay in the snapshot.
    for (const r of diff.removed) diff.next[r.key] = r.fingerprint;
    this.logger.warn(`ICS Trigger "${node.name}": ${unreadable.length} feed entr${unreadable.length === 1 ? 'y' : 'ies'} could not be read (${unreadable.slice(0, 3).join('; ')}); removals are not reported this poll`);
    diff.removed = [];
  }
  writeState(data, { v: 1, source: state.source, feed: result.state, snapshot: diff.next });
  if (previous === undefined && options.emitOnFirstPoll === false) return null;

  const added = changes.has('added') ? diff.added : [];
  const changed = changes.has('changed') ? diff.changed : [];
  const removed = changes.has('removed') ? diff.removed : [];
  if (added.length + changed.length + removed.length === 0) return null;
  const removedJson = (r: { key: string; fingerprint: string }) => ({ change: 'removed', key: r.key, ...describeKey(r.key) });
  if (emit === 'diff') {
    const json = {
      added: added.map((a) => ({ key: a.key, ...a.event })),
      changed: changed.map((c) => ({ key: c.key, ...c.event })),
      removed: removed.map(removedJson),
      counts: { added: added.length, changed: changed.length, removed: removed.length, unchanged: diff.unchanged },
    };
    return [[{ json: json as unknown as IDataObject }]];
  }
  const items: INodeExecutionData[] = [
    ...added.map((a) => ({ json: { change: 'added', key: a.key, ...a.event } as unknown as IDataObject })),
    ...changed.map((c) => ({ json: { change: 'changed', key: c.key, ...c.event } as unknown as IDataObject })),
    ...removed.map((r) => ({ json: removedJson(r) as IDataObject })),
  ];
  return [items];
}
